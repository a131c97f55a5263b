import type { Row } from '#core/change-event.ts';
import { describeColumnType, type ColumnType, type ColumnValue } from '#core/column-type.ts';
import { fromUnscaled, isIntegerText, toUnscaled } from '#core/decimal.ts';
import { TributaryError } from '#core/errors.ts';
import type { TableSchema } from '#core/table-schema.ts';
import { daysFromCivil, digitsAt } from '#core/calendar.ts';

// PostgreSQL values → ColumnValue (connectors/core/column-type.ts). Both paths hand over each value's text: pgoutput
// sends every column's output function text, and the snapshot reads with pg's parsers replaced by the identity
// (connection.ts). Both run under SESSION_SETTINGS, so one parser of those exact text forms serves both:
//
//   bool 't' / 'f'                  bit(1) '1' / '0'             int2/int4/int8/oid '-123'
//   float4/float8 '1.5', '-0', 'NaN', 'Infinity', '-Infinity', shortest exact digits (extra_float_digits=3)
//   numeric '-12.340', 'NaN', 'Infinity', '-Infinity'        money '-$1,234.50' (lc_monetary=C)
//   bytea '\x0a0b'                  bit(n) '0101'                uuid, json, jsonb, text, enum: the text itself
//   date '2024-01-02', '0044-03-15 BC', 'infinity', '-infinity'   time '24:00:00', '03:04:05.123456'
//   timetz '03:04:05.5+05:30'       timestamp '2024-01-02 03:04:05.123456', '…  BC', 'infinity'
//   timestamptz '2024-01-02 03:04:05.123456+00', '… +00 BC'  (TimeZone=UTC)
//   interval 'P1Y2M-3DT-4H-5M-6.000007S', 'PT0S' (IntervalStyle=iso_8601)     arrays '{1,NULL,"a \"q\""}'
//
// The source builds one parser per column once (rowConverter) and then only calls it: a switch per value would do
// for MySQL's few forms, but here the kinds are many and capture must keep up with 50,000 rows/s.

/** Parses the text of one non-null value. */
export type TextParser = (text: string) => ColumnValue;

export interface ParseOptions {
  /**
   * Called when a value has no form in its ColumnType and null stands in for it: NaN in a numeric(p,s), which
   * Avro's decimal cannot hold. `element` tells an array element (always nullable) from the column's own value.
   * Without it the null is silent.
   */
  onSubstitute?: (reason: string, element: boolean) => void;
}

/**
 * PostgreSQL's ±infinity in timestamp and timestamptz, as Debezium writes them in `io.debezium.time.MicroTimestamp`
 * (PGStatement.DATE_POSITIVE_INFINITY / DATE_NEGATIVE_INFINITY of the JDBC driver, read as microseconds).
 */
export const TIMESTAMP_INFINITY = 9223372036825200000n;
export const TIMESTAMP_MINUS_INFINITY = -9223372036832400000n;

/**
 * PostgreSQL's ±infinity in date: the int32 bounds, which is how the server itself stores them and which no finite
 * PostgreSQL date reaches (5874897-12-31 is day 2,145,031,948). Debezium's own value here is not usable: it gives
 * 'infinity' an earlier day than '-infinity' (debezium/dbz#2524).
 */
export const DATE_INFINITY = 2_147_483_647;
export const DATE_MINUS_INFINITY = -2_147_483_648;

/** The value of `text` (never null: SQL NULL is null before any parser) in the form `type` describes. */
export function valueFromText(type: ColumnType, text: string, options: ParseOptions = {}): ColumnValue {
  return textParser(type, options)(text);
}

