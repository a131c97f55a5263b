import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import type { ClickHouseClient, ClickHouseSettings } from '@clickhouse/client';
import type { ClickHouseSinkConfig } from '#config/schema.ts';
import { TributaryError } from '#core/errors.ts';
import { DELETED_COLUMN, type Sink, type SinkChange, type TableChanges } from '#core/sink.ts';
import { qualifiedName as sourceName, type TableSchema } from '#core/table-schema.ts';
import {
  addColumnsSql,
  columnsQuery,
  createDatabaseSql,
  createTableSql,
  createViewSql,
  currentViewName,
  dropTableSql,
  insertStatement,
  META_COLUMNS,
  pendingMutationsQuery,
  qualifiedName,
  settingsQuery,
  storedValuesQuery,
  tablesQuery,
  truncateSql,
} from './dialect.ts';
import { clickHouseClient } from './client.ts';
import { classifyClickHouseError } from './errors.ts';
import { checkSourceTable, existingTablePlan, newTablePlan, type TablePlan } from './evolution.ts';
import { DETECTED_SETTINGS, serverFeatures, type ServerFeatures } from './features.ts';
import { encodeRows, keyBytes, keyLiteral, splitRowBinary, type TargetColumn, type TargetRow } from './values.ts';
import { positionVersion } from './version.ts';

// The ClickHouse sink: each source table becomes a ReplacingMergeTree ordered by its primary key and versioned by
// the change's source position, so that replays and out-of-order changes settle on the source's state under
// FINAL. dialect.ts builds the SQL, values.ts the RowBinary rows, evolution.ts decides schema changes; this file
// only talks to the server. Errors are classified at the edge and never retried here: the sink runner retries.

export interface ClickHouseSinkOptions {
  /** Longest wait for a truncate's mutation on servers without mutations_sync (then a retriable error). */
  mutationTimeoutMs?: number;
  /** HTTP request timeout; a truncate with mutations_sync waits within one request. */
  requestTimeoutMs?: number;
}

interface TableState {
  table: TableSchema;
  plan: TablePlan;
}

interface TableRow {
  name: string;
  engine: string;
  engine_full: string;
  create_table_query: string;
}

interface ColumnRow {
  name: string;
  type: string;
  is_in_sorting_key: number | string;
}

export class ClickHouseSink implements Sink {
  private client: ClickHouseClient | undefined;
  private detected: ServerFeatures | undefined;
  /** One promise per TableSchema value: a schema is immutable, so a table is checked once per schema version. */
  private tables = new WeakMap<TableSchema, Promise<TableState>>();
  private readonly database: string;
  private readonly mutationTimeoutMs: number;
  private readonly requestTimeoutMs: number;

  constructor(
    private readonly config: ClickHouseSinkConfig,
    options: ClickHouseSinkOptions = {},
  ) {
    this.database = config.connection.database;
    this.mutationTimeoutMs = options.mutationTimeoutMs ?? 300_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 300_000;
  }

  /** What the server supports; known after connect(). */
  get features(): ServerFeatures {
    if (!this.detected) throw new TributaryError('INTERNAL', `ClickHouse sink "${this.config.name}" is not connected`);
    return this.detected;
  }

  async connect(): Promise<void> {
    if (this.client) return;
    const { url, username } = this.config.connection;
    const client = clickHouseClient(this.config.connection, { application: 'tributary', requestTimeoutMs: this.requestTimeoutMs });
    const action = `connecting ClickHouse sink "${this.config.name}" to ${url} as user "${username}"`;
    try {
      const [version] = await this.rows<{ version: string }>(client, 'SELECT version() AS version');
      const settings = await this.rows<{ name: string }>(client, settingsQuery(DETECTED_SETTINGS));
      this.detected = serverFeatures(version?.version ?? '', new Set(settings.map((row) => row.name)));
      await client.command({ query: createDatabaseSql(this.database) });
    } catch (error) {
      await client.close().catch(() => undefined);
      throw this.classify(action, error);
    }
    this.client = client;
  }

