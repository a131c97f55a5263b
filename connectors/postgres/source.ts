import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import type { ChangeEvent, Row, SourceInfo } from '#core/change-event.ts';
import { TributaryError } from '#core/errors.ts';
import { log } from '#core/log.ts';
import type { SnapshotQueueState } from '#core/snapshot-queue.ts';
import { toSourceOffset, type ReplicationSlotHealth, type SnapshotProgress, type SnapshotRequest, type Source, type SourceItem, type SourceOffset } from '#core/source.ts';
import { tableFilter } from '#core/table-filter.ts';
import { qualifiedName, type ColumnSchema, type TableSchema } from '#core/table-schema.ts';
import type { PostgresConnection } from '#config/connection.ts';
import { PgTypeCatalog } from './catalog.ts';
import { classifyPostgresError, pgOptions, quoteIdent } from './connection.ts';
import { formatLsn, lsnPosition, lsnPositionPrefix, orderPosition, parseLsn } from './lsn.ts';
import { tupleText, tupleTexts, UNCHANGED, type DeleteMessage, type InsertMessage, type RelationMessage, type Tuple, type UpdateMessage } from './pgoutput.ts';
import { preflight } from './preflight.ts';
import { quoteTable } from './names.ts';
import { dropPublication, ensurePublication } from './publication.ts';
import { ReplicationConnection } from './replication-stream.ts';
import { readTableSchema, readTableSchemas, type PostgresTable } from './schema-reader.ts';
import { IncrementalSnapshot } from './incremental-snapshot.ts';
import { dropSlot, emitHeartbeat, formatBytes, retainedWalWarning, slotInfo, slotProblem, type SlotInfo } from './slot.ts';
import { estimateRows, openSnapshot, readTableChunks } from './snapshot.ts';
import { rowConverter, textParser } from './values.ts';

export type SnapshotMode = 'initial' | 'never' | 'when_needed' | 'schema_only';

export interface PostgresSourceSettings {
  name: string;
  connection: PostgresConnection;
  include: string[];
  exclude: string[];
  snapshot: SnapshotMode;
  snapshotChunkSize: number;
  slotName: string;
  publicationName: string;
  /** Bytes of decoded WAL messages buffered before the replication socket is paused. */
  maxQueueBytes: number;
  /** A heartbeat message is written into the WAL this often while streaming, so the slot advances on idle tables. */
  heartbeatIntervalMs: number;
  /** Retained WAL above this many bytes is logged as a warning. */
  retainedWalWarningBytes: number;
}

/**
 * What this source stores as its offset. `lsn`: every transaction that committed before it is in Kafka, so
 * streaming resumes there and the slot may be confirmed up to it. `snapshot`, while one runs: the tables done,
 * the table being read and the key of its last chunk; `tables`, when only some tables are read (added to the
 * include list after the first snapshot).
 */
interface PostgresOffset {
  lsn: string;
  snapshot?: { completed: string[]; table: string | null; lastKey: string[] | null; tables?: string[] };
  /** Ad-hoc snapshots still to publish (snapshotTables): asked for in any phase, published while streaming. */
  incremental?: SnapshotQueueState;
}

/** What the stream knows of a relation: its schema as the last Relation message gave it, and a row converter. */
interface Relation {
  table: TableSchema;
  /** `schema.table`, for logs and the per-table order of events. */
  name: string;
  convert: (texts: readonly (string | null)[]) => Row;
  keyIndexes: number[];
  included: boolean;
}

/** The source transaction being streamed: what its events share, computed once per transaction. */
interface StreamTransaction {
  xid: string;
  txId: bigint;
  prefix: string;
  tsMs: number;
  order: number;
  perTable: Map<string, number>;
}

/** How many items go to the runner in one array: spares a promise per row without holding a transaction whole. */
const ITEMS_PER_YIELD = 256;
const SLOT_CHECK_INTERVAL_MS = 10_000;
const HEARTBEAT_PREFIX = 'tributary.heartbeat';

/**
 * A PostgreSQL source: a snapshot read inside the snapshot its replication slot exported when it was created,
 * in primary-key chunks, then the slot's pgoutput stream from exactly that point. The slot is confirmed only as
 * far as Kafka holds (acknowledge), so a crash anywhere streams again what was not committed, and what was is
 * skipped by its commit LSN.
 */