/** A parser for the values of one column, built once: the hot path is then one call per value. */
export function textParser(type: ColumnType, options: ParseOptions = {}): TextParser {
  switch (type.kind) {
    case 'boolean':
      return (text) => parseBoolean(text, type);
    case 'int16':
      return (text) => parseInteger(text, -32768, 32767, type);
    case 'int32':
    case 'year':
      return (text) => parseInteger(text, -2147483648, 2147483647, type);
    case 'int64':
      return (text) => parseInt64(text, type);
    case 'float32':
      // PostgreSQL prints the shortest text that reads back as the same float4; fround gives that float4 exactly.
      return (text) => Math.fround(parseFloatText(text, type));
    case 'float64':
      return (text) => parseFloatText(text, type);
    case 'decimal':
      return decimalParser(type, options);
    case 'numeric':
      return (text) => parseNumeric(text, type);
    case 'string':
    case 'json':
    case 'enum':
    case 'set':
      return (text) => text;
    case 'uuid':
      return (text) => text.toLowerCase();
    case 'interval':
      return (text) => parseInterval(text, type);
    case 'bytes':
      return (text) => parseBytea(text, type);
    case 'bits':
      return (text) => parseBits(text, type.length, type);
    case 'date':
      return (text) => parseDate(text, type);
    case 'time':
      return (text) => BigInt(parseClock(text, 0, text.length, type));
    case 'timetz':
      return (text) => parseTimeTz(text, type);
    case 'timestamp':
      return (text) => parseTimestamp(text, false, type);
    case 'timestamptz':
      return (text) => parseTimestamp(text, true, type);
    case 'array': {
      const report = options.onSubstitute;
      const items = textParser(type.items, report ? { onSubstitute: (reason) => report(`an element of the array: ${reason}`, true) } : {});
      return (text) => parseArray(text, items, type);
    }
  }
}

/**
 * A converter of one row's texts, in column order, into a Row. Each column's parser is built here once.
 *
 * A value with no form in its type (NaN in a numeric(p,s)) becomes null and is reported through `warn` once per
 * column; in a NOT NULL column null is no way out, so it is a VALUE_INVALID error instead.
 */
export function rowConverter(table: TableSchema, warn?: (column: string, message: string) => void): (texts: readonly (string | null)[]) => Row {
  const columns = table.columns;
  const names = columns.map((column) => column.name);
  const parsers = columns.map((column) => {
    let warned = false;
    const onSubstitute = (reason: string, element: boolean) => {
      if (!column.nullable && !element) {
        throw new TributaryError('VALUE_INVALID', `${reason}, and the column is NOT NULL: exclude the column or store another value`);
      }
      if (warned || !warn) return;
      warned = true;
      warn(column.name, `${reason}; it is captured as null (this message appears once per column)`);
    };
    return textParser(column.type, { onSubstitute });
  });
  const count = columns.length;
  return (texts) => {
    if (texts.length !== count) {
      throw new TributaryError('INTERNAL', `a row of ${table.namespace}.${table.table} has ${texts.length} values for ${count} columns`);
    }
    const row: Row = {};
    let i = 0;
    try {
      for (; i < count; i++) {
        const text = texts[i];
        row[names[i] as string] = text === null || text === undefined ? null : (parsers[i] as TextParser)(text);
      }
    } catch (error) {
      const column = columns[i];
      if (!(error instanceof TributaryError) || !column) throw error;
      throw new TributaryError(error.code, `column "${column.name}" of ${table.namespace}.${table.table}: ${error.message}`, { cause: error.cause });
    }
    return row;
  };
}

// --- errors -----------------------------------------------------------------------------------------------

/** The value itself is never quoted: it may be personal data, and errors end up in logs. */
function invalid(type: ColumnType, expected: string, text: string): TributaryError {
  return new TributaryError('VALUE_INVALID', `${describeColumnType(type)}: expected ${expected}, got ${text.length} characters of other text`);
}

// --- numbers ----------------------------------------------------------------------------------------------

function parseBoolean(text: string, type: ColumnType): boolean {
  // bool prints t/f; bit(1), which maps to boolean too, prints 1/0.
  if (text === 't' || text === '1') return true;
  if (text === 'f' || text === '0') return false;
  throw invalid(type, "'t', 'f', '1' or '0'", text);
}

function parseInteger(text: string, min: number, max: number, type: ColumnType): number {
  const length = text.length;
  const negative = text.charCodeAt(0) === 45;
  let i = negative ? 1 : 0;
  if (length === i || length > 11) throw invalid(type, 'an integer', text);
  let value = 0;
  for (; i < length; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) throw invalid(type, 'an integer', text);
    value = value * 10 + d;
  }
  if (negative) value = -value;
  if (value < min || value > max) throw invalid(type, `an integer from ${min} to ${max}`, text);
  return value;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

