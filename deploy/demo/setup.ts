import { mkdirSync, readFileSync } from 'node:fs';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { TributaryConfig } from '#config/schema.ts';
import { clickHouseClient } from '#connectors/clickhouse/client.ts';
import { mySqlOptions } from '#mysql/connection.ts';
import { pgOptions } from '#postgres/connection.ts';
import { MARIADB_SHOP, POSTGRES_SHOP, ROOT, type DemoSources } from './env.ts';

// The demo's databases, created if absent: a second `make dev` finds them, leaves them as they are, and the
// captures resume from their offsets. The shops' schema files are the ones docker compose mounts too.

const SHOP_TABLES = ['customers', 'products', 'orders', 'order_items'];

/** The two shops: the schema files run only when some table is missing (each of their statements is create-if-absent). */
export async function prepareShops(sources: DemoSources): Promise<string[]> {
  const done: string[] = [];
  const maria = await mysql.createConnection({ ...mySqlOptions(sources.mariadb.connection), multipleStatements: true });
  try {
    const [rows] = await maria.query('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = ?', [MARIADB_SHOP]);
    if (!hasAll(rows as { name: string }[])) {
      await maria.query(readFileSync(`${ROOT}deploy/demo/shop-mysql.sql`, 'utf8'));
      done.push(`created the MariaDB shop (database ${MARIADB_SHOP})`);
    }
  } finally {
    await maria.end();
  }
  const postgres = new pg.Client(pgOptions(sources.postgres.connection, { applicationName: 'tributary-demo-setup' }));
  postgres.on('error', () => undefined);
  await postgres.connect();
  try {
    const { rows } = await postgres.query('SELECT table_name AS name FROM information_schema.tables WHERE table_schema = $1', [POSTGRES_SHOP]);
    if (!hasAll(rows as { name: string }[])) {
      // A multi-statement text goes through the simple query protocol, as psql would send it.
      await postgres.query(readFileSync(`${ROOT}deploy/demo/shop-postgres.sql`, 'utf8'));
      done.push(`created the PostgreSQL shop (schema ${POSTGRES_SHOP} in database ${sources.postgres.connection.database})`);
    }
  } finally {
    await postgres.end();
  }
  return done;
}

function hasAll(rows: { name: string }[]): boolean {
  const names = new Set(rows.map((row) => row.name));
  return SHOP_TABLES.every((table) => names.has(table));
}

/**
 * What the sinks write into but do not create themselves: the MariaDB and ClickHouse databases, and the lake's
 * directory.
 */
export async function prepareTargets(config: TributaryConfig): Promise<void> {
  for (const sink of config.sinks) {
    if (sink.type === 'mariadb' || sink.type === 'mysql') {
      const { database, ...server } = sink.connection;
      if (database === undefined) continue; // the sink refuses to start and says why
      const connection = await mysql.createConnection(mySqlOptions(server));
      try {
        await connection.query(`CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
      } finally {
        await connection.end();
      }
    } else if (sink.type === 'clickhouse') {
      const client = clickHouseClient(sink.connection, { application: 'tributary-demo-setup', requestTimeoutMs: 30_000 });
      try {
        await client.command({ query: `CREATE DATABASE IF NOT EXISTS \`${sink.connection.database}\`` });
      } finally {
        await client.close();
      }
    } else if (sink.type === 'lake' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(sink.connection.path)) {
      mkdirSync(sink.connection.path, { recursive: true });
    }
  }
}