  async prepare(table: TableSchema): Promise<void> {
    await this.tableState(table);
  }

  async apply(batch: TableChanges[], token: string): Promise<void> {
    for (const [index, entry] of batch.entries()) {
      const state = await this.tableState(entry.table);
      // A truncate is alone in its TableChanges by the runner's contract; splitting at truncates anyway keeps
      // the order of operations right whatever the batch holds.
      let rows: RowChange[] = [];
      let part = 0;
      for (const change of entry.changes) {
        if (change.op !== 'truncate') {
          rows.push(change);
          continue;
        }
        await this.insert(state, rows, `${token}:${index}:${part++}`);
        rows = [];
        await this.truncate(state, change.position);
      }
      await this.insert(state, rows, `${token}:${index}:${part}`);
    }
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.close();
  }

  private tableState(table: TableSchema): Promise<TableState> {
    let state = this.tables.get(table);
    if (!state) {
      state = this.load(table);
      this.tables.set(table, state);
      // A failed check is not cached: the next prepare() asks the server again.
      state.catch(() => this.tables.delete(table));
    }
    return state;
  }

  /** Creates the target table or evolves it from what system.columns says, then its `_current` view. */
  private async load(table: TableSchema): Promise<TableState> {
    const client = this.connected();
    const features = this.features;
    const name = table.table;
    const target = qualifiedName(this.database, name);
    const action = `preparing ClickHouse table ${target} for ${sourceName(table)}`;
    try {
      checkSourceTable(table);
      const view = currentViewName(name);
      const existing = await this.rows<TableRow>(client, tablesQuery(this.database, [name, view]));
      let found = existing.find((row) => row.name === name);
      const viewRow = existing.find((row) => row.name === view);
      if (found && found.engine === 'View') {
        // A source table named like another table's view: the real table wins, the convenience view goes.
        if (!isCurrentView(found)) {
          throw new TributaryError('SINK_SCHEMA_INCOMPATIBLE', `${target} is a view that Tributary did not create; drop or rename it`);
        }
        await client.command({ query: dropTableSql(this.database, name) });
        found = undefined;
      }
      let plan: TablePlan;
      let columns: ColumnRow[] = [];
      if (!found) {
        await client.command({ query: createTableSql(this.database, table, features) });
        plan = newTablePlan(table, features);
      } else {
        columns = await this.rows<ColumnRow>(client, columnsQuery(this.database, name));
        plan = existingTablePlan(
          this.database,
          table,
          {
            engine: found.engine,
            engineFull: found.engine_full,
            createQuery: found.create_table_query,
            columns: columns.map((column) => ({ name: column.name, type: column.type, inSortingKey: Number(column.is_in_sorting_key) === 1 })),
          },
          features,
        );
        if (plan.add.length > 0) await client.command({ query: addColumnsSql(this.database, name, plan.add) });
      }
      const tableColumns = found ? [...columns.map((column) => column.name), ...plan.add.map((column) => column.name)] : undefined;
      await this.ensureView(client, name, viewRow, tableColumns);
      return { table, plan };
    } catch (error) {
      throw this.classify(action, error);
    }
  }

  /**
   * Keeps `<table>_current` in step with the table. Its columns are fixed when it is created, so it is replaced
   * whenever they differ from the table's. A non-view that already holds the name (a source table called
   * `x_current`) is left alone, and that table simply has no view.
   */
  private async ensureView(client: ClickHouseClient, table: string, viewRow: TableRow | undefined, tableColumns: string[] | undefined) {
    const view = currentViewName(table);
    if (viewRow && !isCurrentView(viewRow)) return;
    if (!viewRow) {
      await client.command({ query: createViewSql(this.database, table, 'create') });
      return;
    }
    if (tableColumns) {
      const viewColumns = await this.rows<ColumnRow>(client, columnsQuery(this.database, view));
      if (viewColumns.map((column) => column.name).join('\0') === tableColumns.join('\0')) return;
    }
    if (this.features.extendedTypes) {
      await client.command({ query: createViewSql(this.database, table, 'replace') });
    } else {
      // No CREATE OR REPLACE on old servers: the view is briefly absent between the two statements.
      await client.command({ query: dropTableSql(this.database, view) });
      await client.command({ query: createViewSql(this.database, table, 'create') });
    }
  }

