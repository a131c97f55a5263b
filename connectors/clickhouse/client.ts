import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import type { ClickHouseConnection } from '#config/connection.ts';

/**
 * A ClickHouse HTTP client for a configured connection: the sink's and `tributary verify`'s. A path in the URL is a
 * proxy prefix (the client would otherwise read it as the database name); errors are returned, classified and logged
 * once by whoever handles them, not by the driver as well.
 */
export function clickHouseClient(
  connection: Pick<ClickHouseConnection, 'url' | 'username' | 'password'>,
  options: { application: string; requestTimeoutMs: number; maxOpenConnections?: number },
): ClickHouseClient {
  const parsed = new URL(connection.url);
  return createClient({
    url: parsed.origin,
    ...(parsed.pathname.length > 1 ? { pathname: parsed.pathname } : {}),
    username: connection.username,
    password: connection.password ?? '',
    application: options.application,
    request_timeout: options.requestTimeoutMs,
    ...(options.maxOpenConnections === undefined ? {} : { max_open_connections: options.maxOpenConnections }),
    log: { level: ClickHouseLogLevel.OFF },
  });
}
