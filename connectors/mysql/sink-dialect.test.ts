import { describe, expect, it } from 'vitest';
import type { ColumnType } from '#core/column-type.ts';
import { TributaryError } from '#core/errors.ts';
import type { SinkChange } from '#core/sink.ts';
import type { ColumnSchema, TableSchema } from '#core/table-schema.ts';
import {
  addColumns,
  addPositionColumn,
  changeStatements,
  columnSqlType,
  createTable,
  deleteStatements,
  modifyColumns,
  quoteIdent,
  tableSqlTypes,
  truncateStatement,
  upsertStatements,
} from './sink-dialect.ts';

const col = (name: string, type: ColumnType, sourceType: string = type.kind): ColumnSchema => ({ name, type, nullable: true, sourceType });
const table = (name: string, columns: ColumnSchema[], primaryKey: string[]): TableSchema => ({ namespace: 'shop', table: name, columns, primaryKey });

const orders = table(
  'orders',
  [col('id', { kind: 'int64' }), col('total', { kind: 'decimal', precision: 10, scale: 2 }), col('note', { kind: 'string' })],
  ['id'],
);
const lines = table(
  'order lines',
  [col('order', { kind: 'decimal', precision: 20, scale: 0 }), col('sku', { kind: 'string', length: 20 }), col('qty', { kind: 'int32' })],
  ['order', 'sku'],
);
const upsert = (row: Record<string, bigint | number | string | null>, position: string): Extract<SinkChange, { op: 'upsert' }> => ({
  op: 'upsert',
  key: {},
  row,
  position,
});

/** The error `run` throws, checked to be a SINK_SCHEMA_INCOMPATIBLE TributaryError. */
function incompatible(run: () => unknown): string {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(TributaryError);
  expect((caught as TributaryError).code).toBe('SINK_SCHEMA_INCOMPATIBLE');
  return (caught as TributaryError).message;
}

describe('quoteIdent', () => {
  it('backticks names, doubling backticks, and leaves every other character as it is', () => {
    expect(quoteIdent('orders')).toBe('`orders`');
    expect(quoteIdent('we`ird')).toBe('`we``ird`');
    expect(quoteIdent('``')).toBe('``````');
    expect(quoteIdent('say "hi"')).toBe('`say "hi"`');
    expect(quoteIdent('a]b[c')).toBe('`a]b[c`');
    expect(quoteIdent('x; DROP TABLE x; --')).toBe('`x; DROP TABLE x; --`');
    expect(quoteIdent('DROP TABLE x')).toBe('`DROP TABLE x`');
    expect(quoteIdent('`; DROP TABLE x; -- `x')).toBe('```; DROP TABLE x; -- ``x`');
    expect(quoteIdent('what?')).toBe('`what?`');
    expect(quoteIdent(' lead')).toBe('` lead`');
    expect(quoteIdent('é'.repeat(64))).toBe(`\`${'é'.repeat(64)}\``);
  });

  it('refuses names MySQL cannot hold, saying which and why', () => {
    expect(incompatible(() => quoteIdent('a'.repeat(65), 'column'))).toMatch(/^column "a{65}" cannot be used in MySQL\/MariaDB: it is 65 characters long/);
    expect(incompatible(() => quoteIdent('trailing '))).toMatch(/"trailing " .*ends with a space/);
    expect(incompatible(() => quoteIdent('smile 😀'))).toMatch(/outside the Basic Multilingual Plane/);
    expect(incompatible(() => quoteIdent('nul\u0000'))).toMatch(/NUL/);
    expect(incompatible(() => quoteIdent(''))).toMatch(/empty/);
  });
});

