import { clockText, isoDate, isoDateTime } from '#core/calendar.ts';
import type { ColumnType, ColumnValue } from '#core/column-type.ts';
import { TributaryError } from '#core/errors.ts';
import { qualifiedName, type TableSchema } from '#core/table-schema.ts';

// The SQL of a snapshot, kept pure so every statement is pinned by a golden string in the unit tests.

export function quoteIdent(name: string): string {
  return `\`${name.replaceAll('`', '``')}\``;
}

export function quoteTable(table: Pick<TableSchema, 'namespace' | 'table'>): string {
  return `${quoteIdent(table.namespace)}.${quoteIdent(table.table)}`;
}

/**
 * One keyset-paginated chunk: the first (`afterKey` false) or the one after a key bound with {@link chunkParams}.
 *
 * Never OFFSET, which rescans every skipped row. The row-constructor comparison alone is not enough: MariaDB (10.11
 * at least) does not turn `(a, b) > (?, ?)` into an index range and scans the primary key from its start on every
 * chunk, so a composite key also gets `a >= ?` on its first column, which the range optimizer does use.
 */
export function chunkQuery(table: TableSchema, afterKey: boolean, limit: number): string {
  if (table.primaryKey.length === 0) {
    throw new TributaryError('INTERNAL', `${qualifiedName(table)} has no primary key to page by; read it with fullScanQuery`);
  }
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new TributaryError('INTERNAL', `chunk limit must be a positive integer, got ${limit}`);
  }
  const keys = table.primaryKey.map(quoteIdent);
  const first = keys[0] as string;
  let where = '';
  if (afterKey) {
    where =
      keys.length === 1
        ? ` WHERE ${first} > ?`
        : ` WHERE ${first} >= ? AND (${keys.join(', ')}) > (${keys.map(() => '?').join(', ')})`;
  }
  return `SELECT ${selectList(table)} FROM ${quoteTable(table)}${where} ORDER BY ${keys.join(', ')} LIMIT ${limit}`;
}

/** The parameters of {@link chunkQuery} for the key values after which to read, in placeholder order. */
export function chunkParams<T>(afterKey: readonly T[]): T[] {
  return afterKey.length > 1 ? [afterKey[0] as T, ...afterKey] : [...afterKey];
}

/** A table without a usable key is read in one streamed statement. */
/** The rows under some keys (an ad-hoc snapshot by keys): the table's columns, then `extra` (the canonical keys), `WHERE where`. */
export function keyedRowsQuery(table: TableSchema, extra: string, where: string): string {
  return `SELECT ${selectList(table)}, ${extra} FROM ${quoteTable(table)} WHERE ${where}`;
}

export function fullScanQuery(table: TableSchema): string {
  return `SELECT ${selectList(table)} FROM ${quoteTable(table)}`;
}

/** InnoDB's row estimate: instant, unlike COUNT(*), and only for progress reporting. */
export function countEstimateQuery(table: Pick<TableSchema, 'namespace' | 'table'>): { sql: string; values: string[] } {
  return {
    sql: 'SELECT TABLE_NAME AS name, TABLE_ROWS AS estimate FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
    values: [table.namespace, table.table],
  };
}

/**
 * Whether a table can be read in key order and resumed after a key. Not without a primary key, and not when a
 * key column is floating point: its text form need not read back as the stored value (a FLOAT 0.1 is stored as
 * 0.100000001…, prints as 0.1, and is greater than the double 0.1), so `> last key` could return the last row again.
 */
export function keysetReadable(table: TableSchema): boolean {
  if (table.primaryKey.length === 0) return false;
  return table.primaryKey.every((name) => {
    const kind = table.columns.find((column) => column.name === name)?.type.kind;
    return kind !== undefined && kind !== 'float32' && kind !== 'float64' && kind !== 'json';
  });
}

// MariaDB's text protocol prints FLOAT with 6 significant digits; as DOUBLE it prints the stored float32 exactly.
function selectList(table: TableSchema): string {
  return table.columns
    .map((column) => {
      const name = quoteIdent(column.name);
      return column.type.kind === 'float32' ? `CAST(${name} AS DOUBLE) AS ${name}` : name;
    })
    .join(', ');
}