  /** One RowBinary insert; with deduplication, a replay of the same batch part is dropped by the server. */
  private async insert(state: TableState, changes: RowChange[], token: string): Promise<void> {
    if (changes.length === 0) return;
    const client = this.connected();
    const name = state.table.table;
    const action = `writing ${changes.length} rows into ClickHouse table ${qualifiedName(this.database, name)}`;
    try {
      const rows = changes.map(targetRow);
      await this.fillUnchanged(client, state, changes, rows);
      const body = encodeRows(state.plan.columns, rows);
      const columns = [...state.plan.columns.map(({ column }) => column.name), ...META_COLUMNS.map((column) => column.name)];
      const { query, bodyPrefix } = insertStatement(this.database, name, columns);
      const settings: ClickHouseSettings = state.plan.deduplication ? { insert_deduplicate: 1, insert_deduplication_token: token } : {};
      const result = await client.exec({
        query,
        values: Readable.from([Buffer.from(bodyPrefix, 'utf8'), body], { objectMode: false }),
        clickhouse_settings: settings,
      });
      // Invariant: the insert is durable (written to a part; fsynced where fsync_after_insert is set) once the
      // response ends without an error.
      await drain(result.stream);
    } catch (error) {
      throw this.classify(action, error);
    }
  }

  /**
   * ReplacingMergeTree replaces whole rows, so an upsert with unchanged columns must carry their stored values:
   * they are read from the table (its latest version per key, under FINAL) and copied into the insert as the
   * RowBinary cells they were read as, never converted. A key the table does not have (or whose latest version is
   * a delete) gets NULL there, an empty array for an array column. Changes earlier in the same apply() were
   * inserted before this is read, so a later part of the batch sees them.
   *
   * Should the stored row be newer than the change (a replay), the values come from that newer row; harmless,
   * because the change's own version is lower and it never wins under FINAL.
   */
  private async fillUnchanged(client: ClickHouseClient, state: TableState, changes: readonly RowChange[], rows: TargetRow[]): Promise<void> {
    const byName = new Map(state.plan.columns.map((target) => [target.column.name, target]));
    const keyColumns = state.table.primaryKey.map((name) => byName.get(name) as TargetColumn);
    const keyNames = new Set(state.table.primaryKey);
    const read = new Map<string, TargetColumn>();
    const wanting: Array<{ row: TargetRow; columns: TargetColumn[]; key: string; literals: string[] }> = [];
    changes.forEach((change, i) => {
      if (change.op !== 'upsert' || !change.unchanged) return;
      const columns = change.unchanged.filter((name) => !keyNames.has(name)).flatMap((name) => byName.get(name) ?? []);
      if (columns.length === 0) return;
      for (const target of columns) read.set(target.column.name, target);
      const literals = keyColumns.map((target) => keyLiteral(target, change.key[target.column.name] ?? null));
      wanting.push({ row: rows[i] as TargetRow, columns, key: keyBytes(keyColumns, change.key), literals });
    });
    if (wanting.length === 0) return;
    const readColumns = [...read.values()];
    const types = [...keyColumns, ...readColumns].map((target) => target.type);
    const stored = new Map<string, Buffer[]>();
    for (const part of keyChunks(wanting)) {
      const query = storedValuesQuery(
        this.database,
        state.table.table,
        keyColumns.map((target) => target.column.name),
        readColumns.map((target) => target.column.name),
        part.map((w) => w.literals),
      );
      // wait_end_of_query: an error while reading is an HTTP error, not text after the rows.
      const result = await client.exec({ query, clickhouse_settings: { wait_end_of_query: 1 } });
      for (const cells of splitRowBinary(await collect(result.stream), types)) {
        stored.set(Buffer.concat(cells.slice(0, keyColumns.length)).toString('hex'), cells.slice(keyColumns.length));
      }
    }
    for (const { row, columns, key } of wanting) {
      const found = stored.get(key);
      if (!found) continue; // not in the table: the row holds null for those columns already
      row.cells = new Map(columns.map((target) => [target.column.name, found[readColumns.indexOf(target)] as Buffer]));
    }
  }

