import mssql from 'mssql';
import type { SqlServerConnection, SqlServerSinkConfig } from '#config/schema.ts';
import type { Row } from '#core/change-event.ts';
import { TributaryError } from '#core/errors.ts';
import { POSITION_COLUMN, type Sink, type SinkChange, type Statement, type TableChanges } from '#core/sink.ts';
import type { TableSchema } from '#core/table-schema.ts';
import {
  addColumns,
  createStage,
  createTable,
  dropStage,
  ensureSchema,
  merge,
  OP_COLUMN,
  parameterName,
  qualify,
  selectColumns,
  selectPrimaryKey,
  stageColumns,
  STAGE_TABLE,
  truncateBefore,
  widenColumn,
  type StageColumn,
  type TargetTable,
} from './dialect.ts';
import { classifySqlServerError, type ConnectionFacts } from './errors.ts';
import { planEvolution, typeFromInformationSchema, type ExistingTable, type InformationSchemaColumn } from './evolve.ts';
import { mssqlType, stageValue } from './values.ts';

export interface SqlServerSinkOptions {
  /** Schema the target tables live in (created when missing); `dbo` unless given. */
  schema?: string;
  /** Longest a single statement (a MERGE of a full batch) may run before it counts as a timeout. */
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Connections kept open; apply uses one at a time. */
  poolMax?: number;
}

type RowChange = Exclude<SinkChange, { op: 'truncate' }>;

/**
 * Applies change batches to SQL Server: per table, the changes are bulk-loaded into a session temp table
 * (#stage) and MERGEd into the target under a position guard, all tables of a batch in one transaction.
 */
export class SqlServerSink implements Sink {
  private readonly connection: SqlServerConnection;
  private readonly schema: string;
  private readonly options: SqlServerSinkOptions;
  private pool: mssql.ConnectionPool | undefined;
  /** TableSchema values are never mutated, so one that fitted the target once still fits it. */
  private prepared = new WeakSet<TableSchema>();

  constructor(config: Pick<SqlServerSinkConfig, 'connection'>, options: SqlServerSinkOptions = {}) {
    this.connection = config.connection;
    this.schema = options.schema ?? 'dbo';
    this.options = options;
  }

  async connect(): Promise<void> {
    if (this.pool) return;
    const { host, port, user, password, database, encrypt, trustServerCertificate } = this.connection;
    const pool = new mssql.ConnectionPool({
      server: host,
      port,
      user,
      password,
      database,
      connectionTimeout: this.options.connectTimeoutMs ?? 15_000,
      requestTimeout: this.options.requestTimeoutMs ?? 120_000,
      options: { encrypt, trustServerCertificate, useUTC: true, appName: 'tributary' },
      pool: { min: 0, max: this.options.poolMax ?? 2 },
    });
    // An idle connection's failure is emitted here; without a listener it would crash the process. It needs
    // no handling: the pool drops that connection and the next request, which does fail, is classified.
    pool.on('error', () => undefined);
    try {
      await pool.connect();
      await run(pool.request(), ensureSchema(this.schema));
    } catch (error) {
      await pool.close().catch(() => undefined);
      throw this.classify(error, `connecting to SQL Server at ${host}:${port}`);
    }
    this.pool = pool;
  }

  async prepare(table: TableSchema): Promise<void> {
    if (this.prepared.has(table)) return;
    const pool = this.requirePool();
    const target = this.target(table);
    const action = `preparing SQL Server table ${this.describe(target)} for ${table.namespace}.${table.table}`;
    try {
      let existing = await readTable(pool, target);
      if (!existing) {
        await run(pool.request(), createTable(target, table));
        // Read back rather than assume: another writer may have created it first, with another shape.
        existing = await readTable(pool, target);
        if (!existing) throw new TributaryError('TARGET_REJECTED', 'the table is still missing after CREATE TABLE');
      }
      const evolution = planEvolution(table, this.describe(target), existing);
      if (evolution.add.length > 0) await run(pool.request(), addColumns(target, evolution.add));
      for (const column of evolution.widen) await run(pool.request(), widenColumn(target, column));
    } catch (error) {
      throw this.classify(error, action);
    }
    this.prepared.add(table);
  }

  async apply(batch: TableChanges[], token: string): Promise<void> {
    const pool = this.requirePool();
    if (batch.every((changes) => changes.changes.length === 0)) return;
    const action = `applying batch ${token} to SQL Server`;
    const transaction = new mssql.Transaction(pool);
    try {
      await transaction.begin();
    } catch (error) {
      throw this.classify(error, action);
    }
    try {
      for (const changes of batch) await this.applyTable(transaction, changes);
      await transaction.commit();
      // Invariant: every change of the batch is committed in the target; the runner may commit the offsets.
    } catch (error) {
      // Nothing of the batch is durable; the server may already have rolled back (deadlock), so this may fail.
      await transaction.rollback().catch(() => undefined);
      // The target may have changed under the cache (a table dropped by hand): the runner calls prepare()
      // before its next attempt, which then checks the tables again instead of trusting the cache.
      for (const changes of batch) this.prepared.delete(changes.table);
      throw this.classify(error, action);
    }
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    this.prepared = new WeakSet();
    await pool?.close().catch(() => undefined);
  }

  /** Runs of upserts/deletes are staged and merged together; a truncate applies where it stands. */
  private async applyTable(transaction: mssql.Transaction, { table, changes }: TableChanges): Promise<void> {
    const target = this.target(table);
    try {
      let pending: RowChange[] = [];
      for (const change of changes) {
        if (change.op !== 'truncate') {
          pending.push(change);
          continue;
        }
        await mergeChanges(transaction, target, table, pending);
        pending = [];
        await run(new mssql.Request(transaction), truncateBefore(target, change.position));
      }
      await mergeChanges(transaction, target, table, pending);
    } catch (error) {
      throw this.classify(error, `writing ${changes.length} changes to ${this.describe(target)}`);
    }
  }