describe('columnSqlType', () => {
  const cases: Array<[ColumnType, string]> = [
    [{ kind: 'boolean' }, 'TINYINT(1)'],
    [{ kind: 'int16' }, 'SMALLINT'],
    [{ kind: 'int32' }, 'INT'],
    [{ kind: 'int64' }, 'BIGINT'],
    [{ kind: 'float32' }, 'FLOAT'],
    [{ kind: 'float64' }, 'DOUBLE'],
    [{ kind: 'decimal', precision: 65, scale: 30 }, 'DECIMAL(65,30)'],
    [{ kind: 'decimal', precision: 20, scale: 0 }, 'DECIMAL(20,0)'],
    [{ kind: 'decimal', precision: 100, scale: 10 }, 'VARCHAR(102)'],
    [{ kind: 'decimal', precision: 40, scale: 35 }, 'VARCHAR(42)'],
    [{ kind: 'string', length: 100 }, 'VARCHAR(100)'],
    [{ kind: 'string', length: 16383 }, 'VARCHAR(16383)'],
    [{ kind: 'string', length: 16384 }, 'LONGTEXT'],
    [{ kind: 'string' }, 'LONGTEXT'],
    [{ kind: 'json' }, 'JSON'],
    [{ kind: 'enum', values: ['new', "it's"] }, 'VARCHAR(255)'],
    [{ kind: 'set', values: ['red', 'green'] }, 'VARCHAR(255)'],
    [{ kind: 'set', values: Array.from({ length: 64 }, (_, i) => `member-${i}`) }, 'VARCHAR(629)'],
    [{ kind: 'uuid' }, 'CHAR(36)'],
    [{ kind: 'bytes', length: 16 }, 'VARBINARY(16)'],
    [{ kind: 'bytes' }, 'LONGBLOB'],
    [{ kind: 'bits', length: 64 }, 'BIT(64)'],
    [{ kind: 'bits', length: 65 }, 'VARBINARY(9)'],
    [{ kind: 'date' }, 'DATE'],
    [{ kind: 'time' }, 'TIME(6)'],
    [{ kind: 'timestamp' }, 'DATETIME(6)'],
    [{ kind: 'timestamptz' }, 'DATETIME(6)'],
    [{ kind: 'year' }, 'YEAR'],
    [{ kind: 'numeric' }, 'LONGTEXT'],
    [{ kind: 'timetz' }, 'VARCHAR(32)'],
    [{ kind: 'interval' }, 'VARCHAR(64)'],
    [{ kind: 'array', items: { kind: 'int64' } }, 'JSON'],
    [{ kind: 'array', items: { kind: 'numeric' } }, 'JSON'],
  ];

  it.each(cases)('maps %j to %s', (type, sql) => {
    expect(columnSqlType(col('c', type), false)).toBe(sql);
  });

  it('gives key columns indexable types, or says why it cannot', () => {
    expect(columnSqlType(col('k', { kind: 'string', length: 768 }), true)).toBe('VARCHAR(768)');
    expect(incompatible(() => columnSqlType(col('k', { kind: 'string', length: 769 }, 'varchar(769)'), true))).toMatch(
      /key column "k" \(varchar\(769\)\) needs an indexable type: VARCHAR of at most 768 characters/,
    );
    expect(incompatible(() => columnSqlType(col('k', { kind: 'string' }, 'text'), true))).toMatch(/key column "k" \(text\)/);
    expect(incompatible(() => columnSqlType(col('k', { kind: 'bytes' }, 'blob'), true))).toMatch(/VARBINARY of at most 3072 bytes/);
    expect(incompatible(() => columnSqlType(col('k', { kind: 'json' }), true))).toMatch(/JSON, which MySQL cannot index/);
    expect(columnSqlType(col('k', { kind: 'bytes', length: 3072 }), true)).toBe('VARBINARY(3072)');
    expect(columnSqlType(col('k', { kind: 'numeric' }), true)).toBe('VARCHAR(255)');
    expect(columnSqlType(col('k', { kind: 'timetz' }), true)).toBe('VARCHAR(32)');
    expect(columnSqlType(col('k', { kind: 'interval' }), true)).toBe('VARCHAR(64)');
    expect(incompatible(() => columnSqlType(col('k', { kind: 'array', items: { kind: 'int32' } }, 'int4[]'), true))).toMatch(
      /key column "k" \(int4\[\]\) would be JSON, which MySQL cannot index/,
    );
  });
});

