#!/usr/bin/env node
// The `tributary` command. Sources are TypeScript, loaded through tsx so there is no build step to forget.
import { register } from 'tsx/esm/api';

register();
await import('../services/cli/main.ts');
