import { describe, expect, it } from 'vitest';
import type { ColumnType } from '#core/column-type.ts';
import { fromStage, renderType, stageType, targetType } from './column-types.ts';

const target = (type: ColumnType, isKey = false) => renderType(targetType({ type }, isKey));

describe('targetType', () => {
  it('maps every ColumnType kind as TYPES.md documents', () => {
    const table: Array<[ColumnType, string]> = [
      [{ kind: 'boolean' }, 'BIT'],
      [{ kind: 'int16' }, 'SMALLINT'],
      [{ kind: 'int32' }, 'INT'],
      [{ kind: 'int64' }, 'BIGINT'],
      [{ kind: 'float32' }, 'REAL'],
      [{ kind: 'float64' }, 'FLOAT'],
      [{ kind: 'decimal', precision: 38, scale: 10 }, 'DECIMAL(38,10)'],
      [{ kind: 'decimal', precision: 65, scale: 30 }, 'NVARCHAR(68)'],
      [{ kind: 'string', length: 100 }, 'NVARCHAR(200)'],
      [{ kind: 'string', length: 2000 }, 'NVARCHAR(4000)'],
      [{ kind: 'string', length: 2001 }, 'NVARCHAR(MAX)'],
      [{ kind: 'string' }, 'NVARCHAR(MAX)'],
      [{ kind: 'json' }, 'NVARCHAR(MAX)'],
      [{ kind: 'enum', values: ['new', "it's", 'done'] }, 'NVARCHAR(8)'],
      [{ kind: 'set', values: ['red', 'green', 'blue'] }, 'NVARCHAR(28)'],
      [{ kind: 'uuid' }, 'UNIQUEIDENTIFIER'],
      [{ kind: 'bytes', length: 16 }, 'VARBINARY(16)'],
      [{ kind: 'bytes', length: 9000 }, 'VARBINARY(MAX)'],
      [{ kind: 'bytes' }, 'VARBINARY(MAX)'],
      [{ kind: 'bits', length: 64 }, 'VARBINARY(8)'],
      [{ kind: 'bits', length: 3 }, 'VARBINARY(1)'],
      [{ kind: 'date' }, 'DATE'],
      [{ kind: 'time' }, 'BIGINT'],
      [{ kind: 'timestamp' }, 'DATETIME2(6)'],
      [{ kind: 'timestamptz' }, 'DATETIMEOFFSET(6)'],
      [{ kind: 'year' }, 'SMALLINT'],
      [{ kind: 'numeric' }, 'NVARCHAR(MAX)'],
      [{ kind: 'timetz' }, 'NVARCHAR(32)'],
      [{ kind: 'interval' }, 'NVARCHAR(64)'],
      [{ kind: 'array', items: { kind: 'int64' } }, 'NVARCHAR(MAX)'],
      [{ kind: 'array', items: { kind: 'decimal', precision: 40, scale: 10 } }, 'NVARCHAR(MAX)'],
    ];
    for (const [type, expected] of table) expect([type, target(type)]).toEqual([type, expected]);
  });

  it('sizes key text and binary to fit the 900-byte index key, whatever the source length', () => {
    expect(target({ kind: 'string', length: 36 }, true)).toBe('NVARCHAR(450)');
    expect(target({ kind: 'string' }, true)).toBe('NVARCHAR(450)');
    expect(target({ kind: 'enum', values: ['a'] }, true)).toBe('NVARCHAR(450)');
    expect(target({ kind: 'bytes', length: 16 }, true)).toBe('VARBINARY(900)');
    expect(target({ kind: 'decimal', precision: 65, scale: 0 }, true)).toBe('NVARCHAR(68)');
    expect(target({ kind: 'int64' }, true)).toBe('BIGINT');
    expect(target({ kind: 'numeric' }, true)).toBe('NVARCHAR(450)');
    expect(target({ kind: 'timetz' }, true)).toBe('NVARCHAR(450)');
    expect(target({ kind: 'interval' }, true)).toBe('NVARCHAR(450)');
    expect(target({ kind: 'array', items: { kind: 'int32' } }, true)).toBe('NVARCHAR(450)');
  });
});

describe('staging types', () => {
  it('stages DECIMAL, DATE, DATETIME2 and DATETIMEOFFSET as text and casts them back', () => {
    const cases: Array<[ColumnType, string, string]> = [
      [{ kind: 'decimal', precision: 38, scale: 10 }, 'NVARCHAR(41)', 'CAST(x AS DECIMAL(38,10))'],
      [{ kind: 'date' }, 'NVARCHAR(10)', 'CAST(x AS DATE)'],
      [{ kind: 'timestamp' }, 'NVARCHAR(26)', 'CAST(x AS DATETIME2(6))'],
      [{ kind: 'timestamptz' }, 'NVARCHAR(32)', 'CAST(x AS DATETIMEOFFSET(6))'],
    ];
    for (const [type, stage, expression] of cases) {
      const t = targetType({ type }, false);
      expect(renderType(stageType(t))).toBe(stage);
      expect(fromStage(t, 'x')).toBe(expression);
    }
  });

  it('stages every other type as itself', () => {
    for (const type of [
      { kind: 'int64' },
      { kind: 'uuid' },
      { kind: 'bits', length: 9 },
      { kind: 'decimal', precision: 40, scale: 2 },
      { kind: 'numeric' },
      { kind: 'timetz' },
      { kind: 'interval' },
      { kind: 'array', items: { kind: 'date' } },
    ] as ColumnType[]) {
      const t = targetType({ type }, false);
      expect(stageType(t)).toEqual(t);
      expect(fromStage(t, 'x')).toBe('x');
    }
  });
});
