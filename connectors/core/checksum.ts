import type { ColumnType } from './column-type.ts';
import { TributaryError } from './errors.ts';
import type { TableSchema } from './table-schema.ts';
import type { Statement } from './sink.ts';

// The contract of the checksum dialects (connectors/<engine>/checksum.ts) that `tributary verify` compares a source
// table with its copy in a target by. Every dialect builds, as pure SQL, the same canonical text of a row from the
// server's own columns, hashes it with MD5 and aggregates the hashes exactly, so that two servers agree on a range of
// keys without a row leaving either of them.
//
// The canonical text of a row: its compared columns in source order, each as a field, joined by '|'. A field is
//   NULL                                  '~'
//   boolean                               '0' / '1'
//   int16, int32, int64, year             the integer in decimal
//   decimal(p,s)                          plain notation with exactly s fraction digits ('-12.50'; '7' for s = 0)
//   float32, float64                      the double's shortest round-trip digits D (no leading or trailing zeros) and
//                                         the exponent E with value = 0.D × 10^E, as '[-]De<E>' ('15e1' is 1.5);
//                                         '0' for ±0; 'nan', 'inf', '-inf'. float32 is widened to double first.
//   date                                  days since 1970-01-01
//   time                                  microseconds since midnight (negative and ≥ 24 h as MySQL TIME holds them)
//   timestamp, timestamptz                microseconds since 1970-01-01T00:00:00 (UTC for timestamptz)
//   bytes                                 lower-case hex
//   bits(n ≤ 64)                          the unsigned integer the bits spell (MySQL's BIT value), in decimal
//   uuid                                  lower-case canonical text
//   numeric, timetz, interval             the text the capture writes (PostgreSQL's numeric text, 'HH:MM:SS.ffffffZ'
//                                         in UTC, ISO 8601 duration)
//   string, json, enum, set               '<UTF-8 byte length>:<text>': the length makes '|' inside a text harmless
//
// Integers stand for dates and instants, rather than ISO text, because every engine computes them exactly over the
// whole range it stores, ClickHouse 18.16's Int32-days and Int64-µs fallbacks included, where date functions stop
// at 1970–2105. The same canonical text, without the length prefix, is the canonical value of a key column: keys
// travel between servers in that form and each dialect turns them back into a typed literal of its own.
//
// The row hash is the first 56 bits of MD5(canonical text) as an unsigned integer, which every engine can extract
// (MySQL CONV, PostgreSQL bit(56)::bigint, ClickHouse reinterpretAsUInt64, SQL Server CAST(binary AS BIGINT)). A
// range's checksum is the count of its rows and the sum of their hashes; sums are exact (DECIMAL, numeric) except
// on ClickHouse, whose UInt64 sum wraps, so sums are compared modulo 2^64.

/** One compared column as one server holds it. */
export interface ChecksumColumn {
  name: string;
  /** The source's logical type: it decides the canonical form, on the source and on the target alike. */
  type: ColumnType;
  /** The type as this server reports it (`decimal(20,6) unsigned`, `Nullable(Int64)`, `datetime2`). */
  storedAs: string;
  /** The collation this server compares the column's text in, when it has one. */
  collation?: string | null;
}

/** A table as one server holds it, with the columns both sides compare. */
export interface ChecksumTable {
  /** Database (MySQL, ClickHouse) or schema (PostgreSQL, SQL Server). */
  namespace: string;
  table: string;
  /** The compared columns, in the order their fields make the canonical row text. */
  columns: ChecksumColumn[];
  /** The primary key's column names in key order; each is also in `columns`. */
  key: string[];
}

/**
 * Keys in canonical form, one text per key column. A range holds the keys after `after` (exclusive) up to `upTo`
 * (inclusive); null is open on that end.
 */
export interface KeyRange {
  after: readonly string[] | null;
  upTo: readonly string[] | null;
}

export const WHOLE_TABLE: KeyRange = { after: null, upTo: null };

/**
 * Names of the result columns, prefixed so that no source column is shadowed by them: ClickHouse resolves an alias
 * anywhere in the query, so `count() AS n` would turn a column `n` inside the hash into the count.
 */
export const ROWS_ALIAS = '__verify_rows';
export const HASH_ALIAS = '__verify_hash';
export function keyAlias(index: number): string {
  return `__verify_k${index}`;
}

