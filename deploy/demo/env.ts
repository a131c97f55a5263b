import { fileURLToPath } from 'node:url';
import type { MysqlSourceConfig, PostgresSourceConfig, TributaryConfig } from '#config/schema.ts';
import { loadEnvFile } from '#config/env-file.ts';
import { configuredByName, loadConfig } from '#config/load.ts';

/** The repository root: the demo runs its processes from there, so tributary.yaml's relative paths hold. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CONFIG_PATH = process.env.TRIBUTARY_CONFIG ?? `${ROOT}tributary.yaml`;
export const LOG_DIR = `${ROOT}.stack/logs`;

/** The demo's two sources, as tributary.yaml declares them: the load generator writes where the captures read. */
export interface DemoSources {
  mariadb: MysqlSourceConfig;
  postgres: PostgresSourceConfig;
}

export const MARIADB_SOURCE = 'shop-mariadb';
export const POSTGRES_SOURCE = 'shop-postgres';
/** The databases (MariaDB) and schemas (PostgreSQL) that deploy/demo/shop-*.sql create. */
export const MARIADB_SHOP = 'shop';
export const POSTGRES_SHOP = 'shop_pg';

export function demoConfig(): TributaryConfig {
  // The local stack's addresses, for tributary.yaml's `${VAR}`s here and in every child (they inherit them).
  loadEnvFile(`${ROOT}.stack/env`);
  return loadConfig(CONFIG_PATH);
}

export function demoSources(config: TributaryConfig): DemoSources {
  const mariadb = configuredByName(config.sources, 'source', MARIADB_SOURCE);
  const postgres = configuredByName(config.sources, 'source', POSTGRES_SOURCE);
  if (mariadb.type === 'postgres' || postgres.type !== 'postgres') {
    throw new Error(`${CONFIG_PATH}: the demo expects ${MARIADB_SOURCE} to be a MariaDB/MySQL source and ${POSTGRES_SOURCE} a PostgreSQL one`);
  }
  return { mariadb, postgres };
}