function parseInt64(text: string, type: ColumnType): bigint {
  // Up to 15 digits, the value is exact as a double: summed as one and converted, at a fraction of BigInt(text)'s cost.
  const length = text.length;
  const negative = text.charCodeAt(0) === 45;
  if (length - (negative ? 1 : 0) <= 15) {
    let i = negative ? 1 : 0;
    if (length === i) throw invalid(type, 'an integer', text);
    let value = 0;
    for (; i < length; i++) {
      const d = text.charCodeAt(i) - 48;
      if (d < 0 || d > 9) throw invalid(type, 'an integer', text);
      value = value * 10 + d;
    }
    return BigInt(negative ? -value : value);
  }
  if (!isIntegerText(text, 19)) throw invalid(type, 'an integer', text);
  const value = BigInt(text);
  if (value < INT64_MIN || value > INT64_MAX) throw invalid(type, 'an integer within 64 bits', text);
  return value;
}


function parseFloatText(text: string, type: ColumnType): number {
  // Number() reads 'NaN', 'Infinity' and '-Infinity' as PostgreSQL prints them, and '-0' as -0.
  const value = Number(text);
  if (text.length === 0 || (Number.isNaN(value) && text !== 'NaN')) throw invalid(type, 'a floating-point number', text);
  return value;
}

// --- decimals ---------------------------------------------------------------------------------------------

function decimalParser(type: Extract<ColumnType, { kind: 'decimal' }>, options: ParseOptions): TextParser {
  const { precision, scale } = type;
  const report = options.onSubstitute;
  return (text) => {
    if (isCanonicalDecimal(text, precision, scale)) return text; // what a numeric(p,s) column always prints
    if (text === 'NaN' || text === 'Infinity' || text === '-Infinity') {
      // A numeric(p,s) column can hold NaN (never ±Infinity, but a domain's check is not ours to trust), which
      // Avro's decimal has no bytes for. Debezium's precise mode stops the connector on it; null keeps the
      // capture going, and the source logs which column lost what.
      report?.(`${describeColumnType(type)} holds ${text}, which a decimal cannot carry`, false);
      return null;
    }
    const money = moneyText(text);
    try {
      return fromUnscaled(toUnscaled(money ?? text, precision, scale), scale);
    } catch {
      // toUnscaled's message quotes the value; ours must not.
      throw invalid(type, `a decimal that fits ${describeColumnType(type)} without rounding`, text);
    }
  };
}

/** Plain notation, no superfluous leading zero, exactly `scale` fraction digits, at most `precision` digits. */
function isCanonicalDecimal(text: string, precision: number, scale: number): boolean {
  const length = text.length;
  let i = text.charCodeAt(0) === 45 ? 1 : 0;
  const intStart = i;
  for (; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) break;
  }
  const intDigits = i - intStart;
  if (intDigits === 0 || (intDigits > 1 && text.charCodeAt(intStart) === 48)) return false;
  if (intDigits > precision - scale && !(intDigits === 1 && text.charCodeAt(intStart) === 48)) return false;
  if (scale === 0) return i === length;
  if (text.charCodeAt(i) !== 46 || length - i - 1 !== scale) return false;
  for (i++; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * money under lc_monetary=C prints `$1,234.50` and `-$1,234.50`: the plain decimal without `$` and `,`, or
 * undefined when `text` has no `$`. Values are exact: money is an integer count of cents.
 */
function moneyText(text: string): string | undefined {
  const dollar = text.indexOf('$');
  if (dollar < 0 || dollar > 1) return undefined;
  return text.slice(0, dollar) + text.slice(dollar + 1).replaceAll(',', '');
}

function parseNumeric(text: string, type: ColumnType): string {
  if (text === 'NaN' || text === 'Infinity' || text === '-Infinity') return text;
  const length = text.length;
  let i = text.charCodeAt(0) === 45 ? 1 : 0;
  let digits = 0;
  let point = false;
  for (; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c === 46 && !point && digits > 0) point = true;
    else break;
  }
  if (i !== length || digits === 0 || text.charCodeAt(length - 1) === 46) throw invalid(type, 'a decimal in plain notation, NaN or ±Infinity', text);
  return text;
}

// --- text-like --------------------------------------------------------------------------------------------

