import { describe, expect, it } from 'vitest';
import type { ChecksumColumn, ChecksumTable } from '#core/checksum.ts';
import type { ColumnType } from '#core/column-type.ts';
import { canonical, keyLookup, mySqlChecksum } from './checksum.ts';

// Golden SQL of the MySQL/MariaDB checksum dialect. Run against MariaDB 10.11 by test/verify/verify.int.test.ts.

const ORDERS: ChecksumTable = {
  namespace: 'shop',
  table: 'orders',
  key: ['id', 'region'],
  columns: [
    { name: 'id', type: { kind: 'int64' }, storedAs: 'bigint(20)' },
    { name: 'region', type: { kind: 'string', length: 12 }, storedAs: 'varchar(12)', collation: 'utf8mb4_unicode_ci' },
    { name: 'name', type: { kind: 'string', length: 100 }, storedAs: 'varchar(100)' },
    { name: 'total', type: { kind: 'decimal', precision: 12, scale: 2 }, storedAs: 'decimal(12,2)' },
  ],
};

/** Bound values as they are told apart: bigints, Buffers and unquoted literals. */
function shown(params: unknown[]): unknown[] {
  return params.map((v) => (typeof v === 'bigint' ? `${v}n` : Buffer.isBuffer(v) ? `0x${v.toString('hex')}` : v && typeof v === 'object' && 'toSqlString' in v ? `literal ${(v as { toSqlString(): string }).toSqlString()}` : v));
}

