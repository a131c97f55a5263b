import { civilFromDays, clockText, splitMicros } from './calendar.ts';
import { describeColumnType, type ColumnType, type ColumnValue } from './column-type.ts';
import { TributaryError } from './errors.ts';

// An `array` column's value as JSON text, for targets that store arrays in a JSON or text column (MySQL/MariaDB
// JSON, SQL Server NVARCHAR(MAX)). One form for every target, exact for every element kind; a JSON array with
// null for null elements, each element as:
//
//   boolean                         true / false
//   int16, int32, year, int64       a JSON number of its digits (int64 too: MySQL 8 keeps JSON integers as
//                                   64-bit integers, MariaDB and SQL Server keep the text)
//   float32, float64                a JSON number, JavaScript's shortest text of the double (-0 as -0);
//                                   NaN, Infinity, -Infinity as the strings "NaN", "Infinity", "-Infinity"
//   decimal, numeric                a JSON string of the plain-notation text (MySQL 8 would read a JSON number
//                                   with a fraction as a double and round it); numeric's "NaN", "Infinity" too
//   string, enum, set, uuid,        a JSON string
//   timetz, interval
//   json                            the JSON value itself, embedded (checked to be JSON)
//   bytes, bits                     a JSON string of the bytes in base64 (bits: Debezium's little-endian bytes)
//   date                            "YYYY-MM-DD"
//   time                            "[-]HH:MM:SS.ffffff", hours past 24 allowed
//   timestamp                       "YYYY-MM-DDTHH:MM:SS.ffffff"
//   timestamptz                     "YYYY-MM-DDTHH:MM:SS.ffffffZ"
//   array                           a nested JSON array
//
// Years outside 0000-9999 (PostgreSQL's dates reach 4713 BC and 5874897 AD) take ISO 8601's expanded form, a
// sign and six digits: "-000044-03-15", "+010000-01-01".

/** The JSON text of an array value whose elements are of kind `items`. `column` names it in errors. */
export function arrayJson(items: ColumnType, value: readonly ColumnValue[], column: string): string {
  return `[${value.map((element) => elementJson(items, element, column)).join(',')}]`;
}

function elementJson(type: ColumnType, value: ColumnValue, column: string): string {
  if (value === null) return 'null';
  switch (type.kind) {
    case 'boolean':
      if (typeof value !== 'boolean') throw invalid(type, column, 'a boolean', value);
      return value ? 'true' : 'false';
    case 'int16':
    case 'int32':
    case 'year':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(type, column, 'an integer number', value);
      return String(value);
    case 'int64':
      if (typeof value === 'bigint') return value.toString();
      if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
      throw invalid(type, column, 'a bigint', value);
    case 'float32':
    case 'float64':
      if (typeof value !== 'number') throw invalid(type, column, 'a number', value);
      if (!Number.isFinite(value)) return JSON.stringify(String(value));
      return Object.is(value, -0) ? '-0' : String(value);
    case 'decimal':
    case 'numeric':
    case 'string':
    case 'enum':
    case 'set':
    case 'uuid':
    case 'timetz':
    case 'interval':
      if (typeof value !== 'string') throw invalid(type, column, 'a string', value);
      return JSON.stringify(value);
    case 'json':
      if (typeof value !== 'string') throw invalid(type, column, 'a string', value);
      try {
        JSON.parse(value);
      } catch {
        throw new TributaryError('VALUE_INVALID', `column "${column}" (${describeColumnType(type)}): an element is not JSON text`);
      }
      return value;
    case 'bytes':
    case 'bits':
      if (!Buffer.isBuffer(value)) throw invalid(type, column, 'a Buffer', value);
      return JSON.stringify(value.toString('base64'));
    case 'date':
      if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(type, column, 'a number of days', value);
      return JSON.stringify(isoDateAnyYear(value));
    case 'time': {
      if (typeof value !== 'bigint') throw invalid(type, column, 'a bigint of microseconds', value);
      return JSON.stringify(`${value < 0n ? '-' : ''}${clockText(value < 0n ? -value : value)}`);
    }
    case 'timestamp':
    case 'timestamptz': {
      if (typeof value !== 'bigint') throw invalid(type, column, 'a bigint of microseconds', value);
      const { days, microsOfDay } = splitMicros(value);
      return JSON.stringify(`${isoDateAnyYear(days)}T${clockText(microsOfDay)}${type.kind === 'timestamptz' ? 'Z' : ''}`);
    }
    case 'array':
      if (!Array.isArray(value)) throw invalid(type, column, 'an array', value);
      return arrayJson(type.items, value, column);
  }
}

/** `YYYY-MM-DD`, or ISO 8601's expanded `±YYYYYY-MM-DD` for years outside 0000-9999. */
export function isoDateAnyYear(days: number): string {
  const { year, month, day } = civilFromDays(days);
  const yearText = year >= 0 && year <= 9999 ? String(year).padStart(4, '0') : `${year < 0 ? '-' : '+'}${String(Math.abs(year)).padStart(6, '0')}`;
  return `${yearText}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;
}

function invalid(type: ColumnType, column: string, expected: string, value: unknown): TributaryError {
  const got = Buffer.isBuffer(value) ? 'a Buffer' : Array.isArray(value) ? 'an array' : typeof value;
  return new TributaryError('VALUE_INVALID', `column "${column}" (array of ${describeColumnType(type)}): expected elements that are ${expected}, got ${got}`);
}
