import type { ColumnType, ColumnValue } from '#core/column-type.ts';
import { describeColumnType } from '#core/column-type.ts';
import { TributaryError } from '#core/errors.ts';
import { arrayJson } from '#core/array-json.ts';
import { clockText, isoDate, splitMicros } from '#core/calendar.ts';

// ColumnValue (connectors/core/column-type.ts) → the parameter mysql2 binds for the column sink-dialect.ts made
// for that kind. mysql2's query() escapes each parameter into the statement text (sql-escaper: strings quoted,
// Buffers as X'…', numbers and bigints as digits), so every form below is one whose literal MySQL converts into
// the target column exactly:
//
//   kind                 parameter                                   target column
//   boolean              1 / 0                                       TINYINT(1)
//   int16, int32, year   number                                      SMALLINT, INT, YEAR (0 stays 0000: a number, not '0')
//   int64                string of digits                            BIGINT (the dialect CASTs it where it compares)
//   float32, float64     number (finite)                             FLOAT, DOUBLE: JS prints the shortest exact form
//                                                                   (-0 reads back as 0: MariaDB 10.11 has no negative zero)
//   decimal              the plain-notation string as is              DECIMAL(p,s), or VARCHAR past DECIMAL(65,30)
//   numeric              the string as is (digits, NaN, ±Infinity)    LONGTEXT (VARCHAR(255) as a key)
//   timetz, interval     the string as is                             VARCHAR(32), VARCHAR(64)
//   array                its JSON text (core/array-json.ts)           JSON
//   string, json, enum,  string                                      VARCHAR / LONGTEXT / JSON / CHAR(36)
//   set, uuid
//   bytes                Buffer                                      VARBINARY / LONGBLOB
//   bits                 Buffer, big-endian (reversed)               BIT(n), which stores its bytes big-endian
//   date                 'YYYY-MM-DD'                                DATE
//   timestamp(tz)        'YYYY-MM-DD HH:MM:SS.ffffff'                DATETIME(6); timestamptz is written in UTC
//   time                 '[-]HH[H]:MM:SS.ffffff'                     TIME(6)
//
// Dates and times are formatted with integer arithmetic: a JS Date drops microseconds and mishandles years < 100.

/** One value as the mysql2 parameter for its column, or null. `column` names it in errors (never the value). */
export function toMySqlParam(type: ColumnType, value: ColumnValue | undefined, column: string): unknown {
  if (value === null || value === undefined) return null;
  switch (type.kind) {
    case 'boolean':
      if (typeof value !== 'boolean') throw invalid(type, column, 'a boolean', value);
      return value ? 1 : 0;
    case 'int16':
    case 'int32':
    case 'year':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(type, column, 'an integer number', value);
      return value;
    case 'int64':
      if (typeof value === 'bigint') return value.toString();
      if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
      throw invalid(type, column, 'a bigint', value);
    case 'float32':
    case 'float64':
      if (typeof value !== 'number') throw invalid(type, column, 'a number', value);
      if (!Number.isFinite(value)) throw unrepresentable(type, column, 'MySQL FLOAT and DOUBLE hold no NaN or Infinity');
      return value;
    case 'decimal':
    case 'numeric':
    case 'string':
    case 'json':
    case 'enum':
    case 'set':
    case 'uuid':
    case 'timetz':
    case 'interval':
      if (typeof value !== 'string') throw invalid(type, column, 'a string', value);
      return value;
    case 'array':
      if (!Array.isArray(value)) throw invalid(type, column, 'an array', value);
      return arrayJson(type.items, value, column);
    case 'bytes':
      if (!Buffer.isBuffer(value)) throw invalid(type, column, 'a Buffer', value);
      return value;
    case 'bits':
      if (!Buffer.isBuffer(value)) throw invalid(type, column, 'a Buffer', value);
      // Debezium's Bits are little-endian; a BIT(n) column takes its value as a big-endian binary string.
      return Buffer.from(value).reverse();
    case 'date':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(type, column, 'a number of days', value);
      return formatDate(value, type, column);
    case 'timestamp':
    case 'timestamptz':
      if (typeof value !== 'bigint') throw invalid(type, column, 'a bigint of microseconds', value);
      return formatDateTime(value, type, column);
    case 'time':
      if (typeof value !== 'bigint') throw invalid(type, column, 'a bigint of microseconds', value);
      return formatTime(value, type, column);
  }
}

// --- dates and times --------------------------------------------------------------------------------------

// DATE and DATETIME print four-digit years; MySQL documents 1000-9999 but stores and reads back 0001-0999 too.
const MIN_DAYS = -719_528; // 0000-01-01
const MAX_DAYS = 2_932_896; // 9999-12-31
// MariaDB's TIME(6) range; MySQL's ends at ±838:59:59.000000 and rejects the fraction past it in strict mode.
const MAX_TIME = 3_020_399_999_999n;

function formatDate(days: number, type: ColumnType, column: string): string {
  if (days < MIN_DAYS || days > MAX_DAYS) throw unrepresentable(type, column, 'MySQL dates run from year 0 to 9999');
  return isoDate(days);
}

function formatDateTime(micros: bigint, type: ColumnType, column: string): string {
  const { days, microsOfDay } = splitMicros(micros);
  return `${formatDate(days, type, column)} ${clockText(microsOfDay)}`;
}

function formatTime(micros: bigint, type: ColumnType, column: string): string {
  const negative = micros < 0n;
  const magnitude = negative ? -micros : micros;
  if (magnitude > MAX_TIME) throw unrepresentable(type, column, 'MySQL TIME runs from -838:59:59.999999 to 838:59:59.999999');
  return `${negative ? '-' : ''}${clockText(magnitude)}`;
}

// --- errors -----------------------------------------------------------------------------------------------

/** A value not in the ColumnValue form of its kind: a bug upstream. Names the column, never the value. */
function invalid(type: ColumnType, column: string, expected: string, value: unknown): TributaryError {
  const got = Buffer.isBuffer(value) ? 'a Buffer' : Array.isArray(value) ? 'an array' : typeof value;
  return new TributaryError('VALUE_INVALID', `column "${column}" (${describeColumnType(type)}): expected ${expected}, got ${got}`);
}

/** A valid value that the MySQL column cannot hold: the target refuses it, and retrying will not help. */
function unrepresentable(type: ColumnType, column: string, reason: string): TributaryError {
  return new TributaryError('TARGET_REJECTED', `column "${column}" (${describeColumnType(type)}): value out of range: ${reason}`);
}
