import { describe, expect, it } from 'vitest';
import type { ColumnSchema, TableSchema } from '#core/table-schema.ts';
import {
  addColumns,
  createStage,
  createTable,
  dropStage,
  ensureSchema,
  merge,
  quoteIdent,
  selectColumns,
  selectPrimaryKey,
  truncateBefore,
  widenColumn,
} from './dialect.ts';

const column = (name: string, type: ColumnSchema['type'], nullable = true): ColumnSchema => ({ name, type, nullable, sourceType: type.kind });

const ORDERS: TableSchema = {
  namespace: 'shop',
  table: 'orders',
  columns: [
    column('id', { kind: 'int64' }, false),
    column('note', { kind: 'string', length: 100 }),
    column('amount', { kind: 'decimal', precision: 10, scale: 2 }),
    column('at', { kind: 'timestamptz' }),
  ],
  primaryKey: ['id'],
};

const HOSTILE = ['a`b', 'a"b', 'a]b', 'a;b', 'a b', 'DROP TABLE x'];
const HOSTILE_TABLE: TableSchema = {
  namespace: 'shop',
  table: 'x]; DROP TABLE y; --',
  columns: [column('k]ey', { kind: 'string', length: 10 }, false), ...HOSTILE.map((name) => column(name, { kind: 'int32' }))],
  primaryKey: ['k]ey'],
};

const dbo = (table: string) => ({ schema: 'dbo', table });

describe('quoteIdent', () => {
  it('brackets a name and doubles every ]', () => {
    expect(quoteIdent('orders')).toBe('[orders]');
    expect(quoteIdent('a]b]]')).toBe('[a]]b]]]]]');
    expect(quoteIdent('a`b')).toBe('[a`b]');
    expect(quoteIdent('a"b')).toBe('[a"b]');
    expect(quoteIdent('a;b')).toBe('[a;b]');
    expect(quoteIdent("it's")).toBe("[it's]");
    expect(quoteIdent('DROP TABLE x')).toBe('[DROP TABLE x]');
    expect(quoteIdent('[x]')).toBe('[[x]]]');
  });

  it('accepts 128 characters and refuses more, an empty name and NUL', () => {
    expect(quoteIdent('a'.repeat(128))).toBe(`[${'a'.repeat(128)}]`);
    expect(() => quoteIdent('a'.repeat(129))).toThrow(expect.objectContaining({ code: 'SINK_SCHEMA_INCOMPATIBLE' }));
    expect(() => quoteIdent('')).toThrow(/1 to 128 characters/);
    expect(() => quoteIdent('a\u0000b')).toThrow(/without NUL/);
  });
});

describe('createTable', () => {
  it('creates the table with its key, NULL-able non-key columns and the binary position column', () => {
    expect(createTable(dbo('orders'), ORDERS)).toEqual({
      sql: [
        "IF OBJECT_ID(@p1, N'U') IS NULL",
        'CREATE TABLE [dbo].[orders] (',
        '  [id] BIGINT NOT NULL,',
        '  [note] NVARCHAR(200) NULL,',
        '  [amount] DECIMAL(10,2) NULL,',
        '  [at] DATETIMEOFFSET(6) NULL,',
        '  [__tributary_position] VARCHAR(64) COLLATE Latin1_General_BIN2 NOT NULL,',
        '  PRIMARY KEY ([id])',
        ');',
      ].join('\n'),
      params: ['[dbo].[orders]'],
    });
  });

  it('quotes hostile names and compares key text in a binary collation', () => {
    expect(createTable({ schema: 'my schema', table: HOSTILE_TABLE.table }, HOSTILE_TABLE)).toEqual({
      sql: [
        "IF OBJECT_ID(@p1, N'U') IS NULL",
        'CREATE TABLE [my schema].[x]]; DROP TABLE y; --] (',
        '  [k]]ey] NVARCHAR(450) COLLATE Latin1_General_BIN2 NOT NULL,',
        '  [a`b] INT NULL,',
        '  [a"b] INT NULL,',
        '  [a]]b] INT NULL,',
        '  [a;b] INT NULL,',
        '  [a b] INT NULL,',
        '  [DROP TABLE x] INT NULL,',
        '  [__tributary_position] VARCHAR(64) COLLATE Latin1_General_BIN2 NOT NULL,',
        '  PRIMARY KEY ([k]]ey])',
        ');',
      ].join('\n'),
      params: ['[my schema].[x]]; DROP TABLE y; --]'],
    });
  });

  it('keeps every non-key column NULL-able even when the source says NOT NULL', () => {
    const table: TableSchema = { ...ORDERS, columns: [column('id', { kind: 'int32' }, false), column('must', { kind: 'boolean' }, false)] };
    expect(createTable(dbo('t'), table).sql).toContain('[must] BIT NULL,');
  });

  it('refuses a table without a primary key, saying how to fix it', () => {
    expect(() => createTable(dbo('t'), { ...ORDERS, primaryKey: [] })).toThrow(
      expect.objectContaining({ code: 'SINK_SCHEMA_INCOMPATIBLE', message: expect.stringMatching(/no primary key.*Fix: add a primary key/) }),
    );
  });
});

