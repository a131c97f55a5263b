import { describe, expect, it } from 'vitest';
import type { ColumnType, ColumnValue } from '#core/column-type.ts';
import type { BaseType } from './dialect.ts';
import { canWrite, encodeRows, keyBytes, keyLiteral, splitRowBinary, type TargetColumn } from './values.ts';

// Golden RowBinary bytes, written out by hand from the format's definition (see values.ts), for one value at a
// time: each encoded row is the value, then version 1 (UInt64), deleted 0 (UInt8), position "p" (String).

const META = '0100000000000000' + '00' + '0170';

function hexOf(type: ColumnType, base: BaseType, value: ColumnValue, nullable = false): string {
  const column: TargetColumn = { column: { name: 'c', type, nullable, sourceType: type.kind }, type: { base, nullable } };
  const bytes = encodeRows([column], [{ values: { c: value }, version: 1n, deleted: false, position: 'p' }]);
  const hex = bytes.toString('hex');
  expect(hex.endsWith(META)).toBe(true);
  return hex.slice(0, hex.length - META.length);
}

describe('encodeRows: one value per ColumnType, exactly', () => {
  it('writes integers little-endian at the target width', () => {
    expect(hexOf({ kind: 'boolean' }, { name: 'UInt8' }, true)).toBe('01');
    expect(hexOf({ kind: 'int16' }, { name: 'Int16' }, -32768)).toBe('0080');
    expect(hexOf({ kind: 'int16' }, { name: 'Int64' }, -2)).toBe('feffffffffffffff');
    expect(hexOf({ kind: 'int32' }, { name: 'Int32' }, 2147483647)).toBe('ffffff7f');
    expect(hexOf({ kind: 'year' }, { name: 'Int32' }, 2155)).toBe('6b080000');
    expect(hexOf({ kind: 'int64' }, { name: 'Int64' }, -9223372036854775808n)).toBe('0000000000000080');
    expect(hexOf({ kind: 'int64' }, { name: 'Int64' }, 9223372036854775807n)).toBe('ffffffffffffff7f');
  });

  it('writes floats as their IEEE bits: no text parsing, so nan, infinities and -0 survive', () => {
    expect(hexOf({ kind: 'float64' }, { name: 'Float64' }, 1.7976931348623157e308)).toBe('ffffffffffffef7f');
    expect(hexOf({ kind: 'float64' }, { name: 'Float64' }, 5e-324)).toBe('0100000000000000');
    expect(hexOf({ kind: 'float64' }, { name: 'Float64' }, -0)).toBe('0000000000000080');
    expect(hexOf({ kind: 'float64' }, { name: 'Float64' }, -Infinity)).toBe('000000000000f0ff');
    expect(hexOf({ kind: 'float32' }, { name: 'Float32' }, 3.5)).toBe('00006040');
    expect(hexOf({ kind: 'float32' }, { name: 'Float64' }, Math.fround(0.1))).toBe('000000a09999b93f');
  });

  it('writes decimals as the unscaled integer sized by precision, or as exact text when too wide', () => {
    expect(hexOf({ kind: 'decimal', precision: 9, scale: 2 }, { name: 'Decimal', precision: 9, scale: 2 }, '-123.45')).toBe('c7cfffff');
    expect(hexOf({ kind: 'decimal', precision: 18, scale: 0 }, { name: 'Decimal', precision: 18, scale: 0 }, '1')).toBe('0100000000000000');
    // 10^38 - 1 at scale 10, negated: two's complement over 16 bytes.
    expect(
      hexOf({ kind: 'decimal', precision: 38, scale: 10 }, { name: 'Decimal', precision: 38, scale: 10 }, '-9999999999999999999999999999.9999999999'),
    ).toBe(Buffer.from((2n ** 128n - (10n ** 38n - 1n)).toString(16).padStart(32, '0'), 'hex').reverse().toString('hex'));
    expect(hexOf({ kind: 'decimal', precision: 65, scale: 30 }, { name: 'Decimal', precision: 65, scale: 30 }, '1.000000000000000000000000000000')).toBe(
      Buffer.from((10n ** 30n).toString(16).padStart(64, '0'), 'hex').reverse().toString('hex'),
    );
    // A widened target scale pads the fraction: 1.5 at scale 3 is 1500.
    expect(hexOf({ kind: 'decimal', precision: 5, scale: 1 }, { name: 'Decimal', precision: 9, scale: 3 }, '1.5')).toBe('dc050000');
    const wide = '-99999999999999999999999999999999999.999999999999999999999999999999';
    expect(hexOf({ kind: 'decimal', precision: 65, scale: 30 }, { name: 'String' }, wide)).toBe(`43${Buffer.from(wide).toString('hex')}`);
  });

  it('writes text as UTF-8 and bytes as they are, after a LEB128 length', () => {
    expect(hexOf({ kind: 'string' }, { name: 'String' }, 'Zoë 😀')).toBe(`09${Buffer.from('Zoë 😀').toString('hex')}`);
    expect(hexOf({ kind: 'json' }, { name: 'String' }, '{}')).toBe('027b7d');
    expect(hexOf({ kind: 'bytes' }, { name: 'String' }, Buffer.from([0, 0xff, 0]))).toBe('0300ff00');
    expect(hexOf({ kind: 'string' }, { name: 'String' }, 'x'.repeat(300)).slice(0, 6)).toBe('ac0278');
    expect(hexOf({ kind: 'string' }, { name: 'String' }, '')).toBe('00');
  });

  it('writes a UUID as two reversed 8-byte halves, or as its text into String', () => {
    expect(hexOf({ kind: 'uuid' }, { name: 'UUID' }, '00112233-4455-6677-8899-aabbccddeeff')).toBe('7766554433221100ffeeddccbbaa9988');
    expect(hexOf({ kind: 'uuid' }, { name: 'String' }, '00112233-4455-6677-8899-aabbccddeeff')).toBe(
      `24${Buffer.from('00112233-4455-6677-8899-aabbccddeeff').toString('hex')}`,
    );
  });

  it('writes bits as the little-endian UInt64 they are, or their bytes when longer', () => {
    expect(hexOf({ kind: 'bits', length: 64 }, { name: 'UInt64' }, Buffer.from('efcdab8967452381', 'hex'))).toBe('efcdab8967452381');
    expect(hexOf({ kind: 'bits', length: 3 }, { name: 'UInt64' }, Buffer.from([5]))).toBe('0500000000000000');
    expect(hexOf({ kind: 'bits', length: 72 }, { name: 'String' }, Buffer.alloc(9, 1))).toBe(`09${'01'.repeat(9)}`);
  });

  it('writes dates and times as days and microseconds, or ticks of DateTime64', () => {
    expect(hexOf({ kind: 'date' }, { name: 'Int32' }, -719162)).toBe('c606f5ff');
    expect(hexOf({ kind: 'date' }, { name: 'Date32' }, -25567)).toBe('219cffff');
    expect(hexOf({ kind: 'time' }, { name: 'Int64' }, -3020399000000n)).toBe(Buffer.from(BigInt.asUintN(64, -3020399000000n).toString(16), 'hex').reverse().toString('hex'));
    expect(hexOf({ kind: 'timestamp' }, { name: 'Int64' }, 253402300799999999n)).toBe('ff5f73cc0c448403');
    expect(hexOf({ kind: 'timestamptz' }, { name: 'DateTime64', precision: 6, timezone: 'UTC' }, 1n)).toBe('0100000000000000');
    expect(hexOf({ kind: 'timestamptz' }, { name: 'DateTime64', precision: 9, timezone: 'UTC' }, 1n)).toBe('e803000000000000');
  });

  it('writes Nullable as a flag byte before the value', () => {
    expect(hexOf({ kind: 'int32' }, { name: 'Int32' }, null, true)).toBe('01');
    expect(hexOf({ kind: 'int32' }, { name: 'Int32' }, 7, true)).toBe('0007000000');
  });
});