describe('createTable', () => {
  it('creates the columns, the position column and the key, InnoDB in utf8mb4_bin', () => {
    expect(createTable('sink', orders)).toBe(
      'CREATE TABLE IF NOT EXISTS `sink`.`orders` (`id` BIGINT NOT NULL, `total` DECIMAL(10,2) NULL, `note` LONGTEXT NULL, ' +
        '`__tributary_position` VARCHAR(64) NOT NULL, PRIMARY KEY (`id`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin',
    );
  });

  it('keeps a composite key in key order, whatever the column order', () => {
    const reversed = { ...lines, primaryKey: ['sku', 'order'] };
    expect(createTable('sink', reversed)).toBe(
      'CREATE TABLE IF NOT EXISTS `sink`.`order lines` (`order` DECIMAL(20,0) NOT NULL, `sku` VARCHAR(20) NOT NULL, `qty` INT NULL, ' +
        '`__tributary_position` VARCHAR(64) NOT NULL, PRIMARY KEY (`sku`, `order`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin',
    );
  });

  it('quotes hostile table and column names', () => {
    const hostile = table(
      'x`; DROP TABLE x; -- "]',
      [col('k`ey', { kind: 'int32' }), col('DROP TABLE x', { kind: 'string', length: 5 }), col('a "b" ]c; ?', { kind: 'int16' })],
      ['k`ey'],
    );
    expect(createTable('my`db', hostile)).toBe(
      'CREATE TABLE IF NOT EXISTS `my``db`.`x``; DROP TABLE x; -- "]` (`k``ey` INT NOT NULL, `DROP TABLE x` VARCHAR(5) NULL, ' +
        '`a "b" ]c; ?` SMALLINT NULL, `__tributary_position` VARCHAR(64) NOT NULL, PRIMARY KEY (`k``ey`)) ' +
        'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin',
    );
  });

  it('refuses tables it cannot write idempotently or at all', () => {
    expect(incompatible(() => createTable('sink', { ...orders, primaryKey: [] }))).toMatch(/"shop.orders" has no primary key/);
    expect(incompatible(() => createTable('sink', table('t', [col('id', { kind: 'int32' }), col('ID', { kind: 'int32' })], ['id'])))).toMatch(
      /column "ID" clashes/,
    );
    expect(incompatible(() => createTable('sink', table('t', [col('id', { kind: 'int32' }), col('__tributary_position', { kind: 'int32' })], ['id'])))).toMatch(
      /"__tributary_position" clashes/,
    );
    const long = (name: string) => col(name, { kind: 'string', length: 500 });
    expect(incompatible(() => createTable('sink', table('t', [long('a'), long('b')], ['a', 'b'])))).toMatch(
      /primary key takes up to 4000 bytes in utf8mb4 and InnoDB indexes at most 3072/,
    );
    expect(incompatible(() => createTable('sink', table('t'.repeat(65), [col('id', { kind: 'int32' })], ['id'])))).toMatch(/^table "t{65}"/);
    expect(incompatible(() => createTable('sink', table('t', [col('id', { kind: 'int32' }), col('c ', { kind: 'int32' })], ['id'])))).toMatch(
      /^column "c " .*ends with a space/,
    );
  });
});

describe('tableSqlTypes', () => {
  it('keeps VARCHARs while the row fits', () => {
    const types = tableSqlTypes(table('t', [col('id', { kind: 'int32' }), col('a', { kind: 'string', length: 10_000 })], ['id']));
    expect(types.get('a')).toBe('VARCHAR(10000)');
  });

  it('turns the longest VARCHARs into LONGTEXT when the row would pass 65,535 bytes', () => {
    const columns = [col('id', { kind: 'int32' }), ...Array.from({ length: 20 }, (_, i) => col(`c${i}`, { kind: 'string', length: 1000 + i }))];
    const types = tableSqlTypes(table('t', columns, ['id']));
    // 20 × ~4 KB = 81,062 bytes with the id and the position: the 4 longest go (c19..c16), leaving 64,822.
    expect(columns.slice(1).map((c) => types.get(c.name))).toEqual([
      ...Array.from({ length: 16 }, (_, i) => `VARCHAR(${1000 + i})`),
      ...Array.from({ length: 4 }, () => 'LONGTEXT'),
    ]);
  });

  it("turns short VARCHARs into LONGTEXT when InnoDB's in-page row would pass ~8 KB", () => {
    // VARCHAR(60) is 240 utf8mb4 bytes, too short to move off-page: 60 of them need 14,506 bytes in the page
    // with the id and the position; each LONGTEXT instead saves 199, so 33 must go to get under 8,000.
    const columns = [col('id', { kind: 'int32' }), ...Array.from({ length: 60 }, (_, i) => col(`c${i}`, { kind: 'string', length: 60 }))];
    const types = [...tableSqlTypes(table('t', columns, ['id'])).values()];
    expect(types.filter((t) => t === 'VARCHAR(60)').length).toBe(27);
    expect(types.filter((t) => t === 'LONGTEXT').length).toBe(33);
  });

  it('never turns a key column into LONGTEXT', () => {
    const columns = [col('k', { kind: 'string', length: 700 }), ...Array.from({ length: 40 }, (_, i) => col(`c${i}`, { kind: 'string', length: 60 }))];
    expect(tableSqlTypes(table('t', columns, ['k'])).get('k')).toBe('VARCHAR(700)');
  });
});

