import { HASH_ALIAS, keyAlias, ROWS_ALIAS, type ChecksumDialect, type ChecksumTable, type KeyRange } from '#core/checksum.ts';
import type { Statement } from '#core/sink.ts';
import { parseSummary, type KeyedHash, type RangeSummary } from './ranges.ts';

/** A result row as a driver returns it: column alias → value (the dialects make every value text). */
export type SqlRow = Record<string, unknown>;

/**
 * One server that verify reads: its checksum dialect and a way to run the dialect's statements. The engine files
 * (mysql-engine.ts, …) are the only place that knows a driver; they classify driver errors with `action`.
 */
export interface Engine {
  /** For messages: `MariaDB source "shop"`, `ClickHouse sink "warehouse"`. */
  readonly label: string;
  readonly dialect: ChecksumDialect;
  run(statement: Statement, action: string): Promise<SqlRow[]>;
  close(): Promise<void>;
}

/** Bounds the queries one side has in flight: each holds a pooled connection and a share of the server. */
export class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await work();
    } finally {
      // The slot passes straight to the next waiter, so `active` only drops when nobody waits.
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/** What the verify algorithm asks of one side of a table: summaries, listings and cut keys of key ranges. */
export interface RangeReader {
  summary(range: KeyRange): Promise<RangeSummary>;
  rowHashes(range: KeyRange): Promise<KeyedHash[]>;
  /** The key `offset` rows into the range in key order, or null when the range has no more rows. */
  keyAt(range: KeyRange, offset: number): Promise<string[] | null>;
  firstKeys(range: KeyRange, limit: number): Promise<string[][]>;
}

/** One table on one server, read through its checksum dialect. */
export class VerifySide implements RangeReader {
  private readonly limiter: Limiter;

  constructor(
    readonly engine: Engine,
    readonly table: ChecksumTable,
    concurrency: number,
  ) {
    this.limiter = new Limiter(concurrency);
  }

  /** `db.table` as this server names it. */
  get name(): string {
    return `${this.table.namespace}.${this.table.table}`;
  }

  async summary(range: KeyRange): Promise<RangeSummary> {
    const [row] = await this.query(this.engine.dialect.summary(this.table, range), 'summing a key range');
    return parseSummary(row?.[ROWS_ALIAS], row?.[HASH_ALIAS]);
  }

  async rowHashes(range: KeyRange): Promise<KeyedHash[]> {
    const rows = await this.query(this.engine.dialect.rowHashes(this.table, range), 'listing the rows of a key range');
    return rows.map((row) => ({ key: this.key(row), hash: String(row[HASH_ALIAS]) }));
  }

  async keyAt(range: KeyRange, offset: number): Promise<string[] | null> {
    const [row] = await this.query(this.engine.dialect.keyAt(this.table, range, offset), 'reading a key to cut ranges at');
    return row ? this.key(row) : null;
  }

  async firstKeys(range: KeyRange, limit: number): Promise<string[][]> {
    if (limit === 0) return [];
    const rows = await this.query(this.engine.dialect.firstKeys(this.table, range, limit), 'reading example keys');
    return rows.map((row) => this.key(row));
  }

  private key(row: SqlRow): string[] {
    return this.table.key.map((_, i) => String(row[keyAlias(i)]));
  }

  private query(statement: Statement, what: string): Promise<SqlRow[]> {
    return this.limiter.run(() => this.engine.run(statement, `${what} of ${this.name} on ${this.engine.label}`));
  }
}
