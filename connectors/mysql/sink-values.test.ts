import { describe, expect, it } from 'vitest';
import type { ColumnType, ColumnValue } from '#core/column-type.ts';
import { TributaryError } from '#core/errors.ts';
import { civilFromDays } from '#core/calendar.ts';
import { toMySqlParam } from './sink-values.ts';
import { daysFromCivil } from '#core/calendar.ts';
import { toColumnValue } from './values.ts';

const t = {
  boolean: { kind: 'boolean' },
  int16: { kind: 'int16' },
  int64: { kind: 'int64' },
  float32: { kind: 'float32' },
  float64: { kind: 'float64' },
  dec: { kind: 'decimal', precision: 65, scale: 30 },
  string: { kind: 'string' },
  json: { kind: 'json' },
  uuid: { kind: 'uuid' },
  bytes: { kind: 'bytes' },
  bits: { kind: 'bits', length: 12 },
  date: { kind: 'date' },
  time: { kind: 'time' },
  timestamp: { kind: 'timestamp' },
  timestamptz: { kind: 'timestamptz' },
  year: { kind: 'year' },
  numeric: { kind: 'numeric' },
  timetz: { kind: 'timetz' },
  interval: { kind: 'interval' },
  ints: { kind: 'array', items: { kind: 'int64' } },
  decimals: { kind: 'array', items: { kind: 'numeric' } },
} satisfies Record<string, ColumnType>;

const param = (type: ColumnType, value: ColumnValue) => toMySqlParam(type, value, 'c');