describe('encodeRows: PostgreSQL kinds', () => {
  it('writes numeric, timetz and interval as their text', () => {
    expect(hexOf({ kind: 'numeric' }, { name: 'String' }, 'NaN')).toBe('034e614e');
    expect(hexOf({ kind: 'timetz' }, { name: 'String' }, '24:00:00.000000Z')).toBe(`10${Buffer.from('24:00:00.000000Z').toString('hex')}`);
    expect(hexOf({ kind: 'interval' }, { name: 'String' }, 'PT0S', true)).toBe('000450543053');
  });

  it('writes an array as its count, then each element with its Nullable flag; NULL as the empty array', () => {
    const ints: ColumnType = { kind: 'array', items: { kind: 'int64' } };
    const base: BaseType = { name: 'Array', items: { base: { name: 'Int64' }, nullable: true } };
    expect(hexOf(ints, base, [1n, null, -1n])).toBe('03' + '000100000000000000' + '01' + '00ffffffffffffffff');
    expect(hexOf(ints, base, [])).toBe('00');
    expect(hexOf(ints, base, null)).toBe('00');
    const decimals: ColumnType = { kind: 'array', items: { kind: 'decimal', precision: 9, scale: 2 } };
    expect(hexOf(decimals, { name: 'Array', items: { base: { name: 'Decimal', precision: 9, scale: 2 }, nullable: true } }, ['-123.45'])).toBe('0100c7cfffff');
    const texts: ColumnType = { kind: 'array', items: { kind: 'string' } };
    expect(hexOf(texts, { name: 'Array', items: { base: { name: 'String' }, nullable: true } }, ['', null, 'ab'])).toBe('03' + '0000' + '01' + '00026162');
    expect(() => hexOf(ints, { name: 'Array', items: { base: { name: 'Int64' }, nullable: false } }, [null])).toThrow(/NULL but its target column is not Nullable/);
    expect(() => hexOf(ints, base, ['1'])).toThrow(/expected an integer/);
  });

  it('writes stored cells as they are instead of the value', () => {
    const column: TargetColumn = { column: { name: 'c', type: { kind: 'string' }, nullable: true, sourceType: 'text' }, type: { base: { name: 'String' }, nullable: true } };
    const bytes = encodeRows([column], [{ values: { c: null }, cells: new Map([['c', Buffer.from('00026869', 'hex')]]), version: 1n, deleted: false, position: 'p' }]);
    expect(bytes.toString('hex')).toBe(`00026869${META}`);
  });
});

