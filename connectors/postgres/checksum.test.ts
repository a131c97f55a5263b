import { describe, expect, it } from 'vitest';
import type { ChecksumColumn, ChecksumTable } from '#core/checksum.ts';
import type { ColumnType } from '#core/column-type.ts';
import { canonical, keyLookup, postgresChecksum } from './checksum.ts';

// Golden SQL of the PostgreSQL checksum dialect. Run against PostgreSQL 15 by test/verify/verify.int.test.ts.

const ORDERS: ChecksumTable = {
  namespace: 'shop',
  table: 'orders',
  key: ['id', 'region'],
  columns: [
    { name: 'id', type: { kind: 'int64' }, storedAs: 'bigint' },
    { name: 'region', type: { kind: 'string', length: 12 }, storedAs: 'character varying(12)', collation: 'en_US.utf8' },
    { name: 'name', type: { kind: 'string', length: 100 }, storedAs: 'text' },
    { name: 'total', type: { kind: 'decimal', precision: 12, scale: 2 }, storedAs: 'numeric(12,2)' },
  ],
};

/** Bound values as they are told apart: bigints, Buffers and unquoted literals. */
function shown(params: unknown[]): unknown[] {
  return params.map((v) => (typeof v === 'bigint' ? `${v}n` : Buffer.isBuffer(v) ? `0x${v.toString('hex')}` : v && typeof v === 'object' && 'toSqlString' in v ? `literal ${(v as { toSqlString(): string }).toSqlString()}` : v));
}

