import mysql from 'mysql2/promise';
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { TributaryError } from '#core/errors.ts';
import type { TableFilter } from '#core/table-filter.ts';
import type { TableSchema } from '#core/table-schema.ts';
import { mySqlChecksum } from '#mysql/checksum.ts';
import { classifyMySqlError, mySqlOptions, type MySqlConnectionConfig } from '#mysql/connection.ts';
import { readTableSchemas } from '#mysql/schema-reader.ts';
import { countEstimateQuery } from '#mysql/snapshot-sql.ts';
import { classifyMySqlTargetError } from '#mysql/sink.ts';
import type { Engine, SqlRow } from './side.ts';

/**
 * MySQL or MariaDB for verify, as a source or as a sink's target: a pool of plain connections that only read. The
 * session is in UTC so that TIMESTAMP columns read as the capture reads them, and statements go through `query`,
 * whose client-side binding writes the checksum dialect's bigints and decimal literals unquoted.
 */
export class MySqlEngine implements Engine {
  readonly dialect = mySqlChecksum;
  private readonly pool: Pool;

  constructor(
    readonly label: string,
    connection: MySqlConnectionConfig,
    private readonly role: 'source' | 'target',
    connections: number,
  ) {
    this.pool = mysql.createPool({ ...mySqlOptions(connection), connectionLimit: connections, maxIdle: connections });
    // Every pooled connection runs these before its first statement (the callback API queues them first). Read only:
    // verify never writes, and says so to the server.
    this.pool.pool.on('connection', (connection) => {
      connection.query("SET SESSION time_zone = '+00:00'");
      connection.query('SET SESSION TRANSACTION READ ONLY');
    });
  }

  async run(statement: { sql: string; params: unknown[] }, action: string): Promise<SqlRow[]> {
    try {
      const [rows] = await this.pool.query<RowDataPacket[]>(statement.sql, statement.params);
      return rows;
    } catch (error) {
      throw this.classify(action, error);
    }
  }

  /** The captured tables' schemas, read as the capture reads them (connectors/mysql/schema-reader.ts). */
  async readTables(filter: TableFilter): Promise<TableSchema[]> {
    let connection: PoolConnection | undefined;
    try {
      connection = await this.pool.getConnection();
      return await readTableSchemas(connection, filter);
    } catch (error) {
      throw this.classify(`reading the tables of ${this.label}`, error);
    } finally {
      connection?.release();
    }
  }

  /** InnoDB's row estimate, for progress only; 0 when unknown. */
  async estimateRows(namespace: string, table: string): Promise<number> {
    const { sql, values } = countEstimateQuery({ namespace, table });
    const rows = await this.run({ sql, params: values }, `estimating the rows of ${namespace}.${table}`).catch(() => []);
    return Number(rows.find((row) => row.name === table)?.estimate ?? 0);
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }

  private classify(action: string, error: unknown): TributaryError {
    return this.role === 'source' ? classifyMySqlError(action, error) : classifyMySqlTargetError(action, error);
  }
}
