import type { Op, Row } from './change-event.ts';
import type { TableSchema } from './table-schema.ts';

/** One partition of a change topic, as a log sink keeps it apart from the others. */
export interface LogPartition {
  topic: string;
  partition: number;
}

/**
 * One change event as a log sink writes it: a row of an append-only change log, never merged with others of
 * its key. Offsets are the partition's message offsets as decimal strings.
 */
export interface LogRecord {
  table: TableSchema;
  /** The registry id of the event's writer schema (its table version): one file never mixes two. */
  schemaId: number;
  op: Op;
  /**
   * `c`, `r`, `u`: the after image. `d`: the before image, or only the key columns (others null) when the source
   * knew only the key. `t`: null.
   */
  row: Row | null;
  /** Op `u` only, never empty when present: columns whose new value the source did not send (null in `row`). */
  unchanged?: string[];
  /** `source.position`. */
  position: string;
  /** `source.ts_ms`: the source's commit time, in milliseconds since the epoch. */
  tsMs: number;
  offset: string;
}

/** A record the target cannot hold (a value out of its type's range): the runner sets it aside (dead letters). */
export interface RefusedRecord {
  record: LogRecord;
  error: Error;
}

/** What one file (or whatever unit the target makes durable at once) holds, for metrics and status. */
export interface LogFlush {
  table: TableSchema;
  records: number;
  /** Records by op. */
  ops: Partial<Record<Op, number>>;
  seconds: number;
}

/**
 * A target that keeps every change as a record of a log (files in a directory), instead of applying changes to a
 * current state as a {@link Sink} does. The runner owns consuming, decoding, dead letters and offset commits; the
 * log sink owns buffering, rolling and making records durable.
 *
 * Idempotence is the log sink's contract: it remembers, durably and per partition, which offsets it holds, and
 * skips a record at an offset it holds already. A replay (a crash before the commit, offsets reset by hand)
 * writes nothing twice.
 *
 * Calls for one partition never overlap; calls for different partitions may.
 */
export interface LogSink {
  /** Checks the target can be written; throws a classified TributaryError. */
  connect(): Promise<void>;
  /**
   * Takes a partition over (assigned to this process): recovers what the target durably holds of it, finishing or
   * discarding whatever a crash left half done. Called before the partition's first append, and again after
   * release().
   */
  open(partition: LogPartition): Promise<void>;
  /**
   * Appends records of one partition in offset order and notes that every message up to `through` (at least the
   * last record's offset) was handed over; a message without a record needs nothing. May make data durable on
   * the way (a full file, a new table version). Returns what became durable, and the records it refused.
   */
  append(partition: LogPartition, records: readonly LogRecord[], through: string): Promise<{ flushed: LogFlush[]; refused: RefusedRecord[] }>;
  /** Makes durable what is due (by age), or everything buffered with `all`. */
  flush(partition: LogPartition, all: boolean): Promise<LogFlush[]>;
  /**
   * The offset of the first message handed over but not durable yet, or past the last one handed over when all
   * are: every message before it is durable, so the consumer may commit it. Null before anything was handed over.
   */
  durableEnd(partition: LogPartition): string | null;
  /** Forgets a partition (taken away by a rebalance), dropping what is buffered: the next owner re-reads it. */
  release(partition: LogPartition): Promise<void>;
  /** Releases every partition. Safe to call more than once. */
  close(): Promise<void>;
}
