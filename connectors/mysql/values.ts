import type { Row } from '#core/change-event.ts';
import type { ColumnType, ColumnValue } from '#core/column-type.ts';
import { fromUnscaled, isIntegerText, toUnscaled } from '#core/decimal.ts';
import { TributaryError } from '#core/errors.ts';
import type { ColumnSchema } from '#core/table-schema.ts';
import { daysFromCivil, digitsAt } from '#core/calendar.ts';

// MySQL/MariaDB values → ColumnValue (connectors/core/column-type.ts). Two readers deliver values, and both are
// configured with mySqlOptions() (connection.ts), so both hand over exact text forms:
//
//   type                 mysql2 query()                         @vlasky/zongji 0.9 (binlog rows)
//   TINYINT..INT         number                                 number
//   BIGINT [UNSIGNED]    string (bigNumberStrings)              number when safe, else exact string
//   DECIMAL              string, exactly scale fraction digits   the same
//   FLOAT                number, 6 significant digits (lossy!)  number, the exact float32
//   DOUBLE               number                                 number
//   BIT(n)               Buffer, big-endian                     Buffer, big-endian
//   CHAR/VARCHAR/TEXT    string                                 string
//   BINARY/VARBINARY/BLOB Buffer                                Buffer
//   ENUM, SET            string ('' for an invalid ENUM)        string (undefined for an invalid ENUM)
//   DATE                 'YYYY-MM-DD'                           the same
//   DATETIME, TIMESTAMP  'YYYY-MM-DD HH:MM:SS[.f{1,6}]' (UTC)   the same
//   TIME                 '[-]HH[H]:MM:SS[.f{1,6}]'              the same
//   YEAR                 number (0 for 0000)                    number (1900 for 0000: zongji adds 1900 to 0)
//   JSON (MySQL)         string                                 string (jsonStrings)
//   UUID (MariaDB)       string                                 Buffer(16) when the table map is self-describing
//   INET4/INET6 (MariaDB) string                                Buffer(4)/Buffer(16), likewise (rowFromMySql formats)
//
// Everything here runs once per value on the hot path: a switch on the kind, hand-rolled parsing of the fixed
// text layouts, no regular expressions and no allocation beyond the result on the common path.

/** Converts one value as mysql2 or zongji delivers it into the exact ColumnValue form of `type`. */
export function toColumnValue(type: ColumnType, raw: unknown, column: string): ColumnValue {
  if (raw === null || raw === undefined) {
    // zongji decodes an ENUM's invalid-value index 0 (stored as '' under a lax sql_mode) as undefined; mysql2
    // reads it as ''. Nothing else in a row is ever undefined, so this is that case.
    return raw === undefined && type.kind === 'enum' ? '' : null;
  }
  switch (type.kind) {
    case 'int16':
      return toSmallInteger(raw, -32768, 32767, type, column);
    case 'int32':
      return toSmallInteger(raw, -2147483648, 2147483647, type, column);
    case 'int64':
      return toInt64(raw, type, column);
    case 'decimal':
      return toDecimal(raw, type.precision, type.scale, type, column);
    case 'boolean':
      return toBoolean(raw, type, column);
    case 'float32':
      // Math.fround: the value a FLOAT holds, however it arrived (zongji reads the float32 itself; mysql2's
      // binary protocol and CAST(f AS DOUBLE) give the same double), so both paths agree bit for bit.
      return Math.fround(toFloat(raw, type, column));
    case 'float64':
      return toFloat(raw, type, column);
    case 'string':
    case 'json':
    case 'enum':
    case 'set':
      if (typeof raw === 'string') return raw;
      if (Buffer.isBuffer(raw)) return raw.toString('utf8');
      throw invalid(type, column, 'a string', raw);
    case 'uuid':
      return toUuid(raw, type, column);
    case 'bytes':
      if (Buffer.isBuffer(raw)) return raw;
      if (raw instanceof Uint8Array) return Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
      throw invalid(type, column, 'a Buffer', raw);
    case 'bits':
      if (raw instanceof Uint8Array) return toBits(raw, type.length, type, column);
      throw invalid(type, column, 'a Buffer', raw);
    case 'date': {
      if (typeof raw !== 'string' || raw.length !== 10) throw invalid(type, column, "a 'YYYY-MM-DD' string", raw);
      const days = parseDate(raw);
      if (days === undefined) throw invalid(type, column, "a 'YYYY-MM-DD' string", raw);
      return days;
    }
    case 'timestamp':
    case 'timestamptz': {
      if (typeof raw !== 'string') throw invalid(type, column, "a 'YYYY-MM-DD HH:MM:SS[.ffffff]' string", raw);
      const micros = parseDateTime(raw);
      if (micros === undefined) throw invalid(type, column, "a 'YYYY-MM-DD HH:MM:SS[.ffffff]' string", raw);
      return micros;
    }
    case 'time': {
      if (typeof raw !== 'string') throw invalid(type, column, "a '[-]HH:MM:SS[.ffffff]' string", raw);
      const micros = parseTime(raw);
      if (micros === undefined) throw invalid(type, column, "a '[-]HH:MM:SS[.ffffff]' string", raw);
      return micros;
    }
    case 'year': {
      const year = toSmallInteger(raw, 0, 9999, type, column);
      // YEAR holds 1901..2155 or 0000; zongji decodes the stored 0 of 0000 as 1900, mysql2 reads it as 0.
      return year === 1900 ? 0 : year;
    }
    case 'numeric':
    case 'timetz':
    case 'interval':
    case 'array':
      // mySqlColumnType never gives these PostgreSQL kinds.
      throw new TributaryError('INTERNAL', `column "${column}": a ${type.kind} column cannot come from MySQL`);
  }
}

