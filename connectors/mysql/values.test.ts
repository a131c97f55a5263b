import { describe, expect, it } from 'vitest';
import type { ColumnType } from '#core/column-type.ts';
import { TributaryError } from '#core/errors.ts';
import type { ColumnSchema } from '#core/table-schema.ts';
import { GOLDEN_COLUMNS, GOLDEN_MAX_ROW, GOLDEN_NULL_ROW } from '#test/fixtures/golden-mysql.ts';
import { daysFromCivil } from '#core/calendar.ts';
import { rowFromMySql, toColumnValue } from './values.ts';

const t = {
  int16: { kind: 'int16' },
  int32: { kind: 'int32' },
  int64: { kind: 'int64' },
  dec: (precision: number, scale: number): ColumnType => ({ kind: 'decimal', precision, scale }),
  boolean: { kind: 'boolean' },
  float32: { kind: 'float32' },
  float64: { kind: 'float64' },
  string: { kind: 'string' },
  json: { kind: 'json' },
  enum: { kind: 'enum', values: ['a', 'b'] },
  set: { kind: 'set', values: ['a', 'b'] },
  uuid: { kind: 'uuid' },
  bytes: { kind: 'bytes' },
  bits: (length: number): ColumnType => ({ kind: 'bits', length }),
  date: { kind: 'date' },
  time: { kind: 'time' },
  timestamp: { kind: 'timestamp' },
  timestamptz: { kind: 'timestamptz' },
  year: { kind: 'year' },
} satisfies Record<string, ColumnType | ((...args: number[]) => ColumnType)>;

const convert = (type: ColumnType, raw: unknown) => toColumnValue(type, raw, 'c');

