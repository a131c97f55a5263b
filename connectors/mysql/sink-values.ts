import type { ColumnType, ColumnValue } from '#core/column-type.ts';
import { describeColumnType } from '#core/column-type.ts';
import { TributaryError } from '#core/errors.ts';

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
//   decimal              the plain-notation string as is              DECIMAL(p,s), or VARCHAR past DECIMAL(65,30)
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
    case 'string':
    case 'json':
    case 'enum':
    case 'set':
    case 'uuid':
      if (typeof value !== 'string') throw invalid(type, column, 'a string', value);
      return value;
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

const MICROS_PER_DAY = 86_400_000_000n;
// DATE and DATETIME print four-digit years; MySQL documents 1000-9999 but stores and reads back 0001-0999 too.
const MIN_DAYS = -719_528; // 0000-01-01
const MAX_DAYS = 2_932_896; // 9999-12-31
// MariaDB's TIME(6) range; MySQL's ends at ±838:59:59.000000 and rejects the fraction past it in strict mode.
const MAX_TIME = 3_020_399_999_999n;

/** Proleptic Gregorian date of a day count from 1970-01-01 (Howard Hinnant's civil_from_days). */
export function civilFromDays(days: number): { year: number; month: number; day: number } {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor((dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365);
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const mp = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

function formatDate(days: number, type: ColumnType, column: string): string {
  if (days < MIN_DAYS || days > MAX_DAYS) throw unrepresentable(type, column, 'MySQL dates run from year 0 to 9999');
  const { year, month, day } = civilFromDays(days);
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;
}

function formatDateTime(micros: bigint, type: ColumnType, column: string): string {
  // Floor division, so that a negative instant falls on the day before the epoch with a positive time of day.
  let days = micros / MICROS_PER_DAY;
  let rest = micros - days * MICROS_PER_DAY;
  if (rest < 0n) {
    days -= 1n;
    rest += MICROS_PER_DAY;
  }
  const date = formatDate(Number(days), type, column);
  return `${date} ${clock(Number(rest))}`;
}

function formatTime(micros: bigint, type: ColumnType, column: string): string {
  const negative = micros < 0n;
  const magnitude = negative ? -micros : micros;
  if (magnitude > MAX_TIME) throw unrepresentable(type, column, 'MySQL TIME runs from -838:59:59.999999 to 838:59:59.999999');
  return `${negative ? '-' : ''}${clock(Number(magnitude))}`;
}

/** 'HH:MM:SS.ffffff' of a non-negative µs count below 839 hours (exact: < 2^53). */
function clock(micros: number): string {
  const fraction = micros % 1_000_000;
  const seconds = (micros - fraction) / 1_000_000;
  const s = seconds % 60;
  const m = ((seconds - s) / 60) % 60;
  const h = Math.floor(seconds / 3600);
  return `${pad(h, 2)}:${pad(m, 2)}:${pad(s, 2)}.${pad(fraction, 6)}`;
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, '0');
}

// --- errors -----------------------------------------------------------------------------------------------

/** A value not in the ColumnValue form of its kind: a bug upstream. Names the column, never the value. */
function invalid(type: ColumnType, column: string, expected: string, value: unknown): TributaryError {
  const got = Buffer.isBuffer(value) ? 'a Buffer' : typeof value;
  return new TributaryError('VALUE_INVALID', `column "${column}" (${describeColumnType(type)}): expected ${expected}, got ${got}`);
}

/** A valid value that the MySQL column cannot hold: the target refuses it, and retrying will not help. */
function unrepresentable(type: ColumnType, column: string, reason: string): TributaryError {
  return new TributaryError('TARGET_REJECTED', `column "${column}" (${describeColumnType(type)}): value out of range: ${reason}`);
}
