import pg from 'pg';
import { TributaryError } from '#core/errors.ts';
import type { PostgresConnection } from '#config/connection.ts';

/**
 * Session settings under which every value's text form is exact and independent of the server's defaults:
 * timestamps in ISO style and UTC, intervals in ISO 8601, bytea in hex, floats with all their digits, money
 * without a locale. The snapshot reads values as text under these settings and pgoutput writes them as text
 * in the walsender, which takes the same startup options, so both paths see one form (values.ts parses it).
 */
export const SESSION_SETTINGS: Readonly<Record<string, string>> = {
  DateStyle: 'ISO',
  TimeZone: 'UTC',
  IntervalStyle: 'iso_8601',
  bytea_output: 'hex',
  extra_float_digits: '3',
  lc_monetary: 'C',
  client_encoding: 'UTF8',
};

const startupOptions = Object.entries(SESSION_SETTINGS)
  .map(([name, value]) => `-c ${name}=${value}`)
  .join(' ');

/**
 * pg client options for a source connection. `replication: 'database'` opens a walsender connection that
 * takes replication commands (CREATE_REPLICATION_SLOT, START_REPLICATION) beside plain SQL.
 * Every type is returned as its text: values.ts is the one parser of Postgres values.
 */
export function pgOptions(config: PostgresConnection, options: { replication?: boolean; applicationName?: string } = {}): pg.ClientConfig {
  return {
    host: config.host,
    port: config.port,
    user: config.user,
    ...(config.password === undefined ? {} : { password: config.password }),
    database: config.database,
    options: startupOptions,
    application_name: options.applicationName ?? 'tributary',
    connectionTimeoutMillis: 10_000,
    keepAlive: true,
    types: { getTypeParser: () => (text: string) => text } as unknown as pg.CustomTypesConfig,
    ...(options.replication ? { replication: 'database' } : {}),
  } as pg.ClientConfig;
}

// SQLSTATE classes and codes a retry can outlive: connection failures, shutdown, too many connections,
// serialization failures and deadlocks, lock timeouts.
const RETRIABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300', '40001', '40P01', '55P03', '08000', '08003', '08006', '08001', '08004']);
const RETRIABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND']);

/** Postgres errors at the edge: lost or refused connections and lock conflicts are retriable; the rest are not. */
export function classifyPostgresError(action: string, error: unknown): TributaryError {
  if (error instanceof TributaryError) return error;
  const code = (error as { code?: string }).code ?? '';
  const message = error instanceof Error ? error.message : String(error);
  if (code === '28P01' || code === '28000') {
    // The server names the user, never the password.
    return new TributaryError('SOURCE_REJECTED', `${action}: ${message}; check the user and password in the source's connection block and pg_hba.conf`, {
      cause: error,
    });
  }
  const retriable =
    RETRIABLE_STATES.has(code) ||
    RETRIABLE_CODES.has(code) ||
    /Connection terminated|connection timeout|timeout expired|Client has encountered a connection error|not queryable/i.test(message);
  return new TributaryError(retriable ? 'SOURCE_UNAVAILABLE' : 'SOURCE_REJECTED', `${action}: ${message}`, { retriable, cause: error });
}

/** server_version_num of a plain SQL connection (150004 for 15.4). */
export async function serverVersionNum(client: pg.ClientBase): Promise<number> {
  const result = await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
  return Number(result.rows[0]?.v ?? 0);
}

/** Quotes a Postgres identifier: doubled inner quotes, so any name is one identifier and never SQL. */
export function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes a string literal for the replication protocol's commands, which take no bind parameters. */
export function quoteLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
