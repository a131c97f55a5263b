import { describe, expect, it } from 'vitest';
import type { ColumnType } from '#core/column-type.ts';
import type { TableSchema } from '#core/table-schema.ts';
import { GOLDEN_MAX_ROW, goldenTable } from '#test/fixtures/golden-mysql.ts';
import { mySqlColumnType } from './column-types.ts';
import {
  chunkParams,
  chunkQuery,
  countEstimateQuery,
  fullScanQuery,
  keyParam,
  keysetReadable,
  quoteIdent,
  quoteTable,
  type SqlLiteral,
} from './snapshot-sql.ts';

function table(namespace: string, name: string, columns: Array<[string, string]>, primaryKey: string[]): TableSchema {
  return {
    namespace,
    table: name,
    columns: columns.map(([column, type]) => ({ name: column, type: mySqlColumnType(type), nullable: false, sourceType: type })),
    primaryKey,
  };
}

const orders = table('shop', 'orders', [['id', 'bigint(20)'], ['total', 'decimal(10,2)'], ['note', 'text']], ['id']);
const lines = table('shop', 'order lines', [['order_id', 'int(11)'], ['sku', 'varchar(20)'], ['qty', 'int(11)']], ['order_id', 'sku']);

describe('quoteIdent', () => {
  it('backticks names and doubles backticks inside them', () => {
    expect(quoteIdent('orders')).toBe('`orders`');
    expect(quoteIdent('we`ird')).toBe('`we``ird`');
    expect(quoteIdent('``')).toBe('``````');
    expect(quoteIdent('a b.c')).toBe('`a b.c`');
    expect(quoteTable({ namespace: 'my`db', table: 't' })).toBe('`my``db`.`t`');
  });
});

describe('chunkQuery', () => {
  it('reads the first chunk of a single-column key without WHERE', () => {
    expect(chunkQuery(orders, false, 1000)).toBe('SELECT `id`, `total`, `note` FROM `shop`.`orders` ORDER BY `id` LIMIT 1000');
  });

  it('reads the next chunk after a single-column key', () => {
    expect(chunkQuery(orders, true, 1000)).toBe(
      'SELECT `id`, `total`, `note` FROM `shop`.`orders` WHERE `id` > ? ORDER BY `id` LIMIT 1000',
    );
  });

  it('pages a composite key with a row constructor, led by a range on its first column', () => {
    expect(chunkQuery(lines, false, 500)).toBe(
      'SELECT `order_id`, `sku`, `qty` FROM `shop`.`order lines` ORDER BY `order_id`, `sku` LIMIT 500',
    );
    expect(chunkQuery(lines, true, 500)).toBe(
      'SELECT `order_id`, `sku`, `qty` FROM `shop`.`order lines` WHERE `order_id` >= ? AND (`order_id`, `sku`) > (?, ?) ' +
        'ORDER BY `order_id`, `sku` LIMIT 500',
    );
  });

  it('quotes awkward column names', () => {
    const awkward = table('d', 't', [['k`1', 'int(11)'], ['?', 'int(11)']], ['k`1']);
    expect(chunkQuery(awkward, true, 1)).toBe('SELECT `k``1`, `?` FROM `d`.`t` WHERE `k``1` > ? ORDER BY `k``1` LIMIT 1');
  });

  it('refuses tables without a key and limits that are not positive integers', () => {
    expect(() => chunkQuery({ ...orders, primaryKey: [] }, false, 10)).toThrow(/no primary key/);
    expect(() => chunkQuery(orders, false, 0)).toThrow(/positive integer/);
    expect(() => chunkQuery(orders, false, 1.5)).toThrow(/positive integer/);
  });
});

describe('chunkParams', () => {
  it('binds the first key value twice for a composite key', () => {
    expect(chunkParams([7])).toEqual([7]);
    expect(chunkParams([7, 'a'])).toEqual([7, 7, 'a']);
    expect(chunkParams([1, 'b', 3n])).toEqual([1, 1, 'b', 3n]);
  });
});

describe('fullScanQuery and countEstimateQuery', () => {
  it('select every column, and the row estimate by parameters', () => {
    expect(fullScanQuery(orders)).toBe('SELECT `id`, `total`, `note` FROM `shop`.`orders`');
    expect(countEstimateQuery(orders)).toEqual({
      sql: 'SELECT TABLE_NAME AS name, TABLE_ROWS AS estimate FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?',
      values: ['shop', 'orders'],
    });
  });
});

describe('keysetReadable', () => {
  it('needs a primary key without floating-point columns', () => {
    expect(keysetReadable(orders)).toBe(true);
    expect(keysetReadable(lines)).toBe(true);
    expect(keysetReadable({ ...orders, primaryKey: [] })).toBe(false);
    expect(keysetReadable(table('d', 't', [['f', 'float'], ['i', 'int(11)']], ['i', 'f']))).toBe(false);
    expect(keysetReadable(table('d', 't', [['f', 'double']], ['f']))).toBe(false);
  });
});

