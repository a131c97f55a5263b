import type { ColumnType } from '#core/column-type.ts';
import { TributaryError } from '#core/errors.ts';
import type { ColumnSchema, TableSchema } from '#core/table-schema.ts';
import { parseMySqlType } from './column-types.ts';

// The binlog side of column types: a TABLE_MAP event as @vlasky/zongji 0.9 decodes it → ColumnType, agreeing
// with column-types.ts (information_schema COLUMN_TYPE text) for the same declared type.
//
// With binlog_row_metadata=FULL the event describes its table completely (column names, signedness, charsets,
// ENUM/SET members, primary key), and zongji builds `tableMap[tableId].columnSchemas` from it instead of asking
// information_schema: COLUMN_TYPE is then synthesised (`bigint unsigned`, `decimal(38,10)`, `varchar(100)` from
// the byte width and the charset, `binary(16)`/`varbinary(n)`/`blob` when the collation is binary (63), in which
// case CHARACTER_SET_NAME is null). `tableMap[tableId].columns[i]` is `{ name, charset, type, metadata }`: the
// real type code (ENUM/SET already lifted out of STRING's metadata byte by updateColumnInfo), the charset name
// (null for binary and non-character columns) and the per-type metadata (`precision`/`decimals` for NEWDECIMAL,
// `bits` for BIT, `max_length` for the string types, `length_size` for BLOB/JSON, `decimals` for the
// fractional temporals, `size` for FLOAT/DOUBLE/ENUM/SET; absent for the integer and DATE/YEAR types).
//
// What the binlog cannot tell: MariaDB's JSON is LONGTEXT (→ string, where information_schema's check
// constraint gives json), and MariaDB's UUID/INET4/INET6 are BINARY(16)/BINARY(4)/BINARY(16) (→ bytes). zongji
// reads and discards the TABLE_MAP null bitmap, so nullability is known only for primary-key columns.

/** MySQL's binlog column type codes (include/field_types.h), as zongji's lib/common.js MysqlTypes. */
export const MYSQL_TYPE = {
  DECIMAL: 0,
  TINY: 1,
  SHORT: 2,
  LONG: 3,
  FLOAT: 4,
  DOUBLE: 5,
  NULL: 6,
  TIMESTAMP: 7,
  LONGLONG: 8,
  INT24: 9,
  DATE: 10,
  TIME: 11,
  DATETIME: 12,
  YEAR: 13,
  NEWDATE: 14,
  VARCHAR: 15,
  BIT: 16,
  TIMESTAMP2: 17,
  DATETIME2: 18,
  TIME2: 19,
  BLOB_COMPRESSED: 140, // MariaDB TEXT/BLOB ... COMPRESSED
  VARCHAR_COMPRESSED: 141, // MariaDB VARCHAR/VARBINARY ... COMPRESSED
  JSON: 245,
  NEWDECIMAL: 246,
  ENUM: 247,
  SET: 248,
  TINY_BLOB: 249,
  MEDIUM_BLOB: 250,
  LONG_BLOB: 251,
  BLOB: 252,
  VAR_STRING: 253,
  STRING: 254,
  GEOMETRY: 255,
} as const;

/** `tableMap[tableId].columns[i]` of zongji. */
export interface BinlogColumn {
  name: string;
  /** Character set name; null for binary strings and for non-character columns. */
  charset: string | null | undefined;
  type: number;
  metadata?: Record<string, unknown> | undefined;
}

/** `tableMap[tableId].columnSchemas[i]` of zongji: information_schema-shaped, fetched or synthesised. */
export interface BinlogColumnSchema {
  COLUMN_NAME: string;
  COLUMN_TYPE: string;
  CHARACTER_SET_NAME?: string | null | undefined;
  /** Exact signedness from the binlog's optional metadata. */
  UNSIGNED?: boolean | undefined;
  ENUM_VALUES?: string[] | undefined;
  SET_VALUES?: string[] | undefined;
}

