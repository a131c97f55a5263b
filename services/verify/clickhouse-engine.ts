import type { ClickHouseClient } from '@clickhouse/client';
import type { ClickHouseConnection } from '#config/connection.ts';
import { clickHouseChecksum } from '#connectors/clickhouse/checksum.ts';
import { clickHouseClient } from '#connectors/clickhouse/client.ts';
import { classifyClickHouseError } from '#connectors/clickhouse/errors.ts';
import type { Engine, SqlRow } from './side.ts';

/** A ClickHouse sink's target for verify, over HTTP as the sink reaches it. */
export class ClickHouseEngine implements Engine {
  readonly dialect = clickHouseChecksum;
  private readonly client: ClickHouseClient;

  constructor(
    readonly label: string,
    private readonly connection: ClickHouseConnection,
    connections: number,
  ) {
    this.client = clickHouseClient(connection, { application: 'tributary verify', requestTimeoutMs: 600_000, maxOpenConnections: connections });
  }

  async run(statement: { sql: string; params: unknown[] }, action: string): Promise<SqlRow[]> {
    try {
      // wait_end_of_query: an error while reading is an HTTP error, not text after the rows.
      const result = await this.client.query({ query: statement.sql, format: 'JSONEachRow', clickhouse_settings: { wait_end_of_query: 1 } });
      return await result.json<SqlRow>();
    } catch (error) {
      throw classifyClickHouseError(action, error, this.connection.password);
    }
  }

  async close(): Promise<void> {
    await this.client.close().catch(() => undefined);
  }
}
