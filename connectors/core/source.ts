import type { ChangeEvent } from './change-event.ts';
import type { TableSchema } from './table-schema.ts';

/**
 * Where a source resumes: an opaque JSON value that only the source that wrote it interprets. The capture
 * runner stores it in the offsets topic in the same Kafka transaction as the events it covers.
 */
export type SourceOffset = { [key: string]: SourceOffsetValue };
export type SourceOffsetValue = string | number | boolean | null | SourceOffsetValue[] | SourceOffset;

/** A source's own offset shape as the plain JSON value the runner stores (a copy: later changes do not leak in). */
export function toSourceOffset(offset: object): SourceOffset {
  return JSON.parse(JSON.stringify(offset)) as SourceOffset;
}

/** What a source hands the capture runner, in source order. */
export type SourceItem =
  /** One row change, with the table schema it must be encoded with (the schema current when it was written). */
  | { kind: 'event'; event: ChangeEvent; table: TableSchema }
  /**
   * A boundary: every item before it is complete (a source transaction committed, a snapshot chunk read), and
   * `offset` resumes right after it. Only here may the runner commit its Kafka transaction.
   */
  | { kind: 'commit'; offset: SourceOffset; transactionId?: string }
  /** A DDL statement changed a table; `table` is its new schema, or null when it was dropped. */
  | { kind: 'schema-change'; namespace: string; tableName: string; table: TableSchema | null; ddl: string; position: string; tsMs: number }
  /** The source is idle but alive; the offset may move so that positions advance. */
  | { kind: 'heartbeat'; offset: SourceOffset };

/** Progress of a snapshot, per table, for logs and the status API. */
export interface SnapshotProgress {
  table: string;
  rowsDone: number;
  rowsEstimated: number;
  rowsPerSecond: number;
  done: boolean;
  /** For an ad-hoc snapshot: the id of the signal that asked for it. */
  signal?: string;
}

/** An operator's request (a signal) to read tables again while streaming goes on: an ad-hoc, incremental snapshot. */
export interface SnapshotRequest {
  /** The signal's id, for logs and status. */
  id: string;
  /** `db.table` (MySQL) or `schema.table` (PostgreSQL). */
  tables: string[];
  /**
   * Tables to read only under some keys (`verify --repair`): per table, canonical key values (connectors/core/checksum.ts),
   * one text per key column. The rows found are re-emitted; a key without a row gets a delete.
   */
  keys?: Record<string, string[][]>;
}

/** The server-side slot that holds a source's position (PostgreSQL), as last checked: for status and metrics. */
export interface ReplicationSlotHealth {
  name: string;
  active: boolean;
  /** WAL the slot holds back (the server's LSN minus the slot's confirmed flush LSN); null when the server does not say. */
  retainedWalBytes: bigint | null;
  /** PostgreSQL 13+: reserved, extended, unreserved or lost (invalidated). */
  walStatus: string | null;
  /** When it was read, in milliseconds since the epoch. */
  checkedAt: number;
}

/**
 * A source: connect, then one pass of items from `offset` (null: nothing stored, start per the snapshot mode).
 * The iterable is pull-based: the source reads no further than the runner consumes, so memory stays bounded.
 */
export interface Source {
  /** Checks that the server is set up for capture; throws a fatal error listing every failed check. */
  preflight(): Promise<void>;
  /**
   * Items in source order. Several may come at once as an array (the rows of one binlog event or snapshot chunk),
   * which spares a promise per row on the hottest path; the runner handles them exactly as one after another.
   */
  items(offset: SourceOffset | null, signal: AbortSignal): AsyncIterable<SourceItem | SourceItem[]>;
  /** Table schemas known at `offset`, restored from the schema history before `items` resumes there. */
  restoreSchemas(tables: TableSchema[]): void;
  snapshotProgress(): SnapshotProgress[];
  /**
   * Kafka now holds everything up to `offset` (the runner calls it after each committed transaction, in order).
   * A source that must confirm progress to the server (a PostgreSQL slot) confirms this far and never further.
   */
  acknowledge?(offset: SourceOffset): void;
  /**
   * Removes what the server keeps for this source's position (a PostgreSQL slot and publication), on purpose;
   * returns what was removed, for the operator. Absent where the server keeps nothing (MySQL's binlog).
   */
  dropServerState?(): Promise<string[]>;
  /**
   * Reads `request.tables` again while streaming goes on (op `r`, source.snapshot `incremental`), in chunks between
   * transactions; progress shows in snapshotProgress() and the offsets carry what is left, so a restart goes on.
   * Called at a boundary. Returns the tables refused (not captured by this source). Absent where not supported.
   */
  snapshotTables?(request: SnapshotRequest): string[];
  /** The slot holding the source's position on the server, as last checked; absent where there is none (MySQL). */
  replicationSlot?(): ReplicationSlotHealth | null;
  /** Safe to call more than once. */
  close(): Promise<void>;
}
