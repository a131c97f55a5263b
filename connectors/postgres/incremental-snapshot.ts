import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type pg from 'pg';
import type { ChangeEvent, Row, SourceInfo } from '#core/change-event.ts';
import { TributaryError } from '#core/errors.ts';
import type { Logger } from '#core/log.ts';
import { SnapshotQueue, type SnapshotQueueState } from '#core/snapshot-queue.ts';
import type { SnapshotProgress, SourceItem } from '#core/source.ts';
import { badKeys, keyRowFromCanonical } from '#core/canonical-key.ts';
import { keyTableOf } from '#core/checksum.ts';
import { keyText, qualifiedName, type TableSchema } from '#core/table-schema.ts';
import { keyLookup } from './checksum.ts';
import { classifyPostgresError } from './connection.ts';
import { lsnPosition, parseLsn } from './lsn.ts';
import { readTableSchema } from './schema-reader.ts';
import { chunkQuery, estimateRows, keyedRowsQuery } from './snapshot.ts';
import { rowConverter } from './values.ts';

// An ad-hoc snapshot while streaming goes on (Debezium's incremental snapshot, after Netflix's DBLog): a table is
// read again in primary-key chunks between streamed transactions, and each chunk is published in the stream's
// order, at a window mark the source writes into the WAL right after reading it (a non-transactional logical
// message). Until the stream reaches that mark, every key a streamed change touches is struck from the chunk: the
// stream carries that key's newer state itself. What is left of the chunk is published at the mark's position,
// which sorts after every change the chunk saw and before every change it did not (those commit after the mark).
//
// Two races need more. A transaction whose commit record is already in the WAL (even already streamed) may still
// be invisible to a snapshot taken a moment later, until its backend has finished committing: the chunk's snapshot
// lists the transactions invisible to it, and when one of them was already streamed, the chunk is read again. And a
// transaction the snapshot cannot see may be changing a row the chunk reads and commit after the mark: such a row
// version carries that transaction in its xmax, and is left out (the stream brings the change).
//
// The chunk's position is the mark's commit place with, as its record part, the WAL insert position when the
// snapshot was taken. Sinks that compare positions (MySQL, SQL Server) order the chunk by the mark; ClickHouse,
// whose row version is the record part (version.ts), orders it after every change the chunk saw and before every
// change written after it was read, as the row lock of a changed row held the xmax the chunk would have seen.

export const WINDOW_PREFIX = 'tributary.snapshot-window';


interface OpenChunk {
  id: string;
  table: TableSchema;
  name: string;
  /** Rows not yet struck by a streamed change, by key text. */
  rows: Map<string, Row>;
  /** Keys read by key and not found, not yet struck by a streamed change: deleted at the mark. */
  gone: Map<string, Row>;
  /** How many of the table's keys the chunk handled (a table read by keys). */
  keysTaken: number;
  lastKey: string[] | null;
  /** The table is done once this chunk is published. */
  final: boolean;
  /** The window mark's content: the chunk is published when the stream reaches the mark. */
  mark: string;
  /** The WAL insert position when the chunk's snapshot was taken. */
  readAt: bigint;
}

/** The transactions a snapshot cannot see: xmin:xmax:xip (pg_current_snapshot), reduced to 32-bit xids as pgoutput sends them. */
interface Visibility {
  xmax: number;
  invisible: Set<number>;
}

const RECENT_XIDS = 4096;
const READ_ATTEMPTS = 10;

export class IncrementalSnapshot {
  private readonly queue: SnapshotQueue;
  private open: OpenChunk | null = null;
  /** xids of the last RECENT_XIDS transactions streamed, a ring: the ones a chunk's snapshot might not see yet. */
  private readonly recent = new Uint32Array(RECENT_XIDS);
  private recentCount = 0;

  constructor(
    state: SnapshotQueueState | undefined,
    private readonly settings: { chunkSize: number },
    progress: Map<string, SnapshotProgress>,
    private readonly log: Logger,
  ) {
    this.queue = new SnapshotQueue(state, progress, log);
  }

  /** The state to store with the next offset: chunks published so far. */
  current(): SnapshotQueueState | undefined {
    return this.queue.current();
  }

  request(id: string, tables: string[], keys?: Record<string, string[][]>): void {
    this.queue.request(id, tables, keys);
  }

  /** A streamed transaction committed. */
  committed(xid: number): void {
    // Per transaction on the stream's path: a slot in a ring, no array shifting.
    this.recent[this.recentCount++ % RECENT_XIDS] = xid;
  }

  /** A streamed change: its keys are struck from the open chunk, whose rows would be older. */
  changed(table: TableSchema, event: ChangeEvent): void {
    const open = this.open;
    if (!open || open.name !== qualifiedName(table)) return;
    for (const image of [event.before, event.after]) {
      if (!image) continue;
      const key = keyText(table, image);
      open.rows.delete(key);
      open.gone.delete(key);
    }
    if (event.op === 't') {
      open.rows.clear();
      open.gone.clear();
    }
  }

