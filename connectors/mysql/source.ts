import mysql from 'mysql2/promise';
import type { ZongJiTableMapEntry } from '@vlasky/zongji';
import type { ChangeEvent, Row, SourceInfo } from '#core/change-event.ts';
import { describeColumnType, type ColumnValue } from '#core/column-type.ts';
import { TributaryError } from '#core/errors.ts';
import { log, type Logger } from '#core/log.ts';
import type { SnapshotQueueState } from '#core/snapshot-queue.ts';
import { toSourceOffset, type SnapshotProgress, type SnapshotRequest, type Source, type SourceItem, type SourceOffset, type SourceOffsetValue } from '#core/source.ts';
import { tableFilter } from '#core/table-filter.ts';
import { qualifiedName, type ColumnSchema, type TableSchema } from '#core/table-schema.ts';
import { binlogTableSchema, type BinlogTableMapEvent } from './binlog-columns.ts';
import { readBinlog, type BinlogItem } from './binlog-reader.ts';
import { classifyMySqlError, mySqlOptions, type MySqlConnectionConfig } from './connection.ts';
import { tablesChangedBy } from './ddl.ts';
import { MySqlIncrementalSnapshot } from './incremental-snapshot.ts';
import { decodeKey, encodeKey } from './key-codec.ts';
import { eventPosition, eventPositionPrefix, rowPosition, type BinlogCoordinates } from './position.ts';
import { detectFlavor, preflight } from './preflight.ts';
import { readTableSchema, readTableSchemas } from './schema-reader.ts';
import { estimateRows, openConsistentSnapshot, readTableChunks } from './snapshot.ts';
import { rowFromMySql } from './values.ts';

export type SnapshotMode = 'initial' | 'never' | 'when_needed' | 'schema_only';

export interface MySqlSourceSettings {
  name: string;
  connection: MySqlConnectionConfig;
  serverId: number;
  include: string[];
  exclude: string[];
  snapshot: SnapshotMode;
  snapshotChunkSize: number;
  /** Bytes of decoded binlog events buffered before the replication socket is paused. */
  maxQueueBytes: number;
}

/** What this source stores as its offset: where streaming resumes, and how far a running snapshot got. */
interface MySqlOffset {
  binlog: BinlogCoordinates;
  snapshot?: { completed: string[]; table: string | null; lastKey: SourceOffsetValue[] | null };
  /** Ad-hoc snapshots still to publish (snapshotTables), while streaming. */
  incremental?: SnapshotQueueState;
}

type Connection = mysql.Connection;

/**
 * A MySQL or MariaDB source: a consistent snapshot read in primary-key chunks, then the binlog from exactly
 * the snapshot's coordinates. Items are pulled, so neither side reads further than Kafka has taken.
 */
export class MySqlSource implements Source {
  private readonly included: (namespace: string, table: string) => boolean;
  private readonly schemas = new Map<string, TableSchema>();
  private readonly progress = new Map<string, SnapshotProgress>();
  private readonly connections = new Set<Connection>();
  /** The latest TABLE_MAP event per table id: it carries the column names and key of the rows that follow. */
  private readonly tableMaps = new Map<number, BinlogTableMapEvent>();
  /** The schema resolved for each TABLE_MAP event: resolved once per statement, not once per row event. */
  private readonly resolved = new WeakMap<BinlogTableMapEvent, TableSchema>();
  /** Ad-hoc snapshots requested while streaming (snapshotTables); null before items() or on MySQL (see incremental-snapshot.ts). */
  private incremental: MySqlIncrementalSnapshot | null = null;
  /** Has the stream go on between transactions although the server is idle (an ad-hoc snapshot just asked for). */
  private wake: (() => void) | null = null;

  private readonly log: Logger;

  constructor(private readonly settings: MySqlSourceSettings) {
    this.included = tableFilter(settings.include, settings.exclude);
    this.log = log.child({ source: settings.name });
  }