describe('ALTER statements', () => {
  const v2 = { ...orders, columns: [...orders.columns, col('shipped', { kind: 'timestamptz' }), col('weird `name`', { kind: 'bits', length: 3 })] };

  it('adds columns as NULL-able', () => {
    expect(addColumns('sink', v2, ['shipped', 'weird `name`'])).toBe(
      'ALTER TABLE `sink`.`orders` ADD COLUMN `shipped` DATETIME(6) NULL, ADD COLUMN `weird ``name``` BIT(3) NULL',
    );
  });

  it('modifies key columns NOT NULL and the others NULL', () => {
    expect(modifyColumns('sink', orders, [{ name: 'id', sqlType: 'DECIMAL(20,0)' }, { name: 'total', sqlType: 'DECIMAL(12,2)' }])).toBe(
      'ALTER TABLE `sink`.`orders` MODIFY COLUMN `id` DECIMAL(20,0) NOT NULL, MODIFY COLUMN `total` DECIMAL(12,2) NULL',
    );
  });

  it("adds the position column to a table the sink did not create, with '' as every row's position", () => {
    expect(addPositionColumn('sink', orders)).toBe(
      "ALTER TABLE `sink`.`orders` ADD COLUMN `__tributary_position` VARCHAR(64) NOT NULL DEFAULT ''",
    );
  });
});

const UPSERT_ORDERS =
  'INSERT INTO `sink`.`orders` (`id`, `total`, `note`, `__tributary_position`) VALUES (?, ?, ?, ?), (?, ?, ?, ?) ' +
  'ON DUPLICATE KEY UPDATE ' +
  '`total` = IF(VALUES(`__tributary_position`) > `__tributary_position`, VALUES(`total`), `total`), ' +
  '`note` = IF(VALUES(`__tributary_position`) > `__tributary_position`, VALUES(`note`), `note`), ' +
  '`__tributary_position` = GREATEST(`__tributary_position`, VALUES(`__tributary_position`))';

