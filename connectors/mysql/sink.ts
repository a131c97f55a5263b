import mysql from 'mysql2/promise';
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import type { MysqlSinkConfig } from '#config/schema.ts';
import { TributaryError, withAction } from '#core/errors.ts';
import type { Sink, Statement, TableChanges } from '#core/sink.ts';
import { qualifiedName, type TableSchema } from '#core/table-schema.ts';
import { mySqlOptions } from './connection.ts';
import { changeStatements, createTable, DEFAULT_LIMITS, type StatementLimits } from './sink-dialect.ts';
import { EXISTING_COLUMNS_SQL, EXISTING_KEY_SQL, planSchemaChanges, type ExistingTable } from './sink-schema.ts';

// The MySQL/MariaDB sink: sink-dialect.ts builds the SQL, this file runs it. Idempotence comes from the position
// each row stores (see upsertStatements), so a batch applied twice, or after a newer one, changes nothing.

/**
 * Set on every pooled connection before its first statement, replacing the server's defaults:
 * - time_zone UTC: DATETIME has no zone, but anything a user adds (NOW(), a TIMESTAMP column) reads in it.
 * - STRICT_ALL_TABLES: a value that does not fit is an error, never silently truncated or clipped.
 * - NO_ENGINE_SUBSTITUTION: without InnoDB, CREATE TABLE fails instead of making a MyISAM table (no transactions).
 * - and no NO_BACKSLASH_ESCAPES: mysql2 escapes quotes in bound strings with backslashes, which that mode
 *   would turn into ends of strings.
 */
const SESSION_SQL = "SET SESSION time_zone = '+00:00', SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION'";

export interface MySqlSinkOptions {
  /** Statement size limits; tests lower them to exercise splitting. */
  limits?: StatementLimits;
}

export class MySqlSink implements Sink {
  private readonly database: string;
  private readonly limits: StatementLimits;
  private pool: Pool | undefined;
  private closed: Promise<void> | undefined;
  /** Whether table names ignore case on the server (lower_case_table_names 1 or 2); read by connect(). */
  private foldTableNames = false;
  /** Schema versions already made to fit; a TableSchema is never mutated, so its identity is its shape. */
  private prepared = new WeakSet<TableSchema>();
  /** Pooled connections (mysql2 core connections) that have had SESSION_SQL. */
  private readonly initialised = new WeakSet<object>();

  constructor(
    private readonly config: MysqlSinkConfig,
    options: MySqlSinkOptions = {},
  ) {
    const database = config.connection.database;
    if (database === undefined) {
      throw new TributaryError(
        'CONFIG_INVALID',
        `sink "${config.name}": connection.database is required: name the database the sink creates its tables in ` +
          '(database: analytics, or mysql://user@host:3306/analytics)',
      );
    }
    this.database = database;
    this.limits = options.limits ?? DEFAULT_LIMITS;
  }

  async connect(): Promise<void> {
    if (this.closed) throw new TributaryError('INTERNAL', `sink "${this.config.name}" was closed`);
    this.pool ??= mysql.createPool({ ...mySqlOptions(this.config.connection), connectionLimit: 2, maxIdle: 2 });
    const action = `connecting to database "${this.database}" on ${this.config.connection.host}:${this.config.connection.port} for sink "${this.config.name}"`;
    await this.withConnection(action, async (connection) => {
      const [rows] = await connection.query<RowDataPacket[]>('SELECT @@lower_case_table_names AS fold');
      this.foldTableNames = Number(rows[0]?.fold ?? 0) !== 0;
    });
  }

  async prepare(table: TableSchema): Promise<void> {
    if (this.prepared.has(table)) return;
    const action = `preparing target table ${this.database}.${table.table} for ${qualifiedName(table)}`;
    await this.withConnection(action, async (connection) => {
      let existing = await this.readTable(connection, table.table);
      if (existing === undefined) {
        await connection.query(createTable(this.database, table));
        // Read back rather than trust IF NOT EXISTS: another process may have created it differently meanwhile.
        existing = await this.readTable(connection, table.table);
        if (existing === undefined) throw new TributaryError('TARGET_REJECTED', 'the table was created but information_schema does not show it');
      }
      // DDL commits implicitly in MySQL, so it never runs inside apply()'s transaction.
      for (const sql of planSchemaChanges(this.database, table, existing)) await connection.query(sql);
    });
    this.prepared.add(table);
  }