/**
 * The SQL a server needs for `tributary verify`. Result columns: ROWS_ALIAS (row count) and HASH_ALIAS (hash sum, or
 * one row's hash) as decimal text, and keyAlias(0), keyAlias(1), … the canonical key values, in key order.
 */
export interface ChecksumDialect {
  /** Why `column` cannot be brought to its canonical form on this server; undefined when it can. */
  unsupported(column: ChecksumColumn): string | undefined;
  /** Why `column` cannot be a key that ranges are cut along on this server; undefined when it can. */
  unorderable(column: ChecksumColumn): string | undefined;
  /** Catalog query: `name`, `type` and `collation` of each column of a table (no row: no such table). */
  columns(namespace: string, table: string): Statement;
  /** One row: the count and hash sum of the range. */
  summary(table: ChecksumTable, range: KeyRange): Statement;
  /** Every row of the range: its key and its hash. */
  rowHashes(table: ChecksumTable, range: KeyRange): Statement;
  /** The key `offset` rows into the range in key order (0 is the first), or no row. */
  keyAt(table: ChecksumTable, range: KeyRange, offset: number): Statement;
  /** The first `limit` keys of the range, in key order. */
  firstKeys(table: ChecksumTable, range: KeyRange, limit: number): Statement;
}

/** Bound values in the order the dialect's placeholders name them. */
export class Bindings {
  readonly values: unknown[] = [];

  constructor(private readonly placeholder: (index: number) => string) {}

  bind(value: unknown): string {
    this.values.push(value);
    return this.placeholder(this.values.length - 1);
  }
}

/**
 * The condition that keeps a range's keys: `operands` are the key columns as compared (in key order) and `literal`
 * turns a canonical key value of column i into a typed constant. A composite bound is spelled out as
 * `k1 > a OR (k1 = a AND k2 > b)`, which every engine reads (SQL Server has no row constructors), with a leading
 * `k1 >= a` that lets MySQL's range optimizer use the index as it does not for the OR form alone.
 */
export function rangeCondition(operands: readonly string[], literal: (index: number, value: string) => string, range: KeyRange): string | undefined {
  const parts: string[] = [];
  if (range.after) parts.push(...bound(operands, literal, range.after, '>'));
  if (range.upTo) parts.push(...bound(operands, literal, range.upTo, '<='));
  return parts.length === 0 ? undefined : parts.join(' AND ');
}

function bound(operands: readonly string[], literal: (index: number, value: string) => string, values: readonly string[], op: '>' | '<='): string[] {
  if (values.length !== operands.length) {
    throw new TributaryError('INTERNAL', `a key bound has ${values.length} values for ${operands.length} key columns`);
  }
  const strict = op === '>' ? '>' : '<';
  // `literal` is called in the order the constants appear in the text: `?` placeholders are positional.
  const from = (i: number): string => {
    const value = values[i] as string;
    if (i === operands.length - 1) return `${operands[i]} ${op} ${literal(i, value)}`;
    return `(${operands[i]} ${strict} ${literal(i, value)} OR (${operands[i]} = ${literal(i, value)} AND ${from(i + 1)}))`;
  };
  if (operands.length === 1) return [from(0)];
  const first = `${operands[0]} ${op === '>' ? '>=' : '<='} ${literal(0, values[0] as string)}`;
  return [first, from(0)];
}

/** Kinds whose canonical text is free text and so gets its byte length in front. */
export function isFreeText(type: ColumnType): boolean {
  return type.kind === 'string' || type.kind === 'json' || type.kind === 'enum' || type.kind === 'set';
}

/** Checks a canonical key value before a dialect splices it into SQL as a literal (ClickHouse has no parameters). */
export function checkCanonical(value: string, pattern: RegExp, column: string): string {
  if (!pattern.test(value)) throw new TributaryError('INTERNAL', `key value "${value.slice(0, 40)}" of column "${column}" is not in its canonical form`);
  return value;
}

export const INTEGER_TEXT = /^-?\d{1,40}$/;
export const DECIMAL_TEXT = /^-?\d{1,80}(\.\d{1,80})?$/;
export const UUID_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const HEX_TEXT = /^(?:[0-9a-f]{2})*$/;

// What every dialect builds alike around its own expressions: the key columns, the key select list and the range
// condition. Each dialect passes its canonical, operand and literal forms.

