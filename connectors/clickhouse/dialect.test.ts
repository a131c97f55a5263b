import { describe, expect, it } from 'vitest';
import type { ColumnType } from '#core/column-type.ts';
import type { ColumnSchema, TableSchema } from '#core/table-schema.ts';
import {
  addColumnsSql,
  clickHouseType,
  createTableSql,
  createViewSql,
  formatType,
  insertStatement,
  parseType,
  pendingMutationsQuery,
  quoteIdent,
  quoteString,
  storedValuesQuery,
  tablesQuery,
  truncateSql,
} from './dialect.ts';
import { serverFeatures } from './features.ts';

const OLD = serverFeatures('18.16.1', new Set());
const NEW = serverFeatures('24.8.4.13', new Set(['mutations_sync', 'insert_deduplication_token', 'non_replicated_deduplication_window', 'fsync_after_insert']));

const column = (name: string, type: ColumnType, sourceType: string = type.kind): ColumnSchema => ({ name, type, nullable: true, sourceType });

const TABLE: TableSchema = {
  namespace: 'shop',
  table: 'orders',
  primaryKey: ['id', 'region'],
  columns: [column('id', { kind: 'int64' }), column('region', { kind: 'string' }), column('total', { kind: 'decimal', precision: 12, scale: 2 })],
};

describe('quoteIdent and quoteString', () => {
  it('backquote any name, escaping what ClickHouse escapes', () => {
    expect(quoteIdent('orders')).toBe('`orders`');
    expect(quoteIdent('DROP TABLE x')).toBe('`DROP TABLE x`');
    expect(quoteIdent('a`b')).toBe('`a\\`b`');
    expect(quoteIdent('x"];--')).toBe('`x"];--`');
    expect(quoteIdent('back\\slash')).toBe('`back\\\\slash`');
    expect(quoteIdent('tab\there\nnl\0')).toBe('`tab\\there\\nnl\\0`');
    expect(quoteIdent("it's")).toBe("`it's`");
    expect(quoteIdent('Zoë 😀')).toBe('`Zoë 😀`');
  });

  it('single-quote strings the same way', () => {
    expect(quoteString("it's")).toBe("'it\\'s'");
    expect(quoteString('a`b\\c')).toBe("'a`b\\\\c'");
    expect(quoteString("'; DROP TABLE x; --")).toBe("'\\'; DROP TABLE x; --'");
  });
});

describe('clickHouseType', () => {
  const cases: Array<[ColumnType, old: string, current: string]> = [
    [{ kind: 'boolean' }, 'UInt8', 'UInt8'],
    [{ kind: 'int16' }, 'Int16', 'Int16'],
    [{ kind: 'int32' }, 'Int32', 'Int32'],
    [{ kind: 'int64' }, 'Int64', 'Int64'],
    [{ kind: 'float32' }, 'Float32', 'Float32'],
    [{ kind: 'float64' }, 'Float64', 'Float64'],
    [{ kind: 'decimal', precision: 9, scale: 2 }, 'Decimal(9, 2)', 'Decimal(9, 2)'],
    [{ kind: 'decimal', precision: 38, scale: 10 }, 'Decimal(38, 10)', 'Decimal(38, 10)'],
    [{ kind: 'decimal', precision: 65, scale: 30 }, 'String', 'Decimal(65, 30)'],
    [{ kind: 'decimal', precision: 100, scale: 2 }, 'String', 'String'],
    [{ kind: 'string', length: 10 }, 'String', 'String'],
    [{ kind: 'json' }, 'String', 'String'],
    [{ kind: 'enum', values: ['a'] }, 'String', 'String'],
    [{ kind: 'set', values: ['a'] }, 'String', 'String'],
    [{ kind: 'uuid' }, 'UUID', 'UUID'],
    [{ kind: 'bytes' }, 'String', 'String'],
    [{ kind: 'bits', length: 64 }, 'UInt64', 'UInt64'],
    [{ kind: 'bits', length: 65 }, 'String', 'String'],
    [{ kind: 'date' }, 'Int32', 'Date32'],
    [{ kind: 'time' }, 'Int64', 'Int64'],
    [{ kind: 'timestamp' }, 'Int64', "DateTime64(6, 'UTC')"],
    [{ kind: 'timestamptz' }, 'Int64', "DateTime64(6, 'UTC')"],
    [{ kind: 'year' }, 'Int32', 'Int32'],
    [{ kind: 'numeric' }, 'String', 'String'],
    [{ kind: 'timetz' }, 'String', 'String'],
    [{ kind: 'interval' }, 'String', 'String'],
  ];

  it.each(cases)('maps %o to %s on 18.16 and %s on current servers; keys are not Nullable', (type, old, current) => {
    expect(formatType(clickHouseType(column('c', type), true, OLD))).toBe(old);
    expect(formatType(clickHouseType(column('c', type), false, OLD))).toBe(`Nullable(${old})`);
    expect(formatType(clickHouseType(column('c', type), true, NEW))).toBe(current);
  });

  it('reads back what system.columns prints, and nothing it does not write', () => {
    for (const [type] of cases) {
      for (const features of [OLD, NEW]) {
        const written = clickHouseType(column('c', type), false, features);
        expect(parseType(formatType(written))).toEqual(written);
      }
    }
    expect(parseType('Decimal128(10)')).toEqual({ base: { name: 'Decimal', precision: 38, scale: 10 }, nullable: false });
    expect(parseType("Nullable(DateTime64(6,'UTC'))")).toEqual({ base: { name: 'DateTime64', precision: 6, timezone: 'UTC' }, nullable: true });
    expect(parseType('DateTime64(3)')).toEqual({ base: { name: 'DateTime64', precision: 3 }, nullable: false });
    expect(parseType('LowCardinality(String)')).toBeUndefined();
    expect(parseType('Date')).toBeUndefined();
  });
});

