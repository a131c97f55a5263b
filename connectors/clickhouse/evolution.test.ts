import { describe, expect, it } from 'vitest';
import type { ColumnType } from '#core/column-type.ts';
import type { ColumnSchema, TableSchema } from '#core/table-schema.ts';
import { formatType } from './dialect.ts';
import { checkSourceTable, engineArguments, existingTablePlan, newTablePlan, type ExistingTable } from './evolution.ts';
import { serverFeatures } from './features.ts';

const OLD = serverFeatures('18.16.1', new Set());
const NEW = serverFeatures('24.8.1', new Set(['insert_deduplication_token', 'non_replicated_deduplication_window']));

const column = (name: string, type: ColumnType, sourceType: string = type.kind): ColumnSchema => ({ name, type, nullable: true, sourceType });
const table = (columns: ColumnSchema[], primaryKey = ['id']): TableSchema => ({ namespace: 'shop', table: 'orders', columns, primaryKey });

const V1 = table([column('id', { kind: 'int64' }), column('qty', { kind: 'int32' })]);

function existing(columns: Array<[string, string, boolean?]>, engineFull = 'ReplacingMergeTree(__tributary_version) ORDER BY id'): ExistingTable {
  return {
    engine: 'ReplacingMergeTree',
    engineFull,
    createQuery: `CREATE TABLE db.orders (...) ENGINE = ${engineFull}`,
    columns: [
      ...columns.map(([name, type, key]) => ({ name, type, inSortingKey: key ?? false })),
      { name: '__tributary_version', type: 'UInt64', inSortingKey: false },
      { name: '__tributary_deleted', type: 'UInt8', inSortingKey: false },
      { name: '__tributary_position', type: 'String', inSortingKey: false },
    ],
  };
}

const TARGET_V1 = existing([
  ['id', 'Int64', true],
  ['qty', 'Nullable(Int32)'],
]);

describe('checkSourceTable', () => {
  it('refuses tables without a primary key or with a reserved column name', () => {
    expect(() => checkSourceTable(table([column('a', { kind: 'int32' })], []))).toThrow(/shop\.orders has no primary key.*add a primary key at the source or exclude/);
    expect(() => checkSourceTable(table([column('id', { kind: 'int32' }), column('__tributary_version', { kind: 'int64' })]))).toThrow(/reserves/);
    expect(() => checkSourceTable(table([column('a', { kind: 'int32' })], ['id']))).toThrow(/not among its columns/);
    expect(() => checkSourceTable(V1)).not.toThrow();
  });

  it('refuses an array key column and arrays of arrays', () => {
    const ints = { kind: 'array', items: { kind: 'int32' } } as const;
    expect(() => checkSourceTable(table([column('id', ints, 'int4[]')]))).toThrow(/key column id is an array \(int4\[\]\).*exclude the table/);
    expect(() => checkSourceTable(table([column('id', { kind: 'int32' }), column('m', { kind: 'array', items: ints })]))).toThrow(/column m is an array of arrays/);
    expect(() => checkSourceTable(table([column('id', { kind: 'int32' }), column('a', ints)]))).not.toThrow();
  });
});