export class PostgresSource implements Source {
  private readonly included: (namespace: string, table: string) => boolean;
  private readonly progress = new Map<string, SnapshotProgress>();
  private readonly clients = new Set<pg.Client>();
  private replication: ReplicationConnection | null = null;
  private readonly relations = new Map<number, Relation>();
  private catalog: PgTypeCatalog | null = null;
  private readonly log;
  private lastSlot: SlotInfo | null = null;
  private lastSlotCheckedAt = 0;
  /** Ad-hoc snapshots requested while streaming (snapshotTables). */
  private incremental: IncrementalSnapshot | null = null;
  /** Wakes an idle stream (a heartbeat into the WAL), so that a requested ad-hoc snapshot starts at once. */
  private wake: (() => void) | null = null;

  constructor(private readonly settings: PostgresSourceSettings) {
    this.included = tableFilter(settings.include, settings.exclude);
    this.log = log.child({ source: settings.name });
  }

  private async connect(action: string): Promise<pg.Client> {
    const client = new pg.Client(pgOptions(this.settings.connection, { applicationName: `tributary-${this.settings.name}` }));
    // An idle client whose socket dies emits 'error'; the next query on it fails and is classified where it is used.
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (error) {
      throw classifyPostgresError(action, error);
    }
    this.clients.add(client);
    return client;
  }

  private async release(client: pg.Client): Promise<void> {
    this.clients.delete(client);
    await client.end().catch(() => undefined);
  }

  private async connectReplication(action: string): Promise<ReplicationConnection> {
    try {
      return await ReplicationConnection.connect(this.settings.connection, {
        maxQueueBytes: this.settings.maxQueueBytes,
        applicationName: `tributary-${this.settings.name}`,
      });
    } catch (error) {
      throw classifyPostgresError(action, error);
    }
  }

  async preflight(): Promise<void> {
    const client = await this.connect(`connecting to source "${this.settings.name}" for preflight checks`);
    try {
      const tables = await readTableSchemas(client, this.included);
      await preflight(client, {
        tables: tables.map((t) => ({ schema: t.schema.namespace, table: t.schema.table, primaryKey: t.schema.primaryKey, replicaIdentity: t.replicaIdentity })),
        slotName: this.settings.slotName,
        publicationName: this.settings.publicationName,
        snapshot: this.settings.snapshot,
      });
    } finally {
      await this.release(client);
    }
  }

  /**
   * `tributary capture <name> --drop-slot`: the slot pins WAL on the server for as long as it exists, so a source
   * that is retired or must start over drops it, and its publication. A slot in use by a running capture is
   * refused (stop the capture first).
   */
  async dropServerState(): Promise<string[]> {
    const client = await this.connect(`connecting to source "${this.settings.name}" to drop its slot`);
    try {
      const dropped: string[] = [];
      if (await dropSlot(client, this.settings.slotName)) dropped.push(`replication slot ${this.settings.slotName}`);
      if (await dropPublication(client, this.settings.publicationName)) dropped.push(`publication ${this.settings.publicationName}`);
      return dropped;
    } catch (error) {
      throw classifyPostgresError(`dropping slot ${this.settings.slotName} and publication ${this.settings.publicationName}`, error);
    } finally {
      await this.release(client);
    }
  }

  restoreSchemas(): void {
    // Every change's schema comes with the stream (Relation messages): nothing to restore.
  }

  snapshotProgress(): SnapshotProgress[] {
    return [...this.progress.values()];
  }

  /** The slot as last checked (every 10 s while streaming): retained WAL for status and metrics. */
  replicationSlot(): ReplicationSlotHealth | null {
    const slot = this.lastSlot;
    if (!slot) return null;
    return { name: slot.name, active: slot.active, retainedWalBytes: slot.retainedBytes, walStatus: slot.walStatus, checkedAt: this.lastSlotCheckedAt };
  }

  /**
   * Reads tables again while streaming goes on, in chunks published between transactions (incremental-snapshot.ts).
   * Returns the tables refused: not `schema.table`, or not captured by this source.
   */
  snapshotTables(request: SnapshotRequest): string[] {
    const refused = request.tables.filter((name) => {
      const [schema, table, extra] = name.split('.');
      return schema === undefined || table === undefined || extra !== undefined || !this.included(schema, table);
    });
    const accepted = request.tables.filter((name) => !refused.includes(name));
    if (accepted.length > 0 && this.incremental) {
      this.incremental.request(request.id, accepted, request.keys);
      this.wake?.();
    }
    return this.incremental ? refused : request.tables;
  }