  /**
   * Between transactions: reads the next chunk when one is due and none is open, and writes its window mark.
   * `reader` is a connection of its own (not the one that writes heartbeats), `schemaOf` the stream's schema of a table.
   */
  async readNext(reader: pg.Client, schemaOf: (name: string) => TableSchema | undefined): Promise<void> {
    for (let head = this.queue.head(); !this.open && head; head = this.queue.head()) {
      const [schemaName, tableName] = head.table.split('.') as [string, string];
      const found = await readTableSchema(reader, schemaName, tableName).catch((error: unknown) => {
        throw classifyPostgresError(`reading the schema of ${head?.table} for an ad-hoc snapshot`, error);
      });
      const table = schemaOf(head.table) ?? found?.schema;
      if (!found || !table || table.primaryKey.length === 0) {
        this.queue.skip(found ? 'the table has no primary key to read it in chunks by' : 'no such table');
        continue;
      }
      const bad = head.keys && badKeys(table, head.keys);
      if (bad) {
        this.queue.skip(`the keys asked for do not fit the table: ${bad}`);
        continue;
      }
      if (this.queue.needsEstimate()) this.queue.estimated(await estimateRows(reader, table));
      this.open = head.keys
        ? await this.readKeyChunk(reader, head.id, table, head.keys)
        : await this.readChunk(reader, head.id, table, head.lastKey as string[] | null);
    }
  }

  /**
   * A logical message in the stream: when it is the open chunk's window mark, what is left of the chunk, as
   * snapshot events at the mark's position, and the state that follows it; null otherwise.
   */
  reached(
    message: { prefix: string; content: Buffer; lsn: bigint },
    source: (table: TableSchema, position: string) => SourceInfo,
  ): SourceItem[] | null {
    const open = this.open;
    if (!open || message.prefix !== WINDOW_PREFIX || message.content.toString('utf8') !== open.mark) return null;
    this.open = null;
    // The mark's own place in the stream: after every transaction streamed so far, before every one still to come.
    const position = lsnPosition(message.lsn, 0, open.readAt);
    const items: SourceItem[] = [];
    const at = () => ({ ...source(open.table, position), snapshot: 'incremental' as const });
    for (const after of open.rows.values()) {
      items.push({ kind: 'event', table: open.table, event: { op: 'r', before: null, after, source: at(), tsMs: Date.now() } });
    }
    for (const key of open.gone.values()) {
      items.push({ kind: 'event', table: open.table, event: { op: 'd', before: key, after: null, keyOnly: true, source: at(), tsMs: Date.now() } });
    }
    this.queue.published(items.length, open.lastKey, open.final, open.keysTaken);
    return items;
  }

  private async readChunk(reader: pg.Client, id: string, table: TableSchema, after: string[] | null): Promise<OpenChunk> {
    const query = { text: chunkQuery(table, after !== null, this.settings.chunkSize, { withXmax: true }), values: after ?? [] };
    const read = await this.readVisible(reader, table, query);
    const keyIndexes = table.primaryKey.map((k) => table.columns.findIndex((c) => c.name === k));
    const last = read.texts.at(-1);
    return {
      ...(await this.openWindow(reader, id, table, read)),
      lastKey: last ? keyIndexes.map((i) => last[i] as string) : after,
      final: read.texts.length < this.settings.chunkSize,
      keysTaken: 0,
    };
  }

  /**
   * The next keys of a table read by keys (`verify --repair`): the rows found under them, and a key-only delete for
   * each key without a row. A key whose row was left out for its xmax gets neither: the stream brings its change.
   */
  private async readKeyChunk(reader: pg.Client, id: string, table: TableSchema, keys: string[][]): Promise<OpenChunk> {
    const taken = keys.slice(0, this.settings.chunkSize);
    const lookup = keyLookup(keyTableOf(table), taken);
    const read = await this.readVisible(reader, table, { text: keyedRowsQuery(table, lookup.select, lookup.where), values: lookup.params });
    const keyAt = table.columns.length + 1;
    const found = new Set(read.texts.map((row) => JSON.stringify(row.slice(keyAt))));
    const chunk = await this.openWindow(reader, id, table, read);
    for (const key of taken) {
      if (found.has(JSON.stringify(key))) continue;
      const row = keyRowFromCanonical(table, key);
      chunk.gone.set(keyText(table, row), row);
    }
    return { ...chunk, lastKey: null, final: taken.length === keys.length, keysTaken: taken.length };
  }

