import type { Row } from './change-event.ts';
import type { TableSchema } from './table-schema.ts';

/**
 * One change as a sink applies it, decoded from a change topic by the sink runner. `position` is the event's
 * `source.position`: positions compare as plain strings (see comparePositions), and a target row stores the
 * position of the change that last wrote it so that an older change never overwrites a newer one.
 */
export type SinkChange =
  /**
   * Ops `c`, `r`, `u`: the after image replaces the row with the same key. `row` holds every column.
   * `unchanged` (only from an update, never empty when present) names non-key columns whose new value the source
   * did not send (PostgreSQL's unchanged TOASTed values): `row` holds null for them, and the sink leaves the
   * stored value as it is. A row that does not exist yet is written with NULL in them (the value is unknown).
   */
  | { op: 'upsert'; key: Row; row: Row; position: string; unchanged?: string[] }
  /** Op `d` or a tombstone: the row with this key goes, unless it was written at a later position. */
  | { op: 'delete'; key: Row; position: string }
  /** Op `t`: every row written before `position` goes. */
  | { op: 'truncate'; position: string };

/**
 * The changes of one batch for one table, in topic order, with the table's shape as the writer schema of
 * these events describes it. The runner guarantees: at most one change per key (it keeps the last one of a
 * key), and a truncate is alone in its `TableChanges`, after the changes that preceded it.
 */
export interface TableChanges {
  table: TableSchema;
  changes: SinkChange[];
}

/**
 * A target that change batches are applied to. The sink runner owns consuming, batching, retries, offsets and
 * the dead-letter topic; a Sink only turns batches into target writes.
 *
 * Idempotence is the Sink's contract: applying the same batch twice, or an older change after a newer one,
 * leaves the same final state, because each row records the position of the change that wrote it.
 */
export interface Sink {
  /** Connects to the target and checks it can be written; throws a classified TributaryError. */
  connect(): Promise<void>;
  /**
   * Makes the target table fit `table`: creates it when absent, adds columns a newer schema version brings.
   * Throws a fatal TributaryError with code SINK_SCHEMA_INCOMPATIBLE when the change is unsafe (a type
   * narrowed, a key changed). Cheap when nothing changed: called before every batch of a table.
   */
  prepare(table: TableSchema): Promise<void>;
  /**
   * Applies the batches in one target transaction where the target has them (ClickHouse: one idempotent
   * insert per table, deduplicated by a token derived from the batch). When it resolves, the changes are
   * durable in the target: only then does the runner commit the Kafka offsets.
   */
  apply(batch: TableChanges[], token: string): Promise<void>;
  /** Safe to call more than once. */
  close(): Promise<void>;
}

/** Columns every target table carries besides the source's, named so that they do not clash with them. */
export const POSITION_COLUMN = '__tributary_position';
/** ClickHouse only: the ReplacingMergeTree version derived from the position. */
export const VERSION_COLUMN = '__tributary_version';
/** ClickHouse only: 1 when the row is deleted (ReplacingMergeTree keeps deleted rows as versions). */
export const DELETED_COLUMN = '__tributary_deleted';

/** A statement a dialect built: SQL text with placeholders, and the values bound to them, in order. */
export interface Statement {
  sql: string;
  params: unknown[];
}
