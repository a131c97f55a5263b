import type { ColumnValue } from './column-type.ts';

/** A row image: column name (as in the source) → value. */
export type Row = Record<string, ColumnValue>;

/**
 * Where an event comes from. Field names follow Debezium's `source` block so that existing Debezium
 * consumers find what they expect.
 */
export interface SourceInfo {
  /** `mysql` or `postgresql`, as Debezium names its connectors. */
  connector: 'mysql' | 'postgresql';
  /** The logical name of the source in tributary.yaml (Debezium's `topic.prefix`-scoped server name). */
  name: string;
  /** Database name (MySQL: the schema the table lives in; PostgreSQL: the database). */
  db: string;
  /** PostgreSQL schema; absent for MySQL. */
  schema?: string;
  table: string;
  /** Commit time of the change at the source, in milliseconds since the epoch. */
  tsMs: number;
  /** `true` for the rows of a snapshot but its last, `last` for its final row, `false` when streaming, `incremental` for an ad-hoc snapshot's rows. */
  snapshot: 'true' | 'last' | 'false' | 'incremental';
  /**
   * The source position of this event as a string that sorts in source order when compared with
   * {@link comparePositions}; sinks store it per row so that a replay never moves a row backwards.
   */
  position: string;
  /** MySQL: the GTID of the transaction, when GTIDs are on. */
  gtid?: string;
  /** MySQL: the binlog file and the position of the event in it, and the row's index inside that event. */
  file?: string;
  pos?: bigint;
  row?: number;
  /** MySQL: the server id of the server that wrote the change. */
  serverId?: bigint;
  /** PostgreSQL: the LSN of the change's WAL record, as the 64-bit integer Debezium writes, and the transaction id. */
  lsn?: bigint;
  txId?: bigint;
}

/** Debezium's transaction block: which transaction the event belongs to and its place in it. */
export interface TransactionInfo {
  id: string;
  /** 1-based position of the event among all events of the transaction. */
  totalOrder: number;
  /** 1-based position of the event among the transaction's events for this table. */
  dataCollectionOrder: number;
}

interface EventBase {
  source: SourceInfo;
  transaction?: TransactionInfo;
  /** When Tributary processed the event, in milliseconds since the epoch. */
  tsMs: number;
}

/**
 * The one change event every connector speaks: a discriminated union on `op` with Debezium's meanings —
 * `c` create, `u` update, `d` delete, `r` read (snapshot), `t` truncate.
 */
export type ChangeEvent =
  | (EventBase & { op: 'c'; before: null; after: Row })
  | (EventBase & { op: 'r'; before: null; after: Row })
  /**
   * `unchanged` names the columns whose new value the source did not send (PostgreSQL's unchanged TOASTed values
   * when the old image does not carry them either): `after` holds null for them, and a sink leaves them as they are.
   */
  | (EventBase & { op: 'u'; before: Row | null; after: Row; unchanged?: string[] })
  /**
   * `keyOnly`: `before` holds the key columns only. An ad-hoc snapshot by keys (`verify --repair`) found no row under
   * that key, so it knows the row is gone but not what it held: the event is published with `before` null and the
   * key in the message key, which is all a sink needs to delete.
   */
  | (EventBase & { op: 'd'; before: Row; after: null; keyOnly?: true })
  | (EventBase & { op: 't'; before: null; after: null });

export type Op = ChangeEvent['op'];

/**
 * Positions are fixed-width strings built by each source so that plain string comparison is source order
 * (see each source's position module). This is the only comparison sinks and checkpoints may use.
 */
export function comparePositions(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
