import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ColumnType, ColumnValue } from '#core/column-type.ts';
import { TributaryError } from '#core/errors.ts';
import { PgTypeCatalog } from '#postgres/catalog.ts';
import { readTableSchema, readTableSchemas } from '#postgres/schema-reader.ts';
import {
  DATE_INFINITY,
  DATE_MINUS_INFINITY,
  TIMESTAMP_INFINITY,
  TIMESTAMP_MINUS_INFINITY,
  rowConverter,
  valueFromText,
} from '#postgres/values.ts';
import { daysFromCivil } from '#core/calendar.ts';
import { connectPostgres, scratchPostgresDatabase } from '#test/support/postgres.ts';

// Every literal goes through the stack's PostgreSQL 15 as `SELECT $1::<type>` on a connection with the source's
// session settings (connectPostgres → pgOptions): the server's output text, type OID and typmod are then exactly
// what pgoutput would send for a column of that type. PgTypeCatalog maps the OID and typmod, valueFromText reads
// the text, and the result must be the expected ColumnValue to the bit.

const DAY = 86_400_000_000n;
/** µs since the epoch of a proleptic Gregorian date-time with an astronomical year, computed independently of values.ts' parser. */
const at = (year: number, month: number, day: number, h = 0, m = 0, s = 0, us = 0): bigint =>
  BigInt(daysFromCivil(year, month, day)) * DAY + BigInt(((h * 60 + m) * 60 + s) * 1_000_000 + us);

type Case = readonly [sqlType: string, literal: string, expected: ColumnValue];

const dec = (precision: number, scale: number): ColumnType => ({ kind: 'decimal', precision, scale });
const array = (items: ColumnType): ColumnType => ({ kind: 'array', items });

/** The ColumnType each SQL type maps to (checked once per type). */
const TYPES: Record<string, ColumnType> = {
  boolean: { kind: 'boolean' },
  smallint: { kind: 'int16' },
  integer: { kind: 'int32' },
  bigint: { kind: 'int64' },
  oid: { kind: 'int64' },
  real: { kind: 'float32' },
  'double precision': { kind: 'float64' },
  'numeric(40,0)': dec(40, 0),
  'numeric(38,10)': dec(38, 10),
  'numeric(3,-2)': dec(5, 0),
  'numeric(3,5)': dec(5, 5),
  numeric: { kind: 'numeric' },
  money: dec(19, 2),
  text: { kind: 'string' },
  'varchar(5)': { kind: 'string', length: 5 },
  'char(5)': { kind: 'string', length: 5 },
  '"char"': { kind: 'string' },
  bytea: { kind: 'bytes' },
  uuid: { kind: 'uuid' },
  json: { kind: 'json' },
  jsonb: { kind: 'json' },
  date: { kind: 'date' },
  time: { kind: 'time' },
  'time(3)': { kind: 'time' },
  timetz: { kind: 'timetz' },
  timestamp: { kind: 'timestamp' },
  timestamptz: { kind: 'timestamptz' },
  interval: { kind: 'interval' },
  inet: { kind: 'string' },
  cidr: { kind: 'string' },
  macaddr: { kind: 'string' },
  macaddr8: { kind: 'string' },
  xml: { kind: 'string' },
  'bit(1)': { kind: 'boolean' },
  'bit(4)': { kind: 'bits', length: 4 },
  'bit(12)': { kind: 'bits', length: 12 },
  'varbit(8)': { kind: 'string' },
  'int[]': array({ kind: 'int32' }),
  'bigint[]': array({ kind: 'int64' }),
  'text[]': array({ kind: 'string' }),
  'varchar(3)[]': array({ kind: 'string', length: 3 }),
  'numeric(5,2)[]': array(dec(5, 2)),
  'money[]': array(dec(19, 2)),
  'bytea[]': array({ kind: 'bytes' }),
  'boolean[]': array({ kind: 'boolean' }),
  'date[]': array({ kind: 'date' }),
  'timestamptz[]': array({ kind: 'timestamptz' }),
  'timetz[]': array({ kind: 'timetz' }),
  'uuid[]': array({ kind: 'uuid' }),
  'jsonb[]': array({ kind: 'json' }),
  'interval[]': array({ kind: 'interval' }),
  'double precision[]': array({ kind: 'float64' }),
};

