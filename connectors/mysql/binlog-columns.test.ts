import { describe, expect, it } from 'vitest';
import type { ColumnType } from '#core/column-type.ts';
import { TributaryError } from '#core/errors.ts';
import { GOLDEN_COLUMNS } from '#test/fixtures/golden-mysql.ts';
import {
  binlogColumnType,
  binlogTableSchema,
  MYSQL_TYPE,
  type BinlogColumn,
  type BinlogColumnSchema,
  type BinlogTableMapEvent,
} from './binlog-columns.ts';
import { mySqlColumnType } from './column-types.ts';

// Column objects exactly as zongji 0.9 builds them from a binlog_row_metadata=FULL TABLE_MAP (recorded from
// MariaDB 10.11 for the golden table): `columns[i]` and the synthesised information_schema-like `columnSchemas[i]`.

type Recorded = [column: BinlogColumn, schema: Omit<BinlogColumnSchema, 'COLUMN_NAME'>];

const col = (name: string, type: number, metadata?: Record<string, unknown>, charset: string | null = null): BinlogColumn =>
  metadata === undefined ? { name, charset, type } : { name, charset, type, metadata };
const schema = (COLUMN_TYPE: string, extra: Partial<BinlogColumnSchema> = {}, charset: string | null = null) => ({
  COLLATION_NAME: null,
  CHARACTER_SET_NAME: charset,
  COLUMN_COMMENT: '',
  COLUMN_TYPE,
  ...extra,
});

const GOLDEN_TABLE_MAP: Recorded[] = [
  [col('id', 8), schema('bigint', { UNSIGNED: false })],
  [col('flag', 16, { bits: 1 }), schema('bit(1)')],
  [col('tiny', 1), schema('tinyint', { UNSIGNED: false })],
  [col('small_u', 2), schema('smallint unsigned', { UNSIGNED: true })],
  [col('int_u', 3), schema('int unsigned', { UNSIGNED: true })],
  [col('big', 8), schema('bigint', { UNSIGNED: false })],
  [col('big_u', 8), schema('bigint unsigned', { UNSIGNED: true })],
  [col('price', 246, { precision: 38, decimals: 10 }), schema('decimal(38,10)', { UNSIGNED: false })],
  [col('wide', 246, { precision: 65, decimals: 30 }), schema('decimal(65,30)', { UNSIGNED: false })],
  [col('ratio', 5, { size: 8 }), schema('double', { UNSIGNED: false })],
  [col('f32', 4, { size: 4 }), schema('float', { UNSIGNED: false })],
  [col('name', 15, { max_length: 400 }, 'utf8mb4'), schema('varchar(100)', {}, 'utf8mb4')],
  [col('doc', 252, { length_size: 4 }, 'utf8mb4'), schema('longtext', {}, 'utf8mb4')],
  [col('status', 247, { size: 1 }, 'utf8mb4'), schema("enum('new','it''s','done')", { ENUM_VALUES: ['new', "it's", 'done'] }, 'utf8mb4')],
  [col('tags', 248, { size: 1 }, 'utf8mb4'), schema("set('red','green','blue')", { SET_VALUES: ['red', 'green', 'blue'] }, 'utf8mb4')],
  [col('payload', 252, { length_size: 2 }), schema('blob')],
  [col('bits', 16, { bits: 64 }), schema('bit(64)')],
  [col('born', 10), schema('date')],
  [col('at_local', 18, { decimals: 6 }), schema('datetime(6)')],
  [col('at_utc', 17, { decimals: 6 }), schema('timestamp(6)')],
  [col('span', 19, { decimals: 6 }), schema('time(6)')],
  [col('yr', 13), schema('year', { UNSIGNED: true })],
  [col('order key', 3), schema('int', { UNSIGNED: false })],
];

