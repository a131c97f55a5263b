import { randomBytes } from 'node:crypto';
import mssql from 'mssql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlServerConnection } from '#config/schema.ts';
import type { Row } from '#core/change-event.ts';
import type { SinkChange, TableChanges } from '#core/sink.ts';
import type { ColumnSchema, TableSchema } from '#core/table-schema.ts';
import { quoteIdent } from '#sqlserver/dialect.ts';
import { SqlServerSink } from '#sqlserver/sink.ts';

// The SQL Server sink against a real server. No SQL Server can run on this machine, so this suite needs
// MSSQL_URL, e.g. mssql://sa:Passw0rd!@localhost:1433/master?trustServerCertificate=true (encrypt=false also
// understood), for a login allowed to CREATE DATABASE: the suite works in a database of its own and drops it.
// Without MSSQL_URL every test is reported as skipped, with the reason in its name.

const URL_TEXT = process.env.MSSQL_URL;
const SKIP_REASON = 'skipped: MSSQL_URL is not set (no SQL Server on this machine)';
if (!URL_TEXT) console.log(`sqlserver-sink.int.test.ts: ${SKIP_REASON}`);

function parseMssqlUrl(text: string): SqlServerConnection {
  const url = new URL(text);
  const database = url.pathname.replace(/^\//, '');
  const password = decodeURIComponent(url.password);
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: Number(url.port || 1433),
    user: decodeURIComponent(url.username),
    ...(password === '' ? {} : { password }),
    ...(database === '' ? {} : { database: decodeURIComponent(database) }),
    encrypt: url.searchParams.get('encrypt') !== 'false',
    trustServerCertificate: url.searchParams.get('trustServerCertificate') === 'true',
  };
}

const column = (name: string, type: ColumnSchema['type'], sourceType: string = type.kind): ColumnSchema => ({ name, type, nullable: true, sourceType });
const position = (n: number) => n.toString().padStart(20, '0');
const upsert = (row: Row, at: number, key = 'id'): SinkChange => ({ op: 'upsert', key: { [key]: row[key] ?? null }, row, position: position(at) });
const remove = (id: Row[string], at: number, key = 'id'): SinkChange => ({ op: 'delete', key: { [key]: id }, position: position(at) });

/** One column per ColumnType kind. */
const ALL_TYPES: ColumnSchema[] = [
  column('id', { kind: 'int64' }),
  column('flag', { kind: 'boolean' }),
  column('small', { kind: 'int16' }),
  column('int', { kind: 'int32' }),
  column('big', { kind: 'int64' }),
  column('f32', { kind: 'float32' }),
  column('f64', { kind: 'float64' }),
  column('price', { kind: 'decimal', precision: 38, scale: 10 }),
  column('wide', { kind: 'decimal', precision: 65, scale: 30 }),
  column('big_u', { kind: 'decimal', precision: 20, scale: 0 }),
  column('name', { kind: 'string', length: 100 }),
  column('doc', { kind: 'json' }),
  column('status', { kind: 'enum', values: ['new', "it's"] }),
  column('tags', { kind: 'set', values: ['red', 'green', 'blue'] }),
  column('uuid', { kind: 'uuid' }),
  column('payload', { kind: 'bytes' }),
  column('bits', { kind: 'bits', length: 64 }),
  column('born', { kind: 'date' }),
  column('span', { kind: 'time' }),
  column('local', { kind: 'timestamp' }),
  column('utc', { kind: 'timestamptz' }),
  column('yr', { kind: 'year' }),
];

const MAX_ROW: Row = {
  id: 9223372036854775807n,
  flag: true,
  small: 32767,
  int: 2147483647,
  big: 9223372036854775807n,
  f32: Math.fround(3.4028234663852886e38),
  f64: 1.7976931348623157e308,
  price: '9999999999999999999999999999.9999999999',
  wide: '99999999999999999999999999999999999.999999999999999999999999999999',
  big_u: '18446744073709551615',
  name: '😀'.repeat(100),
  doc: '{"big": 18446744073709551615, "s": "\\u0000"}',
  status: "it's",
  tags: 'red,green,blue',
  uuid: 'ffffffff-ffff-ffff-ffff-ffffffffffff',
  payload: Buffer.from([0, 1, 0xfe, 0xff, 0]),
  bits: Buffer.from([0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x81]),
  born: 2932896, // 9999-12-31
  span: 3020399000000n, // 838:59:59
  local: 253402300799999999n, // 9999-12-31T23:59:59.999999
  utc: 253402300799999999n,
  yr: 2155,
};

