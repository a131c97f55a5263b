import { fileURLToPath } from 'node:url';
import { loadEnvFile } from '#config/env-file.ts';

// Integration tests talk to the local stack; its addresses come from .stack/env, written by `make stack-up`.
// Variables already set in the environment win, so a suite can be pointed at other servers.
const file = fileURLToPath(new URL('../../.stack/env', import.meta.url));
if (!loadEnvFile(file) && !process.env.KAFKA_BROKERS) {
  throw new Error(`the local stack is not running (${file} is missing): run \`make stack-up\` first`);
}

export function stackEnv(name: 'KAFKA_BROKERS' | 'SCHEMA_REGISTRY_URL' | 'MYSQL_URL' | 'POSTGRES_URL' | 'CLICKHOUSE_URL'): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set in .stack/env: run \`make stack-up\` again`);
  return value;
}