/** The key columns of a table, in key order. */
export function keyColumnsOf(t: ChecksumTable): ChecksumColumn[] {
  return t.key.map((name) => {
    const column = t.columns.find((c) => c.name === name);
    if (!column) throw new TributaryError('INTERNAL', `key column "${name}" is not among the compared columns`);
    return column;
  });
}

/** The key columns' canonical forms, aliased `__verify_k<i>`, for a select list. */
export function keySelectList(t: ChecksumTable, canonical: (column: ChecksumColumn) => string): string {
  return keyColumnsOf(t)
    .map((column, i) => `${canonical(column)} AS ${keyAlias(i)}`)
    .join(', ');
}

/** The condition of `range` over the key, or undefined for the whole table. */
export function keyRangeCondition(
  t: ChecksumTable,
  range: KeyRange,
  operand: (column: ChecksumColumn) => string,
  literal: (column: ChecksumColumn, value: string) => string,
): string | undefined {
  const columns = keyColumnsOf(t);
  return rangeCondition(columns.map(operand), (i, value) => literal(columns[i] as ChecksumColumn, value), range);
}

/**
 * The condition keeping exactly `keys` (canonical values, one per key column): `k IN (a, b, …)` for a one-column
 * key, `(k1 = a AND k2 = b) OR …` otherwise. `operand` compares a key column for equality, which is the column
 * itself wherever the server can, so that its index serves the lookup. For a source's ad-hoc snapshot by keys.
 */
export function keysCondition(
  t: ChecksumTable,
  keys: readonly (readonly string[])[],
  operand: (column: ChecksumColumn) => string,
  literal: (column: ChecksumColumn, value: string) => string,
): string {
  if (keys.length === 0) throw new TributaryError('INTERNAL', 'a key lookup needs at least one key');
  const columns = keyColumnsOf(t);
  for (const key of keys) {
    if (key.length !== columns.length) throw new TributaryError('SOURCE_REJECTED', `a key of ${t.namespace}.${t.table} has ${columns.length} values, got ${key.length}`);
  }
  if (columns.length === 1) {
    const column = columns[0] as ChecksumColumn;
    return `${operand(column)} IN (${keys.map((key) => literal(column, key[0] as string)).join(', ')})`;
  }
  return keys.map((key) => `(${columns.map((column, i) => `${operand(column)} = ${literal(column, key[i] as string)}`).join(' AND ')})`).join(' OR ');
}

/** A captured table's key columns as its source holds them (`sourceType` is what the server reports), for a key lookup. */
export function keyTableOf(table: TableSchema): ChecksumTable {
  const columns = table.primaryKey.map((name): ChecksumColumn => {
    const column = table.columns.find((c) => c.name === name);
    if (!column) throw new TributaryError('INTERNAL', `primary key column ${name} is not a column of ${table.namespace}.${table.table}`);
    return { name, type: column.type, storedAs: column.sourceType, collation: null };
  });
  return { namespace: table.namespace, table: table.table, columns, key: [...table.primaryKey] };
}

/** What a source runs to read rows by canonical keys: their canonical key select list and the key condition, with its parameters. */
export interface KeyLookup {
  select: string;
  where: string;
  params: unknown[];
}

/** `ORDER BY` over the key's operands. */
export function keyOrder(t: ChecksumTable, operand: (column: ChecksumColumn) => string): string {
  return keyColumnsOf(t).map(operand).join(', ');
}

/** A row count or offset put into SQL text: a non-negative integer, or a bug. */
export function rowCount(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new TributaryError('INTERNAL', `a row count must be a non-negative integer, got ${n}`);
  return n;
}

/**
 * Why `column` cannot be a key that ranges are cut along: kinds whose order differs between engines. A decimal key
 * orders alike only where the server stores it as a number (`decimalIsNumeric`), which is each dialect's to say.
 */
export function unorderableKey(column: ChecksumColumn, decimalIsNumeric: boolean): string | undefined {
  switch (column.type.kind) {
    case 'boolean':
    case 'int16':
    case 'int32':
    case 'int64':
    case 'year':
    case 'date':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
    case 'string':
    case 'enum':
    case 'set':
    case 'uuid':
    case 'bytes':
      return undefined;
    case 'decimal':
      return decimalIsNumeric ? undefined : `a decimal key stored as ${column.storedAs} sorts as text`;
    default:
      return `a ${column.type.kind} key has no order that every engine shares`;
  }
}
