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
    for (const queued of this.state.queue) this.progressOf(queued);
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
      this.progressOf(entry);
    }
  }

  /**
   * The progress entry of a queued table, made anew when the table's entry is not this request's: the initial
   * snapshot, which may still run when an ad-hoc snapshot is asked for, or run again after a restart, keeps its own
   * entry under the same table name.
   */
  private progressOf(queued: QueuedTable): SnapshotProgress {
    const known = this.progress.get(queued.table);
    if (known?.signal === queued.id) return known;
    const entry = { table: queued.table, rowsDone: 0, rowsEstimated: queued.keys?.length ?? 0, rowsPerSecond: 0, done: false, signal: queued.id };
    this.progress.set(queued.table, entry);
    return entry;
  }

  /** Adds to a table queued by keys the keys it does not have yet; the state is replaced, never changed in place. */
  private joinKeys(queued: QueuedTable, wanted: string[][]): void {
    const known = new Set(queued.keys?.map((key) => JSON.stringify(key)));
    const added = wanted.filter((key) => !known.has(JSON.stringify(key)));
    if (added.length === 0) return;
    const joined = { ...queued, keys: [...(queued.keys ?? []), ...added] };
    this.state = { ...this.state, queue: this.state.queue.map((entry) => (entry === queued ? joined : entry)) };
    this.progressOf(queued).rowsEstimated += added.length;
  }

  head(): { id: string; table: string; lastKey: SourceOffsetValue[] | null; keys?: string[][] } | undefined {
    const first = this.state.queue[0];
    return first && { ...first, lastKey: this.state.lastKey };
  }

  /** The table being read (the first) needs its row estimate once (a table read by keys has its keys' count). */
  needsEstimate(): boolean {
    const head = this.state.queue[0];
    return head !== undefined && !head.keys && this.progressOf(head).rowsEstimated === 0;
  }

  /** The row estimate of the table being read. */
  estimated(rows: number): void {
    const head = this.state.queue[0];
    if (head) this.progressOf(head).rowsEstimated = rows;
  }

  /**
   * A chunk of the first table was published: `rows` rows, ending at `lastKey`; `final` when the table is done. A
   * table read by keys passes `keys`, the number of its first keys the chunk handled (a row or a delete each).
   */
  published(rows: number, lastKey: SourceOffsetValue[] | null, final: boolean, keys = 0): void {
    const head = this.state.queue[0];
    if (!head) return;
    this.progressOf(head).rowsDone += head.keys ? keys : rows;
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
    this.progressOf(head).done = true;
    this.state = { queue: this.state.queue.slice(1), lastKey: null };
    if (skipped === undefined) this.log.info({ table: head.table, signal: head.id }, 'ad-hoc snapshot of the table complete');
    else this.log.warn({ table: head.table, signal: head.id }, `ad-hoc snapshot skipped: ${skipped}`);
  }
}
