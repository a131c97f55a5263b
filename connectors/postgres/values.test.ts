import { describe, expect, it } from 'vitest';
import type { ColumnType } from '#core/column-type.ts';
import { daysFromCivil } from '#core/calendar.ts';
import { TributaryError } from '#core/errors.ts';
import type { TableSchema } from '#core/table-schema.ts';
import {
  DATE_INFINITY,
  DATE_MINUS_INFINITY,
  TIMESTAMP_INFINITY,
  TIMESTAMP_MINUS_INFINITY,
  rowConverter,
  valueFromText,
} from './values.ts';

const t = {
  boolean: { kind: 'boolean' },
  int16: { kind: 'int16' },
  int32: { kind: 'int32' },
  int64: { kind: 'int64' },
  float32: { kind: 'float32' },
  float64: { kind: 'float64' },
  dec: (precision: number, scale: number): ColumnType => ({ kind: 'decimal', precision, scale }),
  numeric: { kind: 'numeric' },
  string: { kind: 'string' },
  uuid: { kind: 'uuid' },
  json: { kind: 'json' },
  bytes: { kind: 'bytes' },
  bits: (length: number): ColumnType => ({ kind: 'bits', length }),
  date: { kind: 'date' },
  time: { kind: 'time' },
  timetz: { kind: 'timetz' },
  timestamp: { kind: 'timestamp' },
  timestamptz: { kind: 'timestamptz' },
  interval: { kind: 'interval' },
  array: (items: ColumnType): ColumnType => ({ kind: 'array', items }),
} satisfies Record<string, ColumnType | ((...args: never[]) => ColumnType)>;

/** µs since the epoch of an ISO instant in years 1..9999, through Date.UTC (exact to the millisecond) plus µs. */
const micros = (iso: string, extraMicros = 0): bigint => BigInt(Date.parse(`${iso}Z`)) * 1000n + BigInt(extraMicros);