/** What zongji keeps per table id: `zongji.tableMap[tableId]`. */
export interface BinlogTableMapEntry {
  columnSchemas: BinlogColumnSchema[];
  columns?: BinlogColumn[] | undefined;
}

/**
 * The parts of zongji's `tablemap` event this module reads. Column names and the primary key live on the event,
 * not in `tableMap[tableId]`, and only the event says whether the names came from the binlog itself.
 */
export interface BinlogTableMapEvent {
  tableId: number;
  columnCount: number;
  /** Present only with binlog_row_metadata=FULL. */
  columnNames?: string[] | undefined;
  /** 0-based column indexes, binlog_row_metadata=FULL only. */
  primaryKey?: number[] | undefined;
  tableMap: Record<number, BinlogTableMapEntry | undefined>;
}

/** The ColumnType of one binlog column, as column-types.ts maps the same declared type. */
export function binlogColumnType(column: BinlogColumn, columnSchema: BinlogColumnSchema): ColumnType {
  const unsigned = columnSchema.UNSIGNED ?? columnSchema.COLUMN_TYPE.toLowerCase().includes('unsigned');
  switch (column.type) {
    case MYSQL_TYPE.TINY:
      return { kind: 'int16' };
    case MYSQL_TYPE.SHORT:
      return unsigned ? { kind: 'int32' } : { kind: 'int16' };
    case MYSQL_TYPE.INT24:
      return { kind: 'int32' };
    case MYSQL_TYPE.LONG:
      return unsigned ? { kind: 'int64' } : { kind: 'int32' };
    case MYSQL_TYPE.LONGLONG:
      return unsigned ? { kind: 'decimal', precision: 20, scale: 0 } : { kind: 'int64' };
    case MYSQL_TYPE.FLOAT:
      return { kind: 'float32' };
    case MYSQL_TYPE.DOUBLE:
      return { kind: 'float64' };
    case MYSQL_TYPE.NEWDECIMAL: {
      const precision = metadataNumber(column, 'precision');
      const scale = metadataNumber(column, 'decimals');
      if (precision === undefined || scale === undefined) throw unsupported(column, columnSchema);
      return { kind: 'decimal', precision, scale };
    }
    case MYSQL_TYPE.BIT: {
      const bits = metadataNumber(column, 'bits');
      if (bits === undefined) throw unsupported(column, columnSchema);
      return bits === 1 ? { kind: 'boolean' } : { kind: 'bits', length: bits };
    }
    case MYSQL_TYPE.DATE:
    case MYSQL_TYPE.NEWDATE:
      return { kind: 'date' };
    case MYSQL_TYPE.TIME:
    case MYSQL_TYPE.TIME2:
      return { kind: 'time' };
    case MYSQL_TYPE.DATETIME:
    case MYSQL_TYPE.DATETIME2:
      return { kind: 'timestamp' };
    case MYSQL_TYPE.TIMESTAMP:
    case MYSQL_TYPE.TIMESTAMP2:
      return { kind: 'timestamptz' };
    case MYSQL_TYPE.YEAR:
      return { kind: 'year' };
    case MYSQL_TYPE.JSON:
      return { kind: 'json' };
    case MYSQL_TYPE.ENUM:
      return { kind: 'enum', values: columnSchema.ENUM_VALUES ?? members(column, columnSchema) };
    case MYSQL_TYPE.SET:
      return { kind: 'set', values: columnSchema.SET_VALUES ?? members(column, columnSchema) };
    case MYSQL_TYPE.VARCHAR:
    case MYSQL_TYPE.VAR_STRING:
    case MYSQL_TYPE.STRING:
    case MYSQL_TYPE.VARCHAR_COMPRESSED: {
      // Decided the way zongji decodes the value (lib/common.js readMysqlValue): by COLUMN_TYPE, which in the
      // synthesised form says binary/varbinary exactly when the column's collation is binary (63).
      const definition = columnSchema.COLUMN_TYPE.toLowerCase();
      if (definition.startsWith('uuid')) return { kind: 'uuid' };
      if (definition.startsWith('inet4') || definition.startsWith('inet6')) return { kind: 'string' };
      if (definition.startsWith('vector')) throw unsupported(column, columnSchema);
      const length = lengthOf(definition);
      const binary = definition.startsWith('binary') || definition.startsWith('varbin');
      const kind = binary ? 'bytes' : 'string';
      return length === undefined ? { kind } : { kind, length };
    }
    case MYSQL_TYPE.TINY_BLOB:
    case MYSQL_TYPE.MEDIUM_BLOB:
    case MYSQL_TYPE.LONG_BLOB:
    case MYSQL_TYPE.BLOB:
    case MYSQL_TYPE.BLOB_COMPRESSED:
      // TEXT and BLOB share these codes; zongji decodes text exactly when the column has a charset.
      return column.charset === null ? { kind: 'bytes' } : { kind: 'string' };
    default:
      // DECIMAL (pre-5.0), NULL, GEOMETRY: zongji does not decode the first two, column-types.ts refuses the last.
      throw unsupported(column, columnSchema);
  }
}