const MIN_ROW: Row = {
  id: -9223372036854775808n,
  flag: false,
  small: -32768,
  int: -2147483648,
  big: -9223372036854775808n,
  f32: Math.fround(-1.1754943508222875e-38),
  f64: -2.2250738585072014e-308,
  price: '-0.0000000001',
  wide: '-99999999999999999999999999999999999.999999999999999999999999999999',
  big_u: '0',
  name: "quote ' \" ] ; back\\ NUL\u0000 trailing  ",
  doc: '[]',
  status: '',
  tags: '',
  uuid: '123e4567-e89b-42d3-a456-426614174000',
  payload: Buffer.alloc(0),
  bits: Buffer.alloc(8),
  born: -719162, // 0001-01-01
  span: -3020399000000n, // -838:59:59
  local: -62135596800000000n, // 0001-01-01T00:00:00
  utc: -1n, // 1969-12-31T23:59:59.999999Z
  yr: 0,
};

const NULL_ROW: Row = Object.fromEntries(ALL_TYPES.map((c) => [c.name, c.name === 'id' ? 0n : null]));

/** SQL that reads a column back in its exact ColumnValue form (text where the driver would round). */
function readExpression(c: ColumnSchema): string {
  const q = quoteIdent(c.name);
  switch (c.type.kind) {
    case 'boolean':
      return `CAST(${q} AS INT)`;
    case 'int64':
    case 'time':
      return `CONVERT(VARCHAR(20), ${q})`;
    case 'decimal':
      return `CONVERT(VARCHAR(80), ${q})`;
    case 'uuid':
      return `LOWER(CONVERT(CHAR(36), ${q}))`;
    case 'date':
      return `DATEDIFF(DAY, CAST('1970-01-01' AS DATE), ${q})`;
    case 'timestamp':
      return `CONVERT(VARCHAR(20), DATEDIFF_BIG(MICROSECOND, CAST('1970-01-01T00:00:00' AS DATETIME2(6)), ${q}))`;
    case 'timestamptz':
      return `CONVERT(VARCHAR(20), DATEDIFF_BIG(MICROSECOND, CAST('1970-01-01T00:00:00+00:00' AS DATETIMEOFFSET(6)), ${q}))`;
    default:
      return q;
  }
}

function fromRead(c: ColumnSchema, value: unknown): Row[string] {
  if (value === null || value === undefined) return null;
  switch (c.type.kind) {
    case 'boolean':
      return value === 1;
    case 'int64':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
      return BigInt(value as string);
    default:
      return value as Row[string];
  }
}

