import type { Logger } from './log.ts';
import type { SnapshotProgress, SourceOffsetValue } from './source.ts';

/** What is left of a source's ad-hoc snapshots, carried in its offsets so that a restart goes on after the last published chunk. */
export interface SnapshotQueueState {
  /**
   * Tables still to read, in order, each with the signal that asked for it; the first is being read. A table with
   * `keys` is read under those keys only (canonical values, connectors/core/checksum.ts): the ones still to read.
   */
  queue: QueuedTable[];
  /** Key of the last row published of the first table (the source's own encoding); null to start at its beginning. */
  lastKey: SourceOffsetValue[] | null;
}

export interface QueuedTable {
  id: string;
  table: string;
  keys?: string[][];
}

/**
 * The queue of an ad-hoc snapshot, which every source reads the same way: the tables asked for, one chunk after the
 * other, each chunk's progress in the source's snapshot progress. How a chunk is read and where it is published in
 * the stream is each source's own (see incremental-snapshot.ts of each connector).
 */
export class SnapshotQueue {
  private state: SnapshotQueueState;

  constructor(
    state: SnapshotQueueState | undefined,
    private readonly progress: Map<string, SnapshotProgress>,
    private readonly log: Logger,
  ) {
    this.state = state ?? { queue: [], lastKey: null };
    for (const { id, table, keys } of this.state.queue) {
      this.progress.set(table, { table, rowsDone: 0, rowsEstimated: keys?.length ?? 0, rowsPerSecond: 0, done: false, signal: id });
    }
  }

  /** The state to store with the next offset; undefined when nothing is left. */
  current(): SnapshotQueueState | undefined {
    return this.state.queue.length === 0 ? undefined : this.state;
  }

  /**
   * Tables already queued are not queued twice (a signal read again after a restart asks for them again); `keys`
   * narrows a table to some keys. Keys asked for a table that is queued under keys by another signal join its keys.
   */
  request(id: string, tables: string[], keys: Record<string, string[][]> = {}): void {
    for (const table of tables) {
      const wanted = keys[table];
      const queued = this.state.queue.find((q) => q.table === table);
      if (queued) {
        if (queued.id !== id && queued.keys && wanted) this.joinKeys(queued, wanted);
        continue;
      }
      const entry: QueuedTable = wanted ? { id, table, keys: wanted } : { id, table };
      this.state = { queue: [...this.state.queue, entry], lastKey: this.state.queue.length === 0 ? null : this.state.lastKey };
      this.progress.set(table, { table, rowsDone: 0, rowsEstimated: wanted?.length ?? 0, rowsPerSecond: 0, done: false, signal: id });
    }
  }

  /** Adds to a table queued by keys the keys it does not have yet; the state is replaced, never changed in place. */
  private joinKeys(queued: QueuedTable, wanted: string[][]): void {
    const known = new Set(queued.keys?.map((key) => JSON.stringify(key)));
    const added = wanted.filter((key) => !known.has(JSON.stringify(key)));
    if (added.length === 0) return;
    const joined = { ...queued, keys: [...(queued.keys ?? []), ...added] };
    this.state = { ...this.state, queue: this.state.queue.map((entry) => (entry === queued ? joined : entry)) };
    const progress = this.progress.get(queued.table);
    if (progress) progress.rowsEstimated += added.length;
  }

  head(): { id: string; table: string; lastKey: SourceOffsetValue[] | null; keys?: string[][] } | undefined {
    const first = this.state.queue[0];
    return first && { ...first, lastKey: this.state.lastKey };
  }

  /** The table being read needs its row estimate once (a table read by keys has its keys' count). */
  needsEstimate(table: string): boolean {
    return this.progress.get(table)?.rowsEstimated === 0 && !this.state.queue[0]?.keys;
  }

  estimated(table: string, rows: number): void {
    const progress = this.progress.get(table);
    if (progress) progress.rowsEstimated = rows;
  }

  /**
   * A chunk of the first table was published: `rows` rows, ending at `lastKey`; `final` when the table is done. A
   * table read by keys passes `keys`, the number of its first keys the chunk handled (a row or a delete each).
   */
  published(rows: number, lastKey: SourceOffsetValue[] | null, final: boolean, keys = 0): void {
    const head = this.state.queue[0];
    if (!head) return;
    const progress = this.progress.get(head.table);
    if (progress) progress.rowsDone += head.keys ? keys : rows;
    if (final) this.next(head);
    else if (head.keys) this.state = { queue: [{ ...head, keys: head.keys.slice(keys) }, ...this.state.queue.slice(1)], lastKey: null };
    else this.state = { queue: this.state.queue, lastKey };
  }

  /** The first table cannot be read: a warning says why, and the next table follows. */
  skip(reason: string): void {
    const head = this.state.queue[0];
    if (head) this.next(head, reason);
  }

  /** Ends the first table: done, or skipped for `skipped`. */
  private next(head: QueuedTable, skipped?: string): void {
    const progress = this.progress.get(head.table);
    if (progress) progress.done = true;
    this.state = { queue: this.state.queue.slice(1), lastKey: null };
    if (skipped === undefined) this.log.info({ table: head.table, signal: head.id }, 'ad-hoc snapshot of the table complete');
    else this.log.warn({ table: head.table, signal: head.id }, `ad-hoc snapshot skipped: ${skipped}`);
  }
}
