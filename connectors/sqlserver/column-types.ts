import type { ColumnType } from '#core/column-type.ts';
import type { ColumnSchema } from '#core/table-schema.ts';

// ColumnType → SQL Server column type, pure (TYPES.md has the table and the reasons). Types are structured
// values rather than text so that prepare() can compare them with what INFORMATION_SCHEMA reports.

export type SqlServerType =
  | { name: 'bit' | 'smallint' | 'int' | 'bigint' | 'real' | 'float' | 'uniqueidentifier' | 'date' }
  | { name: 'decimal'; precision: number; scale: number }
  | { name: 'nvarchar' | 'varchar' | 'varbinary'; length: number | 'max' }
  | { name: 'datetime2' | 'datetimeoffset'; scale: number }
  /** A column of a type Tributary never creates (someone made it by hand): only compared, never written. */
  | { name: 'other'; text: string };

export type SqlServerTypeName = SqlServerType['name'];

/** SQL Server's limits that shape the mapping. */
export const MAX_DECIMAL_PRECISION = 38;
/** NVARCHAR(n) takes n ≤ 4000 UTF-16 code units; past that only NVARCHAR(MAX). */
export const MAX_NVARCHAR = 4000;
export const MAX_VARBINARY = 8000;
/**
 * An index key holds at most 900 bytes (clustered), so a key string is NVARCHAR(450) whatever the source
 * length, and a key binary VARBINARY(900). Always the same size, so that a source widening VARCHAR(36) to
 * VARCHAR(64) needs no ALTER of a primary-key column; longer values are refused by the server.
 */
export const KEY_NVARCHAR = 450;
export const KEY_VARBINARY = 900;

/** Fraction digits kept by DATETIME2 and DATETIMEOFFSET: the sources' microseconds. */
export const TIME_SCALE = 6;

export function renderType(type: SqlServerType): string {
  switch (type.name) {
    case 'decimal':
      return `DECIMAL(${type.precision},${type.scale})`;
    case 'nvarchar':
    case 'varchar':
    case 'varbinary':
      return `${type.name.toUpperCase()}(${type.length === 'max' ? 'MAX' : type.length})`;
    case 'datetime2':
    case 'datetimeoffset':
      return `${type.name.toUpperCase()}(${type.scale})`;
    case 'other':
      return type.text;
    default:
      return type.name.toUpperCase();
  }
}

/**
 * NVARCHAR counts UTF-16 code units while sources count characters, and a character outside the BMP (an
 * emoji) takes two units: so a source length of n characters needs NVARCHAR(2n).
 */
function nvarcharForChars(chars: number | undefined): SqlServerType {
  if (chars === undefined || chars * 2 > MAX_NVARCHAR) return { name: 'nvarchar', length: 'max' };
  return { name: 'nvarchar', length: Math.max(1, chars * 2) };
}

/** Text long enough for a plain-notation decimal: sign, a leading 0 when scale = precision, and the point. */
function decimalTextLength(precision: number): number {
  return precision + 3;
}

