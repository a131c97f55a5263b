import pg from 'pg';
import type { PostgresConnection } from '#config/connection.ts';
import type { TableFilter } from '#core/table-filter.ts';
import type { TableSchema } from '#core/table-schema.ts';
import { postgresChecksum } from '#postgres/checksum.ts';
import { classifyPostgresError, pgOptions } from '#postgres/connection.ts';
import { readTableSchemas } from '#postgres/schema-reader.ts';
import type { Engine, SqlRow } from './side.ts';

/**
 * A PostgreSQL source for verify: a pool of plain SQL connections (no replication) under the capture's session
 * settings, so that intervals and floats print as the capture reads them, and every value arrives as text.
 */
export class PostgresEngine implements Engine {
  readonly dialect = postgresChecksum;
  private readonly pool: pg.Pool;

  constructor(
    readonly label: string,
    connection: PostgresConnection,
    connections: number,
  ) {
    const options = pgOptions(connection, { applicationName: 'tributary verify' });
    // Verify never writes, and says so to the server as a startup option: a SET queued on 'connect' would run beside
    // the pool's first query (pg warns about queries issued while one runs).
    this.pool = new pg.Pool({ ...options, options: `${options.options ?? ''} -c default_transaction_read_only=on`.trim(), max: connections });
    // An idle connection's failure is emitted here; the next query on the pool reports it, classified.
    this.pool.on('error', () => undefined);
  }

  async run(statement: { sql: string; params: unknown[] }, action: string): Promise<SqlRow[]> {
    try {
      return (await this.pool.query(statement.sql, statement.params)).rows as SqlRow[];
    } catch (error) {
      throw classifyPostgresError(action, error);
    }
  }

  /** The captured tables' schemas, read as the capture reads them (connectors/postgres/schema-reader.ts). */
  async readTables(filter: TableFilter): Promise<TableSchema[]> {
    let client: pg.PoolClient | undefined;
    try {
      client = await this.pool.connect();
      return (await readTableSchemas(client, filter)).map((table) => table.schema);
    } catch (error) {
      throw classifyPostgresError(`reading the tables of ${this.label}`, error);
    } finally {
      client?.release();
    }
  }

  /** The planner's row estimate, for progress only; 0 when unknown (never analysed: -1). */
  async estimateRows(namespace: string, table: string): Promise<number> {
    const statement = {
      sql:
        'SELECT greatest(c.reltuples, 0)::bigint::text AS estimate FROM pg_catalog.pg_class c ' +
        'JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2',
      params: [namespace, table],
    };
    const rows = await this.run(statement, `estimating the rows of ${namespace}.${table}`).catch(() => []);
    return Number(rows[0]?.estimate ?? 0);
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }
}