describe('keyLiteral, keyBytes and splitRowBinary', () => {
  const target = (type: ColumnType, base: BaseType): TargetColumn => ({ column: { name: 'k', type, nullable: false, sourceType: type.kind }, type: { base, nullable: false } });

  it('spells each key value as a typed constant from its exact digits, bits or bytes', () => {
    expect(keyLiteral(target({ kind: 'int64' }, { name: 'Int64' }), -9223372036854775808n)).toBe("toInt64('-9223372036854775808')");
    expect(keyLiteral(target({ kind: 'int16' }, { name: 'Int32' }), -5)).toBe("toInt32('-5')");
    expect(keyLiteral(target({ kind: 'int16' }, { name: 'Int16' }), -5)).toBe("toInt16('-5')");
    expect(keyLiteral(target({ kind: 'boolean' }, { name: 'UInt8' }), true)).toBe("toUInt8('1')");
    expect(keyLiteral(target({ kind: 'bits', length: 64 }, { name: 'UInt64' }), Buffer.from('ffffffffffffffff', 'hex'))).toBe("toUInt64('18446744073709551615')");
    expect(keyLiteral(target({ kind: 'float64' }, { name: 'Float64' }), 0.1)).toBe("reinterpretAsFloat64(unhex('9a9999999999b93f'))");
    expect(keyLiteral(target({ kind: 'float32' }, { name: 'Float32' }), 1)).toBe("reinterpretAsFloat32(unhex('0000803f'))");
    expect(keyLiteral(target({ kind: 'string' }, { name: 'String' }), "it's'); DROP TABLE x; --")).toBe(`unhex('${Buffer.from("it's'); DROP TABLE x; --").toString('hex')}')`);
    expect(keyLiteral(target({ kind: 'string' }, { name: 'String' }), 'x'.repeat(200))).toBe(`unhex('${'78'.repeat(200)}')`);
    expect(keyLiteral(target({ kind: 'numeric' }, { name: 'String' }), 'NaN')).toBe("unhex('4e614e')");
    expect(keyLiteral(target({ kind: 'uuid' }, { name: 'UUID' }), '00112233-4455-6677-8899-aabbccddeeff')).toBe("toUUID('00112233-4455-6677-8899-aabbccddeeff')");
    expect(keyLiteral(target({ kind: 'decimal', precision: 38, scale: 10 }, { name: 'Decimal', precision: 38, scale: 10 }), '-9999999999999999999999999999.9999999999')).toBe(
      "toDecimal128('-9999999999999999999999999999.9999999999', 10)",
    );
    expect(keyLiteral(target({ kind: 'decimal', precision: 5, scale: 1 }, { name: 'Decimal', precision: 9, scale: 3 }), '-1.5')).toBe("toDecimal32('-1.500', 3)");
    expect(keyLiteral(target({ kind: 'decimal', precision: 60, scale: 0 }, { name: 'Decimal', precision: 60, scale: 0 }), '1')).toBe("toDecimal256('1', 0)");
    expect(keyLiteral(target({ kind: 'date' }, { name: 'Date32' }), -25567)).toBe("toDate32('1900-01-01')");
    expect(keyLiteral(target({ kind: 'date' }, { name: 'Int32' }), -719162)).toBe("toInt32('-719162')");
    expect(keyLiteral(target({ kind: 'timestamp' }, { name: 'DateTime64', precision: 6, timezone: 'UTC' }), -1n)).toBe(
      "toDateTime64('1969-12-31 23:59:59.999999', 6, 'UTC')",
    );
    expect(keyLiteral(target({ kind: 'timestamptz' }, { name: 'DateTime64', precision: 9, timezone: 'UTC' }), 1_000_001n)).toBe(
      "toDateTime64('1970-01-01 00:00:01.000001000', 9, 'UTC')",
    );
    expect(() => keyLiteral(target({ kind: 'int64' }, { name: 'Int64' }), null)).toThrow(/not Nullable/);
  });

  it('cuts a RowBinary answer into cells that match the encoder\'s bytes', () => {
    const columns: TargetColumn[] = [
      target({ kind: 'int64' }, { name: 'Int64' }),
      { column: { name: 's', type: { kind: 'string' }, nullable: true, sourceType: 'text' }, type: { base: { name: 'String' }, nullable: true } },
      {
        column: { name: 'a', type: { kind: 'array', items: { kind: 'decimal', precision: 20, scale: 2 } }, nullable: true, sourceType: 'numeric(20,2)[]' },
        type: { base: { name: 'Array', items: { base: { name: 'Decimal', precision: 20, scale: 2 }, nullable: true } }, nullable: false },
      },
      { column: { name: 'u', type: { kind: 'uuid' }, nullable: true, sourceType: 'uuid' }, type: { base: { name: 'UUID' }, nullable: true } },
    ];
    const rows = [
      { k: 1n, s: 'x'.repeat(200), a: ['1.00', null], u: '00112233-4455-6677-8899-aabbccddeeff' },
      { k: -1n, s: null, a: null, u: null },
    ];
    // encodeRows appends version, deleted and position: cut those off by describing them too.
    const data = encodeRows(columns, rows.map((values) => ({ values, version: 1n, deleted: false, position: 'p' })));
    const meta = [{ base: { name: 'UInt64' }, nullable: false }, { base: { name: 'UInt8' }, nullable: false }, { base: { name: 'String' }, nullable: false }] as const;
    const split = splitRowBinary(data, [...columns.map((c) => c.type), ...meta]);
    expect(split).toHaveLength(2);
    expect(split[0]?.[0]?.toString('hex')).toBe(keyBytes([columns[0] as TargetColumn], { k: 1n }));
    expect(split[1]?.[0]?.toString('hex')).toBe(keyBytes([columns[0] as TargetColumn], { k: -1n }));
    expect(split[1]?.slice(1, 4).map((cell) => cell.toString('hex'))).toEqual(['01', '00', '01']);
    // Cells written back reproduce the rows byte for byte.
    const again = encodeRows(columns, [0, 1].map((r) => ({ values: {}, cells: new Map(columns.map((c, i) => [c.column.name, split[r]?.[i] as Buffer])), version: 1n, deleted: false, position: 'p' })));
    expect(again.equals(data)).toBe(true);
    expect(() => splitRowBinary(data.subarray(0, data.length - 1), [...columns.map((c) => c.type), ...meta])).toThrow(/ends inside a row/);
  });
});