function tableMapEvent(recorded: Recorded[], extra: Partial<BinlogTableMapEvent> = {}): BinlogTableMapEvent {
  return {
    tableId: 42,
    columnCount: recorded.length,
    columnNames: recorded.map(([column]) => column.name),
    primaryKey: [0],
    tableMap: {
      42: {
        columns: recorded.map(([column]) => column),
        columnSchemas: recorded.map(([column, s]) => ({ COLUMN_NAME: column.name, ...s })),
      },
    },
    ...extra,
  };
}

const typeOf = (column: BinlogColumn, s: Omit<BinlogColumnSchema, 'COLUMN_NAME'>) =>
  binlogColumnType(column, { COLUMN_NAME: column.name, ...s });

describe('binlogColumnType', () => {
  it('maps every golden column as column-types.ts maps its declared type, but JSON (MariaDB: longtext)', () => {
    for (const [index, [column, s]] of GOLDEN_TABLE_MAP.entries()) {
      const golden = GOLDEN_COLUMNS[index];
      expect(column.name).toBe(golden?.name);
      const expected: ColumnType = golden?.name === 'doc' ? { kind: 'string' } : (golden?.type as ColumnType);
      expect(typeOf(column, s), column.name).toEqual(expected);
    }
  });

  it.each([
    ['tinyint unsigned', MYSQL_TYPE.TINY, true, { kind: 'int16' }],
    ['smallint', MYSQL_TYPE.SHORT, false, { kind: 'int16' }],
    ['smallint unsigned', MYSQL_TYPE.SHORT, true, { kind: 'int32' }],
    ['mediumint', MYSQL_TYPE.INT24, false, { kind: 'int32' }],
    ['mediumint unsigned', MYSQL_TYPE.INT24, true, { kind: 'int32' }],
    ['int', MYSQL_TYPE.LONG, false, { kind: 'int32' }],
    ['int unsigned', MYSQL_TYPE.LONG, true, { kind: 'int64' }],
    ['bigint', MYSQL_TYPE.LONGLONG, false, { kind: 'int64' }],
    ['bigint unsigned', MYSQL_TYPE.LONGLONG, true, { kind: 'decimal', precision: 20, scale: 0 }],
  ])('maps %s by its signedness', (text, type, unsigned, expected) => {
    expect(typeOf(col('n', type), schema(text, { UNSIGNED: unsigned }))).toEqual(expected);
    expect(mySqlColumnType(text)).toEqual(expected);
  });

  it('reads signedness from the COLUMN_TYPE text when the binlog did not carry it (information_schema path)', () => {
    expect(typeOf(col('n', MYSQL_TYPE.LONGLONG), schema('bigint(20) unsigned'))).toEqual({ kind: 'decimal', precision: 20, scale: 0 });
    expect(typeOf(col('n', MYSQL_TYPE.LONG), schema('int(11)'))).toEqual({ kind: 'int32' });
  });

  it('maps temporal codes, classic and fractional', () => {
    expect(typeOf(col('d', MYSQL_TYPE.DATE), schema('date'))).toEqual({ kind: 'date' });
    expect(typeOf(col('t', MYSQL_TYPE.TIME2, { decimals: 0 }), schema('time'))).toEqual({ kind: 'time' });
    expect(typeOf(col('t', MYSQL_TYPE.TIME), schema('time(3) /* mariadb-5.3 */'))).toEqual({ kind: 'time' });
    expect(typeOf(col('dt', MYSQL_TYPE.DATETIME2, { decimals: 3 }), schema('datetime(3)'))).toEqual({ kind: 'timestamp' });
    expect(typeOf(col('dt', MYSQL_TYPE.DATETIME), schema('datetime'))).toEqual({ kind: 'timestamp' });
    expect(typeOf(col('ts', MYSQL_TYPE.TIMESTAMP2, { decimals: 0 }), schema('timestamp'))).toEqual({ kind: 'timestamptz' });
    expect(typeOf(col('ts', MYSQL_TYPE.TIMESTAMP), schema('timestamp'))).toEqual({ kind: 'timestamptz' });
    expect(typeOf(col('y', MYSQL_TYPE.YEAR), schema('year', { UNSIGNED: true }))).toEqual({ kind: 'year' });
  });

  it('tells text from binary strings as zongji decodes them', () => {
    // CHAR/BINARY arrive as STRING (254), VARCHAR/VARBINARY as VARCHAR (15); zongji's COLUMN_TYPE says binary
    // exactly when the collation is binary (63), and then CHARACTER_SET_NAME and `charset` are null.
    expect(typeOf(col('c', MYSQL_TYPE.STRING, { max_length: 20 }, 'utf8mb4'), schema('char(5)', {}, 'utf8mb4'))).toEqual({ kind: 'string', length: 5 });
    expect(typeOf(col('b', MYSQL_TYPE.STRING, { max_length: 4 }), schema('binary(4)'))).toEqual({ kind: 'bytes', length: 4 });
    expect(typeOf(col('v', MYSQL_TYPE.VARCHAR, { max_length: 10 }), schema('varbinary(10)'))).toEqual({ kind: 'bytes', length: 10 });
    expect(typeOf(col('v', MYSQL_TYPE.VARCHAR, { max_length: 400 }, 'utf8mb4'), schema('varchar(100)', {}, 'utf8mb4'))).toEqual({ kind: 'string', length: 100 });
    expect(typeOf(col('t', MYSQL_TYPE.BLOB, { length_size: 2 }, 'utf8mb4'), schema('text', {}, 'utf8mb4'))).toEqual({ kind: 'string' });
    expect(typeOf(col('t', MYSQL_TYPE.BLOB, { length_size: 1 }), schema('tinyblob'))).toEqual({ kind: 'bytes' });
    expect(typeOf(col('t', MYSQL_TYPE.BLOB, { length_size: 3 }, 'latin1'), schema('mediumtext', {}, 'latin1'))).toEqual({ kind: 'string' });
    expect(typeOf(col('c', MYSQL_TYPE.VARCHAR_COMPRESSED, { max_length: 101 }), schema('varbinary(100) /*M!100301 COMPRESSED*/'))).toEqual({ kind: 'bytes', length: 100 });
    expect(typeOf(col('c', MYSQL_TYPE.BLOB_COMPRESSED, { length_size: 2 }, 'utf8mb4'), schema('text /*M!100301 COMPRESSED*/', {}, 'utf8mb4'))).toEqual({ kind: 'string' });
  });

  it("keeps MariaDB's UUID and INET types when the schema came from information_schema, bytes when synthesised", () => {
    expect(typeOf(col('u', MYSQL_TYPE.STRING, { max_length: 16 }), schema('uuid'))).toEqual({ kind: 'uuid' });
    expect(typeOf(col('i', MYSQL_TYPE.STRING, { max_length: 16 }), schema('inet6'))).toEqual({ kind: 'string' });
    expect(typeOf(col('u', MYSQL_TYPE.STRING, { max_length: 16 }), schema('binary(16)'))).toEqual({ kind: 'bytes', length: 16 });
  });

  it('maps MySQL JSON, BIT(1), BIT(n), ENUM and SET', () => {
    expect(typeOf(col('j', MYSQL_TYPE.JSON, { length_size: 4 }), schema('json'))).toEqual({ kind: 'json' });
    expect(typeOf(col('b', MYSQL_TYPE.BIT, { bits: 1 }), schema('bit(1)'))).toEqual({ kind: 'boolean' });
    expect(typeOf(col('b', MYSQL_TYPE.BIT, { bits: 10 }), schema('bit(10)'))).toEqual({ kind: 'bits', length: 10 });
    expect(typeOf(col('e', MYSQL_TYPE.ENUM, { size: 2 }, 'utf8mb4'), schema("enum('a,b','c')", { ENUM_VALUES: ['a,b', 'c'] }))).toEqual({
      kind: 'enum',
      values: ['a,b', 'c'],
    });
    // Without binlog members (information_schema path) they come from the COLUMN_TYPE text, quotes and all.
    expect(typeOf(col('s', MYSQL_TYPE.SET, { size: 1 }, 'utf8mb4'), schema("set('it''s','x')"))).toEqual({ kind: 'set', values: ["it's", 'x'] });
  });

  it('refuses types the connector cannot carry', () => {
    for (const [column, s] of [
      [col('g', MYSQL_TYPE.GEOMETRY, { length_size: 4 }), schema('point')],
      [col('d', MYSQL_TYPE.DECIMAL), schema('')],
      [col('v', MYSQL_TYPE.VARCHAR, { max_length: 64 }), schema('vector(16)')],
    ] as Recorded[]) {
      expect(() => typeOf(column, s)).toThrow(TributaryError);
      try {
        typeOf(column, s);
      } catch (error) {
        expect((error as TributaryError).code).toBe('SCHEMA_UNSUPPORTED');
        expect((error as TributaryError).message).toContain(`"${column.name}"`);
      }
    }
  });
});