describe('upsertStatements', () => {
  it('writes many rows in one statement, every value bound, the position guarded and assigned last', () => {
    const statements = upsertStatements('sink', orders, [
      upsert({ id: 9223372036854775807n, total: '-12.50', note: "'); DROP TABLE x; --" }, '0000000001:00000000000000000100:000000'),
      upsert({ id: 2n, total: null, note: null }, '0000000001:00000000000000000100:000001'),
    ]);
    expect(statements).toEqual([
      {
        sql: UPSERT_ORDERS,
        params: [
          '9223372036854775807',
          '-12.50',
          "'); DROP TABLE x; --",
          '0000000001:00000000000000000100:000000',
          '2',
          null,
          null,
          '0000000001:00000000000000000100:000001',
        ],
      },
    ]);
  });

  it('updates no key column, and only the position when every column is in the key', () => {
    const [statement] = upsertStatements('sink', lines, [upsert({ order: '1', sku: 'a', qty: 3 }, 'p')]);
    expect(statement?.sql).toBe(
      'INSERT INTO `sink`.`order lines` (`order`, `sku`, `qty`, `__tributary_position`) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE ' +
        '`qty` = IF(VALUES(`__tributary_position`) > `__tributary_position`, VALUES(`qty`), `qty`), ' +
        '`__tributary_position` = GREATEST(`__tributary_position`, VALUES(`__tributary_position`))',
    );
    const keysOnly = table('tags', [col('a', { kind: 'int32' }), col('b', { kind: 'int32' })], ['a', 'b']);
    expect(upsertStatements('sink', keysOnly, [upsert({ a: 1, b: 2 }, 'p')])).toEqual([
      {
        sql:
          'INSERT INTO `sink`.`tags` (`a`, `b`, `__tributary_position`) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE ' +
          '`__tributary_position` = GREATEST(`__tributary_position`, VALUES(`__tributary_position`))',
        params: [1, 2, 'p'],
      },
    ]);
  });

  it('quotes hostile names everywhere they appear', () => {
    const hostile = table('DROP TABLE x', [col('k`', { kind: 'int32' }), col('"]; v', { kind: 'string', length: 3 })], ['k`']);
    expect(upsertStatements('d', hostile, [upsert({ 'k`': 1, '"]; v': 'x' }, 'p')])[0]?.sql).toBe(
      'INSERT INTO `d`.`DROP TABLE x` (`k```, `"]; v`, `__tributary_position`) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE ' +
        '`"]; v` = IF(VALUES(`__tributary_position`) > `__tributary_position`, VALUES(`"]; v`), `"]; v`), ' +
        '`__tributary_position` = GREATEST(`__tributary_position`, VALUES(`__tributary_position`))',
    );
  });

  it('splits rows so that no statement passes the placeholder limit', () => {
    const changes = Array.from({ length: 5 }, (_, i) => upsert({ id: BigInt(i), total: null, note: null }, `p${i}`));
    const statements = upsertStatements('sink', orders, changes, { maxParams: 9, maxBytes: 1 << 20, maxDeleteKeys: 10 });
    expect(statements.map((s) => s.params.length)).toEqual([8, 8, 4]);
    expect(statements[0]?.sql).toBe(UPSERT_ORDERS);
    expect(statements.flatMap((s) => s.params).filter((_, i) => i % 4 === 0)).toEqual(['0', '1', '2', '3', '4']);
  });

  it('splits rows so that no statement passes the size limit, a row larger than it alone', () => {
    const big = 'x'.repeat(1000);
    // A 1000-character row is estimated at ~3 KB (3 bytes a UTF-16 unit), a 'small' one at ~75 bytes.
    const changes = [big, big, big, 'small', big.repeat(10), 'small'].map((note, i) => upsert({ id: BigInt(i), total: null, note }, 'p'));
    const statements = upsertStatements('sink', orders, changes, { maxParams: 65_000, maxBytes: 7000, maxDeleteKeys: 10 });
    expect(statements.map((s) => s.params.length / 4)).toEqual([2, 2, 1, 1]);
  });

  it('leaves unchanged columns out of the INSERT and the UPDATE, one statement per set of them, the guard kept', () => {
    const docs = table(
      'docs',
      [col('id', { kind: 'int64' }), col('title', { kind: 'string', length: 10 }), col('body', { kind: 'string' }), col('tags', { kind: 'array', items: { kind: 'string' } })],
      ['id'],
    );
    const change = (id: bigint, title: string, position: string, unchanged?: string[]): Extract<SinkChange, { op: 'upsert' }> => ({
      op: 'upsert',
      key: { id },
      row: { id, title, body: null, tags: null },
      position,
      ...(unchanged ? { unchanged } : {}),
    });
    const guarded = (c: string) => `\`${c}\` = IF(VALUES(\`__tributary_position\`) > \`__tributary_position\`, VALUES(\`${c}\`), \`${c}\`)`;
    const last = '`__tributary_position` = GREATEST(`__tributary_position`, VALUES(`__tributary_position`))';
    const statements = upsertStatements('sink', docs, [
      change(1n, 'a', 'p1', ['body']),
      change(2n, 'b', 'p2'),
      change(3n, 'c', 'p3', ['tags', 'body']),
      change(4n, 'd', 'p4', ['body']),
      change(5n, 'e', 'p5', ['body', 'tags']),
      // A key column or a name the table lacks is never left out.
      change(6n, 'f', 'p6', ['id', 'nope']),
    ]);
    expect(statements).toEqual([
      {
        sql:
          'INSERT INTO `sink`.`docs` (`id`, `title`, `tags`, `__tributary_position`) VALUES (?, ?, ?, ?), (?, ?, ?, ?) ' +
          `ON DUPLICATE KEY UPDATE ${guarded('title')}, ${guarded('tags')}, ${last}`,
        params: ['1', 'a', null, 'p1', '4', 'd', null, 'p4'],
      },
      {
        sql:
          'INSERT INTO `sink`.`docs` (`id`, `title`, `body`, `tags`, `__tributary_position`) VALUES (?, ?, ?, ?, ?), (?, ?, ?, ?, ?) ' +
          `ON DUPLICATE KEY UPDATE ${guarded('title')}, ${guarded('body')}, ${guarded('tags')}, ${last}`,
        params: ['2', 'b', null, null, 'p2', '6', 'f', null, null, 'p6'],
      },
      {
        sql: 'INSERT INTO `sink`.`docs` (`id`, `title`, `__tributary_position`) VALUES (?, ?, ?), (?, ?, ?) ' + `ON DUPLICATE KEY UPDATE ${guarded('title')}, ${last}`,
        params: ['3', 'c', 'p3', '5', 'e', 'p5'],
      },
    ]);
  });

  it('builds nothing for no changes', () => {
    expect(upsertStatements('sink', orders, [])).toEqual([]);
    expect(deleteStatements('sink', orders, [])).toEqual([]);
  });
});