describe('schema and introspection', () => {
  it('creates a missing schema through sp_executesql with both names bound', () => {
    expect(ensureSchema('a]b')).toEqual({
      sql: 'IF SCHEMA_ID(@p1) IS NULL EXEC sys.sp_executesql @p2;',
      params: ['a]b', 'CREATE SCHEMA [a]]b];'],
    });
  });

  it('reads columns and the primary key with the names bound, not inlined', () => {
    expect(selectColumns(dbo("it's"))).toEqual({
      sql: [
        'SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION',
        'FROM INFORMATION_SCHEMA.COLUMNS',
        'WHERE TABLE_SCHEMA = @p1 AND TABLE_NAME = @p2',
        'ORDER BY ORDINAL_POSITION;',
      ].join('\n'),
      params: ['dbo', "it's"],
    });
    expect(selectPrimaryKey(dbo("it's"))).toEqual({
      sql: [
        'SELECT k.COLUMN_NAME',
        'FROM INFORMATION_SCHEMA.TABLE_CONSTRAINTS AS c',
        'JOIN INFORMATION_SCHEMA.KEY_COLUMN_USAGE AS k',
        '  ON k.CONSTRAINT_SCHEMA = c.CONSTRAINT_SCHEMA AND k.CONSTRAINT_NAME = c.CONSTRAINT_NAME',
        "WHERE c.CONSTRAINT_TYPE = 'PRIMARY KEY' AND c.TABLE_SCHEMA = @p1 AND c.TABLE_NAME = @p2",
        'ORDER BY k.ORDINAL_POSITION;',
      ].join('\n'),
      params: ['dbo', "it's"],
    });
  });
});

describe('evolution DDL', () => {
  it('adds columns NULL-able in one statement', () => {
    expect(
      addColumns(dbo('orders'), [
        { name: 'a]b', type: { name: 'nvarchar', length: 'max' } },
        { name: 'DROP TABLE x', type: { name: 'decimal', precision: 20, scale: 0 } },
      ]),
    ).toEqual({ sql: 'ALTER TABLE [dbo].[orders] ADD [a]]b] NVARCHAR(MAX) NULL, [DROP TABLE x] DECIMAL(20,0) NULL;', params: [] });
  });

  it('widens one column per statement', () => {
    expect(widenColumn(dbo('orders'), { name: 'note', type: { name: 'nvarchar', length: 400 } })).toEqual({
      sql: 'ALTER TABLE [dbo].[orders] ALTER COLUMN [note] NVARCHAR(400) NULL;',
      params: [],
    });
  });
});