describe('encodeRows: refusals', () => {
  const refuse = (type: ColumnType, base: BaseType, value: ColumnValue) => () => hexOf(type, base, value);

  it('refuses values that would be changed on the way, naming the column', () => {
    expect(refuse({ kind: 'decimal', precision: 9, scale: 2 }, { name: 'Decimal', precision: 9, scale: 2 }, '1.234')).toThrow(/column "c".*rounding/);
    expect(refuse({ kind: 'decimal', precision: 5, scale: 0 }, { name: 'Decimal', precision: 5, scale: 0 }, '123456')).toThrow(/more digits/);
    expect(refuse({ kind: 'date' }, { name: 'Date32' }, -719162)).toThrow(/outside Date32.*clamp/);
    expect(refuse({ kind: 'timestamp' }, { name: 'DateTime64', precision: 6, timezone: 'UTC' }, 253402300799999999n)).toThrow(/outside DateTime64/);
    expect(refuse({ kind: 'int16' }, { name: 'Int16' }, 40000)).toThrow(/does not fit Int16/);
    expect(refuse({ kind: 'int64' }, { name: 'Int64' }, 1.5)).toThrow(/expected an integer/);
    expect(refuse({ kind: 'uuid' }, { name: 'UUID' }, 'not-a-uuid')).toThrow(/canonical form/);
    expect(refuse({ kind: 'bytes' }, { name: 'String' }, 'text')).toThrow(/expected a Buffer/);
    expect(refuse({ kind: 'int32' }, { name: 'Int32' }, null)).toThrow(/NULL but its target column is not Nullable/);
  });
});

