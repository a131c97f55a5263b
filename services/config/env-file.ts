import { existsSync, readFileSync } from 'node:fs';

/**
 * Reads `NAME=value` lines (the local stack's `.stack/env`, written by `make stack-up`) into this process's
 * environment, for tributary.yaml's `${VAR}`s. Variables already set win, so a run can be pointed at other servers.
 * Returns whether the file was there.
 */
export function loadEnvFile(file: string): boolean {
  if (!existsSync(file)) return false;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match && process.env[match[1] as string] === undefined) process.env[match[1] as string] = match[2];
  }
  return true;
}