describe('staging', () => {
  it('creates #stage with positional columns, text for DECIMAL and DATETIMEOFFSET, and the key', () => {
    expect(createStage(ORDERS)).toEqual({
      sql: [
        "IF OBJECT_ID(N'tempdb..#stage') IS NOT NULL DROP TABLE #stage;",
        'CREATE TABLE #stage (',
        '  [__tributary_op] VARCHAR(6) COLLATE Latin1_General_BIN2 NOT NULL,',
        '  [__tributary_position] VARCHAR(64) COLLATE Latin1_General_BIN2 NOT NULL,',
        '  [c1] BIGINT NOT NULL,',
        '  [c2] NVARCHAR(200) COLLATE DATABASE_DEFAULT NULL,',
        '  [c3] NVARCHAR(13) COLLATE DATABASE_DEFAULT NULL,',
        '  [c4] NVARCHAR(32) COLLATE DATABASE_DEFAULT NULL,',
        '  PRIMARY KEY ([c1])',
        ');',
      ].join('\n'),
      params: [],
    });
  });

  it('keeps hostile names out of #stage entirely', () => {
    const sql = createStage(HOSTILE_TABLE).sql;
    for (const name of HOSTILE) expect(sql).not.toContain(name);
    expect(sql).toContain('  [c1] NVARCHAR(450) COLLATE Latin1_General_BIN2 NOT NULL,');
  });

  it('merges under the position guard, casting staged text back to the target types', () => {
    expect(merge(dbo('orders'), ORDERS)).toEqual({
      sql: [
        'MERGE [dbo].[orders] WITH (HOLDLOCK) AS t',
        'USING (SELECT [__tributary_op], [__tributary_position], [c1], [c2], CAST([c3] AS DECIMAL(10,2)) AS [c3], CAST([c4] AS DATETIMEOFFSET(6)) AS [c4] FROM #stage) AS s',
        'ON t.[id] = s.[c1]',
        "WHEN MATCHED AND s.[__tributary_op] = 'delete' AND t.[__tributary_position] < s.[__tributary_position] THEN DELETE",
        "WHEN MATCHED AND s.[__tributary_op] = 'upsert' AND t.[__tributary_position] < s.[__tributary_position] THEN",
        '  UPDATE SET t.[note] = s.[c2], t.[amount] = s.[c3], t.[at] = s.[c4], t.[__tributary_position] = s.[__tributary_position]',
        "WHEN NOT MATCHED BY TARGET AND s.[__tributary_op] = 'upsert' THEN",
        '  INSERT ([id], [note], [amount], [at], [__tributary_position]) VALUES (s.[c1], s.[c2], s.[c3], s.[c4], s.[__tributary_position]);',
      ].join('\n'),
      params: [],
    });
  });

  it('leaves unchanged columns out of the UPDATE, and inserts what #stage holds for them (NULL)', () => {
    expect(merge(dbo('orders'), ORDERS, new Set(['note', 'at'])).sql).toBe(
      [
        'MERGE [dbo].[orders] WITH (HOLDLOCK) AS t',
        'USING (SELECT [__tributary_op], [__tributary_position], [c1], [c2], CAST([c3] AS DECIMAL(10,2)) AS [c3], CAST([c4] AS DATETIMEOFFSET(6)) AS [c4] FROM #stage) AS s',
        'ON t.[id] = s.[c1]',
        "WHEN MATCHED AND s.[__tributary_op] = 'delete' AND t.[__tributary_position] < s.[__tributary_position] THEN DELETE",
        "WHEN MATCHED AND s.[__tributary_op] = 'upsert' AND t.[__tributary_position] < s.[__tributary_position] THEN",
        '  UPDATE SET t.[amount] = s.[c3], t.[__tributary_position] = s.[__tributary_position]',
        "WHEN NOT MATCHED BY TARGET AND s.[__tributary_op] = 'upsert' THEN",
        '  INSERT ([id], [note], [amount], [at], [__tributary_position]) VALUES (s.[c1], s.[c2], s.[c3], s.[c4], s.[__tributary_position]);',
      ].join('\n'),
    );
    expect(merge(dbo('orders'), ORDERS, new Set(['note', 'amount', 'at'])).sql).toContain('  UPDATE SET t.[__tributary_position] = s.[__tributary_position]\n');
    expect(merge(dbo('orders'), ORDERS, new Set())).toEqual(merge(dbo('orders'), ORDERS));
  });

  it('matches a composite key and updates only the position when every column is a key', () => {
    const table: TableSchema = {
      namespace: 'shop',
      table: 'links',
      columns: [column('a', { kind: 'int32' }, false), column('b]', { kind: 'date' }, false)],
      primaryKey: ['a', 'b]'],
    };
    const sql = merge(dbo('links'), table).sql;
    expect(sql).toContain('CAST([c2] AS DATE) AS [c2]');
    expect(sql).toContain('ON t.[a] = s.[c1] AND t.[b]]] = s.[c2]');
    expect(sql).toContain('  UPDATE SET t.[__tributary_position] = s.[__tributary_position]\n');
  });

  it('quotes hostile names in the MERGE and refers to the stage only by position', () => {
    const sql = merge({ schema: 'dbo', table: HOSTILE_TABLE.table }, HOSTILE_TABLE).sql;
    expect(sql).toContain('MERGE [dbo].[x]]; DROP TABLE y; --] WITH (HOLDLOCK) AS t');
    expect(sql).toContain('ON t.[k]]ey] = s.[c1]');
    expect(sql).toContain('t.[a`b] = s.[c2], t.[a"b] = s.[c3], t.[a]]b] = s.[c4], t.[a;b] = s.[c5], t.[a b] = s.[c6], t.[DROP TABLE x] = s.[c7]');
    expect(sql).toContain('INSERT ([k]]ey], [a`b], [a"b], [a]]b], [a;b], [a b], [DROP TABLE x], [__tributary_position])');
  });

  it('drops the stage', () => {
    expect(dropStage()).toEqual({ sql: 'DROP TABLE #stage;', params: [] });
  });
});

describe('truncateBefore', () => {
  it('deletes only rows written before the truncate, with the position bound', () => {
    expect(truncateBefore(dbo('a]b'), '000000000042')).toEqual({
      sql: 'DELETE FROM [dbo].[a]]b] WHERE [__tributary_position] < @p1;',
      params: ['000000000042'],
    });
  });
});
