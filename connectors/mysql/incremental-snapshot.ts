import type { Connection } from 'mysql2/promise';
import type { Row, SourceInfo } from '#core/change-event.ts';
import { badKeys, keyRowFromCanonical } from '#core/canonical-key.ts';
import type { Logger } from '#core/log.ts';
import { SnapshotQueue, type SnapshotQueueState } from '#core/snapshot-queue.ts';
import type { SnapshotProgress, SourceItem } from '#core/source.ts';
import type { TableSchema } from '#core/table-schema.ts';
import { classifyMySqlError } from './connection.ts';
import { decodeKey, encodeKey } from './key-codec.ts';
import { eventPosition, fileSequence, type BinlogCoordinates } from './position.ts';
import { readTableSchema } from './schema-reader.ts';
import { estimateRows, openConsistentSnapshot, readRowsByKeys, readTableChunks } from './snapshot.ts';

// An ad-hoc snapshot of a MariaDB source while the binlog streams on. MariaDB reports the exact binlog position of
// a consistent snapshot (Binlog_snapshot_file/_position), so each chunk is read in a snapshot of its own and
// published once the stream has reached that position: every change before it is in the chunk and already
// streamed, every change after it streams after the chunk. Nothing needs striking, as it would with a position
// only known roughly (PostgreSQL's incremental-snapshot.ts).
//
// MySQL reports no such position: its consistent snapshot needs FLUSH TABLES WITH READ LOCK for an instant, which a
// chunk every few seconds must not impose on a production server. MySQL sources refuse ad-hoc snapshots for now.

interface OpenChunk {
  table: TableSchema;
  rows: Row[];
  /** Keys read by key and not found (a table read by keys): deleted at the chunk's position. */
  gone: Row[];
  /** How many of the table's keys the chunk handled (a table read by keys). */
  keysTaken: number;
  lastKey: ReturnType<typeof encodeKey> | null;
  final: boolean;
  /** The binlog position of the chunk's snapshot: it is published once the stream is there. */
  at: BinlogCoordinates;
}

export class MySqlIncrementalSnapshot {
  private readonly queue: SnapshotQueue;
  private open: OpenChunk | null = null;

  constructor(
    state: SnapshotQueueState | undefined,
    private readonly settings: { chunkSize: number },
    progress: Map<string, SnapshotProgress>,
    log: Logger,
  ) {
    this.queue = new SnapshotQueue(state, progress, log);
  }

  current(): SnapshotQueueState | undefined {
    return this.queue.current();
  }

  request(id: string, tables: string[], keys?: Record<string, string[][]>): void {
    this.queue.request(id, tables, keys);
  }

  /**
   * Between transactions: reads the next chunk when one is due and none is open. `known` is the stream's schema of
   * a table: a chunk is read only while the server's schema is the same, so its rows fit the events around them
   * (after a DDL the stream catches up first).
   */
  async readNext(reader: Connection, known: (name: string) => TableSchema | undefined): Promise<void> {
    for (let head = this.queue.head(); !this.open && head; head = this.queue.head()) {
      const [namespace, name] = head.table.split('.') as [string, string];
      const table = await readTableSchema(reader, namespace, name).catch((error: unknown) => {
        throw classifyMySqlError(`reading the schema of ${head?.table} for an ad-hoc snapshot`, error);
      });
      if (!table || table.primaryKey.length === 0) {
        this.queue.skip(table ? 'the table has no primary key to read it in chunks by' : 'no such table');
        continue;
      }
      const bad = head.keys && badKeys(table, head.keys);
      if (bad) {
        this.queue.skip(`the keys asked for do not fit the table: ${bad}`);
        continue;
      }
      const streamed = known(head.table);
      if (streamed && !sameShape(streamed, table)) return;
      if (this.queue.needsEstimate()) this.queue.estimated(await estimateRows(reader, table));
      this.open = head.keys ? await this.readKeyChunk(reader, streamed ?? table, head.keys) : await this.readChunk(reader, streamed ?? table, head.lastKey);
    }
  }

  /** At stream position `here`, between transactions: the open chunk as snapshot events when the stream has reached its snapshot. */
  due(here: BinlogCoordinates, source: (table: TableSchema, position: string) => SourceInfo): SourceItem[] | null {
    const open = this.open;
    if (!open || compareCoordinates(here, open.at) < 0) return null;
    this.open = null;
    const position = eventPosition(open.at.file, open.at.pos, 0);
    const at = () => ({ ...source(open.table, position), snapshot: 'incremental' as const });
    const items = [
      ...open.rows.map((after): SourceItem => ({ kind: 'event', table: open.table, event: { op: 'r', before: null, after, source: at(), tsMs: Date.now() } })),
      ...open.gone.map((key): SourceItem => ({ kind: 'event', table: open.table, event: { op: 'd', before: key, after: null, keyOnly: true, source: at(), tsMs: Date.now() } })),
    ];
    this.queue.published(items.length, open.lastKey, open.final, open.keysTaken);
    return items;
  }

  private readChunk(reader: Connection, table: TableSchema, lastKey: unknown[] | null): Promise<OpenChunk> {
    return inSnapshot(reader, async (at) => {
      const afterKey = lastKey ? decodeKey(lastKey as ReturnType<typeof encodeKey>) : null;
      const chunks = readTableChunks(reader, table, { chunkSize: this.settings.chunkSize, afterKey });
      const first = await chunks.next();
      await chunks.return(undefined);
      const chunk = first.done ? { rows: [], lastKey: [] } : first.value;
      return {
        table,
        rows: chunk.rows,
        gone: [],
        keysTaken: 0,
        lastKey: chunk.lastKey.length > 0 ? encodeKey(chunk.lastKey) : null,
        final: chunk.rows.length < this.settings.chunkSize,
        at,
      };
    });
  }

  /** The next keys of a table read by keys (`verify --repair`): the rows found under them, and a key-only delete for each other key. */
  private readKeyChunk(reader: Connection, table: TableSchema, keys: string[][]): Promise<OpenChunk> {
    const taken = keys.slice(0, this.settings.chunkSize);
    return inSnapshot(reader, async (at) => {
      const { rows, found } = await readRowsByKeys(reader, table, taken);
      const gone = taken.filter((key) => !found.has(JSON.stringify(key))).map((key) => keyRowFromCanonical(table, key));
      return { table, rows, gone, keysTaken: taken.length, lastKey: null, final: taken.length === keys.length, at };
    });
  }
}

/** Runs `read` in a consistent snapshot of its own, given the snapshot's exact binlog position. */
async function inSnapshot<T>(reader: Connection, read: (at: BinlogCoordinates) => Promise<T>): Promise<T> {
  const at = await openConsistentSnapshot(reader, 'mariadb');
  try {
    return await read(at);
  } finally {
    await reader.query('COMMIT').catch(() => undefined);
  }
}

/** Same column names in the same order and the same key: the stream's schema reads the server's rows alike. */
function sameShape(a: TableSchema, b: TableSchema): boolean {
  const names = (t: TableSchema) => JSON.stringify([t.columns.map((c) => c.name), t.primaryKey]);
  return names(a) === names(b);
}

/** Binlog coordinates in stream order: file sequence, then byte offset. */
export function compareCoordinates(a: BinlogCoordinates, b: BinlogCoordinates): number {
  const files = fileSequence(a.file) - fileSequence(b.file);
  if (files !== 0) return Math.sign(files);
  const [x, y] = [BigInt(a.pos), BigInt(b.pos)];
  return x < y ? -1 : x > y ? 1 : 0;
}