  acknowledge(offset: SourceOffset): void {
    const lsn = (offset as unknown as PostgresOffset).lsn;
    if (this.replication && typeof lsn === 'string') this.replication.acknowledge(parseLsn(lsn));
  }

  async *items(stored: SourceOffset | null, signal: AbortSignal): AsyncGenerator<SourceItem | SourceItem[]> {
    const client = await this.connect(`connecting to source "${this.settings.name}"`);
    try {
      this.catalog = new PgTypeCatalog(client);
      let offset = stored as unknown as PostgresOffset | null;
      this.incremental = new IncrementalSnapshot(
        offset?.incremental,
        { chunkSize: this.settings.snapshotChunkSize },
        this.progress,
        this.log,
      );
      const slot = await this.checkedSlot(client, offset !== null);
      if (slot === null) offset = null; // when_needed: the slot is gone, so a new snapshot
      const tables = (await readTableSchemas(client, this.included, this.catalog)).map((t) => ({ ...t, schema: publishedSchema(t.schema, t.replicaIdentity) }));
      for (const table of tables) for (const warning of table.warnings) this.log.warn({ table: qualifiedName(table.schema) }, warning);
      const change = await ensurePublication(
        client,
        this.settings.publicationName,
        tables.map((t) => ({ schema: t.schema.namespace, table: t.schema.table })),
      ).catch((error: unknown) => {
        throw classifyPostgresError(`updating publication ${this.settings.publicationName}`, error);
      });
      if (change.created) this.log.info({ publication: this.settings.publicationName }, 'publication created');
      if (change.added.length > 0 || change.removed.length > 0) {
        this.log.info({ added: change.added.map(nameOf), removed: change.removed.map(nameOf) }, 'publication tables changed to follow include/exclude');
      }
      if (offset && !offset.snapshot && change.added.length > 0 && !change.created && this.readsRows()) {
        // Tables newly included: their existing rows are read now; their changes stream from the moment they were
        // published, and a row both read and streamed converges to its latest state in every sink.
        offset = { lsn: offset.lsn, snapshot: { completed: [], table: null, lastKey: null, tables: change.added.map(nameOf) } };
      }

      if (!offset) offset = yield* this.begin(client, slot, tables, signal);
      if (offset.snapshot) offset = yield* this.snapshot(client, offset, tables, null, signal);
      if (signal.aborted) return;
      yield* this.stream(client, parseLsn(offset.lsn), signal);
    } finally {
      this.catalog = null;
      await this.release(client);
    }
  }

  /**
   * `offset` with the ad-hoc snapshots asked for and not yet done, in every phase: one asked for during the initial
   * snapshot waits for streaming to begin, and a restart before that must find it here, since the signal topic's
   * offset is stored past the signal with this offset.
   */
  private withAdHoc(offset: PostgresOffset): SourceOffset {
    const left = this.incremental?.current();
    return toSourceOffset(left ? { ...offset, incremental: left } : offset);
  }

  private readsRows(): boolean {
    return this.settings.snapshot === 'initial' || this.settings.snapshot === 'when_needed';
  }

  /**
   * The slot, checked: null when it must be created (none yet, or lost with snapshot: when_needed). A stored
   * offset without its slot, or a lost slot, is a position the server no longer has.
   */
  private async checkedSlot(client: pg.Client, hasOffset: boolean): Promise<SlotInfo | null> {
    const { slotName, snapshot, name } = this.settings;
    const info = await slotInfo(client, slotName).catch((error: unknown) => {
      throw classifyPostgresError(`reading replication slot ${slotName}`, error);
    });
    const problem = info && slotProblem(info, this.settings.connection.database, { sourceName: name });
    if (problem && problem.code !== 'POSITION_LOST') throw problem;
    if (info && !problem) return info;
    if (!hasOffset && !problem) return null;
    if (snapshot === 'when_needed') {
      this.log.warn({ slot: slotName }, `${problem ? problem.message : 'the replication slot is gone'}: taking a new snapshot (snapshot: when_needed)`);
      if (info) await dropSlot(client, slotName, { terminateActive: true });
      return null;
    }
    throw (
      problem ??
      new TributaryError(
        'POSITION_LOST',
        `source "${name}" must resume from replication slot ${slotName}, which no longer exists, so the changes since its last ` +
          `position are gone: set snapshot: when_needed to take a new snapshot, or run \`tributary capture ${name} --drop-slot\` ` +
          'and start again (a full snapshot)',
      )
    );
  }