describe('canWrite', () => {
  it('accepts the created type and exact widenings, nothing narrower', () => {
    expect(canWrite({ kind: 'int16' }, { name: 'Int64' })).toBe(true);
    expect(canWrite({ kind: 'int64' }, { name: 'Int32' })).toBe(false);
    expect(canWrite({ kind: 'float32' }, { name: 'Float64' })).toBe(true);
    expect(canWrite({ kind: 'float64' }, { name: 'Float32' })).toBe(false);
    expect(canWrite({ kind: 'decimal', precision: 10, scale: 2 }, { name: 'Decimal', precision: 12, scale: 4 })).toBe(true);
    expect(canWrite({ kind: 'decimal', precision: 10, scale: 2 }, { name: 'Decimal', precision: 10, scale: 4 })).toBe(false);
    expect(canWrite({ kind: 'decimal', precision: 10, scale: 2 }, { name: 'String' })).toBe(true);
    expect(canWrite({ kind: 'string' }, { name: 'Int64' })).toBe(false);
    expect(canWrite({ kind: 'date' }, { name: 'Int32' })).toBe(true);
    expect(canWrite({ kind: 'timestamp' }, { name: 'DateTime64', precision: 3, timezone: 'UTC' })).toBe(false);
    expect(canWrite({ kind: 'numeric' }, { name: 'String' })).toBe(true);
    expect(canWrite({ kind: 'numeric' }, { name: 'Decimal', precision: 76, scale: 38 })).toBe(false);
    expect(canWrite({ kind: 'interval' }, { name: 'String' })).toBe(true);
    const ints = { kind: 'array', items: { kind: 'int32' } } as const;
    expect(canWrite(ints, { name: 'Array', items: { base: { name: 'Int64' }, nullable: true } })).toBe(true);
    expect(canWrite(ints, { name: 'Array', items: { base: { name: 'Int16' }, nullable: true } })).toBe(false);
    expect(canWrite(ints, { name: 'Array', items: { base: { name: 'Int32' }, nullable: false } })).toBe(false);
    expect(canWrite(ints, { name: 'String' })).toBe(false);
  });
});
