import type { ColumnType } from '#core/column-type.ts';
import { TributaryError } from '#core/errors.ts';
import type { ColumnSchema, TableSchema } from '#core/table-schema.ts';
import { DELETED_COLUMN, POSITION_COLUMN, VERSION_COLUMN } from '#core/sink.ts';
import type { ServerFeatures } from './features.ts';

// ClickHouse SQL for the sink, as pure functions (golden tests in dialect.test.ts). Identifiers are always quoted
// here. Values are never spliced into statements except where the old servers Tributary supports give no choice:
// ClickHouse before 19.x has no query parameters, so names in system-table lookups go through quoteString, and
// a truncate's version is a bigint formatted as digits. Row values never appear in SQL: they travel as RowBinary.

/** The ClickHouse types the sink creates and knows how to write (values.ts). */
export type BaseType =
  | { name: 'UInt8' | 'Int16' | 'Int32' | 'Int64' | 'UInt64' | 'Float32' | 'Float64' | 'String' | 'UUID' | 'Date32' }
  | { name: 'Decimal'; precision: number; scale: number }
  | { name: 'DateTime64'; precision: number; timezone?: string }
  /** One dimension; the sink creates Array(Nullable(T)). An Array is never Nullable itself (no server allows it). */
  | { name: 'Array'; items: ClickHouseType };

export interface ClickHouseType {
  base: BaseType;
  nullable: boolean;
}

/** Decimal(P, S) holds up to 38 digits on every server, up to 76 where `extendedTypes` (Decimal256). */
export const MAX_DECIMAL_PRECISION = 38;
export const MAX_EXTENDED_DECIMAL_PRECISION = 76;
/** Insert hashes a non-replicated table keeps for insert_deduplication_token: far more than a runner's retries. */
export const DEDUPLICATION_WINDOW = 1000;

// ClickHouse's own formatter (writeAnyQuotedString) escapes these with a backslash inside quotes; every server
// version reads them back, and both quoting styles below share them.
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\0': '\\0', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function quoteWith(quote: '`' | "'", text: string): string {
  let out = quote;
  for (const char of text) out += char === quote ? `\\${quote}` : (ESCAPES[char] ?? char);
  return out + quote;
}

/** A backquoted identifier: any name, `DROP TABLE x`, backquotes and backslashes included. */
export function quoteIdent(name: string): string {
  return quoteWith('`', name);
}

/** A single-quoted string literal. */
export function quoteString(text: string): string {
  return quoteWith("'", text);
}

export function qualifiedName(database: string, table: string): string {
  return `${quoteIdent(database)}.${quoteIdent(table)}`;
}

/** The view that shows exactly the source's current rows: latest version per key, deleted ones left out. */
export function currentViewName(table: string): string {
  return `${table}_current`;
}

/**
 * The target type of a source column. Key columns are never Nullable (ORDER BY refuses it); every other column
 * is, because a delete row carries only the key and NULL elsewhere, except arrays: ClickHouse has no
 * Nullable(Array), so an array column is Array(Nullable(T)) and a NULL array is written as []. Exact on every
 * server otherwise; see TYPES.md.
 */
export function clickHouseType(column: ColumnSchema, key: boolean, features: Pick<ServerFeatures, 'extendedTypes'>): ClickHouseType {
  const base = baseType(column.type, features.extendedTypes);
  return { base, nullable: targetNullable(base, key) };
}

/** Whether the sink makes a column of this base type Nullable: every non-key column but arrays. */
export function targetNullable(base: BaseType, key: boolean): boolean {
  return !key && base.name !== 'Array';
}