describe('postgresChecksum', () => {
  it('sums a range of a composite key on the server, the bounds spelt out column by column', () => {
    const statement = postgresChecksum.summary(ORDERS, { after: ['5', 'a'], upTo: ['9', 'b'] });
    expect(statement.sql).toBe("SELECT count(*)::text AS __verify_rows, coalesce(sum(('x' || substr(md5((CASE WHEN \"id\" IS NULL THEN '~' ELSE \"id\"::text END) || '|' || (CASE WHEN \"region\" IS NULL THEN '~' ELSE octet_length(\"region\"::text) || ':' || \"region\"::text END) || '|' || (CASE WHEN \"name\" IS NULL THEN '~' ELSE octet_length(\"name\"::text) || ':' || \"name\"::text END) || '|' || (CASE WHEN \"total\" IS NULL THEN '~' ELSE NULLIF(\"total\", 'NaN')::text END)), 1, 14))::bit(56)::bigint), 0)::text AS __verify_hash FROM \"shop\".\"orders\" WHERE \"id\" >= $1::bigint AND (\"id\" > $2::bigint OR (\"id\" = $3::bigint AND \"region\" COLLATE \"C\" > $4::text)) AND \"id\" <= $5::bigint AND (\"id\" < $6::bigint OR (\"id\" = $7::bigint AND \"region\" COLLATE \"C\" <= $8::text))");
    expect(shown(statement.params)).toEqual(['5', '5', '5', 'a', '9', '9', '9', 'b']);
  });

  it('lists the key and hash of every row of a range', () => {
    const statement = postgresChecksum.rowHashes(ORDERS, { after: null, upTo: null });
    expect(statement.sql).toBe("SELECT \"id\"::text AS __verify_k0, \"region\"::text AS __verify_k1, ('x' || substr(md5((CASE WHEN \"id\" IS NULL THEN '~' ELSE \"id\"::text END) || '|' || (CASE WHEN \"region\" IS NULL THEN '~' ELSE octet_length(\"region\"::text) || ':' || \"region\"::text END) || '|' || (CASE WHEN \"name\" IS NULL THEN '~' ELSE octet_length(\"name\"::text) || ':' || \"name\"::text END) || '|' || (CASE WHEN \"total\" IS NULL THEN '~' ELSE NULLIF(\"total\", 'NaN')::text END)), 1, 14))::bit(56)::bigint::text AS __verify_hash FROM \"shop\".\"orders\"");
    expect(statement.params).toEqual([]);
  });

  it('reads keys in the order ranges are cut in', () => {
    const at = postgresChecksum.keyAt(ORDERS, { after: ['5', 'a'], upTo: null }, 99);
    expect(at.sql).toBe('SELECT "id"::text AS __verify_k0, "region"::text AS __verify_k1 FROM "shop"."orders" WHERE "id" >= $1::bigint AND ("id" > $2::bigint OR ("id" = $3::bigint AND "region" COLLATE "C" > $4::text)) ORDER BY "id", "region" COLLATE "C" LIMIT 1 OFFSET 99');
    expect(shown(at.params)).toEqual(['5', '5', '5', 'a']);
    const first = postgresChecksum.firstKeys({ ...ORDERS, key: ['id'] }, { after: null, upTo: ['7'] }, 10);
    expect(first.sql).toBe('SELECT "id"::text AS __verify_k0 FROM "shop"."orders" WHERE "id" <= $1::bigint ORDER BY "id" LIMIT 10');
    expect(shown(first.params)).toEqual(['7']);
  });

  it('reads the columns of a table from the catalog', () => {
    expect(postgresChecksum.columns('shop', 'orders')).toEqual({ sql: "SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, CASE WHEN a.attcollation = 0 THEN NULL WHEN co.collname = 'default' THEN (SELECT datcollate FROM pg_catalog.pg_database WHERE datname = current_database()) ELSE co.collname END AS collation FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum", params: ['shop', 'orders'] });
  });

  const cases: Array<{ type: ColumnType; storedAs: string; collation?: string; canonical: string; key?: { value: string; condition: string; params: unknown[] } }> = [
    { type: { kind: 'boolean' }, storedAs: 'boolean', collation: 'C', canonical: "(CASE WHEN \"c\" THEN '1' ELSE '0' END)", key: { value: '1', condition: '"c" > $1::boolean', params: ['1'] } },
    { type: { kind: 'boolean' }, storedAs: 'bit(1)', canonical: "(CASE WHEN \"c\" = B'1' THEN '1' ELSE '0' END)", key: { value: '0', condition: '"c" > $1::bit(1)', params: ['0'] } },
    { type: { kind: 'int16' }, storedAs: 'smallint', canonical: '"c"::text', key: { value: '-3', condition: '"c" > $1::bigint', params: ['-3'] } },
    { type: { kind: 'decimal', precision: 19, scale: 2 }, storedAs: 'money', canonical: '"c"::numeric::text', key: { value: '-1.50', condition: '"c" > $1::numeric::money', params: ['-1.50'] } },
    { type: { kind: 'decimal', precision: 20, scale: 6 }, storedAs: 'numeric(20,6)', canonical: "NULLIF(\"c\", 'NaN')::text", key: { value: '-1.500000', condition: '"c" > $1::numeric', params: ['-1.500000'] } },
    { type: { kind: 'numeric' }, storedAs: 'numeric', canonical: '"c"::text' },
    { type: { kind: 'string', length: 5 }, storedAs: 'character(5)', canonical: 'concat("c")', key: { value: 'ab   ', condition: '"c" COLLATE "C" > $1::bpchar', params: ['ab   '] } },
    { type: { kind: 'string' }, storedAs: 'text', canonical: '"c"::text', key: { value: 'a', condition: '"c" COLLATE "C" > $1::text', params: ['a'] } },
    { type: { kind: 'string' }, storedAs: 'inet', canonical: '"c"::text' },
    { type: { kind: 'float32' }, storedAs: 'real', canonical: "(CASE \"c\"::float8::text WHEN 'NaN' THEN 'nan' WHEN 'Infinity' THEN 'inf' WHEN '-Infinity' THEN '-inf' ELSE (CASE WHEN ltrim(replace(ltrim(split_part(\"c\"::float8::text, 'e', 1), '-'), '.', ''), '0') = '' THEN '0' ELSE (CASE WHEN left(\"c\"::float8::text, 1) = '-' THEN '-' ELSE '' END) || rtrim(ltrim(replace(ltrim(split_part(\"c\"::float8::text, 'e', 1), '-'), '.', ''), '0'), '0') || 'e' || ((CASE WHEN strpos(\"c\"::float8::text, 'e') = 0 THEN 0 ELSE split_part(\"c\"::float8::text, 'e', 2)::int END) + length(split_part(ltrim(split_part(\"c\"::float8::text, 'e', 1), '-'), '.', 1)) - length(replace(ltrim(split_part(\"c\"::float8::text, 'e', 1), '-'), '.', '')) + length(ltrim(replace(ltrim(split_part(\"c\"::float8::text, 'e', 1), '-'), '.', ''), '0')))::text END) END)" },
    { type: { kind: 'float64' }, storedAs: 'double precision', canonical: "(CASE \"c\"::float8::text WHEN 'NaN' THEN 'nan' WHEN 'Infinity' THEN 'inf' WHEN '-Infinity' THEN '-inf' ELSE (CASE WHEN ltrim(replace(ltrim(split_part(\"c\"::float8::text, 'e', 1), '-'), '.', ''), '0') = '' THEN '0' ELSE (CASE WHEN left(\"c\"::float8::text, 1) = '-' THEN '-' ELSE '' END) || rtrim(ltrim(replace(ltrim(split_part(\"c\"::float8::text, 'e', 1), '-'), '.', ''), '0'), '0') || 'e' || ((CASE WHEN strpos(\"c\"::float8::text, 'e') = 0 THEN 0 ELSE split_part(\"c\"::float8::text, 'e', 2)::int END) + length(split_part(ltrim(split_part(\"c\"::float8::text, 'e', 1), '-'), '.', 1)) - length(replace(ltrim(split_part(\"c\"::float8::text, 'e', 1), '-'), '.', '')) + length(ltrim(replace(ltrim(split_part(\"c\"::float8::text, 'e', 1), '-'), '.', ''), '0')))::text END) END)" },
    { type: { kind: 'json' }, storedAs: 'jsonb', canonical: '"c"::text' },
    { type: { kind: 'bytes' }, storedAs: 'bytea', canonical: "encode(\"c\", 'hex')", key: { value: '00ff', condition: "\"c\" > decode($1, 'hex')", params: ['00ff'] } },
    { type: { kind: 'bits', length: 12 }, storedAs: 'bit(12)', canonical: "(CASE WHEN lpad(\"c\"::text, 64, '0')::bit(64)::bigint < 0 THEN lpad(\"c\"::text, 64, '0')::bit(64)::bigint::numeric + 18446744073709551616 ELSE lpad(\"c\"::text, 64, '0')::bit(64)::bigint::numeric END)::text" },
    { type: { kind: 'date' }, storedAs: 'date', canonical: "(CASE WHEN \"c\" = 'infinity' THEN '2147483647' WHEN \"c\" = '-infinity' THEN '-2147483648' ELSE (\"c\" - DATE '1970-01-01')::text END)", key: { value: '-1', condition: "\"c\" > (DATE '1970-01-01' + $1::integer)", params: ['-1'] } },
    { type: { kind: 'time' }, storedAs: 'time without time zone', canonical: '(EXTRACT(EPOCH FROM "c") * 1000000)::bigint::text', key: { value: '86400000000', condition: '"c" > $1::time', params: ['24:00:00.000000'] } },
    { type: { kind: 'timetz' }, storedAs: 'time with time zone', canonical: "(CASE WHEN \"c\"::time = '24:00:00' AND EXTRACT(TIMEZONE FROM \"c\") = 0 THEN '24:00:00.000000Z' ELSE to_char((\"c\" AT TIME ZONE 'UTC')::time, 'HH24:MI:SS.US') || 'Z' END)" },
    { type: { kind: 'timestamp' }, storedAs: 'timestamp without time zone', canonical: "(CASE WHEN \"c\" = 'infinity' THEN '9223372036825200000' WHEN \"c\" = '-infinity' THEN '-9223372036832400000' ELSE (EXTRACT(EPOCH FROM \"c\") * 1000000)::bigint::text END)", key: { value: '-1', condition: '"c" > $1::timestamp', params: ['1969-12-31 23:59:59.999999'] } },
    { type: { kind: 'timestamptz' }, storedAs: 'timestamp with time zone', canonical: "(CASE WHEN \"c\" = 'infinity' THEN '9223372036825200000' WHEN \"c\" = '-infinity' THEN '-9223372036832400000' ELSE (EXTRACT(EPOCH FROM \"c\") * 1000000)::bigint::text END)", key: { value: '1000000', condition: '"c" > $1::timestamptz', params: ['1970-01-01 00:00:01.000000+00'] } },
    { type: { kind: 'uuid' }, storedAs: 'uuid', canonical: '"c"::text', key: { value: '00000000-0000-0000-0000-000000000001', condition: '"c" > $1::uuid', params: ['00000000-0000-0000-0000-000000000001'] } },
    { type: { kind: 'enum', values: ['x'] }, storedAs: 'mood', canonical: '"c"::text', key: { value: 'x', condition: '"c"::text COLLATE "C" > $1::text', params: ['x'] } },
    { type: { kind: 'interval' }, storedAs: 'interval', canonical: '"c"::text' },
  ];

  it.each(cases)('puts a $type.kind column stored as $storedAs in its canonical form, and its keys in typed constants', ({ type, storedAs, collation, canonical: expected, key }) => {
    const column: ChecksumColumn = { name: 'c', type, storedAs, collation: collation ?? null };
    expect(postgresChecksum.unsupported(column)).toBeUndefined();
    expect(canonical(column)).toBe(expected);
    if (!key) return;
    expect(postgresChecksum.unorderable(column)).toBeUndefined();
    const statement = postgresChecksum.firstKeys({ namespace: 's', table: 't', key: ['c'], columns: [column] }, { after: [key.value], upTo: null }, 1);
    expect(statement.sql).toContain(` WHERE ${key.condition} ORDER BY `);
    expect(shown(statement.params)).toEqual(key.params);
  });

  it('says which columns it cannot compare, and which keys it cannot cut ranges along', () => {
    expect(postgresChecksum.unsupported({ name: 'c', type: { kind: 'array', items: { kind: 'int32' } }, storedAs: 'integer[]' })).toBe('arrays are compared nowhere yet (their JSON text differs between engines)');
    expect(postgresChecksum.unsupported({ name: 'c', type: { kind: 'bits', length: 72 }, storedAs: 'bit(72)' })).toBe('bit strings longer than 64 bits have no canonical form');
    expect(postgresChecksum.unorderable({ name: 'c', type: { kind: 'float64' }, storedAs: 'double precision' })).toBe('a float64 key has no order that every engine shares');
    expect(postgresChecksum.unorderable({ name: 'c', type: { kind: 'numeric' }, storedAs: 'numeric' })).toBe('a numeric key has no order that every engine shares');
    expect(postgresChecksum.unorderable({ name: 'c', type: { kind: 'timetz' }, storedAs: 'time with time zone' })).toBe('a timetz key has no order that every engine shares');
  });

  it('looks rows up by canonical keys with the columns themselves, so that the primary key index serves it', () => {
    const lookup = keyLookup(ORDERS, [['5', 'eu'], ['-7', 'us']]);
    expect(lookup.select).toBe('"id"::text AS __verify_k0, "region"::text AS __verify_k1');
    expect(lookup.where).toBe('("id" = $1::bigint AND "region" = $2::text) OR ("id" = $3::bigint AND "region" = $4::text)');
    expect(lookup.params).toEqual(['5', 'eu', '-7', 'us']);
    const single: ChecksumTable = { namespace: 's', table: 't', key: ['id'], columns: [{ name: 'id', type: { kind: 'int32' }, storedAs: 'integer' }] };
    expect(keyLookup(single, [['1'], ['2']]).where).toBe('"id" IN ($1::bigint, $2::bigint)');
    expect(() => keyLookup(single, [['1', 'x']])).toThrow('has 1 values, got 2');
    expect(() => keyLookup(single, [["1'"]])).toThrow('not in its canonical form');
  });
});