const CASES: Case[] = [
  ['boolean', 'true', true],
  ['boolean', 'false', false],
  ['smallint', '-32768', -32768],
  ['smallint', '32767', 32767],
  ['integer', '-2147483648', -2147483648],
  ['bigint', '-9223372036854775808', -(2n ** 63n)],
  ['bigint', '9223372036854775807', 2n ** 63n - 1n],
  ['oid', '4294967295', 4294967295n],
  ['real', '3.4028235e38', Math.fround(3.4028235e38)],
  ['real', '1.4e-45', Math.fround(1.4e-45)],
  ['real', '0.1', Math.fround(0.1)],
  ['real', '-0', -0],
  ['real', 'NaN', Number.NaN],
  ['real', '-Infinity', -Infinity],
  ['double precision', '1.7976931348623157e308', Number.MAX_VALUE],
  ['double precision', '5e-324', 5e-324],
  ['double precision', '0.1', 0.1],
  ['double precision', '-0', -0],
  ['double precision', 'NaN', Number.NaN],
  ['double precision', 'Infinity', Infinity],
  ['numeric(40,0)', '9'.repeat(40), '9'.repeat(40)],
  ['numeric(40,0)', `-${'9'.repeat(40)}`, `-${'9'.repeat(40)}`],
  ['numeric(38,10)', '-1234.5', '-1234.5000000000'],
  ['numeric(38,10)', '0.0000000001', '0.0000000001'],
  ['numeric(38,10)', 'NaN', null],
  ['numeric(3,-2)', '12345', '12300'],
  ['numeric(3,5)', '0.00999', '0.00999'],
  ['numeric', `-${'1234567890'.repeat(4)}.${'0987654321'.repeat(2)}`, `-${'1234567890'.repeat(4)}.${'0987654321'.repeat(2)}`],
  ['numeric', '1.000', '1.000'],
  ['numeric', '1e-20', '0.00000000000000000001'],
  ['numeric', 'NaN', 'NaN'],
  ['numeric', 'Infinity', 'Infinity'],
  ['numeric', '-Infinity', '-Infinity'],
  ['money', '-1234.5', '-1234.50'],
  ['money', '0', '0.00'],
  ['money', '92233720368547758.07', '92233720368547758.07'],
  ['money', '-92233720368547758.08', '-92233720368547758.08'],
  ['text', 'héllo 🎉 "q" \\ , {} NULL', 'héllo 🎉 "q" \\ , {} NULL'],
  ['text', '', ''],
  ['varchar(5)', 'abc', 'abc'],
  ['char(5)', 'ab', 'ab   '],
  ['"char"', 'x', 'x'],
  ['bytea', '\\x000aff00', Buffer.from([0, 10, 255, 0])],
  ['bytea', '', Buffer.alloc(0)],
  ['uuid', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'],
  ['json', '{"b": 1, "a": [1.50, 18446744073709551615]}', '{"b": 1, "a": [1.50, 18446744073709551615]}'],
  ['jsonb', '{"b": 1, "a": 2.50}', '{"a": 2.50, "b": 1}'],
  ['date', '1970-01-01', 0],
  ['date', '0001-01-01', -719162],
  ['date', '9999-12-31', 2932896],
  ['date', '0044-03-15 BC', daysFromCivil(-43, 3, 15)],
  ['date', '4713-01-01 BC', daysFromCivil(-4712, 1, 1)],
  ['date', '5874897-12-31', daysFromCivil(5874897, 12, 31)],
  ['date', 'infinity', DATE_INFINITY],
  ['date', '-infinity', DATE_MINUS_INFINITY],
  ['time', '00:00:00', 0n],
  ['time', '23:59:59.999999', DAY - 1n],
  ['time', '24:00:00', DAY],
  ['time(3)', '12:34:56.7891', 45_296_789_000n],
  ['timetz', '12:34:56.123456+02', '10:34:56.123456Z'],
  ['timetz', '00:30:00-05:30', '06:00:00.000000Z'],
  ['timetz', '01:00:00+14', '11:00:00.000000Z'],
  ['timetz', '23:00:00-01:00:30', '00:00:30.000000Z'],
  ['timetz', '24:00:00+00', '24:00:00.000000Z'],
  ['timestamp', '2024-01-02 03:04:05.123456', at(2024, 1, 2, 3, 4, 5, 123456)],
  ['timestamp', '0001-01-01 00:00:00', at(1, 1, 1)],
  ['timestamp', '0001-01-01 00:00:00.000001', at(1, 1, 1, 0, 0, 0, 1)],
  ['timestamp', '9999-12-31 23:59:59.999999', at(9999, 12, 31, 23, 59, 59, 999999)],
  ['timestamp', '0001-12-31 23:59:59.999999 BC', at(1, 1, 1) - 1n],
  ['timestamp', '4713-01-01 00:00:00 BC', at(-4712, 1, 1)],
  ['timestamp', '10000-01-01 00:00:00', at(10000, 1, 1)],
  ['timestamp', 'infinity', TIMESTAMP_INFINITY],
  ['timestamp', '-infinity', TIMESTAMP_MINUS_INFINITY],
  ['timestamptz', '2024-01-02 03:04:05.123456+02', at(2024, 1, 2, 1, 4, 5, 123456)],
  ['timestamptz', '0001-01-01 00:00:00+00', at(1, 1, 1)],
  ['timestamptz', '9999-12-31 23:59:59.999999+00', at(9999, 12, 31, 23, 59, 59, 999999)],
  ['timestamptz', '0001-12-31 23:59:59.999999+00 BC', at(1, 1, 1) - 1n],
  ['timestamptz', '1969-12-31 23:59:59.999999+00', -1n],
  ['timestamptz', 'infinity', TIMESTAMP_INFINITY],
  ['timestamptz', '-infinity', TIMESTAMP_MINUS_INFINITY],
  ['interval', '1 year 2 months 3 days 04:05:06.000007', 'P1Y2M3DT4H5M6.000007S'],
  ['interval', '-1 year -2 mons +3 days -04:05:06.5', 'P-1Y-2M3DT-4H-5M-6.5S'],
  ['interval', '0', 'PT0S'],
  ['interval', '-0.000001 seconds', 'PT-0.000001S'],
  ['inet', '192.168.0.1/24', '192.168.0.1/24'],
  ['inet', '::1', '::1'],
  ['cidr', '10.0.0.0/8', '10.0.0.0/8'],
  ['macaddr', '08:00:2B:01:02:03', '08:00:2b:01:02:03'],
  ['macaddr8', '08:00:2b:01:02:03:04:05', '08:00:2b:01:02:03:04:05'],
  ['xml', '<a b="1">x</a>', '<a b="1">x</a>'],
  ['bit(1)', '1', true],
  ['bit(4)', '0101', Buffer.from([0x05])],
  ['bit(12)', '100000000011', Buffer.from([0x03, 0x08])],
  ['varbit(8)', '101', '101'],
  ['int[]', '{1,NULL,-3}', [1, null, -3]],
  ['int[]', '{}', []],
  ['int[]', '[2:3]={7,8}', [7, 8]],
  ['bigint[]', '{-9223372036854775808,9223372036854775807}', [-(2n ** 63n), 2n ** 63n - 1n]],
  [
    'text[]',
    '{"a b","\\"q\\"","back\\\\slash","NULL",NULL,""," x ","a,b","{}","é🎉"}',
    ['a b', '"q"', 'back\\slash', 'NULL', null, '', ' x ', 'a,b', '{}', 'é🎉'],
  ],
  ['varchar(3)[]', '{abc,NULL}', ['abc', null]],
  ['numeric(5,2)[]', '{1.5,NaN,-999.99}', ['1.50', null, '-999.99']],
  ['money[]', '{1234.5,-2}', ['1234.50', '-2.00']],
  ['bytea[]', '{"\\\\x00ff",NULL,"\\\\x"}', [Buffer.from([0, 255]), null, Buffer.alloc(0)]],
  ['boolean[]', '{t,f,NULL}', [true, false, null]],
  ['date[]', '{2000-02-29,infinity,"0001-01-01 BC"}', [11016, DATE_INFINITY, -719162 - 366]],
  ['timestamptz[]', '{"2024-01-02 03:04:05+02",-infinity}', [at(2024, 1, 2, 1, 4, 5), TIMESTAMP_MINUS_INFINITY]],
  ['timetz[]', '{"12:00:00+01"}', ['11:00:00.000000Z']],
  ['uuid[]', '{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}', ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11']],
  ['jsonb[]', '{"{\\"a\\": [1, \\"x,}\\"]}",null}', ['{"a": [1, "x,}"]}', null]],
  ['interval[]', '{"1 day","-2 hours"}', ['P1D', 'PT-2H']],
  ['double precision[]', '{NaN,-Infinity,-0,1.5}', [Number.NaN, -Infinity, -0, 1.5]],
];

describe('PostgreSQL values through the server and valueFromText', () => {
  let client: pg.Client;
  let catalog: PgTypeCatalog;

  beforeAll(async () => {
    client = await connectPostgres();
    catalog = new PgTypeCatalog(client);
  });
  afterAll(async () => {
    await client?.end();
  });

  /** The server's output text of `literal` as `sqlType`, and the type it reports, as pgoutput would send them. */
  async function serverValue(sqlType: string, literal: string): Promise<{ text: string | null; type: ColumnType; warning?: string }> {
    const result = await client.query({ text: `SELECT $1::${sqlType} AS v`, values: [literal] });
    const field = result.fields[0] as pg.FieldDef;
    const resolved = await catalog.resolve(field.dataTypeID, field.dataTypeModifier);
    return { text: (result.rows[0] as { v: string | null }).v, type: resolved.type, ...(resolved.warning ? { warning: resolved.warning } : {}) };
  }

  it('maps every SQL type of the cases to its ColumnType without warnings', async () => {
    for (const [sqlType, expected] of Object.entries(TYPES)) {
      const { type, warning } = await serverValue(sqlType, sqlType.endsWith('[]') ? '{}' : sqlType === 'boolean' ? 't' : literalFor(sqlType));
      expect({ sqlType, type, warning }).toEqual({ sqlType, type: expected, warning: undefined });
    }
  });

  it.each(CASES.map((c, i) => [i, ...c] as const))('case %i: %s %j', async (_i, sqlType, literal, expected) => {
    const { text, type } = await serverValue(sqlType, literal);
    expect(type).toEqual(TYPES[sqlType]);
    expect(text).not.toBeNull();
    const value = valueFromText(type, text as string);
    if (typeof expected === 'number' && (Number.isNaN(expected) || Object.is(expected, -0))) {
      expect(Object.is(value, expected)).toBe(true);
    } else if (Array.isArray(expected)) {
      // toEqual treats -0 as 0 and NaN as NaN; element-wise Object.is catches -0.
      expect(value).toEqual(expected);
      (expected as ColumnValue[]).forEach((item, index) => {
        if (typeof item === 'number') expect(Object.is((value as ColumnValue[])[index], item)).toBe(true);
      });
    } else {
      expect(value).toEqual(expected);
    }
  });

  it('refuses what has no exact form: multi-dimensional arrays, timestamps past 64-bit microseconds', async () => {
    for (const [sqlType, literal, pattern] of [
      ['int[]', '{{1,2},{3,4}}', /multi-dimensional/],
      ['timestamp', '294276-12-31 23:59:59.999999', /64-bit microseconds/],
      ['timestamptz', '294276-12-31 23:59:59.999999+00', /64-bit microseconds/],
    ] as const) {
      const { text, type } = await serverValue(sqlType, literal);
      let caught: unknown;
      try {
        valueFromText(type, text as string);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(TributaryError);
      expect((caught as TributaryError).code).toBe('VALUE_INVALID');
      expect((caught as TributaryError).message).toMatch(pattern);
    }
  });

  it('captures types without an exact mapping as their text, with a warning', async () => {
    for (const [sqlType, literal, expected] of [
      ['int4range', '[1,5)', '[1,5)'],
      ['point', '(1.5,-2)', '(1.5,-2)'],
      ['tsvector', 'a fat cat', "'a' 'cat' 'fat'"],
    ] as const) {
      const { text, type, warning } = await serverValue(sqlType, literal);
      expect(type).toEqual({ kind: 'string' });
      expect(warning).toMatch(/has no exact logical type/);
      expect(valueFromText(type, text as string)).toBe(expected);
    }
  });
});

/** A literal every scalar SQL type of TYPES accepts. */
function literalFor(sqlType: string): string {
  const found = CASES.find(([type]) => type === sqlType);
  if (!found) throw new Error(`no case for ${sqlType}`);
  return found[1];
}

describe('PostgreSQL table schemas and rows', () => {
  let database: { name: string; drop: () => Promise<void> };
  let client: pg.Client;

  beforeAll(async () => {
    database = await scratchPostgresDatabase('pgvalues');
    client = await connectPostgres(database.name);
    await client.query(`
      CREATE SCHEMA shop;
      CREATE TYPE shop.mood AS ENUM ('sad', 'ok', 'it''s, fine');
      ALTER TYPE shop.mood ADD VALUE 'happy' BEFORE 'ok';
      CREATE DOMAIN shop.price AS numeric(12,2) CHECK (VALUE >= 0);
      CREATE DOMAIN shop.tags AS varchar(20)[];
      CREATE TABLE shop.orders (
        id bigint NOT NULL,
        region text NOT NULL,
        dropped int,
        mood shop.mood,
        moods shop.mood[],
        price shop.price NOT NULL,
        tags shop.tags,
        "Odd ""name""" timestamptz,
        previous bigint GENERATED ALWAYS AS (id - 1) STORED,
        PRIMARY KEY (region, id)
      );
      ALTER TABLE shop.orders DROP COLUMN dropped;
      CREATE TABLE shop.full_identity (a int, b text);
      ALTER TABLE shop.full_identity REPLICA IDENTITY FULL;
      CREATE TABLE shop.index_identity (a int NOT NULL, b text NOT NULL, c text, PRIMARY KEY (a));
      CREATE UNIQUE INDEX index_identity_b ON shop.index_identity (c, b);
      ALTER TABLE shop.index_identity ALTER COLUMN c SET NOT NULL;
      ALTER TABLE shop.index_identity REPLICA IDENTITY USING INDEX index_identity_b;
      CREATE TABLE shop.no_identity (a int);
      ALTER TABLE shop.no_identity REPLICA IDENTITY NOTHING;
      CREATE TABLE shop.events (at date NOT NULL, n int) PARTITION BY RANGE (at);
      CREATE TABLE shop.events_2024 PARTITION OF shop.events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
      CREATE UNLOGGED TABLE shop.scratch (a int);
      CREATE TABLE public.other (a int);
    `);
  });
  afterAll(async () => {
    await client?.end();
    await database?.drop();
  });

  it('reads columns in order with types, nullability, format_type text and the key in key order', async () => {
    const table = await readTableSchema(client, 'shop', 'orders');
    expect(table).not.toBeNull();
    const mood: ColumnType = { kind: 'enum', values: ['sad', 'happy', 'ok', "it's, fine"] };
    expect(table?.schema).toEqual({
      namespace: 'shop',
      table: 'orders',
      columns: [
        { name: 'id', type: { kind: 'int64' }, nullable: false, sourceType: 'bigint' },
        { name: 'region', type: { kind: 'string' }, nullable: false, sourceType: 'text' },
        { name: 'mood', type: mood, nullable: true, sourceType: 'shop.mood' },
        { name: 'moods', type: array(mood), nullable: true, sourceType: 'shop.mood[]' },
        { name: 'price', type: dec(12, 2), nullable: false, sourceType: 'shop.price' },
        { name: 'tags', type: array({ kind: 'string', length: 20 }), nullable: true, sourceType: 'shop.tags' },
        { name: 'Odd "name"', type: { kind: 'timestamptz' }, nullable: true, sourceType: 'timestamp with time zone' },
      ],
      primaryKey: ['region', 'id'],
    });
    expect(table?.replicaIdentity).toBe('d');
    expect(table?.identityColumns).toEqual(['id', 'region']);
    expect(table?.warnings).toEqual([]);
    expect(await readTableSchema(client, 'shop', 'missing')).toBeNull();
  });

  it('lists ordinary and partitioned tables with their replica identity, without partitions and unlogged tables', async () => {
    const tables = await readTableSchemas(client, (schema) => schema === 'shop');
    expect(tables.map((t) => [t.schema.table, t.replicaIdentity, t.identityColumns])).toEqual([
      ['events', 'd', []],
      ['full_identity', 'f', ['a', 'b']],
      ['index_identity', 'i', ['b', 'c']],
      ['no_identity', 'n', []],
      ['orders', 'd', ['id', 'region']],
    ]);
    const all = await readTableSchemas(client, () => true);
    expect(all.map((t) => `${t.schema.namespace}.${t.schema.table}`)).toContain('public.other');
    expect(all.some((t) => t.schema.namespace === 'pg_catalog' || t.schema.namespace === 'information_schema')).toBe(false);
  });

  it('converts a SELECT of the table with rowConverter', async () => {
    const table = (await readTableSchema(client, 'shop', 'orders'))?.schema;
    if (!table) throw new Error('no table');
    // A domain over numeric(12,2) with CHECK (VALUE >= 0) takes NaN: NaN sorts above every number.
    await client.query(
      `INSERT INTO shop.orders (id, region, mood, moods, price, tags, "Odd ""name""")
       VALUES (9223372036854775807, 'eu', 'it''s, fine', '{happy,NULL,"it''s, fine"}', 'NaN', '{"a b",NULL}', '2024-01-02 03:04:05.000001+01'),
              (1, 'us', NULL, NULL, 0.5, NULL, 'infinity')`,
    );
    const columns = table.columns.map((c) => `"${c.name.replaceAll('"', '""')}"`).join(', ');
    const result = await client.query({ text: `SELECT ${columns} FROM shop.orders ORDER BY id`, rowMode: 'array' });
    const convert = rowConverter(table);
    expect(() => result.rows.map((row) => convert(row as (string | null)[]))).toThrow(/column "price" of shop\.orders: decimal\(12,2\) holds NaN.*NOT NULL/);
    await client.query(`UPDATE shop.orders SET price = 12.5 WHERE region = 'eu'`);
    const again = await client.query({ text: `SELECT ${columns} FROM shop.orders ORDER BY id`, rowMode: 'array' });
    expect(again.rows.map((row) => convert(row as (string | null)[]))).toEqual([
      { id: 1n, region: 'us', mood: null, moods: null, price: '0.50', tags: null, 'Odd "name"': TIMESTAMP_INFINITY },
      {
        id: 2n ** 63n - 1n,
        region: 'eu',
        mood: "it's, fine",
        moods: ['happy', null, "it's, fine"],
        price: '12.50',
        tags: ['a b', null],
        'Odd "name"': at(2024, 1, 2, 2, 4, 5, 1),
      },
    ]);
  });

  it('resolves the OIDs and typmods a Relation message carries, and reads enums afresh after forget()', async () => {
    const { rows } = await client.query<{ atttypid: string; atttypmod: string }>(
      `SELECT atttypid, atttypmod FROM pg_attribute WHERE attrelid = 'shop.orders'::regclass AND attname = 'mood'`,
    );
    const ref = { oid: Number(rows[0]?.atttypid), typmod: Number(rows[0]?.atttypmod) };
    const catalog = new PgTypeCatalog(client);
    expect((await catalog.resolve(ref.oid, ref.typmod)).type).toEqual({ kind: 'enum', values: ['sad', 'happy', 'ok', "it's, fine"] });
    await client.query(`ALTER TYPE shop.mood ADD VALUE 'ecstatic'`);
    expect((await catalog.resolve(ref.oid, ref.typmod)).type).toEqual({ kind: 'enum', values: ['sad', 'happy', 'ok', "it's, fine"] });
    catalog.forget();
    expect(await catalog.resolve(ref.oid, ref.typmod)).toEqual({
      type: { kind: 'enum', values: ['sad', 'happy', 'ok', "it's, fine", 'ecstatic'] },
      sourceType: 'shop.mood',
    });
  });
});