function baseType(type: ColumnType, extended: boolean): BaseType {
  switch (type.kind) {
    case 'boolean':
      return { name: 'UInt8' };
    case 'int16':
      return { name: 'Int16' };
    case 'int32':
    case 'year':
      return { name: 'Int32' };
    case 'int64':
      return { name: 'Int64' };
    case 'float32':
      return { name: 'Float32' };
    case 'float64':
      return { name: 'Float64' };
    case 'decimal': {
      const limit = extended ? MAX_EXTENDED_DECIMAL_PRECISION : MAX_DECIMAL_PRECISION;
      const fits = type.precision >= 1 && type.precision <= limit && type.scale >= 0 && type.scale <= type.precision;
      // Wider than the server's Decimal: the exact plain-notation text, which sorts and compares as text only.
      return fits ? { name: 'Decimal', precision: type.precision, scale: type.scale } : { name: 'String' };
    }
    case 'uuid':
      return { name: 'UUID' };
    case 'bits':
      // BIT(n ≤ 64) as the number MySQL shows for it; longer bit strings as their little-endian bytes.
      return type.length <= 64 ? { name: 'UInt64' } : { name: 'String' };
    case 'date':
      // Date32 covers 1900–2299 only (values.ts refuses others); old servers have no Date32, and ClickHouse's
      // Date (1970–2149) would lose MySQL's 1000–9999, so they get the exact day number.
      return extended ? { name: 'Date32' } : { name: 'Int32' };
    case 'time':
      // MySQL TIME runs from -838:59:59 to 838:59:59: no ClickHouse time type holds it, microseconds do.
      return { name: 'Int64' };
    case 'timestamp':
    case 'timestamptz':
      // A wall-clock timestamp's microseconds are those of the same digits read as UTC, so both kinds are shown in
      // UTC. Before DateTime64 (20.1, with its 1900–2299 range from 22.8): exact microseconds since the epoch.
      return extended ? { name: 'DateTime64', precision: 6, timezone: 'UTC' } : { name: 'Int64' };
    case 'string':
    case 'json':
    case 'enum':
    case 'set':
    case 'bytes':
      // ClickHouse Strings are byte strings: text as UTF-8, bytes as they are.
      return { name: 'String' };
    case 'numeric':
      // Any precision, NaN and ±Infinity: no ClickHouse Decimal holds them all, the source's text does.
      return { name: 'String' };
    case 'timetz':
    case 'interval':
      // No ClickHouse type for a time of day with a zone or for a calendar duration (months, days and seconds).
      return { name: 'String' };
    case 'array':
      if (type.items.kind === 'array') {
        // ColumnType arrays have one dimension; checkSourceTable refuses others before a type is asked for.
        throw new TributaryError('SINK_SCHEMA_INCOMPATIBLE', 'arrays of arrays have no ClickHouse column type here (no Nullable(Array))');
      }
      return { name: 'Array', items: { base: baseType(type.items, extended), nullable: true } };
  }
}

/** The type as ClickHouse itself prints it in system.columns, so that the two compare as text. */
export function formatType(type: ClickHouseType): string {
  const base = formatBase(type.base);
  return type.nullable ? `Nullable(${base})` : base;
}

function formatBase(base: BaseType): string {
  switch (base.name) {
    case 'Array':
      return `Array(${formatType(base.items)})`;
    case 'Decimal':
      return `Decimal(${base.precision}, ${base.scale})`;
    case 'DateTime64':
      return base.timezone === undefined ? `DateTime64(${base.precision})` : `DateTime64(${base.precision}, ${quoteString(base.timezone)})`;
    default:
      return base.name;
  }
}

const SIMPLE = new Set(['UInt8', 'Int16', 'Int32', 'Int64', 'UInt64', 'Float32', 'Float64', 'String', 'UUID', 'Date32']);
const DECIMAL_BITS: Record<string, number> = { Decimal32: 9, Decimal64: 18, Decimal128: 38, Decimal256: 76 };

/** Reads a type from system.columns; undefined for types the sink does not write (the column is then refused). */
export function parseType(text: string): ClickHouseType | undefined {
  const trimmed = text.trim();
  const nullable = /^Nullable\((.*)\)$/.exec(trimmed);
  const base = parseBase(nullable ? (nullable[1] as string).trim() : trimmed);
  return base && { base, nullable: nullable !== null };
}

