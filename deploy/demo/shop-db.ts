import mysql from 'mysql2/promise';
import pg from 'pg';
import type { ResolvedConnection, PostgresConnection } from '#config/schema.ts';
import { mySqlOptions } from '#mysql/connection.ts';
import { pgOptions } from '#postgres/connection.ts';
import { MARIADB_SHOP, POSTGRES_SHOP } from './env.ts';

/**
 * One connection to a demo shop, hiding the few differences between the engines so the load generator's writes
 * (shop-writes.ts) are one SQL text for both: `?` placeholders, unqualified table names (the connection selects
 * the shop database or schema), a UUID column's value, and how an INSERT returns its generated id.
 */
export interface ShopDb {
  readonly engine: 'mariadb' | 'postgres';
  transaction<T>(work: (tx: ShopTx) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface ShopTx {
  rows(sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  /** A statement; returns the rows it changed. */
  run(sql: string, params?: unknown[]): Promise<number>;
  /** An INSERT into a table with a generated `id`; returns that id. */
  insertId(sql: string, params: unknown[]): Promise<string>;
  /** A UUID (canonical text) as the engine's column takes it: BINARY(16) for MySQL, uuid for PostgreSQL. */
  uuid(text: string): unknown;
}

export async function connectMariaDbShop(connection: ResolvedConnection): Promise<ShopDb> {
  const client = await mysql.createConnection({ ...mySqlOptions({ ...connection, database: MARIADB_SHOP }) });
  await client.query("SET time_zone = '+00:00'");
  const tx: ShopTx = {
    rows: async (sql, params = []) => (await client.query(sql, params))[0] as Record<string, unknown>[],
    run: async (sql, params = []) => ((await client.query(sql, params))[0] as mysql.ResultSetHeader).affectedRows,
    insertId: async (sql, params) => String(((await client.query(sql, params))[0] as mysql.ResultSetHeader).insertId),
    uuid: (text) => Buffer.from(text.replaceAll('-', ''), 'hex'),
  };
  return {
    engine: 'mariadb',
    transaction: async (work) => {
      await client.beginTransaction();
      try {
        const result = await work(tx);
        await client.commit();
        return result;
      } catch (error) {
        await client.rollback().catch(() => undefined);
        throw error;
      }
    },
    close: async () => {
      await client.end().catch(() => client.destroy());
    },
  };
}

export async function connectPostgresShop(connection: PostgresConnection): Promise<ShopDb> {
  const client = new pg.Client(pgOptions(connection, { applicationName: 'tributary-demo-load' }));
  // A dropped connection surfaces as the failed query's error; the client's own 'error' event would crash us.
  client.on('error', () => undefined);
  await client.connect();
  await client.query(`SET search_path = ${POSTGRES_SHOP}`);
  const numbered = (sql: string): string => {
    let n = 0;
    return sql.replace(/\?/g, () => `$${++n}`);
  };
  const tx: ShopTx = {
    rows: async (sql, params = []) => (await client.query(numbered(sql), params)).rows as Record<string, unknown>[],
    run: async (sql, params = []) => (await client.query(numbered(sql), params)).rowCount ?? 0,
    insertId: async (sql, params) => String((await client.query(`${numbered(sql)} RETURNING id`, params)).rows[0]?.id),
    uuid: (text) => text,
  };
  return {
    engine: 'postgres',
    transaction: async (work) => {
      await client.query('BEGIN');
      try {
        const result = await work(tx);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    },
    close: async () => {
      await client.end().catch(() => undefined);
    },
  };
}