/** One row as mysql2 or zongji delivers it (keyed by column name) → a Row in ColumnValue form. */
export function rowFromMySql(columns: readonly ColumnSchema[], raw: Record<string, unknown>): Row {
  const row: Row = {};
  for (let i = 0; i < columns.length; i++) {
    const column = columns[i] as ColumnSchema;
    const value = raw[column.name];
    row[column.name] =
      column.type.kind === 'string' && Buffer.isBuffer(value) ? textOf(value, column) : toColumnValue(column.type, value, column.name);
  }
  return row;
}

/**
 * A string column that arrived as bytes. MariaDB's INET4/INET6 are BINARY(4)/BINARY(16) in the binlog, and zongji
 * formats them only when it read the type from information_schema; through a self-describing TABLE_MAP they come
 * as their bytes, formatted here as the server prints them. Anything else is UTF-8 text.
 */
function textOf(bytes: Buffer, column: ColumnSchema): string {
  const source = column.sourceType;
  if (bytes.length === 16 && source.length >= 5 && source.slice(0, 5).toLowerCase() === 'inet6') return formatInet6(bytes);
  if (bytes.length === 4 && source.length >= 5 && source.slice(0, 5).toLowerCase() === 'inet4') return formatInet4(bytes, 0);
  return bytes.toString('utf8');
}

function formatInet4(bytes: Uint8Array, at: number): string {
  return `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;
}

/**
 * RFC 5952 text as MariaDB prints INET6: lower-case hex groups, the longest run of two or more zero groups (the
 * first of equal runs) as '::', and IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d, but not :: and
 * ::1) addresses with a dotted tail.
 */
function formatInet6(bytes: Buffer): string {
  let leadingZeros = true;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) leadingZeros = false;
  if (leadingZeros) {
    if (bytes[10] === 0xff && bytes[11] === 0xff) return `::ffff:${formatInet4(bytes, 12)}`;
    if (bytes[10] === 0 && bytes[11] === 0 && bytes.readUInt32BE(12) > 1) return `::${formatInet4(bytes, 12)}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i));
  let runStart = -1;
  let runLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > runLength) {
      runStart = i;
      runLength = j - i;
    }
    i = j;
  }
  const hex = (g: number) => g.toString(16);
  if (runStart < 0) return groups.map(hex).join(':');
  return `${groups.slice(0, runStart).map(hex).join(':')}::${groups.slice(runStart + runLength).map(hex).join(':')}`;
}

// --- integers ---------------------------------------------------------------------------------------------