function rejection(type: ColumnType, value: ColumnValue): TributaryError {
  let caught: unknown;
  try {
    toMySqlParam(type, value, 'the column');
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(TributaryError);
  expect((caught as TributaryError).message).toContain('column "the column"');
  return caught as TributaryError;
}

describe('toMySqlParam', () => {
  it('passes null and a missing value as null', () => {
    for (const type of Object.values(t)) {
      expect(toMySqlParam(type, null, 'c')).toBeNull();
      expect(toMySqlParam(type, undefined, 'c')).toBeNull();
    }
  });

  it('writes numbers as numbers, 64-bit integers as their digits and booleans as 1/0', () => {
    expect(param(t.boolean, true)).toBe(1);
    expect(param(t.boolean, false)).toBe(0);
    expect(param(t.int16, -32768)).toBe(-32768);
    expect(param(t.int64, -9223372036854775808n)).toBe('-9223372036854775808');
    expect(param(t.int64, 9223372036854775807n)).toBe('9223372036854775807');
    expect(param(t.float32, Math.fround(0.1))).toBe(Math.fround(0.1));
    expect(param(t.float64, 1.7976931348623157e308)).toBe(1.7976931348623157e308);
    expect(param(t.year, 0)).toBe(0); // a number: MySQL reads the string '0' as 2000
    expect(param(t.year, 2155)).toBe(2155);
  });

  it('passes numeric, timetz and interval text as it is, and arrays as their JSON text', () => {
    const forty = '-1234567890123456789012345678901234567890.0000000001';
    expect(param(t.numeric, forty)).toBe(forty);
    expect(param(t.numeric, 'NaN')).toBe('NaN');
    expect(param(t.numeric, '-Infinity')).toBe('-Infinity');
    expect(param(t.timetz, '24:00:00.000000Z')).toBe('24:00:00.000000Z');
    expect(param(t.interval, 'P-1Y-2M3DT-4H5M6.000007S')).toBe('P-1Y-2M3DT-4H5M6.000007S');
    expect(param(t.ints, [9223372036854775807n, null, -1n])).toBe('[9223372036854775807,null,-1]');
    expect(param(t.decimals, ['0.1', null, 'NaN'])).toBe('["0.1",null,"NaN"]');
    expect(param(t.ints, [])).toBe('[]');
    expect(rejection(t.ints, '[1]').code).toBe('VALUE_INVALID');
    expect(rejection(t.numeric, 1).code).toBe('VALUE_INVALID');
  });

  it('passes decimals, text and bytes as they are', () => {
    const wide = '-99999999999999999999999999999999999.999999999999999999999999999999';
    expect(param(t.dec, wide)).toBe(wide);
    expect(param(t.string, 'Zoë 😀 \'"\\ ?')).toBe('Zoë 😀 \'"\\ ?');
    expect(param(t.json, '{"big": 18446744073709551615}')).toBe('{"big": 18446744073709551615}');
    expect(param(t.uuid, '123e4567-e89b-42d3-a456-426614174000')).toBe('123e4567-e89b-42d3-a456-426614174000');
    const bytes = Buffer.from([0, 1, 0xff, 0]);
    expect(param(t.bytes, bytes)).toBe(bytes);
  });

  it("turns Debezium's little-endian bits into BIT's big-endian bytes without touching the input", () => {
    const little = Buffer.from([0x34, 0x0a]);
    expect(param(t.bits, little)).toEqual(Buffer.from([0x0a, 0x34]));
    expect(little).toEqual(Buffer.from([0x34, 0x0a]));
  });

  it('formats dates as YYYY-MM-DD, before 1970 and before year 1000 included', () => {
    expect(param(t.date, 0)).toBe('1970-01-01');
    expect(param(t.date, -1)).toBe('1969-12-31');
    expect(param(t.date, 11016)).toBe('2000-02-29');
    expect(param(t.date, -719162)).toBe('0001-01-01');
    expect(param(t.date, daysFromCivil(999, 12, 31))).toBe('0999-12-31');
    expect(param(t.date, 2932896)).toBe('9999-12-31');
    expect(rejection(t.date, 2932897).code).toBe('TARGET_REJECTED');
    expect(rejection(t.date, -719529).code).toBe('TARGET_REJECTED');
  });

  it('formats timestamps with six fraction digits, flooring negative instants onto the day before', () => {
    for (const type of [t.timestamp, t.timestamptz]) {
      expect(param(type, 0n)).toBe('1970-01-01 00:00:00.000000');
      expect(param(type, -1n)).toBe('1969-12-31 23:59:59.999999');
      expect(param(type, -86_400_000_000n)).toBe('1969-12-31 00:00:00.000000');
      expect(param(type, 2147483647999999n)).toBe('2038-01-19 03:14:07.999999');
      expect(param(type, 253402300799999999n)).toBe('9999-12-31 23:59:59.999999');
      expect(param(type, -62135596800000000n)).toBe('0001-01-01 00:00:00.000000');
      expect(param(type, -30610224000000001n)).toBe('0999-12-31 23:59:59.999999');
    }
    expect(rejection(t.timestamp, 253402300800000000n).code).toBe('TARGET_REJECTED');
  });

  it('formats TIME as [-]HH[H]:MM:SS.ffffff within ±838:59:59.999999', () => {
    expect(param(t.time, 0n)).toBe('00:00:00.000000');
    expect(param(t.time, -1_500_000n)).toBe('-00:00:01.500000');
    expect(param(t.time, -3020399000000n)).toBe('-838:59:59.000000');
    expect(param(t.time, 3020399999999n)).toBe('838:59:59.999999');
    expect(param(t.time, 360_000_000_000n)).toBe('100:00:00.000000');
    expect(param(t.time, 86_399_999_999n)).toBe('23:59:59.999999');
    expect(rejection(t.time, 3020400000000n).code).toBe('TARGET_REJECTED');
    expect(rejection(t.time, -3020400000000n).code).toBe('TARGET_REJECTED');
  });

  it('reads back through the source reader (values.ts) to the same value', () => {
    const micros = [0n, -1n, 1n, 951782400123456n, -2208988800000001n, -62135596800000000n, 253402300799999999n];
    for (const value of micros) {
      expect(toColumnValue(t.timestamp, param(t.timestamp, value), 'c')).toBe(value);
    }
    for (const value of [0n, -1n, -3020399999999n, 3020399999999n, 45_296_000_007n]) {
      expect(toColumnValue(t.time, param(t.time, value), 'c')).toBe(value);
    }
    for (let days = -719162; days <= 2932896; days += 997) {
      expect(toColumnValue(t.date, param(t.date, days), 'c')).toBe(days);
    }
    const bits = Buffer.from([0xef, 0x0f]);
    expect(toColumnValue(t.bits, param(t.bits, bits), 'c')).toEqual(bits);
  });

  it('agrees with daysFromCivil on every day of a leap-year cycle around 1970 and year 0', () => {
    for (const start of [-719528, -1000, 10957]) {
      for (let days = start; days < start + 366 * 4; days++) {
        const { year, month, day } = civilFromDays(days);
        expect(daysFromCivil(year, month, day)).toBe(days);
      }
    }
  });

  it('refuses NaN and Infinity, which MySQL cannot store', () => {
    expect(rejection(t.float64, Number.NaN).code).toBe('TARGET_REJECTED');
    expect(rejection(t.float32, Number.POSITIVE_INFINITY).code).toBe('TARGET_REJECTED');
  });

  it('refuses a value in the wrong form as VALUE_INVALID, naming the column but not the value', () => {
    const error = rejection(t.int64, 'secret-digits-123');
    expect(error.code).toBe('VALUE_INVALID');
    expect(error.message).not.toContain('secret');
    expect(rejection(t.boolean, 1).code).toBe('VALUE_INVALID');
    expect(rejection(t.timestamp, 5).code).toBe('VALUE_INVALID');
    expect(rejection(t.bytes, 'abc').code).toBe('VALUE_INVALID');
    expect(rejection(t.int16, 1.5).code).toBe('VALUE_INVALID');
  });
});
