import { describe, expect, it } from 'vitest';
import { parseConfig } from '#config/load.ts';
import type { SinkConfig } from '#config/schema.ts';
import { TributaryError } from '#core/errors.ts';
import type { TableSchema } from '#core/table-schema.ts';
import { clickHouseChecksum } from '#connectors/clickhouse/checksum.ts';
import { mySqlChecksum } from '#mysql/checksum.ts';
import { catalogColumns, planTable, selectTables, sinkConsumes, targetTableOf, type CatalogColumn } from './tables.ts';

const CONFIG = parseConfig(`kafka: { brokers: k:9092, topicPrefix: tb }
schemaRegistry: { url: http://r:8081 }
sinks:
  - { name: replica, type: mariadb, topics: { pattern: '^tb\\.shop\\.' }, connection: { host: db, user: u, database: copy } }
  - { name: listed, type: clickhouse, topics: [tb.shop.orders], connection: { url: 'http://ch:8123', database: wh } }
  - { name: mssql, type: sqlserver, topics: [tb.shop.orders], connection: { host: ms, user: u, database: d } }
  - { name: files, type: lake, topics: [tb.shop.orders], connection: { path: /tmp/lake } }
`);
const sink = (name: string) => CONFIG.sinks.find((s) => s.name === name) as SinkConfig;

const ORDERS: TableSchema = {
  namespace: 'shop',
  table: 'orders',
  primaryKey: ['id'],
  columns: [
    { name: 'id', type: { kind: 'int64' }, nullable: false, sourceType: 'bigint(20)' },
    { name: 'card', type: { kind: 'string', length: 20 }, nullable: true, sourceType: 'varchar(20)' },
    { name: 'secret', type: { kind: 'string', length: 20 }, nullable: true, sourceType: 'varchar(20)' },
    { name: 'tags', type: { kind: 'array', items: { kind: 'int32' } }, nullable: true, sourceType: 'integer[]' },
    { name: 'added', type: { kind: 'date' }, nullable: true, sourceType: 'date' },
    { name: 'total', type: { kind: 'decimal', precision: 12, scale: 2 }, nullable: true, sourceType: 'decimal(12,2)' },
  ],
};
const ITEMS: TableSchema = { ...ORDERS, table: 'items' };
const OTHER: TableSchema = { ...ORDERS, namespace: 'crm' };

const column = (name: string, type: string, collation: string | null = null): CatalogColumn => ({ name, type, collation });
const SOURCE_CATALOG = [column('id', 'bigint(20)'), column('card', 'varchar(20)', 'utf8mb4_general_ci'), column('secret', 'varchar(20)'), column('tags', 'json'), column('added', 'date'), column('total', 'decimal(12,2)')];
const TARGET_CATALOG = [
  column('id', 'Int64'),
  column('card', 'Nullable(String)'),
  column('tags', 'Array(Nullable(Int32))'),
  column('total', 'Nullable(Decimal(12, 2))'),
  column('__tributary_version', 'UInt64'),
  column('__tributary_deleted', 'UInt8'),
];

function plan(overrides: { table?: TableSchema; target?: CatalogColumn[]; policy?: { exclude?: string[]; mask?: string[] } } = {}) {
  return planTable({
    table: overrides.table ?? ORDERS,
    columnPolicy: { exclude: overrides.policy?.exclude ?? [], mask: overrides.policy?.mask ?? [], maskSalt: 's' },
    source: { location: { namespace: 'shop', table: 'orders' }, catalog: SOURCE_CATALOG, dialect: mySqlChecksum },
    target: { location: { namespace: 'wh', table: 'orders' }, catalog: overrides.target ?? TARGET_CATALOG, dialect: clickHouseChecksum, clickHouse: true },
  });
}