function toSmallInteger(raw: unknown, min: number, max: number, type: ColumnType, column: string): number {
  let value: number;
  if (typeof raw === 'number') value = raw;
  else if (typeof raw === 'string' && isIntegerText(raw, 11)) value = Number(raw);
  else if (typeof raw === 'bigint') value = Number(raw);
  else throw invalid(type, column, 'an integer', raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw invalid(type, column, `an integer from ${min} to ${max}`, raw);
  }
  return value;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function toInt64(raw: unknown, type: ColumnType, column: string): bigint {
  let value: bigint;
  if (typeof raw === 'number') {
    // A number past 2^53 may already have lost digits; zongji and mysql2 hand those over as strings.
    if (!Number.isSafeInteger(raw)) throw invalid(type, column, 'a safe integer number, or a string of digits', raw);
    return BigInt(raw);
  }
  if (typeof raw === 'string' && isIntegerText(raw, 20)) value = BigInt(raw);
  else if (typeof raw === 'bigint') value = raw;
  else throw invalid(type, column, 'an integer', raw);
  if (value < INT64_MIN || value > INT64_MAX) throw invalid(type, column, 'an integer within 64 bits', raw);
  return value;
}


// --- decimals ---------------------------------------------------------------------------------------------

function toDecimal(raw: unknown, precision: number, scale: number, type: ColumnType, column: string): string {
  if (typeof raw === 'string') {
    // Both readers already give the canonical form; only an unusual one pays for the exact BigInt round trip.
    if (isCanonicalDecimal(raw, precision, scale)) return raw;
    return normalise(raw, precision, scale, type, column);
  }
  if (typeof raw === 'number') {
    // zongji gives BIGINT UNSIGNED (decimal(20,0)) as a number when it is a safe integer; a fractional number
    // would already have gone through a float, which a decimal never may.
    if (!Number.isSafeInteger(raw)) throw invalid(type, column, 'a decimal string or a safe integer', raw);
    return normalise(BigInt(raw), precision, scale, type, column);
  }
  if (typeof raw === 'bigint') return normalise(raw, precision, scale, type, column);
  throw invalid(type, column, 'a decimal string', raw);
}

function normalise(value: string | bigint, precision: number, scale: number, type: ColumnType, column: string): string {
  try {
    return fromUnscaled(toUnscaled(value, precision, scale), scale);
  } catch {
    // toUnscaled's message quotes the value; ours must not.
    throw invalid(type, column, `a decimal that fits decimal(${precision},${scale}) without rounding`, value);
  }
}

/** Plain notation, no leading zeros, exactly `scale` fraction digits, no '-0', at most `precision` digits. */
function isCanonicalDecimal(text: string, precision: number, scale: number): boolean {
  const length = text.length;
  const negative = text.charCodeAt(0) === 45;
  let i = negative ? 1 : 0;
  const intStart = i;
  let nonZero = false;
  for (; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) break;
    if (c !== 48) nonZero = true;
  }
  const intDigits = i - intStart;
  if (intDigits === 0 || (intDigits > 1 && text.charCodeAt(intStart) === 48)) return false;
  if (nonZero && intDigits > precision - scale) return false;
  if (scale === 0) return i === length && (nonZero || !negative);
  if (text.charCodeAt(i) !== 46 || length - i - 1 !== scale) return false;
  for (i++; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
    if (c !== 48) nonZero = true;
  }
  return nonZero || !negative;
}

// --- other scalars ----------------------------------------------------------------------------------------

function toBoolean(raw: unknown, type: ColumnType, column: string): boolean {
  if (typeof raw === 'boolean') return raw;
  if (raw instanceof Uint8Array) {
    // BIT(1) arrives as a one-byte Buffer from both readers.
    for (let i = 0; i < raw.length; i++) if (raw[i] !== 0) return true;
    return false;
  }
  if (typeof raw === 'number' && Number.isInteger(raw)) return raw !== 0;
  if (typeof raw === 'bigint') return raw !== 0n;
  if (raw === '0') return false;
  if (raw === '1') return true;
  throw invalid(type, column, "a BIT(1) Buffer, an integer or '0'/'1'", raw);
}

