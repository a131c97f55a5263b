import pg from 'pg';
import type { PostgresConnection } from '#config/connection.ts';
import { pgOptions } from '#postgres/connection.ts';
import { stackEnv } from './stack-env.ts';
import { uniqueName } from './wait.ts';

/** The stack's PostgreSQL as a resolved connection block, from POSTGRES_URL (a superuser with REPLICATION). */
export function postgresConnection(database?: string): PostgresConnection {
  const url = new URL(stackEnv('POSTGRES_URL'));
  return {
    host: url.hostname,
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    database: database ?? url.pathname.slice(1),
  };
}

/** A plain SQL connection with the source's session settings (values as text). */
export async function connectPostgres(database?: string): Promise<pg.Client> {
  const client = new pg.Client(pgOptions(postgresConnection(database)));
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/**
 * A database of its own for one test. Dropping it first drops the replication slots and publications that live
 * in it (a logical slot keeps its database from being dropped).
 */
export async function scratchPostgresDatabase(prefix: string): Promise<{ name: string; drop: () => Promise<void> }> {
  const name = uniqueName(prefix).toLowerCase();
  const admin = await connectPostgres();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  return {
    name,
    drop: async () => {
      const client = await connectPostgres();
      try {
        await client.query('SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE database = $1 AND active_pid IS NOT NULL', [name]);
        await client.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = $1', [name]);
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