  private async connect(action: string): Promise<Connection> {
    try {
      const connection = await mysql.createConnection(mySqlOptions(this.settings.connection));
      // An idle connection whose socket dies emits 'error'; without a listener that would crash the process.
      // The next query on it fails and is classified and retried where it is used.
      connection.on('error', () => undefined);
      this.connections.add(connection);
      return connection;
    } catch (error) {
      throw classifyMySqlError(action, error);
    }
  }

  private async release(connection: Connection): Promise<void> {
    this.connections.delete(connection);
    await connection.end().catch(() => connection.destroy());
  }

  async preflight(): Promise<void> {
    const connection = await this.connect(`connecting to source "${this.settings.name}" for preflight checks`);
    try {
      await preflight(connection, { snapshot: this.settings.snapshot });
    } finally {
      await this.release(connection);
    }
  }

  restoreSchemas(tables: TableSchema[]): void {
    for (const table of tables) this.schemas.set(qualifiedName(table), table);
  }

  snapshotProgress(): SnapshotProgress[] {
    return [...this.progress.values()];
  }

  /**
   * Reads tables again while the binlog streams on (MariaDB: incremental-snapshot.ts). Returns the tables refused:
   * not `db.table`, not captured, or every table on MySQL, which cannot do it yet.
   */
  snapshotTables(request: SnapshotRequest): string[] {
    if (!this.incremental) {
      this.log.warn({ signal: request.id }, 'ad-hoc snapshots are taken while streaming, and on MariaDB only: MySQL reports no binlog position for a consistent snapshot without a global read lock');
      return request.tables;
    }
    const refused = request.tables.filter((name) => {
      const [db, table, extra] = name.split('.');
      return db === undefined || table === undefined || extra !== undefined || !this.included(db, table);
    });
    const accepted = request.tables.filter((name) => !refused.includes(name));
    if (accepted.length > 0) {
      this.incremental.request(request.id, accepted, request.keys);
      this.wake?.();
    }
    return refused;
  }

  async *items(stored: SourceOffset | null, signal: AbortSignal): AsyncGenerator<SourceItem | SourceItem[]> {
    let offset = stored as unknown as MySqlOffset | null;
    if (offset && !offset.snapshot && !(await this.binlogAvailable(offset.binlog))) {
      if (this.settings.snapshot !== 'when_needed') {
        const { file, pos, gtids } = offset.binlog;
        throw new TributaryError(
          'POSITION_LOST',
          `source "${this.settings.name}" must resume at binlog ${file}:${pos}${gtids ? ` (GTIDs ${gtids})` : ''}, but the server ` +
            'has purged that file: set snapshot: when_needed to take a new snapshot, or raise binlog_expire_logs_seconds ' +
            'so that the binlog outlives capture downtime',
        );
      }
      offset = null; // when_needed: the position is gone, so take a new snapshot
    }
    if (!offset) {
      if (this.settings.snapshot === 'never') {
        const binlog = await this.currentCoordinates();
        offset = { binlog };
        yield { kind: 'commit', offset: toSourceOffset(offset) };
      } else {
        offset = { binlog: { file: '', pos: '0', gtids: '' }, snapshot: { completed: [], table: null, lastKey: null } };
      }
    }
    const adHoc = offset.incremental;
    if (offset.snapshot) offset = yield* this.snapshot(offset, signal);
    if (signal.aborted) return;
    yield* this.stream(offset.binlog, adHoc, signal);
  }

  // ------------------------------------------------------------------------------------------------------------
  // Snapshot