function parseInterval(text: string, type: ColumnType): string {
  // IntervalStyle=iso_8601 always starts with P; PostgreSQL 17 adds 'infinity' and '-infinity', passed as written.
  if (text.charCodeAt(0) === 80 || text === 'infinity' || text === '-infinity') return text;
  throw invalid(type, "an ISO 8601 duration ('P…', IntervalStyle=iso_8601)", text);
}

function parseBytea(text: string, type: ColumnType): Buffer {
  // bytea_output=hex: '\x' then two hex digits a byte. Buffer.from stops quietly at a bad digit, hence the length check.
  if (text.charCodeAt(0) !== 92 || text.charCodeAt(1) !== 120 || text.length % 2 !== 0) throw invalid(type, "hex bytea ('\\x…')", text);
  const bytes = Buffer.from(text.slice(2), 'hex');
  if (bytes.length * 2 !== text.length - 2) throw invalid(type, "hex bytea ('\\x…')", text);
  return bytes;
}

/** bit(n) text, most significant bit first → Debezium's little-endian `io.debezium.data.Bits`, ceil(n / 8) bytes. */
function parseBits(text: string, length: number, type: ColumnType): Buffer {
  if (text.length !== length) throw invalid(type, `${length} binary digits`, text);
  const out = Buffer.alloc((length + 7) >> 3);
  for (let bit = 0; bit < length; bit++) {
    const c = text.charCodeAt(length - 1 - bit);
    if (c === 49) out[bit >> 3] = (out[bit >> 3] as number) | (1 << (bit & 7));
    else if (c !== 48) throw invalid(type, `${length} binary digits`, text);
  }
  return out;
}

// --- dates and times --------------------------------------------------------------------------------------
// Exact integer arithmetic on the text, on the proleptic Gregorian calendar PostgreSQL uses, with astronomical
// years (1 BC is year 0): no Date, which neither reaches 4713 BC nor keeps microseconds.

const MICROS_PER_DAY = 86_400_000_000;
const DAY_SECONDS = 86_400;
/** Past this many seconds from the epoch, seconds × 10^6 + µs may leave float's exact integers: BigInt path. */
const SAFE_SECONDS = 9_000_000_000;

/** Whether `text` ends with ' BC' (PostgreSQL's era suffix for years before 1). */
function isBc(text: string): boolean {
  const n = text.length;
  return n > 3 && text.charCodeAt(n - 1) === 67 && text.charCodeAt(n - 2) === 66 && text.charCodeAt(n - 3) === 32;
}

/**
 * `Y…Y-MM-DD` at the start of `text` (four or more year digits), as days since 1970-01-01; `end` receives the index
 * after it. -1 in end.at means malformed.
 */
function dateAt(text: string, bc: boolean, end: { at: number }): number {
  let i = 0;
  let year = 0;
  for (; i < text.length; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) break;
    year = year * 10 + d;
  }
  const month = digitsAt(text, i + 1, 2);
  const day = digitsAt(text, i + 4, 2);
  if (i < 4 || text.charCodeAt(i) !== 45 || text.charCodeAt(i + 3) !== 45 || month < 1 || month > 12 || day < 1 || day > 31) {
    end.at = -1;
    return 0;
  }
  end.at = i + 6;
  return daysFromCivil(bc ? 1 - year : year, month, day);
}

function parseDate(text: string, type: ColumnType): number {
  if (text === 'infinity') return DATE_INFINITY;
  if (text === '-infinity') return DATE_MINUS_INFINITY;
  const bc = isBc(text);
  const end = { at: 0 };
  const days = dateAt(text, bc, end);
  if (end.at !== text.length - (bc ? 3 : 0)) throw invalid(type, "a date 'YYYY-MM-DD[ BC]'", text);
  return days;
}

