import { describe, expect, it } from 'vitest';
import { arrayJson, isoDateAnyYear } from './array-json.ts';
import { TributaryError } from './errors.ts';

describe('arrayJson', () => {
  it('writes each element kind exactly, with null elements', () => {
    expect(arrayJson({ kind: 'int64' }, [9223372036854775807n, null, -9223372036854775808n], 'a')).toBe('[9223372036854775807,null,-9223372036854775808]');
    expect(arrayJson({ kind: 'int32' }, [1, null, -2147483648], 'a')).toBe('[1,null,-2147483648]');
    expect(arrayJson({ kind: 'boolean' }, [true, false, null], 'a')).toBe('[true,false,null]');
    expect(arrayJson({ kind: 'float64' }, [0.1, -0, 1.7976931348623157e308, 5e-324, NaN, Infinity, -Infinity], 'a')).toBe(
      '[0.1,-0,1.7976931348623157e+308,5e-324,"NaN","Infinity","-Infinity"]',
    );
    expect(arrayJson({ kind: 'decimal', precision: 40, scale: 2 }, ['12345678901234567890123456789012345678.90', null], 'a')).toBe(
      '["12345678901234567890123456789012345678.90",null]',
    );
    expect(arrayJson({ kind: 'numeric' }, ['1.000000000000000000000000000000000000001', 'NaN', '-Infinity'], 'a')).toBe(
      '["1.000000000000000000000000000000000000001","NaN","-Infinity"]',
    );
    expect(arrayJson({ kind: 'string' }, ['quote " back \\ nl \n', '😀', '', null], 'a')).toBe('["quote \\" back \\\\ nl \\n","😀","",null]');
    expect(arrayJson({ kind: 'json' }, ['{"a": [1, 2.50]}', null, '18446744073709551615'], 'a')).toBe('[{"a": [1, 2.50]},null,18446744073709551615]');
    expect(arrayJson({ kind: 'bytes' }, [Buffer.from([0, 255]), Buffer.alloc(0)], 'a')).toBe('["AP8=",""]');
    expect(arrayJson({ kind: 'date' }, [0, -719_528, 2_932_896, -2_440_588], 'a')).toBe('["1970-01-01","0000-01-01","9999-12-31","-004713-11-24"]');
    expect(arrayJson({ kind: 'time' }, [0n, -1_500_000n, 86_400_000_000n], 'a')).toBe('["00:00:00.000000","-00:00:01.500000","24:00:00.000000"]');
    expect(arrayJson({ kind: 'timestamp' }, [-1n], 'a')).toBe('["1969-12-31T23:59:59.999999"]');
    expect(arrayJson({ kind: 'timestamptz' }, [1n], 'a')).toBe('["1970-01-01T00:00:00.000001Z"]');
    expect(arrayJson({ kind: 'timetz' }, ['10:15:30.123456Z'], 'a')).toBe('["10:15:30.123456Z"]');
    expect(arrayJson({ kind: 'interval' }, ['P1Y2M3DT4H5M6.000007S'], 'a')).toBe('["P1Y2M3DT4H5M6.000007S"]');
    expect(arrayJson({ kind: 'array', items: { kind: 'int16' } }, [[1, null], null, []], 'a')).toBe('[[1,null],null,[]]');
    expect(arrayJson({ kind: 'int32' }, [], 'a')).toBe('[]');
  });

  it('gives expanded ISO years outside 0000-9999', () => {
    expect(isoDateAnyYear(2_932_897)).toBe('+010000-01-01');
    expect(isoDateAnyYear(-719_529)).toBe('-000001-12-31');
  });

  it('refuses elements not in their kind\'s form, naming the column', () => {
    expect(() => arrayJson({ kind: 'int64' }, ['1'], 'ids')).toThrow(TributaryError);
    expect(() => arrayJson({ kind: 'int64' }, ['1'], 'ids')).toThrow(/column "ids" \(array of int64\): expected elements that are a bigint, got string/);
    expect(() => arrayJson({ kind: 'json' }, ['{'], 'docs')).toThrow(/not JSON text/);
  });
});