  async apply(batch: TableChanges[], _token: string): Promise<void> {
    // The token is for targets without transactions; here one transaction and the stored positions suffice.
    const statements: Statement[] = [];
    for (const changes of batch) {
      try {
        statements.push(...changeStatements(this.database, changes, this.limits));
      } catch (error) {
        throw withAction(`writing changes of ${qualifiedName(changes.table)} to ${this.database}.${changes.table.table}`, error);
      }
    }
    if (statements.length === 0) return;
    const tables = [...new Set(batch.map((c) => c.table.table))].join(', ');
    await this.withConnection(`applying a batch to ${this.database} (${tables})`, async (connection, discard) => {
      await connection.query('BEGIN');
      try {
        for (const statement of statements) await connection.query(statement.sql, statement.params);
        await connection.query('COMMIT');
        // Invariant: every change of the batch is durable in the target; the runner may now commit the offsets.
        // Should COMMIT's reply be lost, the runner retries the batch, which the positions make harmless.
      } catch (error) {
        // A connection whose ROLLBACK fails must not go back to the pool with the transaction open.
        await connection.query('ROLLBACK').catch(discard);
        // The table may have been dropped or altered behind the sink: check it again before the next batch.
        this.prepared = new WeakSet();
        throw error;
      }
    });
  }

  async close(): Promise<void> {
    this.closed ??= (async () => {
      const pool = this.pool;
      this.pool = undefined;
      await pool?.end().catch(() => undefined);
    })();
    await this.closed;
  }

  private async withConnection<T>(action: string, work: (connection: PoolConnection, discard: () => void) => Promise<T>): Promise<T> {
    const pool = this.pool;
    if (pool === undefined) {
      throw new TributaryError('INTERNAL', `${action}: sink "${this.config.name}" is ${this.closed ? 'closed' : 'not connected'}`);
    }
    let connection: PoolConnection | undefined;
    let discarded = false;
    try {
      connection = await pool.getConnection();
      if (!this.initialised.has(connection.connection)) {
        await connection.query(SESSION_SQL);
        this.initialised.add(connection.connection);
      }
      return await work(connection, () => {
        discarded = true;
      });
    } catch (error) {
      throw classifyMySqlTargetError(action, error);
    } finally {
      if (discarded) connection?.destroy();
      else connection?.release();
    }
  }

  /** The table's columns and key from information_schema, or undefined when it does not exist. */
  private async readTable(connection: PoolConnection, name: string): Promise<ExistingTable | undefined> {
    // information_schema compares names without case; keep only this table's rows unless the server folds them too.
    const mine = (row: RowDataPacket) =>
      this.foldTableNames ? String(row.tableName).toLowerCase() === name.toLowerCase() : String(row.tableName) === name;
    const [columns] = await connection.query<RowDataPacket[]>(EXISTING_COLUMNS_SQL, [this.database, name]);
    const own = columns.filter(mine);
    if (own.length === 0) return undefined;
    const [key] = await connection.query<RowDataPacket[]>(EXISTING_KEY_SQL, [this.database, name]);
    return {
      columns: own.map((row) => ({ name: String(row.name), columnType: String(row.columnType), nullable: row.nullable === 'YES' })),
      primaryKey: key.filter(mine).map((row) => String(row.name)),
    };
  }
}

const RETRIABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_CON_COUNT_ERROR',
  'ER_TOO_MANY_USER_CONNECTIONS',
  'ER_SERVER_SHUTDOWN',
  'ER_LOCK_DEADLOCK',
  'ER_LOCK_WAIT_TIMEOUT',
  // Another sink instance added the column or created the table a moment before: the retry reads the table again.
  'ER_DUP_FIELDNAME',
  'ER_TABLE_EXISTS_ERROR',
  'ER_QUERY_INTERRUPTED',
  'ER_CLIENT_INTERACTION_TIMEOUT',
  // --read-only / super_read_only: what a primary says during a failover until the new one takes writes.
  'ER_OPTION_PREVENTS_STATEMENT',
]);

const HINTS: Record<string, string> = {
  ER_ACCESS_DENIED_ERROR: "check the user and password in the sink's connection block, and that this user may connect from this host",
  ER_DBACCESS_DENIED_ERROR: 'grant the sink user CREATE, ALTER, SELECT, INSERT, UPDATE and DELETE on the database',
  ER_TABLEACCESS_DENIED_ERROR: 'grant the sink user CREATE, ALTER, SELECT, INSERT, UPDATE and DELETE on the database',
  ER_BAD_DB_ERROR: "create the database, or name an existing one in the sink's connection block",
  ER_NET_PACKET_TOO_LARGE: "raise the server's max_allowed_packet",
};

/**
 * Target errors at the edge: lost or refused connections, lock timeouts and deadlocks are TARGET_UNAVAILABLE and
 * retriable (the runner retries the whole batch; the positions make that safe); everything else — access denied,
 * constraint and data errors — is TARGET_REJECTED. Server messages name users and hosts, never passwords.
 */
export function classifyMySqlTargetError(action: string, error: unknown): TributaryError {
  if (error instanceof TributaryError) return withAction(action, error);
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  const codeName = typeof code === 'string' ? code : '';
  const retriable = RETRIABLE_CODES.has(codeName) || /connection lost|closed state|ECONNREFUSED/i.test(message);
  const hint = HINTS[codeName];
  return new TributaryError(retriable ? 'TARGET_UNAVAILABLE' : 'TARGET_REJECTED', `${action}: ${message}${hint ? `; ${hint}` : ''}`, {
    retriable,
    cause: error,
  });
}