function rejection(type: ColumnType, text: string): TributaryError {
  let caught: unknown;
  try {
    valueFromText(type, text);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(TributaryError);
  const error = caught as TributaryError;
  expect(error.code).toBe('VALUE_INVALID');
  if (text.length > 3) expect(error.message).not.toContain(text);
  return error;
}

describe('valueFromText', () => {
  it('reads booleans from bool (t/f) and bit(1) (1/0)', () => {
    expect(valueFromText(t.boolean, 't')).toBe(true);
    expect(valueFromText(t.boolean, 'f')).toBe(false);
    expect(valueFromText(t.boolean, '1')).toBe(true);
    expect(valueFromText(t.boolean, '0')).toBe(false);
    rejection(t.boolean, 'true');
  });

  it('reads integers exactly, int8 as bigint, and refuses out-of-range or malformed text', () => {
    expect(valueFromText(t.int16, '-32768')).toBe(-32768);
    expect(valueFromText(t.int32, '2147483647')).toBe(2147483647);
    expect(valueFromText(t.int64, '-9223372036854775808')).toBe(-(2n ** 63n));
    expect(valueFromText(t.int64, '9223372036854775807')).toBe(2n ** 63n - 1n);
    rejection(t.int16, '40000');
    rejection(t.int64, '9223372036854775808');
    rejection(t.int64, '');
    rejection(t.int32, '1.5');
  });

  it('reads floats with -0, NaN and the infinities, float4 as its exact float32', () => {
    expect(Object.is(valueFromText(t.float64, '-0'), -0)).toBe(true);
    expect(valueFromText(t.float64, 'NaN')).toBeNaN();
    expect(valueFromText(t.float64, 'Infinity')).toBe(Infinity);
    expect(valueFromText(t.float64, '-Infinity')).toBe(-Infinity);
    expect(valueFromText(t.float64, '1.7976931348623157e+308')).toBe(Number.MAX_VALUE);
    expect(valueFromText(t.float64, '5e-324')).toBe(5e-324);
    expect(valueFromText(t.float32, '3.4028235e+38')).toBe(Math.fround(3.4028235e38));
    expect(valueFromText(t.float32, '0.1')).toBe(Math.fround(0.1));
    rejection(t.float64, 'abc');
    rejection(t.float64, '');
  });

  it('keeps decimals exact with exactly scale fraction digits', () => {
    expect(valueFromText(t.dec(10, 2), '-12.30')).toBe('-12.30');
    expect(valueFromText(t.dec(10, 2), '0.00')).toBe('0.00');
    expect(valueFromText(t.dec(10, 2), '12.3')).toBe('12.30');
    expect(valueFromText(t.dec(10, 0), '007')).toBe('7');
    expect(valueFromText(t.dec(40, 0), '9'.repeat(40))).toBe('9'.repeat(40));
    expect(valueFromText(t.dec(38, 10), `-${'9'.repeat(28)}.${'9'.repeat(10)}`)).toBe(`-${'9'.repeat(28)}.${'9'.repeat(10)}`);
    rejection(t.dec(10, 2), '1.234');
    rejection(t.dec(4, 2), '123.45');
  });

  it('reads money under lc_monetary=C exactly', () => {
    const money = t.dec(19, 2);
    expect(valueFromText(money, '$1,234.50')).toBe('1234.50');
    expect(valueFromText(money, '-$1,234.50')).toBe('-1234.50');
    expect(valueFromText(money, '$0.00')).toBe('0.00');
    expect(valueFromText(money, '$92,233,720,368,547,758.07')).toBe('92233720368547758.07');
    expect(valueFromText(money, '-$92,233,720,368,547,758.08')).toBe('-92233720368547758.08');
  });

  it('makes NaN in a decimal null and says so', () => {
    const reasons: string[] = [];
    expect(valueFromText(t.dec(10, 2), 'NaN', { onSubstitute: (reason) => reasons.push(reason) })).toBeNull();
    expect(reasons).toEqual(['decimal(10,2) holds NaN, which a decimal cannot carry']);
  });

  it('keeps unconstrained numerics as written, NaN and the infinities included', () => {
    for (const text of ['0', '-0.000001', `${'1'.repeat(40)}.${'2'.repeat(40)}`, 'NaN', 'Infinity', '-Infinity']) {
      expect(valueFromText(t.numeric, text)).toBe(text);
    }
    rejection(t.numeric, '1e5');
    rejection(t.numeric, '1.');
    rejection(t.numeric, '-');
  });

  it('reads text-like values as they are and UUIDs in lower case', () => {
    expect(valueFromText(t.string, '')).toBe('');
    expect(valueFromText(t.json, '{"a": 1}')).toBe('{"a": 1}');
    expect(valueFromText(t.uuid, 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11')).toBe('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11');
    expect(valueFromText(t.interval, 'P1Y2M-3DT-4H-5M-6.000007S')).toBe('P1Y2M-3DT-4H-5M-6.000007S');
    expect(valueFromText(t.interval, 'PT0S')).toBe('PT0S');
    rejection(t.interval, '1 year 2 mons');
  });

  it('reads hex bytea, zero bytes included', () => {
    expect(valueFromText(t.bytes, '\\x000aff00')).toEqual(Buffer.from([0, 10, 255, 0]));
    expect(valueFromText(t.bytes, '\\x')).toEqual(Buffer.alloc(0));
    rejection(t.bytes, '\\x0g');
    rejection(t.bytes, '\\x0');
    rejection(t.bytes, 'abcd');
  });

  it("reads bit(n) into Debezium's little-endian bytes", () => {
    expect(valueFromText(t.bits(4), '0101')).toEqual(Buffer.from([0x05]));
    // 0b1_00000000_00000011 = 0x10003: least significant byte first.
    expect(valueFromText(t.bits(17), '10000000000000011')).toEqual(Buffer.from([0x03, 0x00, 0x01]));
    expect(valueFromText(t.bits(64), '1'.repeat(64))).toEqual(Buffer.alloc(8, 0xff));
    rejection(t.bits(4), '010');
    rejection(t.bits(4), '0102');
  });

  it('reads dates, BC and beyond 9999 included, and the infinities', () => {
    expect(valueFromText(t.date, '1970-01-01')).toBe(0);
    expect(valueFromText(t.date, '2000-02-29')).toBe(11016);
    expect(valueFromText(t.date, '0001-01-01')).toBe(-719162);
    expect(valueFromText(t.date, '9999-12-31')).toBe(2932896);
    // 1 BC is the astronomical year 0, a leap year: 0001-01-01 minus 366 days.
    expect(valueFromText(t.date, '0001-01-01 BC')).toBe(-719162 - 366);
    expect(valueFromText(t.date, '4713-01-01 BC')).toBe(daysFromCivil(-4712, 1, 1));
    expect(valueFromText(t.date, '5874897-12-31')).toBe(daysFromCivil(5874897, 12, 31));
    expect(valueFromText(t.date, 'infinity')).toBe(DATE_INFINITY);
    expect(valueFromText(t.date, '-infinity')).toBe(DATE_MINUS_INFINITY);
    rejection(t.date, '2024-13-01');
    rejection(t.date, '24-01-01');
    rejection(t.date, '2024-01-01 AD');
  });

  it('reads times to the microsecond, 24:00:00 included', () => {
    expect(valueFromText(t.time, '00:00:00')).toBe(0n);
    expect(valueFromText(t.time, '03:04:05.123456')).toBe(11_045_123_456n);
    expect(valueFromText(t.time, '03:04:05.5')).toBe(11_045_500_000n);
    expect(valueFromText(t.time, '24:00:00')).toBe(86_400_000_000n);
    rejection(t.time, '3:04:05');
    rejection(t.time, '03:04:05.1234567');
  });

  it('normalises timetz to UTC with six fraction digits', () => {
    expect(valueFromText(t.timetz, '12:34:56.123456+02')).toBe('10:34:56.123456Z');
    expect(valueFromText(t.timetz, '12:34:56+00')).toBe('12:34:56.000000Z');
    expect(valueFromText(t.timetz, '01:00:00+05:30')).toBe('19:30:00.000000Z');
    expect(valueFromText(t.timetz, '23:30:00-01')).toBe('00:30:00.000000Z');
    expect(valueFromText(t.timetz, '00:00:00.5-05:30:15')).toBe('05:30:15.500000Z');
    expect(valueFromText(t.timetz, '24:00:00+00')).toBe('24:00:00.000000Z');
    expect(valueFromText(t.timetz, '24:00:00+01')).toBe('23:00:00.000000Z');
    rejection(t.timetz, '12:34:56');
    rejection(t.timetz, '12:34:56+2');
  });

  it('reads timestamps to the microsecond, BC and past 9999 included, and the infinities', () => {
    expect(valueFromText(t.timestamp, '2024-01-02 03:04:05.123456')).toBe(micros('2024-01-02T03:04:05.123', 456));
    expect(valueFromText(t.timestamp, '1969-12-31 23:59:59.999999')).toBe(-1n);
    expect(valueFromText(t.timestamp, '0001-01-01 00:00:00')).toBe(micros('0001-01-01T00:00:00'));
    expect(valueFromText(t.timestamp, '9999-12-31 23:59:59.999999')).toBe(micros('9999-12-31T23:59:59.999', 999));
    expect(valueFromText(t.timestamp, '0001-12-31 23:59:59.999999 BC')).toBe(micros('0001-01-01T00:00:00') - 1n);
    expect(valueFromText(t.timestamp, '4713-01-01 00:00:00 BC')).toBe(BigInt(daysFromCivil(-4712, 1, 1)) * 86_400_000_000n);
    expect(valueFromText(t.timestamp, '294246-12-31 23:59:59.999999')).toBe(BigInt(daysFromCivil(294247, 1, 1)) * 86_400_000_000n - 1n);
    expect(valueFromText(t.timestamp, 'infinity')).toBe(TIMESTAMP_INFINITY);
    expect(valueFromText(t.timestamp, '-infinity')).toBe(TIMESTAMP_MINUS_INFINITY);
    expect(TIMESTAMP_INFINITY).toBe(9223372036825200000n);
    expect(TIMESTAMP_MINUS_INFINITY).toBe(-9223372036832400000n);
    // PostgreSQL reaches 294276 AD; 64-bit µs since 1970 end in 294247.
    rejection(t.timestamp, '294276-12-31 23:59:59.999999');
    rejection(t.timestamp, '2024-01-02T03:04:05');
    rejection(t.timestamp, '2024-01-02 03:04:05+00');
  });

  it('reads timestamptz with any offset form, BC after the offset', () => {
    expect(valueFromText(t.timestamptz, '2024-01-02 03:04:05.123456+00')).toBe(micros('2024-01-02T03:04:05.123', 456));
    expect(valueFromText(t.timestamptz, '2024-01-02 05:04:05+02')).toBe(micros('2024-01-02T03:04:05'));
    expect(valueFromText(t.timestamptz, '2024-01-02 03:04:05-05:30:15')).toBe(micros('2024-01-02T08:34:20'));
    expect(valueFromText(t.timestamptz, '0001-12-31 23:59:59.999999+00 BC')).toBe(micros('0001-01-01T00:00:00') - 1n);
    expect(valueFromText(t.timestamptz, 'infinity')).toBe(TIMESTAMP_INFINITY);
    rejection(t.timestamptz, '2024-01-02 03:04:05');
  });

  it('parses array literals with NULL, quotes, escapes, commas, braces and spaces', () => {
    const text = t.array(t.string);
    expect(valueFromText(text, '{}')).toEqual([]);
    expect(valueFromText(text, '{a,NULL,"NULL","","a b","a,b","{}","q\\"uote","back\\\\slash",null}')).toEqual([
      'a',
      null,
      'NULL',
      '',
      'a b',
      'a,b',
      '{}',
      'q"uote',
      'back\\slash',
      'null',
    ]);
    expect(valueFromText(t.array(t.int64), '{1,-9223372036854775808,NULL}')).toEqual([1n, -(2n ** 63n), null]);
    expect(valueFromText(t.array(t.bytes), '{"\\\\x00ff"}')).toEqual([Buffer.from([0, 255])]);
    expect(valueFromText(t.array(t.timestamptz), '{"2024-01-02 03:04:05+00",infinity}')).toEqual([micros('2024-01-02T03:04:05'), TIMESTAMP_INFINITY]);
  });

  it('drops non-default lower bounds and refuses more than one dimension or malformed literals', () => {
    expect(valueFromText(t.array(t.int32), '[2:3]={7,8}')).toEqual([7, 8]);
    expect(rejection(t.array(t.int32), '{{1,2},{3,4}}').message).toMatch(/multi-dimensional/);
    expect(rejection(t.array(t.int32), '[1:2][1:1]={{1},{2}}').message).toMatch(/multi-dimensional/);
    rejection(t.array(t.int32), '{1,2');
    rejection(t.array(t.int32), '{1,,2}');
    rejection(t.array(t.string), '{"abc}');
    rejection(t.array(t.int32), '{1,2}x');
    expect(rejection(t.array(t.int32), '{1,x}').message).toMatch(/^element 2: int32/);
  });
});

describe('rowConverter', () => {
  const table: TableSchema = {
    namespace: 'public',
    table: 'orders',
    columns: [
      { name: 'id', type: t.int64, nullable: false, sourceType: 'bigint' },
      { name: 'price', type: t.dec(10, 2), nullable: true, sourceType: 'numeric(10,2)' },
      { name: 'prices', type: t.array(t.dec(10, 2)), nullable: false, sourceType: 'numeric(10,2)[]' },
      { name: 'cost', type: t.dec(10, 2), nullable: false, sourceType: 'numeric(10,2)' },
    ],
    primaryKey: ['id'],
  };

  it('converts rows in column order, nulls as null', () => {
    const convert = rowConverter(table);
    expect(convert(['1', null, '{1.50,NULL}', '2.00'])).toEqual({ id: 1n, price: null, prices: ['1.50', null], cost: '2.00' });
  });

  it('makes NaN null with one warning per column, and refuses it in a NOT NULL column', () => {
    const warnings: Array<[string, string]> = [];
    const convert = rowConverter(table, (column, message) => warnings.push([column, message]));
    expect(convert(['1', 'NaN', '{NaN}', '0.00'])).toEqual({ id: 1n, price: null, prices: [null], cost: '0.00' });
    expect(convert(['2', 'NaN', '{NaN}', '0.00'])).toEqual({ id: 2n, price: null, prices: [null], cost: '0.00' });
    expect(warnings).toEqual([
      ['price', 'decimal(10,2) holds NaN, which a decimal cannot carry; it is captured as null (this message appears once per column)'],
      ['prices', 'an element of the array: decimal(10,2) holds NaN, which a decimal cannot carry; it is captured as null (this message appears once per column)'],
    ]);
    expect(() => convert(['3', null, '{}', 'NaN'])).toThrow(/column "cost" of public\.orders: decimal\(10,2\) holds NaN.*NOT NULL/);
  });

  it('names the column of a bad value and refuses a row of the wrong width', () => {
    const convert = rowConverter(table);
    expect(() => convert(['x', null, '{}', '0.00'])).toThrow(/^column "id" of public\.orders: int64: expected an integer/);
    expect(() => convert(['1'])).toThrow(/has 1 values for 4 columns/);
  });
});