function parseBase(text: string): BaseType | undefined {
  if (SIMPLE.has(text)) return { name: text } as BaseType;
  const array = /^Array\((.*)\)$/.exec(text);
  if (array) {
    const items = parseType(array[1] as string);
    return items && { name: 'Array', items };
  }
  const decimal = /^Decimal\(\s*(\d+)\s*,\s*(\d+)\s*\)$/.exec(text);
  if (decimal) return { name: 'Decimal', precision: Number(decimal[1]), scale: Number(decimal[2]) };
  const sized = /^(Decimal(?:32|64|128|256))\(\s*(\d+)\s*\)$/.exec(text);
  if (sized) return { name: 'Decimal', precision: DECIMAL_BITS[sized[1] as string] as number, scale: Number(sized[2]) };
  const dateTime = /^DateTime64\(\s*(\d+)\s*(?:,\s*'((?:[^'\\]|\\.)*)'\s*)?\)$/.exec(text);
  if (dateTime) {
    const precision = Number(dateTime[1]);
    return dateTime[2] === undefined ? { name: 'DateTime64', precision } : { name: 'DateTime64', precision, timezone: dateTime[2] };
  }
  return undefined;
}

export function sameType(a: ClickHouseType, b: ClickHouseType): boolean {
  return formatType(a) === formatType(b);
}

/** Tributary's own columns, after the source's, in this order. */
export const META_COLUMNS: ReadonlyArray<{ name: string; type: ClickHouseType }> = [
  { name: VERSION_COLUMN, type: { base: { name: 'UInt64' }, nullable: false } },
  { name: DELETED_COLUMN, type: { base: { name: 'UInt8' }, nullable: false } },
  { name: POSITION_COLUMN, type: { base: { name: 'String' }, nullable: false } },
];

export function createDatabaseSql(database: string): string {
  return `CREATE DATABASE IF NOT EXISTS ${quoteIdent(database)}`;
}

/**
 * A ReplacingMergeTree ordered by the primary key whose version is the source position (version.ts): FINAL and
 * merges keep, per key, the row of the latest change. Where the server has it, the deleted flag is the engine's
 * `is_deleted` parameter, and the table keeps insert hashes so that a replayed insert with the same
 * insert_deduplication_token is dropped.
 */
export function createTableSql(database: string, table: TableSchema, features: ServerFeatures): string {
  const keys = new Set(table.primaryKey);
  const columns = [
    ...table.columns.map((column) => ({ name: column.name, type: clickHouseType(column, keys.has(column.name), features) })),
    ...META_COLUMNS,
  ];
  const engineArgs = [VERSION_COLUMN, ...(features.isDeletedEngine ? [DELETED_COLUMN] : [])].map(quoteIdent).join(', ');
  const lines = [
    `CREATE TABLE IF NOT EXISTS ${qualifiedName(database, table.table)}`,
    '(',
    columns.map((column, i) => `    ${quoteIdent(column.name)} ${formatType(column.type)}${i < columns.length - 1 ? ',' : ''}`).join('\n'),
    ')',
    `ENGINE = ReplacingMergeTree(${engineArgs})`,
    `ORDER BY (${table.primaryKey.map(quoteIdent).join(', ')})`,
  ];
  const settings = [
    ...(features.deduplicationToken ? [`non_replicated_deduplication_window = ${DEDUPLICATION_WINDOW}`] : []),
    ...(features.fsyncAfterInsert ? ['fsync_after_insert = 1'] : []),
  ];
  if (settings.length > 0) lines.push(`SETTINGS ${settings.join(', ')}`);
  return lines.join('\n');
}

/** One ALTER that adds every new column after the existing ones (no IF NOT EXISTS: 18.16 lacks it). */
export function addColumnsSql(database: string, table: string, columns: ReadonlyArray<{ name: string; type: ClickHouseType }>): string {
  const clauses = columns.map((column) => `ADD COLUMN ${quoteIdent(column.name)} ${formatType(column.type)}`);
  return `ALTER TABLE ${qualifiedName(database, table)} ${clauses.join(', ')}`;
}