/**
 * The TableSchema a TABLE_MAP event describes, or null when the event does not describe its table by itself
 * (the server is not on binlog_row_metadata=FULL, or zongji's cached columns disagree with the event's names).
 * Nullability: zongji drops the TABLE_MAP null bitmap, so primary-key columns are NOT NULL and all others nullable.
 */
export function binlogTableSchema(namespace: string, table: string, event: BinlogTableMapEvent): TableSchema | null {
  const names = event.columnNames;
  const entry = event.tableMap[event.tableId];
  const count = event.columnCount;
  if (!names || !entry || !entry.columns || names.length !== count) return null;
  if (entry.columns.length !== count || entry.columnSchemas.length !== count) return null;

  const keyIndexes = event.primaryKey ?? [];
  const columns: ColumnSchema[] = [];
  for (let i = 0; i < count; i++) {
    const column = entry.columns[i] as BinlogColumn;
    const columnSchema = entry.columnSchemas[i] as BinlogColumnSchema;
    // Rows are keyed by column.name; it must be the name this very event carries.
    if (column.name !== names[i]) return null;
    columns.push({
      name: column.name,
      type: binlogColumnType(column, columnSchema),
      nullable: !keyIndexes.includes(i),
      sourceType: columnSchema.COLUMN_TYPE,
    });
  }
  const primaryKey: string[] = [];
  for (const index of keyIndexes) {
    const name = names[index];
    if (name === undefined) return null;
    primaryKey.push(name);
  }
  return { namespace, table, columns, primaryKey };
}

function metadataNumber(column: BinlogColumn, key: string): number | undefined {
  const value = column.metadata?.[key];
  return typeof value === 'number' ? value : undefined;
}

/** The `n` of `varchar(n)`, `binary(n)`. */
function lengthOf(definition: string): number | undefined {
  const open = definition.indexOf('(');
  const close = definition.indexOf(')', open);
  if (open < 0 || close < 0) return undefined;
  const length = Number(definition.slice(open + 1, close));
  return Number.isInteger(length) && length > 0 ? length : undefined;
}

/** ENUM/SET members from information_schema's COLUMN_TYPE, when the binlog did not carry them. */
function members(column: BinlogColumn, columnSchema: BinlogColumnSchema): string[] {
  try {
    return parseMySqlType(columnSchema.COLUMN_TYPE).args;
  } catch {
    throw unsupported(column, columnSchema);
  }
}

function unsupported(column: BinlogColumn, columnSchema: BinlogColumnSchema): TributaryError {
  const shown = columnSchema.COLUMN_TYPE || `binlog type ${column.type}`;
  return new TributaryError(
    'SCHEMA_UNSUPPORTED',
    `MySQL column "${column.name}" of type "${shown}" is not supported; exclude the column (sources[].columns.exclude) or the table`,
  );
}