describe('clickHouseType of arrays', () => {
  const arrays: Array<[ColumnType, old: string, current: string]> = [
    [{ kind: 'array', items: { kind: 'int64' } }, 'Array(Nullable(Int64))', 'Array(Nullable(Int64))'],
    [{ kind: 'array', items: { kind: 'string' } }, 'Array(Nullable(String))', 'Array(Nullable(String))'],
    [{ kind: 'array', items: { kind: 'decimal', precision: 40, scale: 10 } }, 'Array(Nullable(String))', 'Array(Nullable(Decimal(40, 10)))'],
    [{ kind: 'array', items: { kind: 'decimal', precision: 20, scale: 2 } }, 'Array(Nullable(Decimal(20, 2)))', 'Array(Nullable(Decimal(20, 2)))'],
    [{ kind: 'array', items: { kind: 'numeric' } }, 'Array(Nullable(String))', 'Array(Nullable(String))'],
    [{ kind: 'array', items: { kind: 'date' } }, 'Array(Nullable(Int32))', 'Array(Nullable(Date32))'],
    [{ kind: 'array', items: { kind: 'uuid' } }, 'Array(Nullable(UUID))', 'Array(Nullable(UUID))'],
    [{ kind: 'array', items: { kind: 'timestamptz' } }, 'Array(Nullable(Int64))', "Array(Nullable(DateTime64(6, 'UTC')))"],
  ];

  it.each(arrays)('maps %o to %s on 18.16 and %s on current servers, never Nullable itself', (type, old, current) => {
    expect(formatType(clickHouseType(column('c', type), false, OLD))).toBe(old);
    expect(formatType(clickHouseType(column('c', type), false, NEW))).toBe(current);
    for (const features of [OLD, NEW]) {
      const written = clickHouseType(column('c', type), false, features);
      expect(parseType(formatType(written))).toEqual(written);
    }
  });

  it('reads arrays as system.columns prints them', () => {
    expect(parseType('Array(Nullable(Decimal(38, 10)))')).toEqual({
      base: { name: 'Array', items: { base: { name: 'Decimal', precision: 38, scale: 10 }, nullable: true } },
      nullable: false,
    });
    expect(parseType('Array(Int32)')).toEqual({ base: { name: 'Array', items: { base: { name: 'Int32' }, nullable: false } }, nullable: false });
    expect(parseType('Array(LowCardinality(String))')).toBeUndefined();
  });
});

describe('storedValuesQuery', () => {
  it('selects the keys and the asked columns under FINAL for a list of key literals, as RowBinary', () => {
    expect(storedValuesQuery('d`b', 'we`ird', ['id'], ['body', 'a b'], [["toInt64('1')"], ["toInt64('-2')"]])).toBe(
      "SELECT `id`, `body`, `a b` FROM `d\\`b`.`we\\`ird` FINAL WHERE `id` IN (toInt64('1'), toInt64('-2')) FORMAT RowBinary",
    );
    expect(storedValuesQuery('db', 't', ['id', 'region'], ['body'], [["toInt64('1')", "unhex('6575')"]])).toBe(
      "SELECT `id`, `region`, `body` FROM `db`.`t` FINAL WHERE (`id`, `region`) IN ((toInt64('1'), unhex('6575'))) FORMAT RowBinary",
    );
  });
});