  /**
   * The first run (or a new snapshot): creates the slot, exporting a snapshot when rows are to be read, and
   * returns the offset to go on from. A slot without a stored offset is left from a run that published nothing,
   * so it is created again: its export is gone with the connection that made it.
   */
  private async *begin(
    client: pg.Client,
    slot: SlotInfo | null,
    tables: PostgresTable[],
    signal: AbortSignal,
  ): AsyncGenerator<SourceItem | SourceItem[], PostgresOffset> {
    const { slotName, snapshot } = this.settings;
    if (snapshot === 'never' && slot?.confirmedFlushLsn != null) {
      const offset = { lsn: formatLsn(slot.confirmedFlushLsn) };
      yield { kind: 'commit', offset: this.withAdHoc(offset) };
      return offset;
    }
    if (slot) await dropSlot(client, slotName, { terminateActive: true });
    const replication = await this.connectReplication(`connecting to source "${this.settings.name}" to create slot ${slotName}`);
    try {
      const created = await replication.createSlot(slotName, { exportSnapshot: this.readsRows() });
      this.log.info({ slot: slotName, consistentPoint: formatLsn(created.consistentPoint) }, 'replication slot created');
      const lsn = formatLsn(created.consistentPoint);
      if (!this.readsRows() || created.snapshotName === null) {
        const offset = { lsn };
        yield { kind: 'commit', offset: this.withAdHoc(offset) };
        return offset;
      }
      // The export lives until the next command on `replication`: the snapshot transaction imports it first.
      const offset: PostgresOffset = { lsn, snapshot: { completed: [], table: null, lastKey: null } };
      return yield* this.snapshot(client, offset, tables, { name: created.snapshotName, replication }, signal);
    } finally {
      await replication.close();
    }
  }

  // ------------------------------------------------------------------------------------------------------------
  // Snapshot

  private async *snapshot(
    client: pg.Client,
    offset: PostgresOffset,
    tables: PostgresTable[],
    exported: { name: string; replication: ReplicationConnection } | null,
    signal: AbortSignal,
  ): AsyncGenerator<SourceItem | SourceItem[], PostgresOffset> {
    const reader = await this.connect(`opening the snapshot connection of source "${this.settings.name}"`);
    try {
      await openSnapshot(reader, exported?.name ?? null);
      // Imported: the slot's connection may go (its export is no longer needed).
      await exported?.replication.close();
      const state = offset.snapshot ?? { completed: [], table: null, lastKey: null };
      const only = state.tables ? new Set(state.tables) : null;
      // Rows read by a snapshot sort before every streamed change of the slot. A snapshot of added tables reads
      // the present, so its rows take the present WAL position: streamed changes older than it do not overwrite them.
      const at = exported || !only ? parseLsn(offset.lsn) : await currentLsn(reader);
      const position = lsnPosition(at, 0);
      const selected = tables.filter((t) => !only || only.has(qualifiedName(t.schema)));
      const pending = selected.filter((t) => !state.completed.includes(qualifiedName(t.schema)));
      for (const table of selected) {
        const name = qualifiedName(table.schema);
        const done = state.completed.includes(name);
        this.progress.set(name, { table: name, rowsDone: 0, rowsEstimated: done ? 0 : await estimateRows(reader, table.schema), rowsPerSecond: 0, done });
      }
      const completed = [...state.completed];
      for (let t = 0; t < pending.length; t++) {
        const table = pending[t] as PostgresTable;
        const name = qualifiedName(table.schema);
        const resumeAfter = state.table === name && table.schema.primaryKey.length > 0 ? state.lastKey : null;
        const convert = rowConverter(table.schema, (column, message) => this.log.warn({ table: name, column }, message));
        const progress = this.progress.get(name) as SnapshotProgress;
        const started = Date.now();
        const lastTable = t === pending.length - 1;
        let previous: SourceItem[] | null = null;
        for await (const chunk of readTableChunks(reader, table.schema, { chunkSize: this.settings.snapshotChunkSize, afterKey: resumeAfter, signal })) {
          await slowSnapshotForTests();
          // A chunk is published with the next one in hand, so that the snapshot's very last row can say so.
          if (previous) yield previous;
          const items: SourceItem[] = chunk.rows.map((texts) => ({
            kind: 'event',
            table: table.schema,
            event: snapshotEvent(convert(texts), this.sourceInfo(table.schema, position, Date.now(), 'true')),
          }));
          progress.rowsDone += chunk.rows.length;
          progress.rowsPerSecond = Math.round(progress.rowsDone / Math.max(0.001, (Date.now() - started) / 1000));
          const next: PostgresOffset = { lsn: offset.lsn, snapshot: { ...withTables(state), completed, table: name, lastKey: chunk.lastKey.length > 0 ? chunk.lastKey : null } };
          items.push({ kind: 'commit', offset: this.withAdHoc(next) });
          previous = items;
          if (signal.aborted) break;
        }
        if (previous) {
          if (lastTable) markLast(previous);
          yield previous;
        }
        if (signal.aborted) return offset;
        completed.push(name);
        progress.done = true;
        const next: PostgresOffset = { lsn: offset.lsn, snapshot: { ...withTables(state), completed, table: null, lastKey: null } };
        yield { kind: 'commit', offset: this.withAdHoc(next) };
      }
      await reader.query('COMMIT').catch(() => undefined);
      const finished = { lsn: offset.lsn };
      yield { kind: 'commit', offset: this.withAdHoc(finished) };
      this.log.info({ tables: pending.length }, 'snapshot complete');
      return finished;
    } catch (error) {
      throw classifyPostgresError(`reading the snapshot of source "${this.settings.name}"`, error);
    } finally {
      await this.release(reader);
    }
  }

