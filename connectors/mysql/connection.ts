import type { ConnectionOptions } from 'mysql2';
import { TributaryError } from '#core/errors.ts';

/** What every MySQL connection needs from config: the resolved `connection` block. */
export interface MySqlConnectionConfig {
  host: string;
  port: number;
  user: string;
  password?: string;
  database?: string;
}

/**
 * mysql2 options under which values arrive in exact text form: big integers and decimals as strings, dates and
 * times as strings with their microseconds, JSON as its text, and the session in UTC so TIMESTAMP text is UTC.
 * values.ts converts these to ColumnValues; zongji is given the same options, so both paths see the same forms.
 */
export function mySqlOptions(config: MySqlConnectionConfig): ConnectionOptions {
  return {
    host: config.host,
    port: config.port,
    user: config.user,
    ...(config.password === undefined ? {} : { password: config.password }),
    ...(config.database === undefined ? {} : { database: config.database }),
    charset: 'utf8mb4',
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: true,
    decimalNumbers: false,
    dateStrings: true,
    jsonStrings: true,
    connectTimeout: 10_000,
  };
}

const RETRIABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_SERVER_SHUTDOWN',
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  // A DDL on a table while the snapshot transaction reads it: the retry resumes from the last chunk with the new schema.
  'ER_TABLE_DEF_CHANGED',
]);

/** MySQL errors at the edge: lost or refused connections and lock timeouts are retriable; the rest are not. */
export function classifyMySqlError(action: string, error: unknown): TributaryError {
  if (error instanceof TributaryError) return error;
  const code = (error as { code?: string }).code ?? '';
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'ER_ACCESS_DENIED_ERROR') {
    // The server's message names the user and the client host it saw ("Access denied for user 'app'@'10.0.0.5'
    // (using password: YES)"), never the password.
    return new TributaryError(
      'SOURCE_REJECTED',
      `${action}: ${message}; check the user and password in the source's connection block, and that this user may connect from that host`,
      { cause: error },
    );
  }
  if (code === 'ER_MASTER_FATAL_ERROR_READING_BINLOG' || /purged|could not find first log file/i.test(message)) {
    return new TributaryError('POSITION_LOST', `${action}: ${message}`, { cause: error });
  }
  const retriable = RETRIABLE_CODES.has(code) || /connection lost|closed state|ECONNREFUSED/i.test(message);
  return new TributaryError(retriable ? 'SOURCE_UNAVAILABLE' : 'SOURCE_REJECTED', `${action}: ${message}`, {
    retriable,
    cause: error,
  });
}
