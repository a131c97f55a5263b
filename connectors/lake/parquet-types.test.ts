import { describe, expect, it } from 'vitest';
import type { ColumnType } from '#core/column-type.ts';
import { TributaryError } from '#core/errors.ts';
import { columnElement, decimalBytes, fileSchema, footerSchema } from './parquet-types.ts';

describe('lake Parquet types', () => {
  it('maps each column kind to its Parquet type (golden)', () => {
    const golden: Array<[ColumnType, object]> = [
      [{ kind: 'boolean' }, { type: 'BOOLEAN' }],
      [{ kind: 'int16' }, { type: 'INT32', converted_type: 'INT_16' }],
      [{ kind: 'int32' }, { type: 'INT32' }],
      [{ kind: 'int64' }, { type: 'INT64' }],
      [{ kind: 'float32' }, { type: 'FLOAT' }],
      [{ kind: 'float64' }, { type: 'DOUBLE' }],
      [{ kind: 'decimal', precision: 9, scale: 2 }, { type: 'INT32', converted_type: 'DECIMAL', precision: 9, scale: 2 }],
      [{ kind: 'decimal', precision: 18, scale: 4 }, { type: 'INT64', converted_type: 'DECIMAL', precision: 18, scale: 4 }],
      [{ kind: 'decimal', precision: 20, scale: 0 }, { type: 'FIXED_LEN_BYTE_ARRAY', type_length: 9, converted_type: 'DECIMAL', precision: 20, scale: 0 }],
      [{ kind: 'decimal', precision: 38, scale: 10 }, { type: 'FIXED_LEN_BYTE_ARRAY', type_length: 16, converted_type: 'DECIMAL' }],
      [{ kind: 'decimal', precision: 65, scale: 30 }, { type: 'BYTE_ARRAY', converted_type: 'UTF8' }],
      [{ kind: 'numeric' }, { type: 'BYTE_ARRAY', converted_type: 'UTF8' }],
      [{ kind: 'string' }, { type: 'BYTE_ARRAY', converted_type: 'UTF8' }],
      [{ kind: 'json' }, { type: 'BYTE_ARRAY', logical_type: { type: 'JSON' } }],
      [{ kind: 'array', items: { kind: 'int64' } }, { type: 'BYTE_ARRAY', logical_type: { type: 'JSON' } }],
      [{ kind: 'uuid' }, { type: 'FIXED_LEN_BYTE_ARRAY', type_length: 16, logical_type: { type: 'UUID' } }],
      [{ kind: 'bytes' }, { type: 'BYTE_ARRAY' }],
      [{ kind: 'date' }, { type: 'INT32', converted_type: 'DATE' }],
      [{ kind: 'time' }, { type: 'INT64' }],
      [{ kind: 'timestamp' }, { type: 'INT64', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'MICROS' } }],
      [{ kind: 'timestamptz' }, { type: 'INT64', converted_type: 'TIMESTAMP_MICROS', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' } }],
    ];
    for (const [type, expected] of golden) {
      const element = columnElement('c', type);
      expect(element, JSON.stringify(type)).toMatchObject({ name: 'c', repetition_type: 'OPTIONAL', ...expected });
    }
    // A wall-clock timestamp must not carry TIMESTAMP_MICROS, which means adjusted to UTC.
    expect(columnElement('c', { kind: 'timestamp' }).converted_type).toBeUndefined();
  });

  it('sizes fixed-length decimals to the narrowest two\'s complement that holds the precision', () => {
    expect(decimalBytes(2)).toBe(1);
    expect(decimalBytes(3)).toBe(2);
    expect(decimalBytes(20)).toBe(9);
    expect(decimalBytes(30)).toBe(13);
    expect(decimalBytes(38)).toBe(16);
  });

  it('appends the log columns and refuses a source column of the same name', () => {
    const table = { namespace: 'db', table: 't', primaryKey: ['id'], columns: [{ name: 'id', type: { kind: 'int32' } as ColumnType, nullable: false, sourceType: 'int' }] };
    expect(fileSchema(table).map((e) => `${e.name}:${e.repetition_type ?? ''}`)).toEqual(['schema:', 'id:OPTIONAL', '_op:REQUIRED', '_source_position:REQUIRED', '_ts_ms:REQUIRED', '_unchanged:OPTIONAL']);
    const clash = { ...table, columns: [...table.columns, { name: '_op', type: { kind: 'string' } as ColumnType, nullable: true, sourceType: 'text' }] };
    expect(() => fileSchema(clash)).toThrow(TributaryError);
    expect(() => fileSchema(clash)).toThrow(/_op/);
  });

  it('gives JSON columns their converted type in the footer only', () => {
    const schema = [columnElement('j', { kind: 'json' }), columnElement('s', { kind: 'string' })];
    expect(schema[0]?.converted_type).toBeUndefined();
    expect(footerSchema(schema).map((e) => e.converted_type)).toEqual(['JSON', 'UTF8']);
  });
});