/** The thrown error, checked to be VALUE_INVALID naming the column and kind but not quoting `secret`. */
function rejection(type: ColumnType, raw: unknown, secret: string): TributaryError {
  let caught: unknown;
  try {
    toColumnValue(type, raw, 'the column');
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(TributaryError);
  const error = caught as TributaryError;
  expect(error.code).toBe('VALUE_INVALID');
  expect(error.message).toContain('column "the column"');
  expect(error.message).not.toContain(secret);
  expect(error.cause).toBeUndefined();
  return error;
}

describe('toColumnValue', () => {
  it('gives null for null and undefined', () => {
    for (const type of [t.int64, t.date, t.bytes, t.dec(10, 2), t.string]) {
      expect(convert(type, null)).toBeNull();
      expect(convert(type, undefined)).toBeNull();
    }
  });

  it("reads zongji's undefined for an invalid ENUM value as '', as mysql2 does", () => {
    expect(convert(t.enum, undefined)).toBe('');
    expect(convert(t.enum, null)).toBeNull();
  });

  describe('integers', () => {
    it('keeps int16 and int32 as numbers within their range', () => {
      expect(convert(t.int16, -128)).toBe(-128);
      expect(convert(t.int16, 255)).toBe(255);
      expect(convert(t.int32, 65535)).toBe(65535);
      expect(convert(t.int32, -2147483648)).toBe(-2147483648);
      expect(convert(t.int32, '16777215')).toBe(16777215);
      expect(convert(t.int32, 7n)).toBe(7);
    });

    it('refuses int16/int32 values out of range or fractional', () => {
      rejection(t.int16, 40000, '40000');
      rejection(t.int32, 3000000000, '3000000000');
      rejection(t.int32, 1.5, '1.5');
      rejection(t.int32, '12a', '12a');
    });

    it('makes int64 a bigint from numbers, strings and bigints, bounds included', () => {
      expect(convert(t.int64, 4294967295)).toBe(4294967295n);
      expect(convert(t.int64, 1)).toBe(1n);
      expect(convert(t.int64, '9223372036854775807')).toBe(9223372036854775807n);
      expect(convert(t.int64, '-9223372036854775808')).toBe(-9223372036854775808n);
      expect(convert(t.int64, Number.MAX_SAFE_INTEGER)).toBe(9007199254740991n);
      expect(convert(t.int64, Number.MIN_SAFE_INTEGER)).toBe(-9007199254740991n);
      expect(convert(t.int64, -5n)).toBe(-5n);
    });

    it('refuses int64 numbers that may have lost digits, and text past 64 bits', () => {
      rejection(t.int64, 2 ** 60, String(2 ** 60));
      rejection(t.int64, '9223372036854775808', '9223372036854775808');
      rejection(t.int64, '-9223372036854775809', '9223372036854775809');
      rejection(t.int64, ' 12', ' 12');
      rejection(t.int64, '0x10', '0x10');
      rejection(t.int64, '', '""');
    });
  });

  describe('decimals', () => {
    it('keeps canonical text as it is', () => {
      const max = '9999999999999999999999999999.9999999999';
      expect(convert(t.dec(38, 10), max)).toBe(max);
      expect(convert(t.dec(38, 10), `-${max}`)).toBe(`-${max}`);
      expect(convert(t.dec(10, 3), '0.000')).toBe('0.000');
      expect(convert(t.dec(3, 3), '0.123')).toBe('0.123');
    });

    it('normalises to exactly `scale` fraction digits', () => {
      expect(convert(t.dec(10, 3), '1.5')).toBe('1.500');
      expect(convert(t.dec(10, 6), '-0.000001')).toBe('-0.000001');
      expect(convert(t.dec(10, 2), '007.10')).toBe('7.10');
      expect(convert(t.dec(10, 2), '-0.00')).toBe('0.00');
      expect(convert(t.dec(10, 2), '+3')).toBe('3.00');
      expect(convert(t.dec(10, 2), '3.100000')).toBe('3.10');
      expect(convert(t.dec(5, 0), '-0')).toBe('0');
    });

    it('reads BIGINT UNSIGNED (decimal(20,0)) from a string, a safe number or a bigint', () => {
      const decimal20 = t.dec(20, 0);
      expect(convert(decimal20, '18446744073709551615')).toBe('18446744073709551615');
      expect(convert(decimal20, 9007199254740991)).toBe('9007199254740991');
      expect(convert(decimal20, 0)).toBe('0');
      expect(convert(decimal20, 18446744073709551615n)).toBe('18446744073709551615');
      expect(convert(t.dec(10, 2), 5)).toBe('5.00');
    });

    it('refuses rounding, excess digits, floats and non-decimals without quoting the value', () => {
      rejection(t.dec(10, 2), '1.005', '1.005');
      rejection(t.dec(5, 2), '1234.5', '1234.5');
      rejection(t.dec(20, 0), '184467440737095516150', '184467440737095516150');
      rejection(t.dec(10, 2), 1.5, '1.5');
      rejection(t.dec(10, 2), '1e5', '1e5');
      rejection(t.dec(10, 2), 'abc', 'abc');
      expect(rejection(t.dec(10, 2), '1.005', '1.005').message).toContain('decimal(10,2)');
    });
  });

  it('reads booleans from BIT(1) buffers, integers and 0/1 text', () => {
    expect(convert(t.boolean, Buffer.from([1]))).toBe(true);
    expect(convert(t.boolean, Buffer.from([0]))).toBe(false);
    expect(convert(t.boolean, Buffer.from([0, 2]))).toBe(true);
    expect(convert(t.boolean, 0)).toBe(false);
    expect(convert(t.boolean, 1)).toBe(true);
    expect(convert(t.boolean, 1n)).toBe(true);
    expect(convert(t.boolean, '0')).toBe(false);
    expect(convert(t.boolean, '1')).toBe(true);
    expect(convert(t.boolean, true)).toBe(true);
    rejection(t.boolean, 'yes', 'yes');
  });

  it('gives float32 the value a FLOAT holds, whichever reader delivered it', () => {
    expect(convert(t.float32, 3.5)).toBe(3.5);
    // mysql2's binary protocol / CAST(f AS DOUBLE) and zongji give the float32 itself; text is rounded to it.
    expect(convert(t.float32, 0.10000000149011612)).toBe(0.10000000149011612);
    expect(convert(t.float32, 0.1)).toBe(0.10000000149011612);
    expect(convert(t.float32, '3.5')).toBe(3.5);
    expect(convert(t.float64, 1.7976931348623157e308)).toBe(1.7976931348623157e308);
    expect(convert(t.float64, '-2.5e-300')).toBe(-2.5e-300);
    rejection(t.float64, 'x1', 'x1');
    rejection(t.float64, '', '""');
  });

  it('keeps strings, decoding buffers as UTF-8', () => {
    expect(convert(t.string, 'Zoë 😀')).toBe('Zoë 😀');
    expect(convert(t.string, Buffer.from('Zoë 😀'))).toBe('Zoë 😀');
    expect(convert(t.json, '{"big": 18446744073709551615}')).toBe('{"big": 18446744073709551615}');
    expect(convert(t.set, 'a,b')).toBe('a,b');
    expect(convert(t.set, '')).toBe('');
    expect(convert(t.enum, 'b')).toBe('b');
    const error = rejection(t.json, { secret: 1 }, 'secret');
    expect(error.message).toContain('(json)');
  });

  it('lower-cases UUID text and formats its 16 bytes', () => {
    expect(convert(t.uuid, '123E4567-E89B-42D3-A456-426614174000')).toBe('123e4567-e89b-42d3-a456-426614174000');
    expect(convert(t.uuid, Buffer.from('123e4567e89b42d3a456426614174000', 'hex'))).toBe('123e4567-e89b-42d3-a456-426614174000');
    rejection(t.uuid, 'not-a-uuid', 'not-a-uuid');
  });

  it('keeps bytes as the same Buffer and refuses text for them', () => {
    const payload = Buffer.from([0, 1, 2, 0xfe, 0xff, 0]);
    expect(convert(t.bytes, payload)).toBe(payload);
    expect(convert(t.bytes, new Uint8Array([1, 2]))).toEqual(Buffer.from([1, 2]));
    rejection(t.bytes, 'text', 'text');
  });

  describe('bits', () => {
    it("reverses MySQL's big-endian bytes into Debezium's little-endian", () => {
      expect(convert(t.bits(64), Buffer.from('8123456789abcdef', 'hex'))).toEqual(Buffer.from('efcdab8967452381', 'hex'));
      expect(convert(t.bits(10), Buffer.from([0x03, 0x01]))).toEqual(Buffer.from([0x01, 0x03]));
    });

    it('pads short input and trims leading zero bytes to ceil(length / 8)', () => {
      expect(convert(t.bits(16), Buffer.from([0x05]))).toEqual(Buffer.from([0x05, 0x00]));
      expect(convert(t.bits(8), Buffer.from([0x00, 0x00, 0x07]))).toEqual(Buffer.from([0x07]));
    });

    it('does not modify the input buffer and refuses bits past the length', () => {
      const raw = Buffer.from([0x01, 0x02]);
      convert(t.bits(16), raw);
      expect(raw).toEqual(Buffer.from([0x01, 0x02]));
      rejection(t.bits(8), Buffer.from([0x01, 0x02]), '01');
    });
  });

  describe('date', () => {
    it.each([
      ['0001-01-01', -719162],
      ['1969-12-31', -1],
      ['1970-01-01', 0],
      ['2000-02-29', 11016],
      ['2000-03-01', 11017],
      ['1900-03-01', -25508],
      ['9999-12-31', 2932896],
    ])('%s is day %i', (text, days) => {
      expect(convert(t.date, text)).toBe(days);
    });

    it('agrees with Date.UTC over four centuries of days', () => {
      const wrong: number[] = [];
      for (let days = -150_000; days <= 150_000; days += 1) {
        const date = new Date(days * 86_400_000);
        if (daysFromCivil(date.getUTCFullYear(), date.getUTCMonth() + 1, date.getUTCDate()) !== days) wrong.push(days);
      }
      expect(wrong).toEqual([]);
    });

    it('makes zero dates null', () => {
      expect(convert(t.date, '0000-00-00')).toBeNull();
      expect(convert(t.date, '2020-00-15')).toBeNull();
      expect(convert(t.date, '2020-05-00')).toBeNull();
    });

    it('refuses malformed dates and Date objects', () => {
      rejection(t.date, '2020-1-01', '2020-1-01');
      rejection(t.date, '2020-13-01', '2020-13-01');
      rejection(t.date, '2020/01/01', '2020/01/01');
      const error = rejection(t.date, new Date(0), '1970');
      expect(error.message).toContain('dateStrings');
    });
  });

  describe('timestamp and timestamptz', () => {
    it.each([
      ['1970-01-01 00:00:00', 0n],
      ['1970-01-01 00:00:01', 1_000_000n],
      ['2020-01-02 03:04:05.1', 1577934245100000n],
      ['2020-01-02 03:04:05.123', 1577934245123000n],
      ['2020-01-02 03:04:05.123456', 1577934245123456n],
      ['2020-01-02 03:04:05.', 1577934245000000n],
      ['1969-12-31 23:59:59.999999', -1n],
      ['0001-01-01 00:00:00.000000', -62135596800000000n],
      ['9999-12-31 23:59:59.999999', 253402300799999999n],
      ['2038-01-19 03:14:07.999999', 2147483647999999n],
    ])('%s is %s µs', (text, micros) => {
      expect(convert(t.timestamp, text)).toBe(micros);
      expect(convert(t.timestamptz, text)).toBe(micros);
    });

    it('makes zero dates null', () => {
      expect(convert(t.timestamp, '0000-00-00 00:00:00')).toBeNull();
      expect(convert(t.timestamptz, '0000-00-00 00:00:00.000000')).toBeNull();
      expect(convert(t.timestamp, '2000-00-15 10:00:00.000000')).toBeNull();
    });

    it('refuses malformed text without quoting it', () => {
      rejection(t.timestamp, '2020-01-02 24:00:00', '24:00');
      rejection(t.timestamp, '2020-01-02 03:04:05.1234567', '1234567');
      rejection(t.timestamp, '2020-01-02 03:04', '03:04');
      rejection(t.timestamptz, '2020-01-02 03:04:05Z', '05Z');
      rejection(t.timestamptz, 1577934245, '1577934245');
    });
  });

  describe('time', () => {
    it.each([
      ['00:00:00', 0n],
      ['12:34:56.000001', 45296000001n],
      ['838:59:59', 3020399000000n],
      ['-838:59:59.000000', -3020399000000n],
      ['-838:59:59.999', -3020399999000n],
      ['-00:00:01.500000', -1500000n],
      ['-00:00:00.5', -500000n],
      ['-00:00:01', -1000000n],
      ['-00:00:00', 0n],
      ['1:02:03', 3723000000n],
    ])('%s is %s µs', (text, micros) => {
      expect(convert(t.time, text)).toBe(micros);
    });

    it('refuses malformed text', () => {
      rejection(t.time, '12:60:00', '12:60');
      rejection(t.time, '12345:00:00', '12345');
      rejection(t.time, '12:00', '12:00');
      rejection(t.time, '-', '"-"');
    });
  });

  it("reads YEAR, and zongji's 1900 for 0000 as 0 like mysql2", () => {
    expect(convert(t.year, 2155)).toBe(2155);
    expect(convert(t.year, 1901)).toBe(1901);
    expect(convert(t.year, 0)).toBe(0);
    expect(convert(t.year, 1900)).toBe(0);
    expect(convert(t.year, '1999')).toBe(1999);
  });

  it('names the column and the kind in every refusal', () => {
    const error = rejection(t.int64, 'Alice Smith', 'Alice');
    expect(error.message).toMatch(/^column "the column" \(int64\): expected /);
  });
});

describe('rowFromMySql', () => {
  it('converts the golden row as mysql2 delivers it', () => {
    const raw = {
      id: '9223372036854775807',
      flag: Buffer.from([1]),
      tiny: -128,
      small_u: 65535,
      int_u: 4294967295,
      big: '-9223372036854775808',
      big_u: '18446744073709551615',
      price: '9999999999999999999999999999.9999999999',
      wide: '-99999999999999999999999999999999999.999999999999999999999999999999',
      ratio: 1.7976931348623157e308,
      f32: 3.5,
      name: 'Zoë 😀 "quoted" \\ back',
      doc: '{"a": [1, 2.50, "x"], "big": 18446744073709551615}',
      status: "it's",
      tags: 'red,blue',
      payload: Buffer.from([0, 1, 2, 0xfe, 0xff, 0]),
      bits: Buffer.from('8123456789abcdef', 'hex'),
      born: '0001-01-01',
      at_local: '9999-12-31 23:59:59.999999',
      at_utc: '2038-01-19 03:14:07.999999',
      span: '-838:59:59.000000',
      yr: 2155,
      'order key': 7,
    };
    expect(rowFromMySql(GOLDEN_COLUMNS, raw)).toEqual(GOLDEN_MAX_ROW);
  });

  it("formats MariaDB's INET6/INET4 bytes (zongji, self-describing TABLE_MAP) as the server prints them", () => {
    const columns = [
      { name: 'i6', type: { kind: 'string' }, nullable: true, sourceType: 'inet6' },
      { name: 'i4', type: { kind: 'string' }, nullable: true, sourceType: 'INET4' },
      { name: 'txt', type: { kind: 'string' }, nullable: true, sourceType: 'varchar(16)' },
    ] satisfies ColumnSchema[];
    const v6 = (hex: string) => rowFromMySql(columns, { i6: Buffer.from(hex, 'hex') }).i6;
    expect(v6('20010db8000000000000000000000001')).toBe('2001:db8::1');
    expect(v6('00000000000000000000ffff01020304')).toBe('::ffff:1.2.3.4');
    expect(v6('00000000000000000000000001020304')).toBe('::1.2.3.4');
    expect(v6('00000000000000000000000000000001')).toBe('::1');
    expect(v6('00000000000000000000000000000000')).toBe('::');
    expect(v6('00010000000000010000000000000001')).toBe('1:0:0:1::1');
    expect(v6('00010000000000010000000000010001')).toBe('1::1:0:0:1:1');
    expect(v6('00010002000300040005000600070008')).toBe('1:2:3:4:5:6:7:8');
    expect(rowFromMySql(columns, { i4: Buffer.from([10, 0, 0, 255]) }).i4).toBe('10.0.0.255');
    expect(rowFromMySql(columns, { i6: '::1', i4: '1.2.3.4' })).toEqual({ i6: '::1', i4: '1.2.3.4', txt: null });
    expect(rowFromMySql(columns, { txt: Buffer.from('abcd') }).txt).toBe('abcd');
  });

  it('converts the null row, with the id as zongji gives small BIGINTs', () => {
    const raw = Object.fromEntries(GOLDEN_COLUMNS.map((c) => [c.name, c.name === 'id' ? 1 : null]));
    expect(rowFromMySql(GOLDEN_COLUMNS, raw)).toEqual(GOLDEN_NULL_ROW);
  });
});