/** The target column type for one source column; `isKey` for primary-key columns, which the index bounds. */
export function targetType(column: Pick<ColumnSchema, 'type'>, isKey: boolean): SqlServerType {
  const type: ColumnType = column.type;
  switch (type.kind) {
    case 'boolean':
      return { name: 'bit' };
    case 'int16':
    case 'year':
      return { name: 'smallint' };
    case 'int32':
      return { name: 'int' };
    case 'int64':
      return { name: 'bigint' };
    // SQL Server TIME stops at 23:59:59.9999999; MySQL TIME reaches ±838:59:59 and PostgreSQL has 24:00:00,
    // so a time is kept as its exact microseconds since midnight, which may be negative or ≥ 24 h.
    case 'time':
      return { name: 'bigint' };
    case 'float32':
      return { name: 'real' };
    case 'float64':
      return { name: 'float' };
    case 'decimal':
      // Past DECIMAL(38) nothing numeric is exact (FLOAT rounds), so the plain-notation text is kept as is.
      if (type.precision > MAX_DECIMAL_PRECISION) return { name: 'nvarchar', length: decimalTextLength(type.precision) };
      return { name: 'decimal', precision: type.precision, scale: type.scale };
    case 'string':
      return isKey ? { name: 'nvarchar', length: KEY_NVARCHAR } : nvarcharForChars(type.length);
    case 'json':
      return isKey ? { name: 'nvarchar', length: KEY_NVARCHAR } : { name: 'nvarchar', length: 'max' };
    case 'enum':
      return isKey ? { name: 'nvarchar', length: KEY_NVARCHAR } : nvarcharForChars(longest(type.values));
    case 'set':
      return isKey
        ? { name: 'nvarchar', length: KEY_NVARCHAR }
        : nvarcharForChars(type.values.reduce((sum, member) => sum + member.length, 0) + Math.max(0, type.values.length - 1));
    case 'uuid':
      return { name: 'uniqueidentifier' };
    case 'bytes':
      if (isKey) return { name: 'varbinary', length: KEY_VARBINARY };
      return type.length === undefined || type.length > MAX_VARBINARY
        ? { name: 'varbinary', length: 'max' }
        : { name: 'varbinary', length: Math.max(1, type.length) };
    case 'bits':
      // The little-endian bytes as Debezium writes them, for every length (BIT(64) would overflow BIGINT).
      return { name: 'varbinary', length: Math.max(1, Math.ceil(type.length / 8)) };
    case 'date':
      return { name: 'date' };
    case 'timestamp':
      return { name: 'datetime2', scale: TIME_SCALE };
    case 'timestamptz':
      return { name: 'datetimeoffset', scale: TIME_SCALE };
    case 'numeric':
      // Any precision, NaN and ±Infinity: past DECIMAL(38) and its special values, so the source's text.
      return isKey ? { name: 'nvarchar', length: KEY_NVARCHAR } : { name: 'nvarchar', length: 'max' };
    case 'timetz':
      // 'HH:MM:SS.ffffffZ', always UTC; TIME(6) would hold all of it but PostgreSQL's 24:00:00, and no SQL Server
      // type is a time of day with an offset. CAST(LEFT(col, 15) AS TIME(6)) reads it where it fits.
      return isKey ? { name: 'nvarchar', length: KEY_NVARCHAR } : { name: 'nvarchar', length: TIMETZ_NVARCHAR };
    case 'interval':
      // ISO 8601 duration text; no SQL Server type holds months, days and microseconds apart.
      return isKey ? { name: 'nvarchar', length: KEY_NVARCHAR } : { name: 'nvarchar', length: INTERVAL_NVARCHAR };
    case 'array':
      // The JSON array of connectors/core/array-json.ts; OPENJSON reads it.
      return isKey ? { name: 'nvarchar', length: KEY_NVARCHAR } : { name: 'nvarchar', length: 'max' };
  }
}

/** Room for `HH:MM:SS.ffffffZ` (16) with slack, and for PostgreSQL's longest ISO 8601 interval (under 64). */
export const TIMETZ_NVARCHAR = 32;
export const INTERVAL_NVARCHAR = 64;

function longest(values: string[]): number {
  return values.reduce((max, value) => Math.max(max, value.length), 1);
}

/**
 * The type a value travels as into the #stage table. The bulk-load path of mssql/tedious goes through a JS
 * Date for DATE/DATETIME2/DATETIMEOFFSET (milliseconds only) and through a float for DECIMAL, so those travel
 * as ISO 8601 / plain-notation text and the MERGE converts them on the server, exactly. Every other type
 * travels as itself.
 */
export function stageType(target: SqlServerType): SqlServerType {
  switch (target.name) {
    case 'decimal':
      return { name: 'nvarchar', length: decimalTextLength(target.precision) };
    case 'date':
      return { name: 'nvarchar', length: 10 }; //              YYYY-MM-DD
    case 'datetime2':
      return { name: 'nvarchar', length: 26 }; //              YYYY-MM-DDTHH:MM:SS.ffffff
    case 'datetimeoffset':
      return { name: 'nvarchar', length: 32 }; //              YYYY-MM-DDTHH:MM:SS.ffffff+00:00
    default:
      return target;
  }
}

/**
 * The expression that turns a stage column back into the target type. ISO 8601 text is read the same
 * whatever SET LANGUAGE / SET DATEFORMAT say for DATE, DATETIME2 and DATETIMEOFFSET (unlike DATETIME).
 */
export function fromStage(target: SqlServerType, expression: string): string {
  const stage = stageType(target);
  return sameType(stage, target) ? expression : `CAST(${expression} AS ${renderType(target)})`;
}

export function sameType(a: SqlServerType, b: SqlServerType): boolean {
  return renderType(a).toUpperCase() === renderType(b).toUpperCase();
}

/** A target column as DDL declares it. */
export interface ColumnDefinition {
  name: string;
  type: SqlServerType;
}