function toFloat(raw: unknown, type: ColumnType, column: string): number {
  if (typeof raw === 'number') return raw;
  if (typeof raw === 'string' && raw.length > 0) {
    const value = Number(raw);
    if (!Number.isNaN(value)) return value;
  }
  throw invalid(type, column, 'a number', raw);
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function toUuid(raw: unknown, type: ColumnType, column: string): string {
  if (typeof raw === 'string' && raw.length === 36) return raw.toLowerCase();
  if (raw instanceof Uint8Array && raw.length === 16) {
    // MariaDB's UUID through a self-describing table map arrives as its 16 bytes (zongji formats it only when it
    // read the type from information_schema); MariaDB 10.11 binlogs them in canonical order.
    let text = '';
    for (let i = 0; i < 16; i++) {
      if (i === 4 || i === 6 || i === 8 || i === 10) text += '-';
      text += HEX[raw[i] as number];
    }
    return text;
  }
  throw invalid(type, column, 'a UUID string or 16 bytes', raw);
}

/** MySQL's big-endian BIT bytes → Debezium's little-endian `io.debezium.data.Bits`, ceil(length / 8) bytes. */
function toBits(raw: Uint8Array, length: number, type: ColumnType, column: string): Buffer {
  const size = (length + 7) >> 3;
  const out = Buffer.alloc(size);
  const last = raw.length - 1;
  for (let i = 0; i <= last; i++) {
    const byte = raw[last - i] as number;
    if (i < size) out[i] = byte;
    else if (byte !== 0) throw invalid(type, column, `at most ${length} bits`, raw);
  }
  return out;
}

// --- dates and times --------------------------------------------------------------------------------------
// Exact integer arithmetic on the text: a JS Date would drop microseconds and cannot hold year 1 or 9999-12-31
// 23:59:59.999999 in every engine. Zero dates (a month or day of 0, as in '0000-00-00') have no instant and are
// null, as Debezium makes them.

const SCALE = [1_000_000, 100_000, 10_000, 1_000, 100, 10, 1];

/** Microseconds of an optional `.f{0,6}` starting at `start` (the '.' itself), or -1. */
function fractionAt(text: string, start: number): number {
  const length = text.length;
  if (start === length) return 0;
  const digits = length - start - 1;
  if (text.charCodeAt(start) !== 46 || digits > 6) return -1;
  if (digits === 0) return 0;
  const value = digitsAt(text, start + 1, digits);
  return value < 0 ? -1 : value * (SCALE[digits] as number);
}

/** 'YYYY-MM-DD' at the start of `text` → days, null for a zero date, undefined when malformed. */
function parseDate(text: string): number | null | undefined {
  const year = digitsAt(text, 0, 4);
  const month = digitsAt(text, 5, 2);
  const day = digitsAt(text, 8, 2);
  if (year < 0 || month < 0 || day < 0 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45) return undefined;
  if (month === 0 || day === 0) return null;
  if (month > 12 || day > 31) return undefined;
  return daysFromCivil(year, month, day);
}

/** 'YYYY-MM-DD HH:MM:SS[.f{0,6}]' → µs since 1970-01-01T00:00:00 read as UTC; null for a zero date. */
function parseDateTime(text: string): bigint | null | undefined {
  if (text.length < 19) return undefined;
  const days = parseDate(text);
  const separator = text.charCodeAt(10);
  if (days === undefined || (separator !== 32 && separator !== 84)) return undefined;
  const hour = digitsAt(text, 11, 2);
  const minute = digitsAt(text, 14, 2);
  const second = digitsAt(text, 17, 2);
  const micros = fractionAt(text, 19);
  if (hour < 0 || minute < 0 || second < 0 || micros < 0) return undefined;
  if (text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58 || hour > 23 || minute > 59 || second > 59) return undefined;
  if (days === null) return null;
  const seconds = days * 86400 + hour * 3600 + minute * 60 + second; // |seconds| < 2^38: exact
  const total = seconds * 1_000_000 + micros; // exact while it stays a safe integer (up to year 2255)
  return Number.isSafeInteger(total) ? BigInt(total) : BigInt(seconds) * 1_000_000n + BigInt(micros);
}

/** '[-]H+:MM:SS[.f{0,6}]' → µs, negative and beyond 24 h as MySQL's TIME allows (±838:59:59.999999). */
function parseTime(text: string): bigint | undefined {
  const negative = text.charCodeAt(0) === 45;
  const start = negative ? 1 : 0;
  let colon = start;
  while (colon < text.length && colon - start < 4 && text.charCodeAt(colon) !== 58) colon++;
  const hourDigits = colon - start;
  if (hourDigits < 1 || text.charCodeAt(colon) !== 58 || text.charCodeAt(colon + 3) !== 58) return undefined;
  const hour = digitsAt(text, start, hourDigits);
  const minute = digitsAt(text, colon + 1, 2);
  const second = digitsAt(text, colon + 4, 2);
  const micros = fractionAt(text, colon + 6);
  if (hour < 0 || minute < 0 || second < 0 || micros < 0 || minute > 59 || second > 59) return undefined;
  const total = (hour * 3600 + minute * 60 + second) * 1_000_000 + micros; // < 2^53 for 4-digit hours
  return BigInt(negative ? -total : total);
}

// --- errors -----------------------------------------------------------------------------------------------

/** Names the column, its type and what was expected; never the value, which may be personal data. */
function invalid(type: ColumnType, column: string, expected: string, raw: unknown): TributaryError {
  return new TributaryError('VALUE_INVALID', `column "${column}" (${typeName(type)}): expected ${expected}, got ${shape(raw)}`);
}

function typeName(type: ColumnType): string {
  switch (type.kind) {
    case 'decimal':
      return `decimal(${type.precision},${type.scale})`;
    case 'bits':
      return `bits(${type.length})`;
    default:
      return type.kind;
  }
}

/** What kind of thing `raw` is, with its size, but not its content. */
function shape(raw: unknown): string {
  if (typeof raw === 'string') return `a string of ${raw.length} characters`;
  if (Buffer.isBuffer(raw)) return `a Buffer of ${raw.length} bytes`;
  if (raw instanceof Date) return 'a Date (the connection must use dateStrings: true, see mySqlOptions)';
  if (raw instanceof Uint8Array) return `a Uint8Array of ${raw.length} bytes`;
  if (typeof raw === 'number') return Number.isInteger(raw) ? 'an integer number' : 'a non-integer number';
  if (typeof raw === 'bigint') return 'a bigint';
  if (raw === null) return 'null';
  if (Array.isArray(raw)) return 'an array';
  return `a value of type ${typeof raw}`;
}