  private async *snapshot(offset: MySqlOffset, signal: AbortSignal): AsyncGenerator<SourceItem | SourceItem[], MySqlOffset> {
    const connection = await this.connect(`opening the snapshot connection of source "${this.settings.name}"`);
    try {
      const flavor = await detectFlavor(connection);
      const coordinates = await openConsistentSnapshot(connection, flavor);
      // A resumed snapshot keeps streaming from where the first attempt began: the rows it already published
      // are older than this new snapshot, and only the binlog since then brings them up to date.
      const binlog = offset.binlog.file === '' ? coordinates : offset.binlog;
      const snapshot = offset.snapshot ?? { completed: [], table: null, lastKey: null };
      const position = eventPosition(coordinates.file, coordinates.pos, 0);
      const tables = (await readTableSchemas(connection, this.included)).sort((a: TableSchema, b: TableSchema) =>
        qualifiedName(a) < qualifiedName(b) ? -1 : 1,
      );
      for (const table of tables) {
        const name = qualifiedName(table);
        this.schemas.set(name, table);
        yield { kind: 'schema-change', namespace: table.namespace, tableName: table.table, table, ddl: '', position, tsMs: Date.now() };
      }
      yield { kind: 'commit', offset: toSourceOffset({ binlog, snapshot }) };

      if (this.settings.snapshot !== 'schema_only') {
        for (const table of tables) {
          const name = qualifiedName(table);
          if (snapshot.completed.includes(name)) continue;
          const afterKey = snapshot.table === name && snapshot.lastKey ? decodeKey(snapshot.lastKey) : null;
          yield* this.snapshotTable(connection, table, afterKey, { binlog, snapshot, position }, signal);
          if (signal.aborted) return { binlog, snapshot };
          snapshot.completed = [...snapshot.completed, name];
          snapshot.table = null;
          snapshot.lastKey = null;
          yield { kind: 'commit', offset: toSourceOffset({ binlog, snapshot }) };
        }
      }
      await connection.query('COMMIT');
      const done: MySqlOffset = { binlog };
      yield { kind: 'commit', offset: toSourceOffset(done) };
      return done;
    } finally {
      await this.release(connection);
    }
  }

  private async *snapshotTable(
    connection: Connection,
    table: TableSchema,
    afterKey: ColumnValue[] | null,
    at: { binlog: BinlogCoordinates; snapshot: NonNullable<MySqlOffset['snapshot']>; position: string },
    signal: AbortSignal,
  ): AsyncGenerator<SourceItem | SourceItem[]> {
    const name = qualifiedName(table);
    const started = Date.now();
    const progress: SnapshotProgress = {
      table: name,
      rowsDone: 0,
      rowsEstimated: await estimateRows(connection, table),
      rowsPerSecond: 0,
      done: false,
    };
    this.progress.set(name, progress);
    for await (const chunk of readTableChunks(connection, table, { chunkSize: this.settings.snapshotChunkSize, afterKey, signal })) {
      yield chunk.rows.map((row): SourceItem => ({ kind: 'event', table, event: changeEvent('r', null, row, this.snapshotSource(table, at.position)) }));
      progress.rowsDone += chunk.rows.length;
      progress.rowsPerSecond = Math.round((progress.rowsDone * 1000) / Math.max(1, Date.now() - started));
      // A table without a primary key cannot resume mid-way: its chunks carry no key, so it restarts whole.
      const lastKey = chunk.lastKey.length > 0 ? encodeKey(chunk.lastKey) : null;
      at.snapshot.table = lastKey ? name : null;
      at.snapshot.lastKey = lastKey;
      yield { kind: 'commit', offset: toSourceOffset({ binlog: at.binlog, snapshot: at.snapshot }) };
      if (signal.aborted) return;
    }
    progress.done = true;
  }

  private snapshotSource(table: TableSchema, position: string): SourceInfo {
    return {
      connector: 'mysql',
      name: this.settings.name,
      db: table.namespace,
      table: table.table,
      tsMs: Date.now(),
      snapshot: 'true',
      position,
    };
  }

  // ------------------------------------------------------------------------------------------------------------
  // Streaming