describe('which target table holds a source table', () => {
  it('is the table name in the sink\'s database (SQL Server: its dbo schema), whatever the source namespace', () => {
    expect(targetTableOf(sink('replica'), ORDERS)).toEqual({ namespace: 'copy', table: 'orders' });
    expect(targetTableOf(sink('listed'), OTHER)).toEqual({ namespace: 'wh', table: 'orders' });
    expect(targetTableOf(sink('mssql'), ORDERS)).toEqual({ namespace: 'dbo', table: 'orders' });
    expect(() => targetTableOf(sink('files'), ORDERS)).toThrow(/writes files/);
  });

  it('is verified only when the sink consumes its topic', () => {
    expect(sinkConsumes(sink('replica'), 'tb', ITEMS)).toBe(true);
    expect(sinkConsumes(sink('replica'), 'tb', OTHER)).toBe(false);
    expect(sinkConsumes(sink('listed'), 'tb', ITEMS)).toBe(false);
    expect(selectTables([ORDERS, ITEMS, OTHER], [], sink('replica'), 'tb')).toEqual([ORDERS, ITEMS]);
    expect(selectTables([ORDERS, ITEMS, OTHER], ['shop.items'], sink('replica'), 'tb')).toEqual([ITEMS]);
    expect(() => selectTables([ORDERS, ITEMS], ['shop.nope'], sink('replica'), 'tb')).toThrow(/shop\.nope is not captured by the source \(captured: shop\.orders, shop\.items\)/);
    expect(() => selectTables([ORDERS, ITEMS], ['shop.items'], sink('listed'), 'tb')).toThrow(TributaryError);
    expect(() => selectTables([ORDERS, ITEMS], ['shop.items'], sink('listed'), 'tb')).toThrow(/does not consume the topic of shop\.items \(tb\.shop\.items\)/);
  });
});

describe('planTable', () => {
  it('compares the columns both servers can bring to the canonical form, and says why the others are left out', () => {
    const result = plan({ policy: { mask: ['shop.orders.secret'] } });
    if (!result.ok) throw new Error(result.problem);
    expect(result.source.columns.map((c) => [c.name, c.storedAs, c.collation])).toEqual([
      ['id', 'bigint(20)', null],
      ['card', 'varchar(20)', 'utf8mb4_general_ci'],
      ['total', 'decimal(12,2)', null],
    ]);
    expect(result.target.columns.map((c) => [c.name, c.storedAs])).toEqual([
      ['id', 'Int64'],
      ['card', 'Nullable(String)'],
      ['total', 'Nullable(Decimal(12, 2))'],
    ]);
    expect(result.source.key).toEqual(['id']);
    expect(result.target).toMatchObject({ namespace: 'wh', table: 'orders', key: ['id'] });
    expect(result.notes).toEqual([
      'column secret is masked at the source: not compared',
      'column tags is not compared: arrays are compared nowhere yet (their JSON text differs between engines)',
      'column added is missing from the target table: not compared',
    ]);
    expect(plan({ policy: { exclude: ['shop.orders.card'] } }).notes).toContain('column card is excluded at the source: not compared');
  });

  it('refuses tables it cannot compare, naming the reason', () => {
    const problem = (result: ReturnType<typeof plan>) => (result.ok ? 'ok' : result.problem);
    expect(problem(plan({ table: { ...ORDERS, primaryKey: [] } }))).toBe('it has no primary key (no sink can copy it either)');
    expect(problem(plan({ target: [] }))).toBe('the target table wh.orders does not exist');
    expect(problem(plan({ target: TARGET_CATALOG.filter((c) => c.name !== '__tributary_deleted') }))).toMatch(/has no __tributary_deleted column/);
    expect(problem(plan({ target: TARGET_CATALOG.filter((c) => c.name !== 'id') }))).toBe('key column id is missing from the target table wh.orders');
    const floatKey: TableSchema = { ...ORDERS, columns: [{ name: 'id', type: { kind: 'float64' }, nullable: false, sourceType: 'double' }], primaryKey: ['id'] };
    expect(
      problem(
        planTable({
          table: floatKey,
          columnPolicy: { exclude: [], mask: [], maskSalt: '' },
          source: { location: { namespace: 'shop', table: 'orders' }, catalog: [column('id', 'double')], dialect: mySqlChecksum },
          target: { location: { namespace: 'wh', table: 'orders' }, catalog: [column('id', 'Float64'), column('__tributary_deleted', 'UInt8')], dialect: clickHouseChecksum, clickHouse: true },
        }),
      ),
    ).toBe('key column id cannot be cut into ranges: a float64 key has no order that every engine shares');
  });
});

describe('catalogColumns', () => {
  it('keeps the rows of exactly the table asked for when information_schema matched others in another case', () => {
    const rows = [
      { tableName: 'Orders', name: 'ID', type: 'int', collation: null },
      { tableName: 'orders', name: 'id', type: 'bigint(20)', collation: null },
    ];
    expect(catalogColumns(rows, 'orders')).toEqual([{ name: 'id', type: 'bigint(20)', collation: null }]);
    expect(catalogColumns(rows.slice(0, 1), 'orders')).toEqual([{ name: 'ID', type: 'int', collation: null }]);
    expect(catalogColumns([{ name: 'x', type: 'String' }], 't')).toEqual([{ name: 'x', type: 'String', collation: null }]);
  });
});
