import { describe, expect, it } from 'vitest';
import type { ColumnSchema, TableSchema } from '#core/table-schema.ts';
import type { SqlServerType } from './column-types.ts';
import { holds, planEvolution, typeFromInformationSchema, widened, type ExistingTable } from './evolve.ts';

const column = (name: string, type: ColumnSchema['type'], sourceType: string = type.kind): ColumnSchema => ({ name, type, nullable: true, sourceType });
const info = (DATA_TYPE: string, length: number | null = null, precision: number | null = null, scale: number | null = null, datetime: number | null = null) =>
  typeFromInformationSchema({ COLUMN_NAME: 'x', DATA_TYPE, CHARACTER_MAXIMUM_LENGTH: length, NUMERIC_PRECISION: precision, NUMERIC_SCALE: scale, DATETIME_PRECISION: datetime });

const POSITION = { name: '__tributary_position', type: { name: 'varchar', length: 64 } as SqlServerType };
const TABLE: TableSchema = {
  namespace: 'shop',
  table: 'orders',
  columns: [column('id', { kind: 'int32' }), column('note', { kind: 'string', length: 20 }, 'varchar(20)'), column('qty', { kind: 'int32' })],
  primaryKey: ['id'],
};
const EXISTING: ExistingTable = {
  columns: [
    { name: 'id', type: { name: 'int' } },
    { name: 'note', type: { name: 'nvarchar', length: 40 } },
    { name: 'qty', type: { name: 'int' } },
    POSITION,
  ],
  primaryKey: ['id'],
};

describe('typeFromInformationSchema', () => {
  it('reads the types the sink creates back as it wrote them', () => {
    expect(info('nvarchar', -1)).toEqual({ name: 'nvarchar', length: 'max' });
    expect(info('nvarchar', 450)).toEqual({ name: 'nvarchar', length: 450 });
    expect(info('varbinary', 8)).toEqual({ name: 'varbinary', length: 8 });
    expect(info('decimal', null, 38, 10)).toEqual({ name: 'decimal', precision: 38, scale: 10 });
    expect(info('datetime2', null, null, null, 6)).toEqual({ name: 'datetime2', scale: 6 });
    expect(info('datetimeoffset', null, null, null, 6)).toEqual({ name: 'datetimeoffset', scale: 6 });
    expect(info('float', null, 53)).toEqual({ name: 'float' });
    expect(info('real', null, 24)).toEqual({ name: 'real' });
    expect(info('BIGINT', null, 19, 0)).toEqual({ name: 'bigint' });
  });

  it('keeps any other type as text, to compare and to name in messages', () => {
    expect(info('datetime')).toEqual({ name: 'other', text: 'DATETIME' });
    expect(info('char', 10)).toEqual({ name: 'other', text: 'CHAR(10)' });
  });
});

describe('holds and widened', () => {
  it('lets a wider column hold a narrower type, never the reverse', () => {
    expect(holds({ name: 'bigint' }, { name: 'int' })).toBe(true);
    expect(holds({ name: 'int' }, { name: 'bigint' })).toBe(false);
    expect(holds({ name: 'float' }, { name: 'real' })).toBe(true);
    expect(holds({ name: 'nvarchar', length: 'max' }, { name: 'nvarchar', length: 40 })).toBe(true);
    expect(holds({ name: 'nvarchar', length: 40 }, { name: 'nvarchar', length: 'max' })).toBe(false);
    expect(holds({ name: 'decimal', precision: 12, scale: 4 }, { name: 'decimal', precision: 10, scale: 2 })).toBe(true);
    expect(holds({ name: 'decimal', precision: 10, scale: 4 }, { name: 'decimal', precision: 10, scale: 2 })).toBe(false);
    expect(holds({ name: 'int' }, { name: 'nvarchar', length: 10 })).toBe(false);
    expect(holds({ name: 'bit' }, { name: 'smallint' })).toBe(false);
  });

  it('widens within a family to a type holding both, and gives up across families or past DECIMAL(38)', () => {
    expect(widened({ name: 'int' }, { name: 'bigint' })).toEqual({ name: 'bigint' });
    expect(widened({ name: 'nvarchar', length: 40 }, { name: 'nvarchar', length: 'max' })).toEqual({ name: 'nvarchar', length: 'max' });
    expect(widened({ name: 'decimal', precision: 10, scale: 4 }, { name: 'decimal', precision: 10, scale: 2 })).toEqual({
      name: 'decimal',
      precision: 12,
      scale: 4,
    });
    expect(widened({ name: 'decimal', precision: 38, scale: 30 }, { name: 'decimal', precision: 38, scale: 0 })).toBeUndefined();
    expect(widened({ name: 'int' }, { name: 'nvarchar', length: 10 })).toBeUndefined();
    expect(widened({ name: 'uniqueidentifier' }, { name: 'nvarchar', length: 72 })).toBeUndefined();
  });
});