  private async *stream(from: BinlogCoordinates, adHoc: SnapshotQueueState | undefined, signal: AbortSignal): AsyncGenerator<SourceItem | SourceItem[]> {
    const control = await this.connect(`connecting to source "${this.settings.name}" to read table schemas`);
    const incremental =
      (await detectFlavor(control)) === 'mariadb' ? new MySqlIncrementalSnapshot(adHoc, { chunkSize: this.settings.snapshotChunkSize }, this.progress, this.log) : null;
    this.incremental = incremental;
    const offsetAt = (binlog: BinlogCoordinates) => {
      const left = incremental?.current();
      return toSourceOffset(left ? { binlog, incremental: left } : { binlog });
    };
    let reader: Connection | null = null;
    /** Between transactions at `here`: ad-hoc snapshot chunks read and, once the stream is at their snapshot, published. */
    const adHocChunks = async function* (this: MySqlSource, here: BinlogCoordinates): AsyncGenerator<SourceItem[]> {
      if (!incremental?.current()) return;
      for (;;) {
        reader ??= await this.connect(`opening the ad-hoc snapshot connection of source "${this.settings.name}"`);
        await incremental.readNext(reader, (name) => this.schemas.get(name));
        const items = incremental.due(here, (table, position) => this.snapshotSource(table, position));
        if (!items) return;
        yield [...items, { kind: 'commit', offset: offsetAt(here) }];
      }
    }.bind(this);
    const binlog = readBinlog(
      { connection: this.settings.connection, serverId: this.settings.serverId, from, maxQueueBytes: this.settings.maxQueueBytes },
      signal,
    );
    this.wake = () => binlog.wake();
    let inTransaction = false;
    const order: TransactionOrder = { total: 0, perTable: new Map() };
    try {
      for await (const item of binlog) {
        const { event } = item;
        switch (event.getEventName()) {
          case 'mariadbgtid':
            inTransaction = !event.standalone && !event.isDdl;
            order.total = 0;
            order.perTable.clear();
            break;
          case 'tablemap':
            this.tableMaps.set(event.tableId ?? -1, event as unknown as BinlogTableMapEvent);
            break;
          case 'gtid':
            order.total = 0;
            order.perTable.clear();
            break;
          case 'writerows':
          case 'updaterows':
          case 'deleterows':
            inTransaction = true;
            const rows = this.rowEvents(item, order);
            if (rows.length > 0) yield rows;
            break;
          case 'xid':
            inTransaction = false;
            yield { kind: 'commit', offset: offsetAt(item.resume), ...(event.gtid ? { transactionId: event.gtid } : {}) };
            yield* adHocChunks(item.resume);
            break;
          case 'query': {
            const query = (event.query ?? '').trim();
            if (/^BEGIN$/i.test(query)) {
              inTransaction = true;
              order.total = 0;
              order.perTable.clear();
            } else if (/^COMMIT$/i.test(query)) {
              inTransaction = false;
              yield { kind: 'commit', offset: offsetAt(item.resume), ...(event.gtid ? { transactionId: event.gtid } : {}) };
              yield* adHocChunks(item.resume);
            } else if (!inTransaction) {
              yield* this.ddl(control, item, query);
              yield { kind: 'commit', offset: offsetAt(item.resume) };
              yield* adHocChunks(item.resume);
            }
            break;
          }
          case 'heartbeat':
            if (inTransaction) break;
            yield { kind: 'heartbeat', offset: offsetAt(item.resume) };
            yield* adHocChunks(item.resume);
            break;
          case 'tributary-wake':
            if (!inTransaction) yield* adHocChunks(item.resume);
            break;
          default:
            break;
        }
      }
    } finally {
      this.incremental = null;
      this.wake = null;
      if (reader) await this.release(reader);
      await this.release(control);
    }
  }