/**
 * An insert of RowBinary rows, split in two: `query` goes in the URL, `bodyPrefix` before the rows in the body.
 * ClickHouse reads the URL's query followed by the body as one statement; the column list stays out of the URL
 * because 18.16's HTTP server refuses URLs over 16 KiB, which a wide table's quoted names can reach.
 */
export function insertStatement(database: string, table: string, columns: readonly string[]): { query: string; bodyPrefix: string } {
  return {
    query: `INSERT INTO ${qualifiedName(database, table)}`,
    bodyPrefix: ` (${columns.map(quoteIdent).join(', ')}) FORMAT RowBinary\n`,
  };
}

/**
 * The stored values of `columns` for the rows whose key is one of `keys` (each a tuple of SQL literals, one per key
 * column, from values.ts keyLiteral), as RowBinary: the key columns first, then `columns`. FINAL gives each key's
 * latest version. The keys are literals because ClickHouse before 19.x has no query parameters; each is a typed
 * constant built from exact text or bytes (`toInt64('…')`, `unhex('…')`), never a value spliced in as written.
 */
export function storedValuesQuery(database: string, table: string, keyColumns: readonly string[], columns: readonly string[], keys: ReadonlyArray<readonly string[]>): string {
  const key = keyColumns.length === 1 ? quoteIdent(keyColumns[0] as string) : `(${keyColumns.map(quoteIdent).join(', ')})`;
  const tuples = keys.map((tuple) => (tuple.length === 1 ? (tuple[0] as string) : `(${tuple.join(', ')})`));
  return (
    `SELECT ${[...keyColumns, ...columns].map(quoteIdent).join(', ')} FROM ${qualifiedName(database, table)} FINAL ` +
    `WHERE ${key} IN (${tuples.join(', ')}) FORMAT RowBinary`
  );
}

/** A source truncate at a position: every row version written before it goes (a mutation). */
export function truncateSql(database: string, table: string, version: bigint): string {
  return `ALTER TABLE ${qualifiedName(database, table)} DELETE WHERE ${quoteIdent(VERSION_COLUMN)} < ${version.toString()}`;
}

/**
 * The `<table>_current` view: the latest version of each key, deleted rows left out, as the source has it. The
 * filter is needed on servers without the is_deleted engine and harmless on the others. A view's columns are
 * fixed when it is created, so it is created again whenever columns are added.
 */
export function createViewSql(database: string, table: string, replace: 'create' | 'replace'): string {
  const verb = replace === 'replace' ? 'CREATE OR REPLACE VIEW' : 'CREATE VIEW IF NOT EXISTS';
  return `${verb} ${qualifiedName(database, currentViewName(table))} AS SELECT * FROM ${qualifiedName(database, table)} FINAL WHERE ${quoteIdent(DELETED_COLUMN)} = 0`;
}

/** DROP TABLE also drops views, on every version (DROP VIEW is newer than 18.16). */
export function dropTableSql(database: string, name: string): string {
  return `DROP TABLE IF EXISTS ${qualifiedName(database, name)}`;
}

export function tablesQuery(database: string, names: readonly string[]): string {
  return (
    'SELECT name, engine, engine_full, create_table_query FROM system.tables ' +
    `WHERE database = ${quoteString(database)} AND name IN (${names.map(quoteString).join(', ')})`
  );
}

export function columnsQuery(database: string, table: string): string {
  return (
    'SELECT name, type, is_in_sorting_key FROM system.columns ' +
    `WHERE database = ${quoteString(database)} AND table = ${quoteString(table)}`
  );
}

export function pendingMutationsQuery(database: string, table: string): string {
  return (
    'SELECT count() AS pending FROM system.mutations ' +
    `WHERE database = ${quoteString(database)} AND table = ${quoteString(table)} AND is_done = 0`
  );
}

export function settingsQuery(names: readonly string[]): string {
  const list = names.map(quoteString).join(', ');
  return (
    `SELECT name FROM system.settings WHERE name IN (${list}) ` +
    `UNION ALL SELECT name FROM system.merge_tree_settings WHERE name IN (${list})`
  );
}
