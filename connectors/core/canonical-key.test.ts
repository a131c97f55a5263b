import { describe, expect, it } from 'vitest';
import type { TableSchema } from './table-schema.ts';
import { keyRowFromCanonical, valueFromCanonical } from './canonical-key.ts';

describe('keys in canonical form back to values', () => {
  it('gives each key column the value form its events carry', () => {
    const table: TableSchema = {
      namespace: 'shop',
      table: 'lines',
      columns: [
        { name: 'order_id', type: { kind: 'int64' }, nullable: false, sourceType: 'bigint' },
        { name: 'line', type: { kind: 'int32' }, nullable: false, sourceType: 'int' },
        { name: 'note', type: { kind: 'string' }, nullable: true, sourceType: 'text' },
      ],
      primaryKey: ['order_id', 'line'],
    };
    expect(keyRowFromCanonical(table, ['9007199254740993', '7'])).toEqual({ order_id: 9007199254740993n, line: 7 });
    expect(() => keyRowFromCanonical(table, ['1'])).toThrow('has 2 values, got 1');
  });

  it('reads every orderable kind exactly', () => {
    expect(valueFromCanonical({ kind: 'boolean' }, '1', 'c')).toBe(true);
    expect(valueFromCanonical({ kind: 'date' }, '-719162', 'c')).toBe(-719162);
    expect(valueFromCanonical({ kind: 'timestamptz' }, '1700000000123456', 'c')).toBe(1700000000123456n);
    expect(valueFromCanonical({ kind: 'time' }, '-3020399000000', 'c')).toBe(-3020399000000n);
    expect(valueFromCanonical({ kind: 'decimal', precision: 12, scale: 2 }, '-12.50', 'c')).toBe('-12.50');
    expect(valueFromCanonical({ kind: 'bytes' }, '00ff10', 'c')).toEqual(Buffer.from([0, 255, 16]));
    expect(valueFromCanonical({ kind: 'bits', length: 12 }, '2561', 'c')).toEqual(Buffer.from([0x01, 0x0a]));
    expect(valueFromCanonical({ kind: 'uuid' }, '0b5e2b6c-1f7a-4a53-9d0e-6c7c8b6d2a11', 'c')).toBe('0b5e2b6c-1f7a-4a53-9d0e-6c7c8b6d2a11');
    expect(valueFromCanonical({ kind: 'float64' }, '15e1', 'c')).toBe(1.5);
    expect(valueFromCanonical({ kind: 'float64' }, '-1e-323', 'c')).toBe(-1e-324 * 10);
    expect(valueFromCanonical({ kind: 'float64' }, '0', 'c')).toBe(0);
  });

  it('refuses a value that is not canonical for its kind', () => {
    expect(() => valueFromCanonical({ kind: 'int32' }, '1.5', 'id')).toThrow('key value "1.5" of column "id" is not a canonical int32');
    expect(() => valueFromCanonical({ kind: 'bytes' }, 'ABC', 'id')).toThrow('not a canonical bytes');
  });
});