  private target(table: TableSchema): TargetTable {
    return { schema: this.schema, table: table.table };
  }

  /** The quoted name for messages; a name SQL Server cannot take is shown raw (quoteIdent will refuse it). */
  private describe(target: TargetTable): string {
    try {
      return qualify(target);
    } catch {
      return `${target.schema}.${target.table}`;
    }
  }

  private requirePool(): mssql.ConnectionPool {
    if (!this.pool) throw new TributaryError('INTERNAL', 'the SQL Server sink is used before connect() or after close()');
    return this.pool;
  }

  private classify(error: unknown, action: string): TributaryError {
    const { host, port, user, password } = this.connection;
    const facts: ConnectionFacts = { host, port, user, ...(password === undefined ? {} : { password }) };
    return classifySqlServerError(error, action, facts);
  }
}

/**
 * Stages and merges `changes`, one stage and MERGE per set of unchanged columns (upserts whose source did not send
 * some values leave those columns out of the UPDATE). The runner keeps one change per key, so the groups touch
 * different rows and their order does not matter.
 */
async function mergeChanges(
  transaction: mssql.Transaction,
  target: TargetTable,
  table: TableSchema,
  changes: RowChange[],
): Promise<void> {
  for (const group of unchangedGroups(table, changes)) {
    await run(new mssql.Request(transaction), createStage(table));
    await new mssql.Request(transaction).bulk(stageRows(table, group.changes));
    await run(new mssql.Request(transaction), merge(target, table, group.unchanged));
    await run(new mssql.Request(transaction), dropStage());
  }
}

/** Changes grouped by the set of non-key columns of the table they leave unchanged, in order of first appearance. */
export function unchangedGroups(table: TableSchema, changes: readonly RowChange[]): Array<{ unchanged: Set<string>; changes: RowChange[] }> {
  const keys = new Set(table.primaryKey);
  const names = new Set(table.columns.map((c) => c.name));
  const groups = new Map<string, { unchanged: Set<string>; changes: RowChange[] }>();
  for (const change of changes) {
    const unchanged = change.op === 'upsert' ? (change.unchanged ?? []).filter((c) => names.has(c) && !keys.has(c)) : [];
    const id = [...new Set(unchanged)].sort().join('\u0000');
    let group = groups.get(id);
    if (!group) groups.set(id, (group = { unchanged: new Set(unchanged), changes: [] }));
    group.changes.push(change);
  }
  return [...groups.values()];
}

/** What VARCHAR(64) COLLATE Latin1_General_BIN2 holds without loss or truncation. */
const POSITION_TEXT = /^[\x20-\x7e]{1,64}$/;

/** The bulk-load payload for #stage: op, position, then one value per source column in stage order. */
export function stageRows(table: TableSchema, changes: RowChange[]): mssql.Table {
  const columns = stageColumns(table);
  const stage = new mssql.Table(STAGE_TABLE);
  stage.create = false; // createStage made it, with collations the mssql declaration cannot express
  stage.columns.add(OP_COLUMN, mssql.VarChar(6), { nullable: false });
  stage.columns.add(POSITION_COLUMN, mssql.VarChar(64), { nullable: false });
  for (const column of columns) stage.columns.add(column.stageName, mssqlType(column.stage), { nullable: !column.isKey });
  for (const change of changes) {
    if (!POSITION_TEXT.test(change.position)) {
      throw new TributaryError('VALUE_INVALID', `position "${change.position}" is not 1 to 64 ASCII characters, as ${POSITION_COLUMN} holds`);
    }
    const values = columns.map((column) => stageValue(column, valueOf(column, change)));
    // mssql's row typing predates bigint; tedious takes a bigint for BIGINT as is.
    stage.rows.add(change.op, change.position, ...(values as never[]));
  }
  return stage;
}

/** A delete carries only its key; an upsert's row holds every column (the key too). */
function valueOf(column: StageColumn, change: RowChange): Row[string] {
  const name = column.column.name;
  if (change.op === 'delete') return column.isKey ? (change.key[name] ?? null) : null;
  return Object.hasOwn(change.row, name) ? (change.row[name] ?? null) : (change.key[name] ?? null);
}

async function readTable(pool: mssql.ConnectionPool, target: TargetTable): Promise<ExistingTable | undefined> {
  const columns = await run<InformationSchemaColumn>(pool.request(), selectColumns(target));
  if (columns.length === 0) return undefined;
  const key = await run<{ COLUMN_NAME: string }>(pool.request(), selectPrimaryKey(target));
  return {
    columns: columns.map((row) => ({ name: row.COLUMN_NAME, type: typeFromInformationSchema(row) })),
    primaryKey: key.map((row) => row.COLUMN_NAME),
  };
}

/**
 * Runs a dialect Statement. Without parameters it goes as a plain batch, so that a #stage it creates outlives
 * the call; with parameters through sp_executesql, each bound as @p1… (the dialect only binds strings).
 */
async function run<T = Record<string, unknown>>(request: mssql.Request, statement: Statement): Promise<T[]> {
  if (statement.params.length === 0) return (await request.batch<T>(statement.sql)).recordset ?? [];
  statement.params.forEach((value, index) => {
    if (typeof value !== 'string') throw new TributaryError('INTERNAL', `parameter @${parameterName(index)} is not a string`);
    request.input(parameterName(index), mssql.NVarChar(mssql.MAX), value);
  });
  return (await request.query<T>(statement.sql)).recordset ?? [];
}