  /**
   * A source truncate: every version before its position goes. Changes after it in this batch are inserted only
   * once the mutation is done, and parts inserted after a mutation starts are never touched by it.
   */
  private async truncate(state: TableState, position: string): Promise<void> {
    const client = this.connected();
    const name = state.table.table;
    const action = `truncating ClickHouse table ${qualifiedName(this.database, name)} before position ${position}`;
    try {
      const query = truncateSql(this.database, name, positionVersion(position));
      if (this.features.mutationsSync) {
        await client.command({ query, clickhouse_settings: { mutations_sync: '1' } });
        return;
      }
      await client.command({ query });
      await this.waitForMutations(client, name);
    } catch (error) {
      throw this.classify(action, error);
    }
  }

  /**
   * Old servers run mutations in the background only, so the truncate is done when system.mutations has no
   * unfinished one for the table. This is waiting for the server's own work, not a retry: past the deadline the
   * runner gets a retriable error and applies the batch again, truncate included.
   */
  private async waitForMutations(client: ClickHouseClient, table: string): Promise<void> {
    const deadline = Date.now() + this.mutationTimeoutMs;
    for (let pause = 10; ; pause = Math.min(pause * 2, 1_000)) {
      const [row] = await this.rows<{ pending: string | number }>(client, pendingMutationsQuery(this.database, table));
      if (Number(row?.pending ?? 0) === 0) return;
      if (Date.now() >= deadline) {
        throw new TributaryError(
          'TARGET_UNAVAILABLE',
          `the DELETE mutation is still running after ${Math.round(this.mutationTimeoutMs / 1000)} s (see system.mutations)`,
          { retriable: true },
        );
      }
      await delay(pause);
    }
  }

  private async rows<T>(client: ClickHouseClient, query: string): Promise<T[]> {
    const result = await client.query({ query, format: 'JSONEachRow' });
    return result.json<T>();
  }

  private connected(): ClickHouseClient {
    if (!this.client) throw new TributaryError('INTERNAL', `ClickHouse sink "${this.config.name}" is used before connect() or after close()`);
    return this.client;
  }

  private classify(action: string, error: unknown): TributaryError {
    return classifyClickHouseError(action, error, this.config.connection.password);
  }
}

type RowChange = Exclude<SinkChange, { op: 'truncate' }>;

/** An upsert is the whole row; a delete is the key, NULL elsewhere, flagged deleted, at its own version. */
function targetRow(change: RowChange): TargetRow {
  const version = positionVersion(change.position);
  return change.op === 'upsert'
    ? { values: change.row, version, deleted: false, position: change.position }
    : { values: change.key, version, deleted: true, position: change.position };
}

/** Tributary's `_current` views are the only views it drops or replaces. */
function isCurrentView(row: TableRow): boolean {
  return row.engine === 'View' && row.create_table_query.includes(DELETED_COLUMN) && /\bFINAL\b/.test(row.create_table_query);
}

/**
 * Keys in groups whose IN list stays far below max_query_size (256 KiB on every server version, counted over the
 * whole SELECT): at most 1,000 keys and 128 KiB of literals each.
 */
function* keyChunks<T extends { literals: string[] }>(wanting: readonly T[]): Generator<T[]> {
  let part: T[] = [];
  let size = 0;
  for (const item of wanting) {
    const length = item.literals.reduce((sum, literal) => sum + literal.length + 2, 2);
    if (part.length > 0 && (part.length >= 1000 || size + length > 128 * 1024)) {
      yield part;
      part = [];
      size = 0;
    }
    part.push(item);
    size += length;
  }
  if (part.length > 0) yield part;
}

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

async function drain(stream: NodeJS.ReadableStream): Promise<void> {
  for await (const _ of stream) {
    // The insert's answer is empty or a summary: read to the end so that a late server error surfaces here.
  }
}