  /** The items of one rows event: its rows as events, after a schema change when its table map brought one. */
  private rowEvents(item: BinlogItem, order: TransactionOrder): SourceItem[] {
    const { event, resume } = item;
    const entry = event.tableMap?.[event.tableId ?? -1];
    if (!entry || !this.included(entry.parentSchema, entry.tableName)) return [];
    const tableMap = this.tableMaps.get(event.tableId ?? -1);
    const cached = tableMap && this.resolved.get(tableMap);
    const { table, changed } = cached ? { table: cached, changed: false } : this.schemaFor(entry, tableMap);
    if (tableMap && !cached) this.resolved.set(tableMap, table);
    const items: SourceItem[] = [];
    if (changed) {
      items.push({ kind: 'schema-change', namespace: table.namespace, tableName: table.table, table, ddl: '', position: resume.pos, tsMs: event.timestamp });
    }
    const name = qualifiedName(table);
    const eventName = event.getEventName();
    const op = eventName === 'writerows' ? 'c' : eventName === 'updaterows' ? 'u' : 'd';
    const rows = event.rows ?? [];
    // What the rows of one event share is computed once; per row only its order and values. This runs per row.
    const gtid = event.gtid;
    const prefix = eventPositionPrefix(resume.file, resume.pos);
    const pos = BigInt(resume.pos);
    const transactionId = gtid ?? `${resume.file}:${resume.pos}`;
    const tableOrder = order.perTable.get(name) ?? 0;
    const columns = table.columns;
    for (let i = 0; i < rows.length; i++) {
      const raw = rows[i] as Record<string, unknown>;
      const total = ++order.total;
      // MariaDB writes no position on events inside a transaction; the transaction's start and the event's
      // order inside it identify and order it just as well.
      const position = rowPosition(prefix, total);
      const source: SourceInfo = gtid
        ? { connector: 'mysql', name: this.settings.name, db: table.namespace, table: table.table, tsMs: event.timestamp, snapshot: 'false', position, gtid, file: resume.file, pos, row: total }
        : { connector: 'mysql', name: this.settings.name, db: table.namespace, table: table.table, tsMs: event.timestamp, snapshot: 'false', position, file: resume.file, pos, row: total };
      const before = op === 'c' ? null : rowFromMySql(columns, (op === 'u' ? raw.before : raw) as Record<string, unknown>);
      const after = op === 'd' ? null : rowFromMySql(columns, (op === 'u' ? raw.after : raw) as Record<string, unknown>);
      const transaction = { id: transactionId, totalOrder: total, dataCollectionOrder: tableOrder + i + 1 };
      const changeEvent = { op, before, after, source, tsMs: Date.now(), transaction } as ChangeEvent;
      items.push({ kind: 'event', table, event: changeEvent });
    }
    order.perTable.set(name, tableOrder + rows.length);
    return items;
  }

  /**
   * The schema to decode a row event with. The schema history (from the snapshot and DDL) is richer than the
   * binlog's own column metadata (MariaDB JSON, exact declared types), so it wins while its column names and types
   * match the event's (sameColumns); when they differ the history is behind or ahead of this event (a capture that
   * lags its DDL reads the server's later schema), and the binlog's metadata, written with the event itself, is the
   * truth.
   */
  private schemaFor(entry: ZongJiTableMapEntry, tableMap: BinlogTableMapEvent | undefined): { table: TableSchema; changed: boolean } {
    const name = `${entry.parentSchema}.${entry.tableName}`;
    const known = this.schemas.get(name);
    const fromBinlog = tableMap ? binlogTableSchema(entry.parentSchema, entry.tableName, tableMap) : null;
    if (known && (!fromBinlog || sameColumns(known, fromBinlog))) return { table: known, changed: false };
    if (!fromBinlog) {
      throw new TributaryError(
        'SCHEMA_UNSUPPORTED',
        `the binlog has no column names for ${name} and no schema history covers it: set binlog_row_metadata=FULL on the server`,
      );
    }
    const table = known ? { ...fromBinlog, primaryKey: fromBinlog.primaryKey.length > 0 ? fromBinlog.primaryKey : known.primaryKey } : fromBinlog;
    this.schemas.set(name, table);
    return { table, changed: true };
  }

  private async *ddl(control: Connection, item: BinlogItem, query: string): AsyncGenerator<SourceItem> {
    const changes = tablesChangedBy(query, item.event.schema ?? '');
    if (!changes) return;
    const position = eventPosition(item.resume.file, item.resume.pos, 0);
    for (const change of changes) {
      const targets = [{ namespace: change.namespace, table: change.table }];
      if (change.to) targets.push(change.to);
      for (const target of targets) {
        if (!this.included(target.namespace, target.table)) continue;
        const name = `${target.namespace}.${target.table}`;
        if (change.kind === 'truncate') {
          const table = this.schemas.get(name);
          if (table) {
            const source: SourceInfo = {
              connector: 'mysql', name: this.settings.name, db: target.namespace, table: target.table,
              tsMs: item.event.timestamp, snapshot: 'false', position, file: item.resume.file, pos: BigInt(item.resume.pos), row: 0,
              ...(item.event.gtid ? { gtid: item.event.gtid } : {}),
            };
            yield { kind: 'event', table, event: changeEvent('t', null, null, source) };
          }
          continue;
        }
        const gone = change.kind === 'drop' || (change.to !== undefined && target === targets[0]);
        const table = gone ? null : await this.readSchema(control, target.namespace, target.table);
        if (table) this.schemas.set(name, table);
        else this.schemas.delete(name);
        yield { kind: 'schema-change', namespace: target.namespace, tableName: target.table, table, ddl: query, position, tsMs: item.event.timestamp };
      }
    }
  }