describe('deleteStatements', () => {
  const del = (key: Record<string, bigint | number | string | Buffer>, position: string) => ({ op: 'delete' as const, key, position });

  it('deletes several keys, each only when the row was written before its delete', () => {
    expect(deleteStatements('sink', orders, [del({ id: -9223372036854775808n }, 'p1'), del({ id: 7n }, 'p2')])).toEqual([
      {
        sql:
          'DELETE FROM `sink`.`orders` WHERE (`id` = CAST(? AS SIGNED) AND `__tributary_position` < ?) ' +
          'OR (`id` = CAST(? AS SIGNED) AND `__tributary_position` < ?)',
        params: ['-9223372036854775808', 'p1', '7', 'p2'],
      },
    ]);
  });

  it('compares decimals as decimals and BIT as the integer it spells; composite keys in key order', () => {
    expect(deleteStatements('sink', lines, [del({ order: '18446744073709551615', sku: 'a`b' }, 'p')])).toEqual([
      {
        sql: 'DELETE FROM `sink`.`order lines` WHERE (`order` = CAST(? AS DECIMAL(20,0)) AND `sku` = ? AND `__tributary_position` < ?)',
        params: ['18446744073709551615', 'a`b', 'p'],
      },
    ]);
    const flags = table('flags', [col('b', { kind: 'bits', length: 64 })], ['b']);
    expect(deleteStatements('sink', flags, [del({ b: Buffer.from([0x01, 0, 0, 0, 0, 0, 0, 0x80]) }, 'p')])).toEqual([
      { sql: 'DELETE FROM `sink`.`flags` WHERE (`b` = CAST(? AS UNSIGNED) AND `__tributary_position` < ?)', params: ['9223372036854775809', 'p'] },
    ]);
  });

  it('splits long key lists', () => {
    const changes = Array.from({ length: 5 }, (_, i) => del({ id: BigInt(i) }, 'p'));
    const statements = deleteStatements('sink', orders, changes, { maxParams: 65_000, maxBytes: 1 << 20, maxDeleteKeys: 2 });
    expect(statements.map((s) => s.params.length)).toEqual([4, 4, 2]);
    expect(statements[2]?.sql).toBe('DELETE FROM `sink`.`orders` WHERE (`id` = CAST(? AS SIGNED) AND `__tributary_position` < ?)');
  });
});

describe('truncateStatement and changeStatements', () => {
  it('truncates by deleting what was written before the truncate, never with TRUNCATE', () => {
    expect(truncateStatement('sink', orders, 'p9')).toEqual({ sql: 'DELETE FROM `sink`.`orders` WHERE `__tributary_position` < ?', params: ['p9'] });
  });

  it('groups upserts and deletes into their statements, upserts first, and keeps a truncate in its place', () => {
    const statements = changeStatements('sink', {
      table: orders,
      changes: [
        upsert({ id: 1n, total: null, note: null }, 'p1'),
        { op: 'delete', key: { id: 2n }, position: 'p2' },
        upsert({ id: 3n, total: null, note: null }, 'p3'),
        { op: 'truncate', position: 'p4' },
        upsert({ id: 5n, total: null, note: null }, 'p5'),
      ],
    });
    expect(statements.map((s) => [s.sql.slice(0, 11), s.params.filter((p) => typeof p === 'string' && p.startsWith('p'))])).toEqual([
      ['INSERT INTO', ['p1', 'p3']],
      ['DELETE FROM', ['p2']],
      ['DELETE FROM', ['p4']],
      ['INSERT INTO', ['p5']],
    ]);
    expect(statements[2]?.sql).toBe('DELETE FROM `sink`.`orders` WHERE `__tributary_position` < ?');
  });
});