  /**
   * Runs a chunk's query in a REPEATABLE READ snapshot, again while a transaction already streamed is invisible to
   * it. Result rows are the table's columns as text, then the row version's xmax, then anything the query adds.
   */
  private async readVisible(reader: pg.Client, table: TableSchema, query: { text: string; values: unknown[] }): Promise<ChunkRead> {
    const name = qualifiedName(table);
    for (let attempt = 1; attempt <= READ_ATTEMPTS; attempt++) {
      let texts: (string | null)[][];
      let visibility: Visibility;
      let readAt: bigint;
      try {
        await reader.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        // The first statement takes the transaction's snapshot (the chunk below reads exactly what it lists as
        // visible); the insert position it reads is after the snapshot was taken.
        const taken = (await reader.query<{ s: string; l: string }>('SELECT pg_current_snapshot()::text AS s, pg_current_wal_insert_lsn()::text AS l')).rows[0];
        visibility = parseSnapshot(taken?.s ?? '');
        readAt = parseLsn(taken?.l ?? '');
        texts = (await reader.query<(string | null)[]>({ text: query.text, values: query.values, rowMode: 'array' })).rows;
        await reader.query('COMMIT');
      } catch (error) {
        await reader.query('ROLLBACK').catch(() => undefined);
        throw classifyPostgresError(`reading a chunk of ${name} for an ad-hoc snapshot`, error);
      }
      // A transaction already streamed but invisible to this snapshot: the chunk may miss its change, and the
      // stream will not repeat it. Read again: the transaction is visible to a snapshot taken a moment later.
      if (this.recent.subarray(0, Math.min(this.recentCount, RECENT_XIDS)).some((xid) => invisibleTo(visibility, xid))) continue;
      return { texts, visibility, readAt };
    }
    throw new TributaryError('SOURCE_UNAVAILABLE', `reading a chunk of ${name} for an ad-hoc snapshot: a streamed transaction stayed invisible to ${READ_ATTEMPTS} snapshots in a row`, { retriable: true });
  }

  /** The rows of a read that its snapshot may publish, and the window mark written right after it. */
  private async openWindow(reader: pg.Client, id: string, table: TableSchema, read: ChunkRead): Promise<Omit<OpenChunk, 'lastKey' | 'final' | 'keysTaken'>> {
    const name = qualifiedName(table);
    const convert = rowConverter(table, (column, message) => this.log.warn({ table: name, column }, message));
    const rows = new Map<string, Row>();
    const xmaxAt = table.columns.length;
    for (const row of read.texts) {
      const xmax = Number(row[xmaxAt] ?? '0');
      if (xmax !== 0 && invisibleTo(read.visibility, xmax)) continue;
      const converted = convert(row.slice(0, xmaxAt));
      rows.set(keyText(table, converted), converted);
    }
    await widenWindowForTests();
    // Unique per chunk: a mark an earlier run wrote and the stream replays must not close this chunk's window.
    const mark = `${id}:${randomUUID()}`;
    await emitWindowMark(reader, mark);
    return { id, table, name, rows, gone: new Map(), mark, readAt: read.readAt };
  }
}

interface ChunkRead {
  texts: (string | null)[][];
  visibility: Visibility;
  readAt: bigint;
}

/**
 * Fault injection for the ad-hoc snapshot test: `TRIBUTARY_TEST_WINDOW_DELAY_MS` waits between reading a chunk and
 * writing its mark, so that concurrent changes land inside the window the test must show is handled.
 */
async function widenWindowForTests(): Promise<void> {
  const ms = Number(process.env.TRIBUTARY_TEST_WINDOW_DELAY_MS ?? 0);
  if (ms > 0) await delay(ms);
}

/** Writes the window mark of a chunk into the WAL, outside any transaction. */
async function emitWindowMark(client: pg.Client, mark: string): Promise<void> {
  try {
    await client.query('SELECT pg_logical_emit_message(false, $1, $2)', [WINDOW_PREFIX, mark]);
  } catch (error) {
    throw classifyPostgresError('writing the window mark of an ad-hoc snapshot chunk to the WAL', error);
  }
}

/** `xmin:xmax:xip,…` of pg_current_snapshot(), as 32-bit xids (pgoutput's Begin carries the xid without its epoch). */
export function parseSnapshot(text: string): Visibility {
  const [, xmax, xip] = text.split(':');
  if (xmax === undefined) throw new TributaryError('INTERNAL', `unexpected pg_current_snapshot() text "${text}"`);
  const low = (xid: string) => Number(BigInt(xid) & 0xffffffffn);
  return { xmax: low(xmax), invisible: new Set((xip ?? '').split(',').filter(Boolean).map(low)) };
}

/** Whether a snapshot cannot see transaction `xid`: listed in progress, or at or after its xmax (modulo 2^32). */
export function invisibleTo(visibility: Visibility, xid: number): boolean {
  return visibility.invisible.has(xid) || ((xid - visibility.xmax) >>> 0) < 0x80000000;
}
