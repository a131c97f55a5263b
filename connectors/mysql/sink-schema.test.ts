import { describe, expect, it } from 'vitest';
import type { ColumnType } from '#core/column-type.ts';
import { TributaryError } from '#core/errors.ts';
import type { ColumnSchema, TableSchema } from '#core/table-schema.ts';
import { compareTypes, planSchemaChanges, type ExistingTable, type TypeVerdict } from './sink-schema.ts';

const col = (name: string, type: ColumnType, sourceType: string = type.kind): ColumnSchema => ({ name, type, nullable: true, sourceType });

const v1: TableSchema = {
  namespace: 'shop',
  table: 'orders',
  columns: [col('id', { kind: 'int32' }, 'int(11)'), col('total', { kind: 'decimal', precision: 10, scale: 2 }, 'decimal(10,2)'), col('note', { kind: 'string', length: 100 }, 'varchar(100)')],
  primaryKey: ['id'],
};

/** v1 as the sink creates it, as information_schema on MariaDB reports it. */
const created: ExistingTable = {
  columns: [
    { name: 'id', columnType: 'int(11)', nullable: false },
    { name: 'total', columnType: 'decimal(10,2)', nullable: true },
    { name: 'note', columnType: 'varchar(100)', nullable: true },
    { name: '__tributary_position', columnType: 'varchar(64)', nullable: false },
  ],
  primaryKey: ['id'],
};

const withColumns = (columns: ColumnSchema[], primaryKey = v1.primaryKey): TableSchema => ({ ...v1, columns, primaryKey });

