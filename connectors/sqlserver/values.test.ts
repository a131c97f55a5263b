import mssql from 'mssql';
import { describe, expect, it } from 'vitest';
import type { ColumnType, ColumnValue } from '#core/column-type.ts';
import { stageColumns, type StageColumn } from './dialect.ts';
import { formatDate, formatTimestamp, mssqlType, stageValue } from './values.ts';

function staged(type: ColumnType, isKey = false): StageColumn {
  const [column] = stageColumns({
    namespace: 'shop',
    table: 't',
    columns: [{ name: 'v', type, nullable: true, sourceType: 'src' }],
    primaryKey: isKey ? ['v'] : ['v'],
  });
  return column!;
}

const value = (type: ColumnType, v: ColumnValue) => stageValue(staged(type), v);

describe('stageValue', () => {
  it('passes exact forms through untouched', () => {
    expect(value({ kind: 'boolean' }, true)).toBe(true);
    expect(value({ kind: 'int16' }, -32768)).toBe(-32768);
    expect(value({ kind: 'int32' }, 2147483647)).toBe(2147483647);
    expect(value({ kind: 'year' }, 2155)).toBe(2155);
    expect(value({ kind: 'int64' }, -9223372036854775808n)).toBe(-9223372036854775808n);
    expect(value({ kind: 'int64' }, 9223372036854775807n)).toBe(9223372036854775807n);
    expect(value({ kind: 'time' }, -3020399000000n)).toBe(-3020399000000n);
    expect(value({ kind: 'float32' }, Math.fround(3.4028234e38))).toBe(Math.fround(3.4028234e38));
    expect(value({ kind: 'float64' }, 1.7976931348623157e308)).toBe(1.7976931348623157e308);
    expect(value({ kind: 'string' }, 'emoji 😀 \'quote\' \\')).toBe('emoji 😀 \'quote\' \\');
    expect(value({ kind: 'uuid' }, '123e4567-e89b-42d3-a456-426614174000')).toBe('123e4567-e89b-42d3-a456-426614174000');
    const bytes = Buffer.from([0, 0xff, 0]);
    expect(value({ kind: 'bytes' }, bytes)).toBe(bytes);
    expect(value({ kind: 'bits', length: 64 }, bytes)).toBe(bytes);
    expect(value({ kind: 'int32' }, null)).toBeNull();
  });

  it('passes numeric, timetz and interval text as it is, and arrays as their JSON text', () => {
    const forty = '1234567890123456789012345678901234567890.0000000001';
    expect(value({ kind: 'numeric' }, forty)).toBe(forty);
    expect(value({ kind: 'numeric' }, 'NaN')).toBe('NaN');
    expect(value({ kind: 'timetz' }, '24:00:00.000000Z')).toBe('24:00:00.000000Z');
    expect(value({ kind: 'interval' }, 'P1Y2M3DT4H5M6.000007S')).toBe('P1Y2M3DT4H5M6.000007S');
    expect(value({ kind: 'array', items: { kind: 'int64' } }, [9223372036854775807n, null])).toBe('[9223372036854775807,null]');
    expect(value({ kind: 'array', items: { kind: 'decimal', precision: 40, scale: 2 } }, ['-0.01', null])).toBe('["-0.01",null]');
    expect(value({ kind: 'array', items: { kind: 'string' } }, [])).toBe('[]');
    expect(() => value({ kind: 'array', items: { kind: 'int64' } }, '[1]')).toThrow(expect.objectContaining({ code: 'VALUE_INVALID' }));
    expect(() => value({ kind: 'numeric' }, [])).toThrow(/expected a string, got an array/);
  });

  it('writes decimals in plain notation with exactly `scale` digits', () => {
    expect(value({ kind: 'decimal', precision: 38, scale: 10 }, '9999999999999999999999999999.9999999999')).toBe('9999999999999999999999999999.9999999999');
    expect(value({ kind: 'decimal', precision: 10, scale: 2 }, '-0.5')).toBe('-0.50');
    expect(value({ kind: 'decimal', precision: 20, scale: 0 }, '18446744073709551615')).toBe('18446744073709551615');
    expect(value({ kind: 'decimal', precision: 65, scale: 30 }, '-99999999999999999999999999999999999.999999999999999999999999999999')).toBe(
      '-99999999999999999999999999999999999.999999999999999999999999999999',
    );
  });

  it('refuses a decimal that would need rounding or overflows', () => {
    expect(() => value({ kind: 'decimal', precision: 10, scale: 2 }, '1.234')).toThrow(expect.objectContaining({ code: 'VALUE_INVALID' }));
    expect(() => value({ kind: 'decimal', precision: 3, scale: 0 }, '1000')).toThrow(/column "v" \(src\)/);
  });

  it('writes dates and times as ISO 8601 with all six fraction digits', () => {
    expect(value({ kind: 'date' }, 0)).toBe('1970-01-01');
    expect(value({ kind: 'date' }, -719162)).toBe('0001-01-01');
    expect(value({ kind: 'date' }, 2932896)).toBe('9999-12-31');
    expect(value({ kind: 'date' }, 11016)).toBe('2000-02-29');
    expect(value({ kind: 'timestamp' }, 253402300799999999n)).toBe('9999-12-31T23:59:59.999999');
    expect(value({ kind: 'timestamp' }, -62135596800000000n)).toBe('0001-01-01T00:00:00.000000');
    expect(value({ kind: 'timestamp' }, -1n)).toBe('1969-12-31T23:59:59.999999');
    expect(value({ kind: 'timestamptz' }, 2147483647999999n)).toBe('2038-01-19T03:14:07.999999+00:00');
  });

  it('agrees with Date for millisecond values across the whole range', () => {
    for (let ms = -62135596800000; ms < 253402300800000; ms += 7_777_777_777_777) {
      expect(formatTimestamp(BigInt(ms) * 1000n)).toBe(new Date(ms).toISOString().replace('Z', '000'));
      const days = Math.floor(ms / 86_400_000);
      expect(formatDate(days)).toBe(new Date(days * 86_400_000).toISOString().slice(0, 10));
    }
  });

  it('refuses what SQL Server cannot store', () => {
    expect(() => value({ kind: 'date' }, -719163)).toThrow(expect.objectContaining({ code: 'TARGET_REJECTED' }));
    expect(() => value({ kind: 'timestamp' }, 253402300800000000n)).toThrow(/outside SQL Server's years 0001 to 9999/);
    expect(() => value({ kind: 'float64' }, Number.NaN)).toThrow(/no NaN or infinities/);
    expect(() => value({ kind: 'float32' }, Number.POSITIVE_INFINITY)).toThrow(expect.objectContaining({ code: 'TARGET_REJECTED' }));
  });

  it('refuses a value not in its kind\'s in-memory form', () => {
    expect(() => value({ kind: 'int64' }, 5)).toThrow(expect.objectContaining({ code: 'VALUE_INVALID', message: 'column "v" (src): expected a bigint, got number' }));
    expect(() => value({ kind: 'int32' }, 1.5)).toThrow(/expected an integer/);
    expect(() => value({ kind: 'bytes' }, 'x')).toThrow(/expected a Buffer/);
    expect(() => value({ kind: 'string' }, Buffer.from('x'))).toThrow(/got Buffer/);
  });
});

describe('mssqlType', () => {
  it('declares each stage type as the #stage DDL does', () => {
    expect(mssqlType({ name: 'bigint' })).toEqual(mssql.BigInt());
    expect(mssqlType({ name: 'nvarchar', length: 'max' })).toEqual(mssql.NVarChar(mssql.MAX));
    expect(mssqlType({ name: 'nvarchar', length: 13 })).toEqual(mssql.NVarChar(13));
    expect(mssqlType({ name: 'varbinary', length: 900 })).toEqual(mssql.VarBinary(900));
    expect(mssqlType({ name: 'uniqueidentifier' })).toEqual(mssql.UniqueIdentifier());
    expect(mssqlType({ name: 'real' })).toEqual(mssql.Real());
  });

  it('never binds a type that would round', () => {
    expect(() => mssqlType({ name: 'decimal', precision: 10, scale: 2 })).toThrow(/never bound directly/);
    expect(() => mssqlType({ name: 'datetime2', scale: 6 })).toThrow(expect.objectContaining({ code: 'INTERNAL' }));
  });
});