describe('binlogTableSchema', () => {
  it('builds the golden table from a FULL TABLE_MAP: names, types, primary key, NOT NULL for its columns', () => {
    const table = binlogTableSchema('shop', 'golden', tableMapEvent(GOLDEN_TABLE_MAP));
    expect(table).not.toBeNull();
    expect(table?.namespace).toBe('shop');
    expect(table?.table).toBe('golden');
    expect(table?.primaryKey).toEqual(['id']);
    expect(table?.columns.map((c) => c.name)).toEqual(GOLDEN_COLUMNS.map((c) => c.name));
    // GOLDEN_COLUMNS: only the primary key is NOT NULL, which is all the binlog can tell through zongji.
    expect(table?.columns.map((c) => c.nullable)).toEqual(GOLDEN_COLUMNS.map((c) => c.nullable));
    expect(table?.columns.map((c) => c.type)).toEqual(GOLDEN_COLUMNS.map((c) => (c.name === 'doc' ? { kind: 'string' } : c.type)));
    expect(table?.columns[6]).toEqual({ name: 'big_u', type: { kind: 'decimal', precision: 20, scale: 0 }, nullable: true, sourceType: 'bigint unsigned' });
  });

  it('keeps a composite primary key in key order', () => {
    const table = binlogTableSchema('shop', 'golden', tableMapEvent(GOLDEN_TABLE_MAP, { primaryKey: [5, 0] }));
    expect(table?.primaryKey).toEqual(['big', 'id']);
    expect(table?.columns.filter((c) => !c.nullable).map((c) => c.name)).toEqual(['id', 'big']);
  });

  it('has no primary key and all columns nullable when the table has none', () => {
    const table = binlogTableSchema('shop', 'golden', tableMapEvent(GOLDEN_TABLE_MAP, { primaryKey: undefined }));
    expect(table?.primaryKey).toEqual([]);
    expect(table?.columns.every((c) => c.nullable)).toBe(true);
  });

  it('is null when the event does not describe its table (binlog_row_metadata is not FULL)', () => {
    expect(binlogTableSchema('shop', 'golden', tableMapEvent(GOLDEN_TABLE_MAP, { columnNames: undefined }))).toBeNull();
    expect(binlogTableSchema('shop', 'golden', tableMapEvent(GOLDEN_TABLE_MAP, { columnNames: ['id'] }))).toBeNull();
    expect(binlogTableSchema('shop', 'golden', tableMapEvent(GOLDEN_TABLE_MAP, { tableMap: {} }))).toBeNull();
  });

  it("is null when zongji's cached columns are not the event's (information_schema fetched after an ALTER)", () => {
    const names = GOLDEN_TABLE_MAP.map(([column]) => column.name);
    names[3] = 'renamed';
    expect(binlogTableSchema('shop', 'golden', tableMapEvent(GOLDEN_TABLE_MAP, { columnNames: names }))).toBeNull();
    const event = tableMapEvent(GOLDEN_TABLE_MAP);
    event.tableMap[42]?.columns?.pop();
    expect(binlogTableSchema('shop', 'golden', event)).toBeNull();
  });
});