describe('mySqlChecksum', () => {
  it('sums a range of a composite key on the server, the bounds spelt out column by column', () => {
    const statement = mySqlChecksum.summary(ORDERS, { after: ['5', 'a'], upTo: ['9', 'b'] });
    expect(statement.sql).toBe("SELECT COUNT(*) AS __verify_rows, CAST(COALESCE(SUM(CAST(CONV(SUBSTRING(MD5(CONCAT(IF(`id` IS NULL, '~', CAST(`id` AS CHAR)), '|', IF(`region` IS NULL, '~', CONCAT(LENGTH(CONVERT(`region` USING utf8mb4)), ':', CONVERT(`region` USING utf8mb4))), '|', IF(`name` IS NULL, '~', CONCAT(LENGTH(CONVERT(`name` USING utf8mb4)), ':', CONVERT(`name` USING utf8mb4))), '|', IF(`total` IS NULL, '~', CAST(`total` AS CHAR)))), 1, 14), 16, 10) AS UNSIGNED)), 0) AS CHAR) AS __verify_hash FROM `shop`.`orders` WHERE `id` >= ? AND (`id` > ? OR (`id` = ? AND CONVERT(`region` USING utf8mb4) COLLATE utf8mb4_bin > ?)) AND `id` <= ? AND (`id` < ? OR (`id` = ? AND CONVERT(`region` USING utf8mb4) COLLATE utf8mb4_bin <= ?))");
    expect(shown(statement.params)).toEqual(['5n', '5n', '5n', 'a', '9n', '9n', '9n', 'b']);
  });

  it('lists the key and hash of every row of a range', () => {
    const statement = mySqlChecksum.rowHashes(ORDERS, { after: null, upTo: null });
    expect(statement.sql).toBe("SELECT CAST(`id` AS CHAR) AS __verify_k0, CONVERT(`region` USING utf8mb4) AS __verify_k1, CONV(SUBSTRING(MD5(CONCAT(IF(`id` IS NULL, '~', CAST(`id` AS CHAR)), '|', IF(`region` IS NULL, '~', CONCAT(LENGTH(CONVERT(`region` USING utf8mb4)), ':', CONVERT(`region` USING utf8mb4))), '|', IF(`name` IS NULL, '~', CONCAT(LENGTH(CONVERT(`name` USING utf8mb4)), ':', CONVERT(`name` USING utf8mb4))), '|', IF(`total` IS NULL, '~', CAST(`total` AS CHAR)))), 1, 14), 16, 10) AS __verify_hash FROM `shop`.`orders`");
    expect(statement.params).toEqual([]);
  });

  it('reads keys in the order ranges are cut in', () => {
    const at = mySqlChecksum.keyAt(ORDERS, { after: ['5', 'a'], upTo: null }, 99);
    expect(at.sql).toBe('SELECT CAST(`id` AS CHAR) AS __verify_k0, CONVERT(`region` USING utf8mb4) AS __verify_k1 FROM `shop`.`orders` WHERE `id` >= ? AND (`id` > ? OR (`id` = ? AND CONVERT(`region` USING utf8mb4) COLLATE utf8mb4_bin > ?)) ORDER BY `id`, CONVERT(`region` USING utf8mb4) COLLATE utf8mb4_bin LIMIT 1 OFFSET 99');
    expect(shown(at.params)).toEqual(['5n', '5n', '5n', 'a']);
    const first = mySqlChecksum.firstKeys({ ...ORDERS, key: ['id'] }, { after: null, upTo: ['7'] }, 10);
    expect(first.sql).toBe('SELECT CAST(`id` AS CHAR) AS __verify_k0 FROM `shop`.`orders` WHERE `id` <= ? ORDER BY `id` LIMIT 10');
    expect(shown(first.params)).toEqual(['7n']);
  });

  it('reads the columns of a table from the catalog', () => {
    expect(mySqlChecksum.columns('shop', 'orders')).toEqual({ sql: 'SELECT TABLE_NAME AS tableName, COLUMN_NAME AS name, COLUMN_TYPE AS type, COLLATION_NAME AS collation FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION', params: ['shop', 'orders'] });
  });

  const cases: Array<{ type: ColumnType; storedAs: string; collation?: string; canonical: string; key?: { value: string; condition: string; params: unknown[] } }> = [
    { type: { kind: 'boolean' }, storedAs: 'bit(1)', canonical: 'CAST(`c` + 0 AS CHAR)', key: { value: '1', condition: '`c` > ?', params: ['1n'] } },
    { type: { kind: 'boolean' }, storedAs: 'tinyint(1)', canonical: 'CAST(`c` + 0 AS CHAR)' },
    { type: { kind: 'int32' }, storedAs: 'int(10) unsigned', canonical: 'CAST(`c` AS CHAR)', key: { value: '7', condition: '`c` > ?', params: ['7n'] } },
    { type: { kind: 'year' }, storedAs: 'year(4)', canonical: 'CAST(`c` + 0 AS CHAR)', key: { value: '2155', condition: '`c` > ?', params: ['2155n'] } },
    { type: { kind: 'decimal', precision: 20, scale: 0 }, storedAs: 'bigint(20) unsigned', canonical: 'CAST(`c` AS CHAR)', key: { value: '18446744073709551615', condition: '`c` > ?', params: ['literal 18446744073709551615'] } },
    { type: { kind: 'decimal', precision: 70, scale: 30 }, storedAs: 'varchar(102)', canonical: 'CAST(`c` AS CHAR)' },
    { type: { kind: 'float32' }, storedAs: 'float', canonical: "IF(TRIM(LEADING '0' FROM REPLACE(TRIM(LEADING '-' FROM SUBSTRING_INDEX(CAST(CAST(`c` AS DOUBLE) AS CHAR), 'e', 1)), '.', '')) = '', '0', CONCAT(IF(LEFT(CAST(CAST(`c` AS DOUBLE) AS CHAR), 1) = '-', '-', ''), TRIM(TRAILING '0' FROM TRIM(LEADING '0' FROM REPLACE(TRIM(LEADING '-' FROM SUBSTRING_INDEX(CAST(CAST(`c` AS DOUBLE) AS CHAR), 'e', 1)), '.', ''))), 'e', CAST(IF(LOCATE('e', CAST(CAST(`c` AS DOUBLE) AS CHAR)) = 0, '0', SUBSTRING_INDEX(CAST(CAST(`c` AS DOUBLE) AS CHAR), 'e', -1)) AS SIGNED) + CHAR_LENGTH(SUBSTRING_INDEX(TRIM(LEADING '-' FROM SUBSTRING_INDEX(CAST(CAST(`c` AS DOUBLE) AS CHAR), 'e', 1)), '.', 1)) - CHAR_LENGTH(REPLACE(TRIM(LEADING '-' FROM SUBSTRING_INDEX(CAST(CAST(`c` AS DOUBLE) AS CHAR), 'e', 1)), '.', '')) + CHAR_LENGTH(TRIM(LEADING '0' FROM REPLACE(TRIM(LEADING '-' FROM SUBSTRING_INDEX(CAST(CAST(`c` AS DOUBLE) AS CHAR), 'e', 1)), '.', '')))))" },
    { type: { kind: 'float64' }, storedAs: 'double', canonical: "IF(TRIM(LEADING '0' FROM REPLACE(TRIM(LEADING '-' FROM SUBSTRING_INDEX(CAST(`c` AS CHAR), 'e', 1)), '.', '')) = '', '0', CONCAT(IF(LEFT(CAST(`c` AS CHAR), 1) = '-', '-', ''), TRIM(TRAILING '0' FROM TRIM(LEADING '0' FROM REPLACE(TRIM(LEADING '-' FROM SUBSTRING_INDEX(CAST(`c` AS CHAR), 'e', 1)), '.', ''))), 'e', CAST(IF(LOCATE('e', CAST(`c` AS CHAR)) = 0, '0', SUBSTRING_INDEX(CAST(`c` AS CHAR), 'e', -1)) AS SIGNED) + CHAR_LENGTH(SUBSTRING_INDEX(TRIM(LEADING '-' FROM SUBSTRING_INDEX(CAST(`c` AS CHAR), 'e', 1)), '.', 1)) - CHAR_LENGTH(REPLACE(TRIM(LEADING '-' FROM SUBSTRING_INDEX(CAST(`c` AS CHAR), 'e', 1)), '.', '')) + CHAR_LENGTH(TRIM(LEADING '0' FROM REPLACE(TRIM(LEADING '-' FROM SUBSTRING_INDEX(CAST(`c` AS CHAR), 'e', 1)), '.', '')))))" },
    { type: { kind: 'string', length: 20 }, storedAs: 'varchar(20)', collation: 'utf8mb4_bin', canonical: 'CONVERT(`c` USING utf8mb4)', key: { value: "a'b", condition: '`c` > ?', params: ["a'b"] } },
    { type: { kind: 'uuid' }, storedAs: 'char(36)', collation: 'utf8mb4_bin', canonical: 'LOWER(CONVERT(`c` USING utf8mb4))', key: { value: '00000000-0000-0000-0000-000000000001', condition: '`c` > ?', params: ['00000000-0000-0000-0000-000000000001'] } },
    { type: { kind: 'bytes' }, storedAs: 'varbinary(16)', canonical: 'LOWER(HEX(`c`))', key: { value: '00ff', condition: '`c` > ?', params: ['0x00ff'] } },
    { type: { kind: 'bits', length: 5 }, storedAs: 'bit(5)', canonical: 'CAST(`c` + 0 AS CHAR)' },
    { type: { kind: 'date' }, storedAs: 'date', canonical: "CAST(TO_DAYS(`c`) - IF(`c` < '0000-03-01', 719529, 719528) AS CHAR)", key: { value: '-719528', condition: "`c` > DATE_ADD('1970-01-01', INTERVAL ? DAY)", params: ['-719527n'] } },
    { type: { kind: 'time' }, storedAs: 'time(6)', canonical: "CAST(IF(`c` < TIME'00:00:00', -1, 1) * (((HOUR(`c`) * 60 + MINUTE(`c`)) * 60 + SECOND(`c`)) * 1000000 + MICROSECOND(`c`)) AS CHAR)", key: { value: '-1500000', condition: '`c` > CAST(? AS TIME(6))', params: ['-00:00:01.500000'] } },
    { type: { kind: 'timestamp' }, storedAs: 'datetime(6)', canonical: "CAST(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', `c`) - IF(`c` < '0000-03-01', 86400000000, 0) AS CHAR)", key: { value: '-62162035200000001', condition: "`c` > TIMESTAMPADD(MICROSECOND, ?, '1970-01-01 00:00:00')", params: ['-62161948800000001n'] } },
    { type: { kind: 'timestamptz' }, storedAs: 'timestamp(6)', canonical: "CAST(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', `c`) - IF(`c` < '0000-03-01', 86400000000, 0) AS CHAR)", key: { value: '1000000', condition: "`c` > TIMESTAMPADD(MICROSECOND, ?, '1970-01-01 00:00:00')", params: ['1000000n'] } },
    { type: { kind: 'json' }, storedAs: 'longtext', canonical: 'CONVERT(`c` USING utf8mb4)' },
    { type: { kind: 'enum', values: ['a', 'b'] }, storedAs: "enum('a','b')", canonical: 'CONVERT(`c` USING utf8mb4)', key: { value: 'b', condition: 'CONVERT(`c` USING utf8mb4) COLLATE utf8mb4_bin > ?', params: ['b'] } },
    { type: { kind: 'numeric' }, storedAs: 'longtext', canonical: 'CONVERT(`c` USING utf8mb4)' },
    { type: { kind: 'interval' }, storedAs: 'varchar(64)', canonical: 'CONVERT(`c` USING utf8mb4)' },
  ];

  it.each(cases)('puts a $type.kind column stored as $storedAs in its canonical form, and its keys in typed constants', ({ type, storedAs, collation, canonical: expected, key }) => {
    const column: ChecksumColumn = { name: 'c', type, storedAs, collation: collation ?? null };
    expect(mySqlChecksum.unsupported(column)).toBeUndefined();
    expect(canonical(column)).toBe(expected);
    if (!key) return;
    expect(mySqlChecksum.unorderable(column)).toBeUndefined();
    const statement = mySqlChecksum.firstKeys({ namespace: 's', table: 't', key: ['c'], columns: [column] }, { after: [key.value], upTo: null }, 1);
    expect(statement.sql).toContain(` WHERE ${key.condition} ORDER BY `);
    expect(shown(statement.params)).toEqual(key.params);
  });

  it('says which columns it cannot compare, and which keys it cannot cut ranges along', () => {
    expect(mySqlChecksum.unsupported({ name: 'c', type: { kind: 'array', items: { kind: 'int32' } }, storedAs: 'json' })).toBe('arrays are compared nowhere yet (their JSON text differs between engines)');
    expect(mySqlChecksum.unsupported({ name: 'c', type: { kind: 'bits', length: 72 }, storedAs: 'varbinary(9)' })).toBe('bits stored as varbinary(9) have no canonical form here');
    expect(mySqlChecksum.unsupported({ name: 'c', type: { kind: 'decimal', precision: 20, scale: 6 }, storedAs: 'decimal(22,8)' })).toBe('a decimal(20,6) column stored as decimal(22,8) prints another scale');
    expect(mySqlChecksum.unorderable({ name: 'c', type: { kind: 'float64' }, storedAs: 'double' })).toBe('a float64 key has no order that every engine shares');
    expect(mySqlChecksum.unorderable({ name: 'c', type: { kind: 'decimal', precision: 70, scale: 30 }, storedAs: 'varchar(102)' })).toBe('a decimal key stored as varchar(102) sorts as text');
    expect(mySqlChecksum.unorderable({ name: 'c', type: { kind: 'json' }, storedAs: 'json' })).toBe('a json key has no order that every engine shares');
  });

  it('looks rows up by canonical keys in each column\'s own collation, which its index serves', () => {
    const lookup = keyLookup(ORDERS, [['5', 'eu']]);
    expect(lookup.where).toBe('(`id` = ? AND `region` = ?)');
    expect(lookup.params).toEqual([5n, 'eu']);
    expect(lookup.select).toContain('AS __verify_k0');
  });
});
