import mssql from 'mssql';
import type { ColumnValue } from '#core/column-type.ts';
import { arrayJson } from '#core/array-json.ts';
import { fromUnscaled, toUnscaled } from '#core/decimal.ts';
import { clockText, isoDate, splitMicros } from '#core/calendar.ts';
import { TributaryError } from '#core/errors.ts';
import type { SqlServerType } from './column-types.ts';
import type { StageColumn } from './dialect.ts';

// ColumnValue → what mssql/tedious sends for the column's stage type (column-types.ts: stageType), exactly.
// tedious sends BIGINT from a JS bigint as is, REAL/FLOAT from the number's bits, VARBINARY from the Buffer,
// UNIQUEIDENTIFIER from the canonical string. DECIMAL, DATE, DATETIME2 and DATETIMEOFFSET would pass through a
// float or a millisecond JS Date, so they travel as text (plain notation, ISO 8601) and the MERGE casts them.

/** Days from 1970-01-01 to 0001-01-01 and to 9999-12-31: the range of DATE, DATETIME2 and DATETIMEOFFSET. */
const MIN_DAYS = -719_162;
const MAX_DAYS = 2_932_896;

/** The value the bulk load sends for one column of a staged row. */
export function stageValue(column: StageColumn, value: ColumnValue): unknown {
  if (value === null) return null;
  const { type } = column.column;
  switch (type.kind) {
    case 'boolean':
      return expect(column, value, 'boolean');
    case 'int16':
    case 'int32':
    case 'year':
      return integer(column, value);
    case 'int64':
    case 'time':
      return expect(column, value, 'bigint');
    case 'float32':
    case 'float64': {
      const number = expect(column, value, 'number');
      if (!Number.isFinite(number)) {
        throw rejected(column, `${number} has no SQL Server ${column.target.name.toUpperCase()} form (no NaN or infinities)`);
      }
      return number;
    }
    case 'decimal': {
      const text = expect(column, value, 'string');
      // Re-formatted so that the text always has exactly `scale` digits and fits the declared precision.
      try {
        return fromUnscaled(toUnscaled(text, type.precision, type.scale), type.scale);
      } catch (error) {
        throw invalid(column, error instanceof Error ? error.message : String(error));
      }
    }
    case 'string':
    case 'json':
    case 'enum':
    case 'set':
    case 'uuid':
    case 'numeric':
    case 'timetz':
    case 'interval':
      return expect(column, value, 'string');
    case 'array':
      if (!Array.isArray(value)) throw invalid(column, `expected an array, got ${Buffer.isBuffer(value) ? 'Buffer' : typeof value}`);
      return arrayJson(type.items, value, column.column.name);
    case 'bytes':
    case 'bits':
      if (!Buffer.isBuffer(value)) throw invalid(column, `expected a Buffer, got ${typeof value}`);
      return value;
    case 'date':
      return formatDate(integer(column, value), column);
    case 'timestamp':
      return formatTimestamp(expect(column, value, 'bigint'), column);
    case 'timestamptz':
      return `${formatTimestamp(expect(column, value, 'bigint'), column)}+00:00`;
  }
}

/** `YYYY-MM-DD` of a day count since 1970-01-01, proleptic Gregorian as SQL Server's DATE. */
export function formatDate(days: number, column?: StageColumn): string {
  if (days < MIN_DAYS || days > MAX_DAYS) {
    throw rejected(column, `day ${days} since 1970-01-01 is outside SQL Server's 0001-01-01 to 9999-12-31`);
  }
  return isoDate(days);
}

/** `YYYY-MM-DDTHH:MM:SS.ffffff` of microseconds since 1970-01-01T00:00:00, with all six fraction digits. */
export function formatTimestamp(micros: bigint, column?: StageColumn): string {
  const { days, microsOfDay } = splitMicros(micros);
  if (days < MIN_DAYS || days > MAX_DAYS) {
    throw rejected(column, `${micros} µs since 1970-01-01 is outside SQL Server's years 0001 to 9999`);
  }
  return `${isoDate(days)}T${clockText(microsOfDay)}`;
}

/** The mssql type of a #stage column, as the bulk load declares it; must render exactly as the stage DDL. */
export function mssqlType(type: SqlServerType): mssql.ISqlType {
  switch (type.name) {
    case 'bit':
      return mssql.Bit();
    case 'smallint':
      return mssql.SmallInt();
    case 'int':
      return mssql.Int();
    case 'bigint':
      return mssql.BigInt();
    case 'real':
      return mssql.Real();
    case 'float':
      return mssql.Float();
    case 'uniqueidentifier':
      return mssql.UniqueIdentifier();
    case 'nvarchar':
      return mssql.NVarChar(type.length === 'max' ? mssql.MAX : type.length);
    case 'varchar':
      return mssql.VarChar(type.length === 'max' ? mssql.MAX : type.length);
    case 'varbinary':
      return mssql.VarBinary(type.length === 'max' ? mssql.MAX : type.length);
    default:
      // DECIMAL, DATE, DATETIME2, DATETIMEOFFSET are staged as text (stageType); binding them natively would
      // round, so asking for one is a bug.
      throw new TributaryError('INTERNAL', `SQL Server type ${type.name} is never bound directly by the sink`);
  }
}

type Primitive = { boolean: boolean; number: number; bigint: bigint; string: string };

function expect<K extends keyof Primitive>(column: StageColumn, value: ColumnValue, kind: K): Primitive[K] {
  if (typeof value !== kind || Array.isArray(value)) {
    throw invalid(column, `expected a ${kind}, got ${Buffer.isBuffer(value) ? 'Buffer' : Array.isArray(value) ? 'an array' : typeof value}`);
  }
  return value as Primitive[K];
}

function integer(column: StageColumn, value: ColumnValue): number {
  const number = expect(column, value, 'number');
  if (!Number.isInteger(number)) throw invalid(column, `expected an integer, got ${number}`);
  return number;
}

function where(column: StageColumn | undefined): string {
  return column ? `column "${column.column.name}" (${column.column.sourceType}): ` : '';
}

function invalid(column: StageColumn, message: string): TributaryError {
  return new TributaryError('VALUE_INVALID', `${where(column)}${message}`);
}

function rejected(column: StageColumn | undefined, message: string): TributaryError {
  return new TributaryError('TARGET_REJECTED', `${where(column)}${message}`);
}