/** A value mysql2 inlines as written: an exact numeric literal that must not be quoted. */
export interface SqlLiteral {
  toSqlString(): string;
}

export type KeyParam = number | bigint | string | Buffer | SqlLiteral;

/**
 * A key value in the form MySQL compares exactly with the column, for the `WHERE key > ?` of the next chunk.
 *
 * - Integers stay numbers or bigints, which mysql2 inlines unquoted: MySQL compares an integer column with a
 *   string as two doubles, which cannot tell 2^53 from 2^53 + 1.
 * - Decimals become unquoted decimal literals for the same reason (checked to be plain numbers first).
 * - ENUM and SET sort by their internal number, not their text, so they are compared by that number too.
 * - BIT(n) values come as Debezium's little-endian bytes and go back as the integer they spell.
 * - Dates and times go back to the text MySQL reads them from; TIMESTAMP text is read in the session time zone,
 *   which the snapshot session sets to UTC.
 */
export function keyParam(type: ColumnType, value: ColumnValue): KeyParam {
  switch (type.kind) {
    case 'boolean':
      if (typeof value !== 'boolean') throw misfit(type, value);
      return value ? 1 : 0;
    case 'int16':
    case 'int32':
    case 'year':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw misfit(type, value);
      return value;
    case 'int64':
      if (typeof value !== 'bigint') throw misfit(type, value);
      return value;
    case 'decimal':
      if (typeof value !== 'string' || !/^-?\d+(\.\d+)?$/.test(value)) throw misfit(type, value);
      return sqlLiteral(value);
    case 'string':
    case 'uuid':
      if (typeof value !== 'string') throw misfit(type, value);
      return value;
    case 'enum':
      if (typeof value !== 'string') throw misfit(type, value);
      return enumIndex(type.values, value);
    case 'set':
      if (typeof value !== 'string') throw misfit(type, value);
      return setBits(type.values, value);
    case 'bytes':
      if (!Buffer.isBuffer(value)) throw misfit(type, value);
      return value;
    case 'bits':
      if (!Buffer.isBuffer(value)) throw misfit(type, value);
      return BigInt(`0x${Buffer.from(value).reverse().toString('hex') || '0'}`);
    case 'date':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw misfit(type, value);
      return formatDate(value);
    case 'timestamp':
    case 'timestamptz':
      if (typeof value !== 'bigint') throw misfit(type, value);
      return formatDateTime(value);
    case 'time':
      if (typeof value !== 'bigint') throw misfit(type, value);
      return formatTime(value);
    case 'float32':
    case 'float64':
    case 'json':
      throw new TributaryError('INTERNAL', `a ${type.kind} column cannot be a snapshot key (see keysetReadable)`);
    case 'numeric':
    case 'timetz':
    case 'interval':
    case 'array':
      throw new TributaryError('INTERNAL', `a ${type.kind} column cannot come from MySQL (PostgreSQL types only)`);
  }
}

function misfit(type: ColumnType, value: ColumnValue): TributaryError {
  const shown = Buffer.isBuffer(value) ? 'a Buffer' : `${typeof value} ${String(value)}`;
  return new TributaryError('INTERNAL', `key value ${shown} does not fit a ${type.kind} key column`);
}

function sqlLiteral(text: string): SqlLiteral {
  return { toSqlString: () => text };
}

/** 1-based member number; the empty string MySQL stores for an invalid value is 0. */
function enumIndex(members: readonly string[], value: string): number {
  const index = members.indexOf(value);
  if (index === -1 && value !== '') throw new TributaryError('INTERNAL', `"${value}" is not a member of the ENUM key column`);
  return index + 1;
}

function setBits(members: readonly string[], value: string): bigint {
  let bits = 0n;
  for (const member of value === '' ? [] : value.split(',')) {
    const index = members.indexOf(member);
    if (index === -1) throw new TributaryError('INTERNAL', `"${member}" is not a member of the SET key column`);
    bits |= 1n << BigInt(index);
  }
  return bits;
}

const formatDate = isoDate;
const formatDateTime = (micros: bigint) => isoDateTime(micros, ' ');
/** TIME spans -838:59:59.999999 to 838:59:59.999999, so hours may pass 24 and the value may be negative. */
function formatTime(micros: bigint): string {
  return micros < 0n ? `-${clockText(-micros)}` : clockText(micros);
}