describe('createTableSql', () => {
  it('on 18.16: ReplacingMergeTree(version), deleted flag as a plain column, no table settings', () => {
    expect(createTableSql('analytics', TABLE, OLD)).toBe(
      [
        'CREATE TABLE IF NOT EXISTS `analytics`.`orders`',
        '(',
        '    `id` Int64,',
        '    `region` String,',
        '    `total` Nullable(Decimal(12, 2)),',
        '    `__tributary_version` UInt64,',
        '    `__tributary_deleted` UInt8,',
        '    `__tributary_position` String',
        ')',
        'ENGINE = ReplacingMergeTree(`__tributary_version`)',
        'ORDER BY (`id`, `region`)',
      ].join('\n'),
    );
  });

  it('on current servers: is_deleted engine parameter, insert hashes kept, fsync after insert', () => {
    const sql = createTableSql('analytics', TABLE, NEW);
    expect(sql).toContain('ENGINE = ReplacingMergeTree(`__tributary_version`, `__tributary_deleted`)\nORDER BY (`id`, `region`)\n');
    expect(sql).toMatch(/\nSETTINGS non_replicated_deduplication_window = 1000, fsync_after_insert = 1$/);
  });

  it('quotes hostile database, table and column names', () => {
    const hostile: TableSchema = {
      namespace: 'x',
      table: 'we`ird "t" ]; DROP TABLE y',
      primaryKey: ['k`;'],
      columns: [column('k`;', { kind: 'int32' }), column('DROP TABLE x', { kind: 'string' })],
    };
    const sql = createTableSql('d`b', hostile, OLD);
    expect(sql).toContain('CREATE TABLE IF NOT EXISTS `d\\`b`.`we\\`ird "t" ]; DROP TABLE y`\n');
    expect(sql).toContain('    `k\\`;` Int32,\n    `DROP TABLE x` Nullable(String),\n');
    expect(sql).toContain('ORDER BY (`k\\`;`)');
  });
});

describe('other statements', () => {
  it('adds columns in one ALTER', () => {
    expect(
      addColumnsSql('db', 't', [
        { name: 'note', type: { base: { name: 'String' }, nullable: true } },
        { name: 'a b', type: { base: { name: 'Decimal', precision: 10, scale: 2 }, nullable: true } },
      ]),
    ).toBe('ALTER TABLE `db`.`t` ADD COLUMN `note` Nullable(String), ADD COLUMN `a b` Nullable(Decimal(10, 2))');
  });

  it('inserts RowBinary with the column list in the body, not the URL', () => {
    expect(insertStatement('db', 't', ['id', 'x`y', '__tributary_version'])).toEqual({
      query: 'INSERT INTO `db`.`t`',
      bodyPrefix: ' (`id`, `x\\`y`, `__tributary_version`) FORMAT RowBinary\n',
    });
  });

  it('truncates by version with a mutation', () => {
    expect(truncateSql('db', 't', 17592186454017n)).toBe('ALTER TABLE `db`.`t` DELETE WHERE `__tributary_version` < 17592186454017');
  });

  it('creates the _current view that hides deleted rows', () => {
    expect(createViewSql('db', 'orders', 'create')).toBe(
      'CREATE VIEW IF NOT EXISTS `db`.`orders_current` AS SELECT * FROM `db`.`orders` FINAL WHERE `__tributary_deleted` = 0',
    );
    expect(createViewSql('db', 'orders', 'replace')).toMatch(/^CREATE OR REPLACE VIEW `db`.`orders_current` AS /);
  });

  it('looks names up in system tables as quoted literals', () => {
    expect(tablesQuery("d'b", ['t', 't_current'])).toBe(
      "SELECT name, engine, engine_full, create_table_query FROM system.tables WHERE database = 'd\\'b' AND name IN ('t', 't_current')",
    );
    expect(pendingMutationsQuery('db', "x'); DROP TABLE y; --")).toBe(
      "SELECT count() AS pending FROM system.mutations WHERE database = 'db' AND table = 'x\\'); DROP TABLE y; --' AND is_done = 0",
    );
  });
});

describe('serverFeatures', () => {
  it('turns everything off on 18.16 and on with the versions and settings that bring them', () => {
    expect(OLD).toEqual({
      version: '18.16.1',
      isDeletedEngine: false,
      extendedTypes: false,
      mutationsSync: false,
      deduplicationToken: false,
      fsyncAfterInsert: false,
    });
    expect(NEW).toMatchObject({ isDeletedEngine: true, extendedTypes: true, mutationsSync: true, deduplicationToken: true, fsyncAfterInsert: true });
    expect(serverFeatures('23.1.2', new Set())).toMatchObject({ isDeletedEngine: false, extendedTypes: true });
    expect(serverFeatures('23.2.1', new Set())).toMatchObject({ isDeletedEngine: true });
    expect(serverFeatures('22.7.1', new Set())).toMatchObject({ extendedTypes: false });
    expect(serverFeatures('garbage', new Set())).toMatchObject({ isDeletedEngine: false, extendedTypes: false });
    expect(serverFeatures('22.3', new Set(['insert_deduplication_token']))).toMatchObject({ deduplicationToken: false });
  });
});