/** Microseconds of `HH:MM:SS[.f{1,6}]` exactly spanning text[start, end); throws when malformed. */
function parseClock(text: string, start: number, end: number, type: ColumnType): number {
  const hour = digitsAt(text, start, 2);
  const minute = digitsAt(text, start + 3, 2);
  const second = digitsAt(text, start + 6, 2);
  if (hour < 0 || minute < 0 || second < 0 || text.charCodeAt(start + 2) !== 58 || text.charCodeAt(start + 5) !== 58 || end < start + 8) {
    throw invalid(type, "a time 'HH:MM:SS[.ffffff]'", text);
  }
  let micros = 0;
  let i = start + 8;
  if (i < end) {
    if (text.charCodeAt(i) !== 46 || end - i - 1 < 1 || end - i - 1 > 6) throw invalid(type, "a time 'HH:MM:SS[.ffffff]'", text);
    let scale = 100_000;
    for (i++; i < end; i++, scale /= 10) {
      const d = text.charCodeAt(i) - 48;
      if (d < 0 || d > 9) throw invalid(type, "a time 'HH:MM:SS[.ffffff]'", text);
      micros += d * scale;
    }
  }
  return ((hour * 60 + minute) * 60 + second) * 1_000_000 + micros;
}

/** Seconds east of UTC of `+HH`, `+HH:MM` or `+HH:MM:SS` spanning text[start, end), or undefined. */
function offsetSeconds(text: string, start: number, end: number): number | undefined {
  const sign = text.charCodeAt(start);
  if ((sign !== 43 && sign !== 45) || (end - start !== 3 && end - start !== 6 && end - start !== 9)) return undefined;
  let seconds = 0;
  for (let i = start + 1; i < end; i += 3) {
    const part = digitsAt(text, i, 2);
    if (part < 0 || (i > start + 1 && text.charCodeAt(i - 1) !== 58)) return undefined;
    seconds = seconds * 60 + part;
  }
  seconds *= end - start === 3 ? 3600 : end - start === 6 ? 60 : 1;
  return sign === 45 ? -seconds : seconds;
}

/** Start of the zone offset after a clock that starts at `clockStart`: the first '+' or '-' after it. */
function offsetStart(text: string, clockStart: number): number {
  for (let i = clockStart + 8; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 43 || c === 45) return i;
  }
  return -1;
}

function parseTimeTz(text: string, type: ColumnType): string {
  const zone = offsetStart(text, 0);
  const offset = zone < 0 ? undefined : offsetSeconds(text, zone, text.length);
  if (offset === undefined) throw invalid(type, "a time with zone 'HH:MM:SS[.ffffff]+HH[:MM[:SS]]'", text);
  let utc = parseClock(text, 0, zone, type) - offset * 1_000_000;
  // 24:00:00 at UTC is the end of the day and stays so (as Debezium keeps it); any other value wraps into the day.
  if (!(utc === MICROS_PER_DAY && offset === 0)) utc = ((utc % MICROS_PER_DAY) + MICROS_PER_DAY) % MICROS_PER_DAY;
  return `${clock(utc)}Z`;
}

/** `HH:MM:SS.ffffff` of microseconds within a day (24:00:00.000000 included). */
function clock(micros: number): string {
  const seconds = Math.floor(micros / 1_000_000);
  const fraction = micros - seconds * 1_000_000;
  return `${two(Math.floor(seconds / 3600))}:${two(Math.floor(seconds / 60) % 60)}:${two(seconds % 60)}.${String(fraction).padStart(6, '0')}`;
}

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

const INT64_MIN_MICROS = -(2n ** 63n);
const INT64_MAX_MICROS = 2n ** 63n - 1n;

/**
 * `Y…Y-MM-DD HH:MM:SS[.f{1,6}]` then, with a zone, `+HH[:MM[:SS]]`, then an optional ` BC` → µs since the epoch.
 * PostgreSQL's timestamps reach 294276 AD, past what 64-bit microseconds since 1970 hold (294247-01-10): those few
 * are refused rather than wrapped.
 */