describe('keyParam', () => {
  const literal = (param: unknown) => (param as SqlLiteral).toSqlString();
  const type = (text: string): ColumnType => mySqlColumnType(text);

  it('keeps integers numeric, 64-bit ones as bigint', () => {
    expect(keyParam(type('int(11)'), -5)).toBe(-5);
    expect(keyParam(type('smallint(6)'), 32767)).toBe(32767);
    expect(keyParam(type('year(4)'), 2155)).toBe(2155);
    expect(keyParam(type('bigint(20)'), 9007199254740993n)).toBe(9007199254740993n);
    expect(keyParam(type('bit(1)'), true)).toBe(1);
    expect(keyParam(type('bit(1)'), false)).toBe(0);
  });

  it('inlines decimals, BIGINT UNSIGNED included, as unquoted exact literals', () => {
    expect(literal(keyParam(type('bigint(20) unsigned'), '18446744073709551615'))).toBe('18446744073709551615');
    expect(literal(keyParam(type('decimal(30,20)'), '-1.00000000000000000001'))).toBe('-1.00000000000000000001');
    expect(() => keyParam(type('decimal(10,2)'), '1; DROP TABLE x')).toThrow(/does not fit a decimal/);
    expect(() => keyParam(type('decimal(10,2)'), '1e5')).toThrow(/does not fit/);
  });

  it('passes strings, uuids and bytes as they are', () => {
    expect(keyParam(type('varchar(10)'), "it's")).toBe("it's");
    expect(keyParam(type('uuid'), '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0')).toBe('0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0');
    const bytes = Buffer.from([0, 0xff]);
    expect(keyParam(type('varbinary(4)'), bytes)).toBe(bytes);
  });

  it('compares ENUM and SET by their internal numbers, as they sort', () => {
    const status = type("enum('z','a','m')");
    expect(keyParam(status, 'z')).toBe(1);
    expect(keyParam(status, 'm')).toBe(3);
    expect(keyParam(status, '')).toBe(0);
    expect(() => keyParam(status, 'q')).toThrow(/not a member/);
    const tags = type("set('red','green','blue')");
    expect(keyParam(tags, '')).toBe(0n);
    expect(keyParam(tags, 'red,blue')).toBe(5n);
    expect(keyParam(tags, 'green')).toBe(2n);
  });

  it('turns little-endian BIT(n) bytes back into their integer', () => {
    expect(keyParam(type('bit(64)'), GOLDEN_MAX_ROW.bits as Buffer)).toBe(0x8123456789abcdefn);
    expect(keyParam(type('bit(10)'), Buffer.from([0x01, 0x02]))).toBe(0x0201n);
  });

  it('writes dates and times back as the text MySQL reads them from', () => {
    expect(keyParam(type('date'), 0)).toBe('1970-01-01');
    expect(keyParam(type('date'), GOLDEN_MAX_ROW.born as number)).toBe('0001-01-01');
    expect(keyParam(type('date'), 2932896)).toBe('9999-12-31');
    expect(keyParam(type('datetime(6)'), GOLDEN_MAX_ROW.at_local as bigint)).toBe('9999-12-31 23:59:59.999999');
    expect(keyParam(type('datetime'), -1n)).toBe('1969-12-31 23:59:59.999999');
    expect(keyParam(type('datetime'), -62135596800000000n)).toBe('0001-01-01 00:00:00.000000');
    expect(keyParam(type('timestamp(6)'), GOLDEN_MAX_ROW.at_utc as bigint)).toBe('2038-01-19 03:14:07.999999');
    expect(keyParam(type('time(6)'), GOLDEN_MAX_ROW.span as bigint)).toBe('-838:59:59.000000');
    expect(keyParam(type('time(6)'), 3_020_399_999_999n)).toBe('838:59:59.999999');
    expect(keyParam(type('time'), 0n)).toBe('00:00:00.000000');
    expect(keyParam(type('time(3)'), -1_500n)).toBe('-00:00:00.001500');
  });

  it('refuses values of the wrong form and float keys', () => {
    expect(() => keyParam(type('bigint(20)'), 5)).toThrow(/number 5 does not fit a int64/);
    expect(() => keyParam(type('int(11)'), '5')).toThrow(/does not fit/);
    expect(() => keyParam(type('varbinary(4)'), 'ab')).toThrow(/does not fit/);
    expect(() => keyParam(type('double'), 1.5)).toThrow(/cannot be a snapshot key/);
  });

  it('covers every column of the golden table that can be a key', () => {
    const golden = goldenTable('d');
    for (const column of golden.columns) {
      if (['float32', 'float64', 'json'].includes(column.type.kind)) continue;
      expect(() => keyParam(column.type, GOLDEN_MAX_ROW[column.name] ?? null), column.name).not.toThrow();
    }
  });
});