describe('planEvolution', () => {
  it('changes nothing when the table already fits, including a source narrowing', () => {
    expect(planEvolution(TABLE, '[dbo].[orders]', EXISTING)).toEqual({ add: [], widen: [] });
    const narrower = { ...TABLE, columns: [TABLE.columns[0]!, column('note', { kind: 'string', length: 5 }), TABLE.columns[2]!] };
    expect(planEvolution(narrower, '[dbo].[orders]', EXISTING)).toEqual({ add: [], widen: [] });
  });

  it('adds new columns and widens grown ones', () => {
    const grown: TableSchema = {
      ...TABLE,
      columns: [TABLE.columns[0]!, column('note', { kind: 'string', length: 50 }), column('qty', { kind: 'int64' }), column('new col]', { kind: 'json' })],
    };
    expect(planEvolution(grown, '[dbo].[orders]', EXISTING)).toEqual({
      add: [{ name: 'new col]', type: { name: 'nvarchar', length: 'max' } }],
      widen: [
        { name: 'note', type: { name: 'nvarchar', length: 100 } },
        { name: 'qty', type: { name: 'bigint' } },
      ],
    });
  });

  it('adds columns of the PostgreSQL kinds and widens text between them by the same rules', () => {
    const pg: TableSchema = {
      ...TABLE,
      columns: [...TABLE.columns, column('n', { kind: 'numeric' }), column('tz', { kind: 'timetz' }), column('span', { kind: 'interval' }), column('tags', { kind: 'array', items: { kind: 'int32' } })],
    };
    expect(planEvolution(pg, '[dbo].[orders]', EXISTING).add).toEqual([
      { name: 'n', type: { name: 'nvarchar', length: 'max' } },
      { name: 'tz', type: { name: 'nvarchar', length: 32 } },
      { name: 'span', type: { name: 'nvarchar', length: 64 } },
      { name: 'tags', type: { name: 'nvarchar', length: 'max' } },
    ]);
    // An INT cannot become text; an NVARCHAR(40) widens to the interval's NVARCHAR(64).
    const asInterval = { ...TABLE, columns: [TABLE.columns[0]!, column('note', { kind: 'interval' }), column('qty', { kind: 'numeric' }, 'numeric')] };
    expect(() => planEvolution(asInterval, '[dbo].[orders]', EXISTING)).toThrow(/column "qty" of \[dbo\]\.\[orders\] is INT, which cannot hold the new source type numeric/);
    const noteOnly = { ...TABLE, columns: [TABLE.columns[0]!, column('note', { kind: 'interval' })] };
    expect(planEvolution(noteOnly, '[dbo].[orders]', EXISTING)).toEqual({ add: [], widen: [{ name: 'note', type: { name: 'nvarchar', length: 64 } }] });
  });

  it('finds columns whose case changed, as a case-insensitive server does', () => {
    const renamed = { ...TABLE, columns: [TABLE.columns[0]!, column('NOTE', { kind: 'string', length: 20 })] };
    expect(planEvolution(renamed, '[dbo].[orders]', EXISTING)).toEqual({ add: [], widen: [] });
  });

  it('refuses a type it cannot widen, naming table, column, both types and the fix', () => {
    const changed = { ...TABLE, columns: [TABLE.columns[0]!, TABLE.columns[1]!, column('qty', { kind: 'string', length: 10 }, 'varchar(10)')] };
    expect(() => planEvolution(changed, '[dbo].[orders]', EXISTING)).toThrow(
      expect.objectContaining({
        code: 'SINK_SCHEMA_INCOMPATIBLE',
        retriable: false,
        message:
          'column "qty" of [dbo].[orders] is INT, which cannot hold the new source type varchar(10) (string → NVARCHAR(20)). ' +
          'Fix: ALTER TABLE [dbo].[orders] ALTER COLUMN [qty] NVARCHAR(20) NULL by hand if every existing value converts, or drop the table and replay the topic.',
      }),
    );
  });

  it('never alters a key column, even to widen it', () => {
    const wider = { ...TABLE, columns: [column('id', { kind: 'int64' }, 'bigint'), ...TABLE.columns.slice(1)] };
    expect(() => planEvolution(wider, '[dbo].[orders]', EXISTING)).toThrow(/column "id" of \[dbo\]\.\[orders\] is INT.*part of the primary key/);
  });

  it('refuses a changed primary key', () => {
    const rekeyed = { ...TABLE, primaryKey: ['id', 'qty'] };
    expect(() => planEvolution(rekeyed, '[dbo].[orders]', EXISTING)).toThrow(
      expect.objectContaining({ code: 'SINK_SCHEMA_INCOMPATIBLE', message: expect.stringMatching(/primary key of \[dbo\]\.\[orders\] is \(id\) but the source's is now \(id, qty\)\. Fix:/) }),
    );
  });

  it('refuses a table Tributary did not create', () => {
    const foreign = { ...EXISTING, columns: EXISTING.columns.filter((c) => c !== POSITION) };
    expect(() => planEvolution(TABLE, '[dbo].[orders]', foreign)).toThrow(/has no __tributary_position column/);
  });
});