function refusal(table: TableSchema, existing: ExistingTable): string {
  let caught: unknown;
  try {
    planSchemaChanges('sink', table, existing);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(TributaryError);
  expect((caught as TributaryError).code).toBe('SINK_SCHEMA_INCOMPATIBLE');
  expect((caught as TributaryError).retriable).toBe(false);
  return (caught as TributaryError).message;
}

describe('compareTypes', () => {
  const cases: Array<[existing: string, needed: string, verdict: TypeVerdict]> = [
    ['int(11)', 'INT', 'same'],
    ['int', 'INT', 'same'], // MySQL 8 prints no display width
    ['tinyint(1)', 'TINYINT(1)', 'same'],
    ['tinyint(1)', 'SMALLINT', 'wider'],
    ['int(11)', 'BIGINT', 'wider'],
    ['bigint(20)', 'INT', 'narrower'],
    ['bigint(20)', 'DECIMAL(20,0)', 'wider'],
    ['bigint(20)', 'DECIMAL(19,0)', 'wider'],
    ['bigint(20)', 'DECIMAL(18,0)', 'narrower'],
    ['decimal(20,0)', 'BIGINT', 'narrower'],
    ['int(10) unsigned', 'BIGINT', 'wider'],
    ['int(10) unsigned', 'INT', 'narrower'],
    ['decimal(10,2)', 'DECIMAL(10,2)', 'same'],
    ['decimal(10,2)', 'DECIMAL(12,4)', 'wider'],
    ['decimal(10,2)', 'DECIMAL(12,2)', 'wider'],
    ['decimal(10,4)', 'DECIMAL(12,2)', 'narrower'],
    ['decimal(10,2)', 'DECIMAL(8,2)', 'narrower'],
    ['float', 'DOUBLE', 'wider'],
    ['double', 'FLOAT', 'narrower'],
    ['int(11)', 'DOUBLE', 'changed'],
    ['varchar(100)', 'VARCHAR(100)', 'same'],
    ['varchar(100)', 'VARCHAR(200)', 'wider'],
    ['varchar(100)', 'VARCHAR(50)', 'narrower'],
    ['varchar(100)', 'LONGTEXT', 'wider'],
    ['longtext', 'VARCHAR(50)', 'same'], // unbounded: the sink's own choice for a too-wide row
    ['text', 'VARCHAR(200)', 'same'],
    ['text', 'LONGTEXT', 'wider'],
    ['char(36)', 'CHAR(36)', 'same'],
    ['longtext', 'JSON', 'same'], // MariaDB's JSON
    ['json', 'JSON', 'same'],
    ['json', 'LONGTEXT', 'changed'],
    ['varchar(100)', 'JSON', 'changed'],
    ['varbinary(16)', 'VARBINARY(32)', 'wider'],
    ['varbinary(16)', 'LONGBLOB', 'wider'],
    ['longblob', 'VARBINARY(16)', 'same'],
    ['varbinary(16)', 'VARCHAR(16)', 'changed'],
    ['bit(8)', 'BIT(64)', 'wider'],
    ['bit(64)', 'BIT(8)', 'narrower'],
    ['datetime(3)', 'DATETIME(6)', 'wider'],
    ['datetime(6)', 'DATETIME(6)', 'same'],
    ['timestamp(6)', 'DATETIME(6)', 'changed'],
    ['date', 'DATETIME(6)', 'changed'],
    ['time(6)', 'TIME(6)', 'same'],
    ['year(4)', 'YEAR', 'same'],
    ["enum('a','b')", 'VARCHAR(255)', 'changed'],
  ];

  it.each(cases)('%s → %s is %s', (existing, needed, verdict) => {
    expect(compareTypes(existing, needed)).toBe(verdict);
  });
});

describe('planSchemaChanges', () => {
  it('changes nothing when the table fits', () => {
    expect(planSchemaChanges('sink', v1, created)).toEqual([]);
  });

  it('adds the columns a new version brings', () => {
    const v2 = withColumns([...v1.columns, col('shipped at', { kind: 'timestamp' })]);
    expect(planSchemaChanges('sink', v2, created)).toEqual(['ALTER TABLE `sink`.`orders` ADD COLUMN `shipped at` DATETIME(6) NULL']);
  });

  it('matches names without case, as MySQL does', () => {
    const v2 = withColumns([col('ID', { kind: 'int32' }), ...v1.columns.slice(1)], ['ID']);
    expect(planSchemaChanges('sink', v2, created)).toEqual([]);
  });

  it('widens columns, keys included, in one ALTER', () => {
    const v2 = withColumns([
      col('id', { kind: 'int64' }),
      col('total', { kind: 'decimal', precision: 12, scale: 2 }),
      col('note', { kind: 'string' }),
    ]);
    expect(planSchemaChanges('sink', v2, created)).toEqual([
      'ALTER TABLE `sink`.`orders` MODIFY COLUMN `id` BIGINT NOT NULL, MODIFY COLUMN `total` DECIMAL(12,2) NULL, MODIFY COLUMN `note` LONGTEXT NULL',
    ]);
  });

  it("makes a NOT NULL non-key column NULL-able, keeping its type, and adopts a table without the sink's position", () => {
    const foreign: ExistingTable = {
      columns: [
        { name: 'id', columnType: 'int(11)', nullable: false },
        { name: 'total', columnType: 'decimal(10,2)', nullable: false },
        { name: 'note', columnType: 'text', nullable: true },
      ],
      primaryKey: ['id'],
    };
    expect(planSchemaChanges('sink', v1, foreign)).toEqual([
      "ALTER TABLE `sink`.`orders` ADD COLUMN `__tributary_position` VARCHAR(64) NOT NULL DEFAULT ''",
      'ALTER TABLE `sink`.`orders` MODIFY COLUMN `total` decimal(10,2) NULL',
    ]);
  });

  it('refuses a narrowing, naming the table, column, both types and the fix, and nothing else is planned', () => {
    const v2 = withColumns([v1.columns[0] as ColumnSchema, col('total', { kind: 'decimal', precision: 8, scale: 2 }, 'decimal(8,2)'), col('note', { kind: 'string', length: 100 }), col('added', { kind: 'int32' })]);
    expect(refusal(v2, created)).toBe(
      'target table sink.orders cannot take the new schema: column "total" is decimal(10,2) but the new schema (decimal(8,2)) needs ' +
        'DECIMAL(8,2), a narrower type that could lose stored values; once the stored values fit, alter it yourself ' +
        '(ALTER TABLE `sink`.`orders` MODIFY COLUMN `total` DECIMAL(8,2) NULL), or drop the target table and replay its topic from the start',
    );
  });

  it('refuses a changed type and a changed key, listing every problem', () => {
    const v2 = withColumns([col('id', { kind: 'int32' }), col('sku', { kind: 'string', length: 10 }), col('total', { kind: 'string', length: 20 }, 'varchar(20)'), v1.columns[2] as ColumnSchema], ['id', 'sku']);
    const message = refusal(v2, created);
    expect(message).toContain('its primary key is (id) but the new schema\'s is (id, sku); the sink never changes a key');
    expect(message).toContain('column "total" is decimal(10,2) but the new schema (varchar(20)) needs VARCHAR(20), a different type');
  });

  it('refuses a table without a primary key', () => {
    expect(refusal({ ...v1, primaryKey: [] }, { ...created, primaryKey: [] })).toMatch(/has no primary key/);
  });
});