  // ------------------------------------------------------------------------------------------------------------
  // Streaming

  private async *stream(client: pg.Client, from: bigint, signal: AbortSignal): AsyncGenerator<SourceItem | SourceItem[]> {
    const replication = await this.connectReplication(`connecting to source "${this.settings.name}" for streaming`);
    this.replication = replication;
    const onAbort = () => void replication.close();
    signal.addEventListener('abort', onAbort, { once: true });
    const timers = this.startTimers(client);
    const incremental = this.incremental as IncrementalSnapshot;
    this.wake = () => void emitHeartbeat(client).catch(() => undefined);
    let reader: pg.Client | null = null;
    /** Between transactions: the next ad-hoc snapshot chunk is read, if one is due, on a connection of its own. */
    const readIncremental = async () => {
      if (!incremental.current()) return;
      reader ??= await this.connect(`opening the ad-hoc snapshot connection of source "${this.settings.name}"`);
      await incremental.readNext(reader, (name) => [...this.relations.values()].find((r) => r.included && r.name === name)?.table);
    };
    // The offset to resume from: after the last transaction published, with the ad-hoc snapshots left.
    let resumeLsn = from;
    const offsetHere = (lsn: bigint) => this.withAdHoc({ lsn: formatLsn(lsn) });
    try {
      const version = await replication.serverVersion();
      const messages = await replication.start({
        slot: this.settings.slotName,
        startLsn: from,
        publications: [this.settings.publicationName],
        messages: version >= 140_000,
      });
      this.log.info({ slot: this.settings.slotName, from: formatLsn(from) }, 'streaming');
      let skipping = false;
      let transaction: StreamTransaction | null = null;
      let items: SourceItem[] = [];
      // In runs: one await per run of received messages, not per row.
      for await (const run of messages.runs()) {
        for (const { walStart, message } of run) {
          switch (message.tag) {
            case 'begin':
              // Published before a crash: its commit LSN is below the stored offset (the end of the last one published).
              skipping = message.finalLsn < from;
              transaction = {
                xid: String(message.xid),
                txId: BigInt(message.xid),
                prefix: lsnPositionPrefix(message.finalLsn),
                tsMs: message.commitTime,
                order: 0,
                perTable: new Map(),
              };
              break;
            case 'relation':
              await this.relation(client, message);
              break;
            case 'insert':
            case 'update':
            case 'delete': {
              if (skipping || !transaction) break;
              const relation = this.relations.get(message.relationId);
              if (!relation?.included) break;
              const event = this.rowEvent(message, relation, transaction, walStart);
              if (event?.op === 'u' && event.unchanged && message.tag === 'update' && message.keyTuple && !message.oldTuple) {
                await this.readMovedValues(client, relation, event, message.newTuple);
              }
              if (event) {
                incremental.changed(relation.table, event);
                items.push({ kind: 'event', table: relation.table, event });
              }
              if (items.length >= ITEMS_PER_YIELD) {
                yield items;
                items = [];
              }
              break;
            }
            case 'truncate': {
              if (skipping || !transaction) break;
              for (const id of message.relationIds) {
                const relation = this.relations.get(id);
                if (!relation?.included) continue;
                const order = ++transaction.order;
                const source = this.streamSource(relation, orderPosition(transaction.prefix, order, walStart), transaction, walStart);
                const event: ChangeEvent = { op: 't', before: null, after: null, source, tsMs: Date.now() };
                incremental.changed(relation.table, event);
                items.push({ kind: 'event', table: relation.table, event });
              }
              break;
            }
            case 'commit':
              if (transaction) incremental.committed(Number(transaction.txId));
              if (!skipping && transaction) {
                resumeLsn = message.endLsn;
                items.push({ kind: 'commit', offset: offsetHere(resumeLsn), transactionId: transaction.xid });
                yield items;
                items = [];
              }
              transaction = null;
              skipping = false;
              await readIncremental();
              break;
            case 'message': {
              if (message.transactional || transaction) break;
              // The window mark of an ad-hoc snapshot chunk: what is left of the chunk is published here.
              const chunk = incremental.reached(message, (table, position) => this.sourceInfo(table, position, Date.now(), 'incremental'));
              if (chunk) {
                yield [...chunk, { kind: 'commit', offset: offsetHere(resumeLsn) }];
                await readIncremental();
                break;
              }
              // Our heartbeat, outside any transaction: everything that committed before it has been streamed.
              if (message.prefix === HEARTBEAT_PREFIX && message.lsn >= from) {
                resumeLsn = message.lsn;
                yield { kind: 'heartbeat', offset: offsetHere(resumeLsn) };
                await readIncremental();
              }
              break;
            }
            default:
              break;
          }
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      clearInterval(timers);
      this.replication = null;
      this.wake = null;
      if (reader) await this.release(reader);
      await replication.close();
    }
  }

  /**
   * Timers while streaming: a heartbeat into the WAL (the slot moves on although the captured tables are idle and
   * others are not) and a check of the slot's retained WAL.
   */
  private startTimers(client: pg.Client): NodeJS.Timeout {
    let lastHeartbeat = Date.now();
    let lastCheck = 0;
    let busy = false;
    const tick = async () => {
      if (busy) return;
      busy = true;
      try {
        const now = Date.now();
        if (this.settings.heartbeatIntervalMs > 0 && now - lastHeartbeat >= this.settings.heartbeatIntervalMs) {
          lastHeartbeat = now;
          await emitHeartbeat(client);
        }
        if (now - lastCheck >= SLOT_CHECK_INTERVAL_MS) {
          lastCheck = now;
          this.lastSlot = await slotInfo(client, this.settings.slotName);
          this.lastSlotCheckedAt = Date.now();
          const warning = retainedWalWarning(this.lastSlot?.retainedBytes ?? null, this.settings.retainedWalWarningBytes, this.settings.slotName);
          if (warning) this.log.warn({ slot: this.settings.slotName, retainedWal: formatBytes(this.lastSlot?.retainedBytes ?? 0n) }, warning);
        }
      } catch (error) {
        // The stream notices a lost server by itself; a failed heartbeat only delays the slot's advance.
        this.log.debug({ err: (error as Error).message }, 'heartbeat or slot check failed');
      } finally {
        busy = false;
      }
    };
    void tick();
    return setInterval(() => void tick(), Math.max(1_000, Math.min(this.settings.heartbeatIntervalMs || SLOT_CHECK_INTERVAL_MS, SLOT_CHECK_INTERVAL_MS)));
  }

  /**
   * A Relation message: the columns of the rows that follow, in the order and with the types they were written
   * with. The primary key and nullability come from the catalog (the Relation marks replica identity columns,
   * which with REPLICA IDENTITY FULL are all of them).
   */
  private async relation(client: pg.Client, message: RelationMessage): Promise<void> {
    const namespace = message.namespace === '' ? 'pg_catalog' : message.namespace;
    const included = this.included(namespace, message.name);
    const catalog = this.catalog as PgTypeCatalog;
    // A Relation message follows every schema change: types are read afresh (ALTER TYPE … ADD VALUE, new domains).
    catalog.forget();
    const types = await catalog.resolveMany(message.columns.map((c) => ({ oid: c.typeOid, typmod: c.typeModifier })));
    const current = included ? await readTableSchema(client, namespace, message.name, catalog) : null;
    const known = new Map(current?.schema.columns.map((c) => [c.name, c]) ?? []);
    const names = new Set(message.columns.map((c) => c.name));
    const table: TableSchema = {
      namespace,
      table: message.name,
      columns: message.columns.map((c, i) => {
        const type = types[i] as (typeof types)[number];
        if (type.warning && included) this.log.warn({ table: `${namespace}.${message.name}`, column: c.name }, type.warning);
        return { name: c.name, type: type.type, nullable: known.get(c.name)?.nullable ?? true, sourceType: type.sourceType };
      }),
      primaryKey: (current?.schema.primaryKey ?? message.columns.filter((c) => c.isKey).map((c) => c.name)).filter((c) => names.has(c)),
    };
    const published = publishedSchema(table, message.replicaIdentity);
    const previous = this.relations.get(message.relationId);
    const same = previous && JSON.stringify(previous.table) === JSON.stringify(published);
    const schema = same ? previous.table : published;
    const name = qualifiedName(schema);
    this.relations.set(message.relationId, {
      table: schema,
      name,
      convert: rowConverter(schema, (column, text) => this.log.warn({ table: name, column }, text)),
      keyIndexes: schema.primaryKey.map((k) => schema.columns.findIndex((c) => c.name === k)),
      included,
    });
  }

  private rowEvent(message: InsertMessage | UpdateMessage | DeleteMessage, relation: Relation, transaction: StreamTransaction, walStart: bigint): ChangeEvent | null {
    const order = ++transaction.order;
    const tableOrder = (transaction.perTable.get(relation.name) ?? 0) + 1;
    transaction.perTable.set(relation.name, tableOrder);
    const source = this.streamSource(relation, orderPosition(transaction.prefix, order, walStart), transaction, walStart);
    const block = { id: transaction.xid, totalOrder: order, dataCollectionOrder: tableOrder };
    const tsMs = Date.now();
    // In text mode only an update's new image can hold an unchanged value: the others go to the converter as they are.
    if (message.tag === 'insert') {
      return { op: 'c', before: null, after: relation.convert(message.newTuple as (string | null)[]), source, tsMs, transaction: block };
    }
    if (message.tag === 'delete') {
      const old = message.oldTuple ?? message.keyTuple;
      if (!old) {
        this.log.warn({ table: relation.name }, 'a delete without its old key (REPLICA IDENTITY NOTHING) cannot be captured; set REPLICA IDENTITY FULL or add a primary key');
        return null;
      }
      return { op: 'd', before: relation.convert(tupleTexts(old)), after: null, source, tsMs, transaction: block };
    }
    const old = message.oldTuple ?? message.keyTuple;
    let unchanged: string[] | undefined;
    let newTuple: Tuple = message.newTuple;
    if (newTuple.includes(UNCHANGED)) {
      newTuple = newTuple.map((value, i) => {
        if (value !== UNCHANGED) return value;
        // An unchanged TOASTed value: the full old image (REPLICA IDENTITY FULL) has it; otherwise the sinks keep theirs.
        const before = message.oldTuple?.[i];
        if (before !== undefined && before !== UNCHANGED) return before;
        (unchanged ??= []).push(relation.table.columns[i]?.name as string);
        return null;
      });
    }
    const after = relation.convert(tupleTexts(newTuple));
    const before = old ? relation.convert(tupleTexts(old)) : null;
    return unchanged
      ? { op: 'u', before, after, unchanged, source, tsMs, transaction: block }
      : { op: 'u', before, after, source, tsMs, transaction: block };
  }

  /**
   * An update that moved its row to another key, with a TOASTed value the server did not send and no old image to
   * take it from (REPLICA IDENTITY DEFAULT). It is published as a delete and a create (services/capture/key-change.ts),
   * and a create cannot leave a column as it was, so the value is read from the source by the row's new key: the
   * row's value now, which equals the event's unless a later change of that column follows in the stream, which then
   * brings the sinks up to date. A row not found (deleted or moved again since) keeps null: its later delete or move
   * is in the stream too.
   */
  private async readMovedValues(client: pg.Client, relation: Relation, event: Extract<ChangeEvent, { op: 'u' }>, newTuple: Tuple): Promise<void> {
    const table = relation.table;
    const columns = (event.unchanged ?? []).map((name) => table.columns.find((c) => c.name === name) as ColumnSchema);
    const keys = relation.keyIndexes.map((i) => table.columns[i] as ColumnSchema);
    const sql =
      `SELECT ${columns.map((c) => quoteIdent(c.name)).join(', ')} FROM ${quoteTable({ schema: table.namespace, table: table.table })} ` +
      `WHERE (${keys.map((c) => quoteIdent(c.name)).join(', ')}) = (${keys.map((c, i) => `$${i + 1}::${c.sourceType}`).join(', ')})`;
    let row: (string | null)[] | undefined;
    try {
      const result = await client.query<(string | null)[]>({ text: sql, values: relation.keyIndexes.map((i) => tupleText(newTuple[i] ?? null)), rowMode: 'array' });
      row = result.rows[0];
    } catch (error) {
      throw classifyPostgresError(`reading the unchanged values of a row of ${relation.name} that moved to a new key`, error);
    }
    if (!row) return;
    columns.forEach((column, i) => {
      const text = row[i] ?? null;
      event.after[column.name] = text === null ? null : textParser(column.type)(text);
    });
    delete event.unchanged;
  }

  /** The source block of a streamed event, written out field by field: this runs for every row. */
  private streamSource(relation: Relation, position: string, transaction: StreamTransaction, walStart: bigint): SourceInfo {
    return {
      connector: 'postgresql',
      name: this.settings.name,
      db: this.settings.connection.database,
      schema: relation.table.namespace,
      table: relation.table.table,
      tsMs: transaction.tsMs,
      snapshot: 'false',
      position,
      lsn: walStart,
      txId: transaction.txId,
    };
  }

  private sourceInfo(table: TableSchema, position: string, tsMs: number, snapshot: SourceInfo['snapshot']): SourceInfo {
    return { connector: 'postgresql', name: this.settings.name, db: this.settings.connection.database, schema: table.namespace, table: table.table, tsMs, snapshot, position };
  }

  async close(): Promise<void> {
    await this.replication?.close();
    await Promise.all([...this.clients].map((c) => this.release(c)));
  }
}

/**
 * The schema a table's events are published with. Unless the table's replica identity is FULL, the server may
 * leave a column's value out of an event: every non-key column of a delete's or key-changing update's old image, and
 * an unchanged TOASTed value of an update's new image. Those columns are published as optional, so that such an
 * event carries null (and, for TOAST, the column in the `tributary.unchanged` header) rather than a made-up value; a
 * NOT NULL constraint stays visible in `sourceType` and in the source. Snapshot and stream use this one function, so
 * both publish the same Avro schema.
 */
export function publishedSchema(table: TableSchema, replicaIdentity: string): TableSchema {
  if (replicaIdentity === 'f') return table;
  const keys = new Set(table.primaryKey);
  if (table.columns.every((c) => c.nullable || keys.has(c.name))) return table;
  return { ...table, columns: table.columns.map((c) => (c.nullable || keys.has(c.name) ? c : { ...c, nullable: true })) };
}

function snapshotEvent(after: Row, source: SourceInfo): ChangeEvent {
  return { op: 'r', before: null, after, source, tsMs: Date.now() };
}

/** Marks the snapshot's final row (`snapshot: last`), as Debezium does. */
function markLast(items: SourceItem[]): void {
  for (let i = items.length - 1; i >= 0; i--) {
    const item = items[i] as SourceItem;
    if (item.kind === 'event') {
      item.event.source.snapshot = 'last';
      return;
    }
  }
}

function withTables(state: NonNullable<PostgresOffset['snapshot']>): { tables?: string[] } {
  return state.tables ? { tables: state.tables } : {};
}

async function currentLsn(client: pg.Client): Promise<bigint> {
  const result = await client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
  return parseLsn(result.rows[0]?.lsn ?? '0/0');
}

function nameOf(table: { schema: string; table: string }): string {
  return `${table.schema}.${table.table}`;
}

/**
 * Fault injection for the capture tests: `TRIBUTARY_TEST_SNAPSHOT_CHUNK_DELAY_MS` waits after reading each chunk of
 * the initial snapshot, so that a test can act (send a signal, kill the process) while the snapshot runs.
 */
async function slowSnapshotForTests(): Promise<void> {
  const ms = Number(process.env.TRIBUTARY_TEST_SNAPSHOT_CHUNK_DELAY_MS ?? 0);
  if (ms > 0) await delay(ms);
}