describe('existingTablePlan', () => {
  it('changes nothing when the table matches', () => {
    const plan = existingTablePlan('db', V1, TARGET_V1, OLD);
    expect(plan.add).toEqual([]);
    expect(plan.columns.map((c) => c.type)).toEqual(newTablePlan(V1, OLD).columns.map((c) => c.type));
    expect(plan).toMatchObject({ isDeletedEngine: false, deduplication: false });
  });

  it('adds the columns a new schema version brings, Nullable', () => {
    const v2 = table([...V1.columns, column('note', { kind: 'string' }), column('at', { kind: 'timestamp' })]);
    expect(existingTablePlan('db', v2, TARGET_V1, OLD).add).toEqual([
      { name: 'note', type: { base: { name: 'String' }, nullable: true } },
      { name: 'at', type: { base: { name: 'Int64' }, nullable: true } },
    ]);
  });

  it('adds columns of the PostgreSQL kinds: text as Nullable(String), arrays as Array(Nullable(T)), and writes into them', () => {
    const v2 = table([...V1.columns, column('n', { kind: 'numeric' }), column('span', { kind: 'interval' }), column('tags', { kind: 'array', items: { kind: 'int64' } })]);
    const add = existingTablePlan('db', v2, TARGET_V1, OLD).add;
    expect(add.map((c) => [c.name, formatType(c.type)])).toEqual([
      ['n', 'Nullable(String)'],
      ['span', 'Nullable(String)'],
      ['tags', 'Array(Nullable(Int64))'],
    ]);
    const target = existing([['id', 'Int64', true], ['qty', 'Nullable(Int32)'], ['n', 'Nullable(String)'], ['span', 'Nullable(String)'], ['tags', 'Array(Nullable(Int64))']]);
    expect(existingTablePlan('db', v2, target, OLD).add).toEqual([]);
    // An int32 array into the Int64 items holds every value; items that are not Nullable cannot take NULL elements.
    const narrower = table([...V1.columns, column('tags', { kind: 'array', items: { kind: 'int32' } })]);
    expect(existingTablePlan('db', narrower, target, OLD).add).toEqual([]);
    expect(() => existingTablePlan('db', narrower, existing([['id', 'Int64', true], ['tags', 'Array(Int64)']]), OLD)).toThrow(
      /column `tags` is Array\(Int64\) in ClickHouse, which cannot hold array\(int32\).*MODIFY COLUMN `tags` Array\(Nullable\(Int32\)\)/,
    );
    // A string column whose source became numeric keeps its String column; a numeric one cannot go to Decimal.
    const wasText = table([column('id', { kind: 'int64' }), column('qty', { kind: 'numeric' })]);
    expect(existingTablePlan('db', wasText, existing([['id', 'Int64', true], ['qty', 'Nullable(String)']]), OLD).add).toEqual([]);
    expect(() => existingTablePlan('db', wasText, existing([['id', 'Int64', true], ['qty', 'Nullable(Decimal(38, 10))']]), OLD)).toThrow(/cannot hold numeric/);
  });

  it('writes into a wider target column as it is, and keeps columns the source dropped', () => {
    const narrowed = table([column('id', { kind: 'int64' }), column('qty', { kind: 'int16' })]);
    const plan = existingTablePlan('db', narrowed, existing([['id', 'Int64', true], ['qty', 'Nullable(Int32)'], ['gone', 'Nullable(String)']]), OLD);
    expect(plan.add).toEqual([]);
    expect(plan.columns[1]?.type).toEqual({ base: { name: 'Int32' }, nullable: true });
  });

  it('refuses a type the target cannot hold, naming table, column, both types and the fix', () => {
    const changed = table([column('id', { kind: 'int64' }), column('qty', { kind: 'string', length: 20 }, 'varchar(20)')]);
    expect(() => existingTablePlan('db', changed, TARGET_V1, OLD)).toThrow(
      'schema of shop.orders cannot be applied to ClickHouse table `db`.`orders`: column `qty` is Nullable(Int32) in ClickHouse, ' +
        'which cannot hold string (varchar(20) at the source); fix: ALTER TABLE `db`.`orders` MODIFY COLUMN `qty` Nullable(String)',
    );
    const widened = table([column('id', { kind: 'int64' }), column('qty', { kind: 'int64' })]);
    expect(() => existingTablePlan('db', widened, TARGET_V1, OLD)).toThrow(/MODIFY COLUMN `qty` Nullable\(Int64\)/);
  });

  it('refuses a changed primary key', () => {
    const rekeyed = table(V1.columns, ['id', 'qty']);
    expect(() => existingTablePlan('db', rekeyed, TARGET_V1, OLD)).toThrow(/primary key is \(id, qty\) but the table is ordered by \(id\).*drop `db`\.`orders`/);
  });

  it('refuses a table Tributary did not create', () => {
    const other = { ...TARGET_V1, engine: 'MergeTree', engineFull: 'MergeTree ORDER BY id' };
    expect(() => existingTablePlan('db', V1, other, OLD)).toThrow(/not a ReplacingMergeTree versioned by __tributary_version/);
    const unversioned = { ...TARGET_V1, engineFull: 'ReplacingMergeTree ORDER BY id' };
    expect(() => existingTablePlan('db', V1, unversioned, OLD)).toThrow(/not a ReplacingMergeTree versioned by __tributary_version/);
  });

  it('reads the is_deleted parameter and the deduplication window from the table', () => {
    const modern = existing(
      [['id', 'Int64', true], ['qty', 'Nullable(Int32)']],
      'ReplacingMergeTree(`__tributary_version`, `__tributary_deleted`) ORDER BY id SETTINGS non_replicated_deduplication_window = 1000, index_granularity = 8192',
    );
    expect(existingTablePlan('db', V1, modern, NEW)).toMatchObject({ isDeletedEngine: true, deduplication: true });
    // A table created on 18.16 keeps its fallbacks after the server is upgraded.
    expect(existingTablePlan('db', V1, TARGET_V1, NEW)).toMatchObject({ isDeletedEngine: false, deduplication: false });
  });
});

describe('engineArguments', () => {
  it('splits at commas outside quotes and unquotes', () => {
    expect(engineArguments('ReplacingMergeTree(__tributary_version) ORDER BY id')).toEqual(['__tributary_version']);
    expect(engineArguments("ReplicatedReplacingMergeTree('/ch/t,x', '{replica}', `__tributary_version`, __tributary_deleted) ORDER BY id")).toEqual([
      '/ch/t,x',
      '{replica}',
      '__tributary_version',
      '__tributary_deleted',
    ]);
    expect(engineArguments('MergeTree ORDER BY id')).toEqual([]);
  });
});