function parseTimestamp(text: string, zoned: boolean, type: ColumnType): bigint {
  if (text === 'infinity') return TIMESTAMP_INFINITY;
  if (text === '-infinity') return TIMESTAMP_MINUS_INFINITY;
  const bc = isBc(text);
  const end = bc ? text.length - 3 : text.length;
  const dateEnd = { at: 0 };
  const days = dateAt(text, bc, dateEnd);
  const clockStart = dateEnd.at + 1;
  if (dateEnd.at < 0 || text.charCodeAt(dateEnd.at) !== 32) throw invalid(type, "a timestamp 'YYYY-MM-DD HH:MM:SS[.ffffff]'", text);
  let clockEnd = end;
  let offset = 0;
  if (zoned) {
    clockEnd = offsetStart(text, clockStart);
    const parsed = clockEnd < 0 || clockEnd > end ? undefined : offsetSeconds(text, clockEnd, end);
    if (parsed === undefined) throw invalid(type, "a timestamp with zone 'YYYY-MM-DD HH:MM:SS[.ffffff]+HH'", text);
    offset = parsed;
  }
  const microsOfDay = parseClock(text, clockStart, clockEnd, type);
  const wholeSeconds = Math.floor(microsOfDay / 1_000_000);
  const seconds = days * DAY_SECONDS + wholeSeconds - offset;
  const fraction = microsOfDay - wholeSeconds * 1_000_000;
  if (seconds > -SAFE_SECONDS && seconds < SAFE_SECONDS) return BigInt(seconds * 1_000_000 + fraction);
  const micros = BigInt(seconds) * 1_000_000n + BigInt(fraction);
  if (micros < INT64_MIN_MICROS || micros > INT64_MAX_MICROS) throw invalid(type, 'a timestamp within 64-bit microseconds since 1970 (294247 AD)', text);
  return micros;
}

// --- arrays -----------------------------------------------------------------------------------------------

/**
 * A one-dimensional array literal as array_out writes it: `{a,"b c",NULL,"NULL","q\"uote"}`. An element is quoted
 * when it is empty, spells NULL, or holds a delimiter, brace, quote, backslash or space; inside quotes a backslash
 * escapes the next character. Only the unquoted NULL is SQL NULL.
 *
 * A lower bound other than 1 prefixes `[2:3]=`; the elements are kept and the bounds dropped, as Debezium (through
 * the JDBC driver) does. A multi-dimensional value has no one-dimensional form and is refused.
 */
function parseArray(text: string, items: TextParser, type: ColumnType): ColumnValue[] {
  let i = 0;
  const length = text.length;
  if (text.charCodeAt(0) === 91) {
    // '[l:u]=' once; '[l:u][l:u]=' is more than one dimension.
    const close = text.indexOf(']');
    if (close < 0 || text.charCodeAt(close + 1) !== 61) throw multiDimensional(type, text);
    i = close + 2;
  }
  if (text.charCodeAt(i) !== 123) throw invalid(type, "an array literal '{…}'", text);
  i++;
  const values: ColumnValue[] = [];
  if (text.charCodeAt(i) === 125) {
    if (i + 1 !== length) throw invalid(type, "an array literal '{…}'", text);
    return values;
  }
  for (;;) {
    const c = text.charCodeAt(i);
    let element: string | null;
    if (c === 123) throw multiDimensional(type, text);
    if (c === 34) {
      element = '';
      let from = ++i;
      for (;;) {
        if (i >= length) throw invalid(type, 'a closed quoted array element', text);
        const q = text.charCodeAt(i);
        if (q === 34) break;
        if (q === 92) {
          element += text.slice(from, i);
          from = ++i; // the escaped character is taken as it is
        }
        i++;
      }
      element += text.slice(from, i);
      i++;
    } else {
      const from = i;
      while (i < length && text.charCodeAt(i) !== 44 && text.charCodeAt(i) !== 125) i++;
      element = text.slice(from, i);
      if (element === 'NULL') element = null;
      else if (element === '') throw invalid(type, 'a non-empty unquoted array element', text);
    }
    try {
      values.push(element === null ? null : items(element));
    } catch (error) {
      if (!(error instanceof TributaryError)) throw error;
      throw new TributaryError(error.code, `element ${values.length + 1}: ${error.message}`);
    }
    const separator = text.charCodeAt(i);
    i++;
    if (separator === 125) break;
    if (separator !== 44) throw invalid(type, "an array literal '{…}'", text);
  }
  if (i !== length) throw invalid(type, "an array literal '{…}'", text);
  return values;
}

function multiDimensional(type: ColumnType, text: string): TributaryError {
  return new TributaryError(
    'VALUE_INVALID',
    `${describeColumnType(type)}: got a multi-dimensional array (${text.length} characters), which has no one-dimensional form; exclude the column or store one-dimensional arrays`,
  );
}