describe.skipIf(!URL_TEXT)(URL_TEXT ? 'SqlServerSink against MSSQL_URL' : `SqlServerSink — ${SKIP_REASON}`, () => {
  const base = URL_TEXT ? parseMssqlUrl(URL_TEXT) : (undefined as never);
  const database = `tributary_${randomBytes(4).toString('hex')}`;
  const connection: SqlServerConnection = { ...base, database };
  let admin: mssql.ConnectionPool;
  let pool: mssql.ConnectionPool;
  let sink: SqlServerSink;

  const poolConfig = (db?: string): mssql.config => ({
    server: base.host,
    port: base.port,
    user: base.user,
    password: base.password,
    database: db,
    options: { encrypt: base.encrypt, trustServerCertificate: base.trustServerCertificate },
  });

  beforeAll(async () => {
    admin = await new mssql.ConnectionPool(poolConfig(base.database)).connect();
    await admin.request().batch(`CREATE DATABASE ${quoteIdent(database)}`);
    pool = await new mssql.ConnectionPool(poolConfig(database)).connect();
    sink = new SqlServerSink({ connection });
    await sink.connect();
  });

  afterAll(async () => {
    await sink?.close();
    await pool?.close();
    if (admin) {
      await admin.request().batch(`ALTER DATABASE ${quoteIdent(database)} SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE ${quoteIdent(database)};`);
      await admin.close();
    }
  });

  const tableOf = (name: string, columns: ColumnSchema[], primaryKey = ['id']): TableSchema => ({ namespace: 'shop', table: name, columns, primaryKey });

  async function rows(table: TableSchema, schema = 'dbo'): Promise<Array<Row & { __position: string }>> {
    const select = table.columns.map((c, i) => `${readExpression(c)} AS [v${i}]`).join(', ');
    const order = table.primaryKey.map(quoteIdent).join(', ');
    const result = await pool
      .request()
      .query(`SELECT ${select}, [__tributary_position] AS [pos] FROM ${quoteIdent(schema)}.${quoteIdent(table.table)} ORDER BY ${order}`);
    return result.recordset.map((record: Record<string, unknown>) => ({
      ...Object.fromEntries(table.columns.map((c, i) => [c.name, fromRead(c, record[`v${i}`])])),
      __position: record.pos as string,
    }));
  }

  async function write(table: TableSchema, changes: SinkChange[], token = randomBytes(4).toString('hex')): Promise<void> {
    await sink.prepare(table);
    await sink.apply([{ table, changes }], token);
  }

  it('writes every ColumnType at its edge values and reads each back exactly', async () => {
    const table = tableOf('all_types', ALL_TYPES);
    await write(table, [upsert(MAX_ROW, 1), upsert(MIN_ROW, 2), upsert(NULL_ROW, 3)]);
    expect(await rows(table)).toEqual([
      { ...MIN_ROW, __position: position(2) },
      { ...NULL_ROW, __position: position(3) },
      { ...MAX_ROW, __position: position(1) },
    ]);
  });

  it('writes numeric, timetz, interval and arrays with NULL elements, and reads each back exactly', async () => {
    const table = tableOf('pg_kinds', [
      column('id', { kind: 'int64' }),
      column('num', { kind: 'numeric' }),
      column('tz', { kind: 'timetz' }),
      column('span', { kind: 'interval' }),
      column('ints', { kind: 'array', items: { kind: 'int64' } }),
      column('texts', { kind: 'array', items: { kind: 'string' } }),
      column('decs', { kind: 'array', items: { kind: 'decimal', precision: 40, scale: 10 } }),
      column('nums', { kind: 'array', items: { kind: 'numeric' } }),
    ]);
    const full: Row = {
      id: 1n,
      num: '-1234567890123456789012345678901234567890.0000000000000000000000000000000000000001',
      tz: '24:00:00.000000Z',
      span: 'P-178000000Y-11M-2147483648DT-2562047788H-54M-775.807S',
      ints: [9223372036854775807n, null, -9223372036854775808n],
      texts: ["quote ' \" ] 😀", null, ''],
      decs: ['-123456789012345678901234567890.0123456789', null],
      nums: ['NaN', null, '-Infinity'],
    };
    const other: Row = { id: 2n, num: 'NaN', tz: '00:00:00.000001Z', span: 'PT0S', ints: [], texts: [null], decs: [], nums: [] };
    const nulls: Row = { id: 3n, num: null, tz: null, span: null, ints: null, texts: null, decs: null, nums: null };
    await write(table, [upsert(full, 1), upsert(other, 1), upsert(nulls, 1)]);
    expect(await rows(table)).toEqual([
      {
        ...full,
        ints: '[9223372036854775807,null,-9223372036854775808]',
        texts: '["quote \' \\" ] 😀",null,""]',
        decs: '["-123456789012345678901234567890.0123456789",null]',
        nums: '["NaN",null,"-Infinity"]',
        __position: position(1),
      },
      { ...other, ints: '[]', texts: '[null]', decs: '[]', nums: '[]', __position: position(1) },
      { ...nulls, __position: position(1) },
    ]);
  });

  it('leaves unchanged columns as they are, and writes NULL for them in a row it does not have', async () => {
    const table = tableOf('toasted', [
      column('id', { kind: 'int32' }),
      column('title', { kind: 'string', length: 20 }),
      column('body', { kind: 'string' }),
      column('tags', { kind: 'array', items: { kind: 'int32' } }),
    ]);
    const update = (row: Row, at: number, unchanged: string[]): SinkChange => ({ op: 'upsert', key: { id: row.id ?? null }, row, position: position(at), unchanged });
    await write(table, [upsert({ id: 1, title: 'one', body: 'long body', tags: [1, null] }, 1), upsert({ id: 3, title: 'three', body: 'b3', tags: [3] }, 1)]);
    const batch = [
      update({ id: 1, title: 'one v2', body: null, tags: null }, 2, ['body', 'tags']),
      update({ id: 2, title: 'two', body: null, tags: null }, 2, ['body']),
      update({ id: 3, title: 'three v2', body: null, tags: null }, 2, ['tags']),
    ];
    await write(table, batch);
    await write(table, batch); // replayed: the guard keeps everything as it is
    await write(table, [update({ id: 1, title: 'stale', body: null, tags: null }, 1, ['body'])]);
    expect(await rows(table)).toEqual([
      { id: 1, title: 'one v2', body: 'long body', tags: '[1,null]', __position: position(2) },
      { id: 2, title: 'two', body: null, tags: null, __position: position(2) },
      { id: 3, title: 'three v2', body: null, tags: '[3]', __position: position(2) },
    ]);
  });

  it('is idempotent: the same batch twice, and an older change after a newer one, change nothing', async () => {
    const table = tableOf('idempotent', [column('id', { kind: 'int32' }), column('val', { kind: 'string', length: 10 })]);
    const batch = [upsert({ id: 1, val: 'b' }, 5), upsert({ id: 2, val: 'x' }, 6)];
    await write(table, batch, 'same');
    await write(table, batch, 'same');
    await write(table, [upsert({ id: 1, val: 'a' }, 4)]);
    expect(await rows(table)).toEqual([
      { id: 1, val: 'b', __position: position(5) },
      { id: 2, val: 'x', __position: position(6) },
    ]);
    await write(table, [upsert({ id: 1, val: 'c' }, 7)]);
    expect((await rows(table))[0]).toEqual({ id: 1, val: 'c', __position: position(7) });
  });

  it('deletes only rows written before the delete', async () => {
    const table = tableOf('deletes', [column('id', { kind: 'int32' }), column('val', { kind: 'string', length: 10 })]);
    await write(table, [upsert({ id: 1, val: 'a' }, 10), upsert({ id: 2, val: 'b' }, 10)]);
    await write(table, [remove(1, 9), remove(2, 11), remove(3, 12)]);
    expect(await rows(table)).toEqual([{ id: 1, val: 'a', __position: position(10) }]);
  });

  it('truncates only rows written before the truncate, and a replayed old truncate removes nothing newer', async () => {
    const table = tableOf('truncates', [column('id', { kind: 'int32' }), column('val', { kind: 'string', length: 10 })]);
    await write(table, [upsert({ id: 1, val: 'old' }, 2), upsert({ id: 2, val: 'new' }, 8)]);
    await sink.apply([{ table, changes: [{ op: 'truncate', position: position(5) }] }], 't1');
    expect(await rows(table)).toEqual([{ id: 2, val: 'new', __position: position(8) }]);
    await sink.apply([{ table, changes: [{ op: 'truncate', position: position(1) }] }], 't2');
    expect(await rows(table)).toHaveLength(1);
  });

  it('applies a batch of several tables in one transaction: all or nothing', async () => {
    const a = tableOf('tx_a', [column('id', { kind: 'int32' })]);
    const b = tableOf('tx_b', [column('id', { kind: 'string', length: 1000 })]);
    await sink.prepare(a);
    await sink.prepare(b);
    const tooLongKey = 'k'.repeat(451); // past the NVARCHAR(450) of a key column
    const batch: TableChanges[] = [
      { table: a, changes: [upsert({ id: 1 }, 1)] },
      { table: b, changes: [upsert({ id: tooLongKey }, 1)] },
    ];
    await expect(sink.apply(batch, 'tx')).rejects.toMatchObject({ code: 'TARGET_REJECTED', retriable: false });
    expect(await rows(a)).toEqual([]);
  });

  it('adds new columns and widens grown ones, keeping the rows', async () => {
    const v1 = tableOf('evolving', [column('id', { kind: 'int32' }), column('val', { kind: 'string', length: 5 }), column('n', { kind: 'int32' })]);
    await write(v1, [upsert({ id: 1, val: 'abcde', n: 1 }, 1)]);
    const v2 = tableOf('evolving', [
      column('id', { kind: 'int32' }),
      column('val', { kind: 'string', length: 50 }),
      column('n', { kind: 'int64' }),
      column('added]', { kind: 'decimal', precision: 12, scale: 2 }),
    ]);
    await write(v2, [upsert({ id: 2, val: 'x'.repeat(50), n: 9223372036854775807n, 'added]': '-1.50' }, 2)]);
    expect(await rows(v2)).toEqual([
      { id: 1, val: 'abcde', n: 1n, 'added]': null, __position: position(1) },
      { id: 2, val: 'x'.repeat(50), n: 9223372036854775807n, 'added]': '-1.50', __position: position(2) },
    ]);
    // The old schema still applies to the widened table (a replay of old events).
    await write(v1, [upsert({ id: 3, val: 'z', n: 3 }, 3)]);
  });

  it('refuses an incompatible change with SINK_SCHEMA_INCOMPATIBLE, naming table, column, types and fix', async () => {
    const v1 = tableOf('incompatible', [column('id', { kind: 'int32' }), column('n', { kind: 'int32' })]);
    await write(v1, [upsert({ id: 1, n: 1 }, 1)]);
    const typeChanged = tableOf('incompatible', [column('id', { kind: 'int32' }), column('n', { kind: 'uuid' }, 'uuid')]);
    await expect(sink.prepare(typeChanged)).rejects.toMatchObject({
      code: 'SINK_SCHEMA_INCOMPATIBLE',
      retriable: false,
      message: expect.stringMatching(/column "n" of \[dbo\]\.\[incompatible\] is INT, which cannot hold the new source type uuid .*UNIQUEIDENTIFIER.*Fix:/),
    });
    const keyChanged = tableOf('incompatible', v1.columns, ['id', 'n']);
    await expect(sink.prepare(keyChanged)).rejects.toMatchObject({ code: 'SINK_SCHEMA_INCOMPATIBLE', message: expect.stringContaining('primary key') });
  });

  it('writes tables, columns and a schema with hostile names', async () => {
    const hostileSink = new SqlServerSink({ connection }, { schema: 'sch]ema; --' });
    await hostileSink.connect();
    try {
      const names = ['a`b', 'a"b', 'a]b', 'a;b', 'a b', 'DROP TABLE x', "it's"];
      const table = tableOf('t]; DROP TABLE dbo.x; --', [column('k]ey', { kind: 'string', length: 20 }), ...names.map((n) => column(n, { kind: 'int32' }))], ['k]ey']);
      const row: Row = { 'k]ey': "Key'];--", ...Object.fromEntries(names.map((n, i) => [n, i])) };
      await hostileSink.prepare(table);
      await hostileSink.apply([{ table, changes: [upsert(row, 1, 'k]ey'), upsert({ ...row, 'k]ey': "key'];--" }, 1, 'k]ey')] }], 'hostile');
      const read = await rows(table, 'sch]ema; --');
      // Keys differing only in case stay apart: key text compares in a binary collation, as at the source.
      expect(read.map((r) => r['k]ey'])).toEqual(["Key'];--", "key'];--"]);
      expect(read[0]).toMatchObject(Object.fromEntries(names.map((n, i) => [n, i])));
    } finally {
      await hostileSink.close();
    }
  });

  it('reports a wrong password as TARGET_REJECTED without the password', async () => {
    const wrong = new SqlServerSink({ connection: { ...connection, password: 'not-the-Passw0rd' } });
    const error = await wrong.connect().then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({ code: 'TARGET_REJECTED', retriable: false });
    expect((error as Error).message).toContain(`refused the login of user "${connection.user}"`);
    expect((error as Error).message).not.toContain('not-the-Passw0rd');
    await wrong.close();
  });
});