  private async readSchema(control: Connection, namespace: string, table: string): Promise<TableSchema | null> {
    try {
      return await readTableSchema(control, namespace, table);
    } catch (error) {
      throw classifyMySqlError(`reading the schema of ${namespace}.${table} after a DDL statement`, error);
    }
  }

  private async binlogAvailable(binlog: BinlogCoordinates): Promise<boolean> {
    const connection = await this.connect(`listing the binlogs of source "${this.settings.name}"`);
    try {
      const [rows] = await connection.query('SHOW BINARY LOGS');
      return (rows as Array<{ Log_name: string }>).some((row) => row.Log_name === binlog.file);
    } catch (error) {
      throw classifyMySqlError(`listing the binlogs of source "${this.settings.name}"`, error);
    } finally {
      await this.release(connection);
    }
  }

  private async currentCoordinates(): Promise<BinlogCoordinates> {
    const connection = await this.connect(`reading the binlog position of source "${this.settings.name}"`);
    try {
      const [rows] = await connection.query('SHOW MASTER STATUS');
      const row = (rows as Array<{ File: string; Position: number | string; Executed_Gtid_Set?: string }>)[0];
      if (!row) throw new TributaryError('PREFLIGHT_FAILED', 'SHOW MASTER STATUS returned nothing: the binlog is off (set log_bin)');
      let gtids = row.Executed_Gtid_Set ?? '';
      if (!gtids) {
        const [pos] = await connection.query('SELECT @@GLOBAL.gtid_binlog_pos AS gtids');
        gtids = String((pos as Array<{ gtids: string | null }>)[0]?.gtids ?? '');
      }
      return { file: row.File, pos: String(row.Position), gtids };
    } catch (error) {
      throw classifyMySqlError(`reading the binlog position of source "${this.settings.name}"`, error);
    } finally {
      await this.release(connection);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.connections].map((c) => this.release(c)));
  }
}

/**
 * Whether the history's `known` schema describes rows whose TABLE_MAP gives `binlog`: the same column names in the
 * same order, and the same types, so that a type change under the same name (MODIFY c DECIMAL(12,4)) is seen too.
 */
function sameColumns(known: TableSchema, binlog: TableSchema): boolean {
  return (
    known.columns.length === binlog.columns.length &&
    known.columns.every((c, i) => {
      const b = binlog.columns[i];
      return b !== undefined && c.name === b.name && sameType(c, b);
    })
  );
}

/**
 * Types compared as far as the binlog can tell them (binlog-columns.ts): MariaDB's JSON is LONGTEXT there, its UUID
 * BINARY(16) and INET4/INET6 BINARY(4)/(16); string and bytes lengths and nullability are not compared.
 */
function sameType(known: ColumnSchema, binlog: ColumnSchema): boolean {
  if (describeColumnType(known.type) === describeColumnType(binlog.type)) return true;
  switch (known.type.kind) {
    case 'json':
      return binlog.type.kind === 'string';
    case 'uuid':
      return binlog.type.kind === 'bytes';
    case 'string':
      return binlog.type.kind === 'bytes' && /^inet[46]/i.test(known.sourceType);
    default:
      return false;
  }
}

/** Where a row stands in its source transaction: Debezium's total_order and data_collection_order. */
interface TransactionOrder {
  total: number;
  perTable: Map<string, number>;
}



function changeEvent(op: ChangeEvent['op'], before: Row | null, after: Row | null, source: SourceInfo): ChangeEvent {
  return { op, before, after, source, tsMs: Date.now() } as ChangeEvent;
}
