import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type pg from 'pg';
import type { ChangeEvent, Row, SourceInfo } from '#core/change-event.ts';
import { TributaryError } from '#core/errors.ts';
import type { Logger } from '#core/log.ts';
import { SnapshotQueue, type SnapshotQueueState } from '#core/snapshot-queue.ts';
import type { SnapshotProgress, SourceItem } from '#core/source.ts';
import { keyText, qualifiedName, type TableSchema } from '#core/table-schema.ts';
import { classifyPostgresError } from './connection.ts';
import { lsnPosition, parseLsn } from './lsn.ts';
import { readTableSchema } from './schema-reader.ts';
import { chunkQuery, estimateRows } from './snapshot.ts';
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

  request(id: string, tables: string[]): void {
    this.queue.request(id, tables);
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
    if (event.before) open.rows.delete(keyText(table, event.before));
    if (event.after) open.rows.delete(keyText(table, event.after));
    if (event.op === 't') open.rows.clear();
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
      if (this.queue.needsEstimate(head.table)) this.queue.estimated(head.table, await estimateRows(reader, table));
      this.open = await this.readChunk(reader, head.id, table, head.lastKey as string[] | null);
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
    for (const after of open.rows.values()) {
      items.push({ kind: 'event', table: open.table, event: { op: 'r', before: null, after, source: { ...source(open.table, position), snapshot: 'incremental' }, tsMs: Date.now() } });
    }
    this.queue.published(items.length, open.lastKey, open.final);
    return items;
  }

  private async readChunk(reader: pg.Client, id: string, table: TableSchema, after: string[] | null): Promise<OpenChunk> {
    const name = qualifiedName(table);
    const convert = rowConverter(table, (column, message) => this.log.warn({ table: name, column }, message));
    const keyIndexes = table.primaryKey.map((k) => table.columns.findIndex((c) => c.name === k));
    // Keyset pages follow the rows read, including those left out for their xmax.
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
        const query = chunkQuery(table, after !== null, this.settings.chunkSize, { withXmax: true });
        texts = (await reader.query<(string | null)[]>({ text: query, values: after ?? [], rowMode: 'array' })).rows;
        await reader.query('COMMIT');
      } catch (error) {
        await reader.query('ROLLBACK').catch(() => undefined);
        throw classifyPostgresError(`reading a chunk of ${name} for an ad-hoc snapshot`, error);
      }
      // A transaction already streamed but invisible to this snapshot: the chunk may miss its change, and the
      // stream will not repeat it. Read again: the transaction is visible to a snapshot taken a moment later.
      if (this.recent.subarray(0, Math.min(this.recentCount, RECENT_XIDS)).some((xid) => invisibleTo(visibility, xid))) continue;
      const rows = new Map<string, Row>();
      const xmaxAt = table.columns.length;
      for (const row of texts) {
        const xmax = Number(row[xmaxAt] ?? '0');
        if (xmax !== 0 && invisibleTo(visibility, xmax)) continue;
        const converted = convert(row.slice(0, xmaxAt));
        rows.set(keyText(table, converted), converted);
      }
      const last = texts.at(-1);
      await widenWindowForTests();
      // Unique per chunk: a mark an earlier run wrote and the stream replays must not close this chunk's window.
      const mark = `${id}:${randomUUID()}`;
      await emitWindowMark(reader, mark);
      return {
        id,
        table,
        name,
        rows,
        lastKey: last ? keyIndexes.map((i) => last[i] as string) : after,
        final: texts.length < this.settings.chunkSize,
        mark,
        readAt,
      };
    }
    throw new TributaryError('SOURCE_UNAVAILABLE', `reading a chunk of ${name} for an ad-hoc snapshot: a streamed transaction stayed invisible to ${READ_ATTEMPTS} snapshots in a row`, { retriable: true });
  }
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
