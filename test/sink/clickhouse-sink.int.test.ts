import '#test/support/stack-env.ts';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseSink } from '#connectors/clickhouse/sink.ts';
import { positionVersion } from '#connectors/clickhouse/version.ts';
import { ClickHouseSinkConfigSchema, type ClickHouseSinkConfig } from '#config/schema.ts';
import type { Row } from '#core/change-event.ts';
import type { ColumnType, ColumnValue } from '#core/column-type.ts';
import { TributaryError } from '#core/errors.ts';
import type { SinkChange, TableChanges } from '#core/sink.ts';
import type { ColumnSchema, TableSchema } from '#core/table-schema.ts';
import { stackEnv } from '#test/support/stack-env.ts';
import { uniqueName } from '#test/support/wait.ts';

// ClickHouseSink driven directly with hand-built TableChanges against the stack's ClickHouse (18.16 locally; the
// expectations follow the server's detected features where the column types differ). Values are read back as
// the server prints them — strings and bytes through hex() — and compared with expectations computed here from
// the ColumnValues, independently of the sink's encoder. Each test has its own database, dropped after it.

const URL_ = stackEnv('CLICKHOUSE_URL');
let admin: ClickHouseClient;

beforeAll(() => {
  admin = createClient({ url: URL_, log: { level: ClickHouseLogLevel.OFF } });
});
afterAll(async () => {
  await admin.close();
});

/** Quoted independently of the dialect under test: ClickHouse also accepts a doubled backquote. */
const q = (name: string) => `\`${name.replace(/\\/g, '\\\\').replace(/`/g, '``')}\``;
const lit = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

function config(database: string, connection: Record<string, unknown> = {}): ClickHouseSinkConfig {
  return ClickHouseSinkConfigSchema.parse({
    type: 'clickhouse',
    name: 'ch-test',
    topics: ['tributary.shop.t'],
    connection: { url: URL_, database, ...connection },
  });
}

/** A connected sink on a database of its own, closed and dropped after `work`. */
async function withSink(work: (sink: ClickHouseSink, database: string) => Promise<void>, prefix = 'chsink'): Promise<void> {
  const database = uniqueName(prefix);
  const sink = new ClickHouseSink(config(database), { mutationTimeoutMs: 60_000 });
  try {
    await sink.connect();
    await work(sink, database);
  } finally {
    await sink.close();
    await admin.command({ query: `DROP DATABASE IF EXISTS ${q(database)}` });
  }
}

async function text(query: string): Promise<string[][]> {
  const result = await admin.query({ query, format: 'TabSeparated' });
  const body = await result.text();
  return body === '' ? [] : body.replace(/\n$/, '').split('\n').map((line) => line.split('\t'));
}

/** For names, whose TabSeparated form would be escaped. */
async function json<T>(query: string): Promise<T[]> {
  const result = await admin.query({ query, format: 'JSONEachRow' });
  return result.json<T>();
}

async function columnTypes(database: string, table: string): Promise<Map<string, string>> {
  const rows = await json<{ name: string; type: string }>(`SELECT name, type FROM system.columns WHERE database = ${lit(database)} AND table = ${lit(table)}`);
  return new Map(rows.map(({ name, type }) => [name, type]));
}

const col = (name: string, type: ColumnType, nullable = true): ColumnSchema => ({ name, type, nullable, sourceType: type.kind });
const pos = (file: number, offset: number, row: number) =>
  `${String(file).padStart(10, '0')}:${String(offset).padStart(20, '0')}:${String(row).padStart(6, '0')}`;
const upsert = (row: Row, position: string, key = 'id'): SinkChange => ({ op: 'upsert', key: { [key]: row[key] ?? null }, row, position });

// ---------------------------------------------------------------------------------------------------------------
// Expected cells, as ClickHouse prints each value in TabSeparated (strings as hex()).

function iso(micros: bigint): string {
  const seconds = micros / 1_000_000n - (micros % 1_000_000n < 0n ? 1n : 0n);
  const fraction = ((micros % 1_000_000n) + 1_000_000n) % 1_000_000n;
  const date = new Date(Number(seconds) * 1000);
  return `${date.toISOString().slice(0, 19).replace('T', ' ')}.${String(fraction).padStart(6, '0')}`;
}

function expectedCell(column: ColumnSchema, chType: string, value: ColumnValue): string {
  if (value === null) return '\\N';
  const base = chType.replace(/^Nullable\((.*)\)$/, '$1');
  if (base === 'String') {
    const bytes = Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8');
    return bytes.toString('hex').toUpperCase();
  }
  switch (column.type.kind) {
    case 'boolean':
      return value ? '1' : '0';
    case 'bits':
      return (value as Buffer).length === 0 ? '0' : BigInt(`0x${Buffer.from(value as Buffer).reverse().toString('hex')}`).toString();
    case 'date':
      return base === 'Date32' ? new Date(Number(value) * 86_400_000).toISOString().slice(0, 10) : String(value);
    case 'timestamp':
    case 'timestamptz':
      return base.startsWith('DateTime64') ? iso(value as bigint) : String(value);
    default:
      return String(value);
  }
}

/** Floats compare by bits: the server's shortest text for them reads back as the same double. */
function floatOf(cell: string): number {
  return { nan: NaN, '-nan': NaN, inf: Infinity, '+inf': Infinity, '-inf': -Infinity }[cell] ?? Number(cell);
}

async function expectRows(database: string, table: TableSchema, query: (selected: string) => string, rows: Row[]): Promise<void> {
  const types = await columnTypes(database, table.table);
  const selected = table.columns
    .map((c) => (/^(Nullable\()?String\)?$/.test(types.get(c.name) ?? '') ? `hex(${q(c.name)})` : q(c.name)))
    .join(', ');
  const cells = await text(query(selected));
  expect(cells.length).toBe(rows.length);
  rows.forEach((row, r) => {
    table.columns.forEach((column, i) => {
      const cell = cells[r]?.[i] as string;
      const value = row[column.name] ?? null;
      const where = `row ${r} column ${column.name}`;
      if ((column.type.kind === 'float64' || column.type.kind === 'float32') && value !== null) {
        const read = column.type.kind === 'float32' ? Math.fround(floatOf(cell)) : floatOf(cell);
        expect(Object.is(read, value), `${where}: ${cell} is not ${String(value)}`).toBe(true);
      } else {
        expect(cell, where).toBe(expectedCell(column, types.get(column.name) as string, value));
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------

describe('ClickHouseSink', () => {
  it('writes every ColumnType and reads its edge values back exactly under FINAL', async () => {
    await withSink(async (sink, database) => {
      // Date32/DateTime64 (current servers) cover 1900–2299 only; 18.16 stores days and microseconds, any value.
      const wide = !sink.features.extendedTypes;
      const table: TableSchema = {
        namespace: 'shop',
        table: 'golden',
        primaryKey: ['id'],
        columns: [
          col('id', { kind: 'int64' }, false),
          col('flag', { kind: 'boolean' }),
          col('small', { kind: 'int16' }),
          col('medium', { kind: 'int32' }),
          col('big', { kind: 'int64' }),
          col('f32', { kind: 'float32' }),
          col('f64', { kind: 'float64' }),
          col('price', { kind: 'decimal', precision: 38, scale: 10 }),
          col('cents', { kind: 'decimal', precision: 9, scale: 2 }),
          col('amount', { kind: 'decimal', precision: 18, scale: 4 }),
          col('big_u', { kind: 'decimal', precision: 20, scale: 0 }),
          col('wide', { kind: 'decimal', precision: 65, scale: 30 }),
          col('name', { kind: 'string', length: 100 }),
          col('doc', { kind: 'json' }),
          col('status', { kind: 'enum', values: ['new', "it's"] }),
          col('tags', { kind: 'set', values: ['red', 'blue'] }),
          col('uid', { kind: 'uuid' }),
          col('payload', { kind: 'bytes' }),
          col('bits64', { kind: 'bits', length: 64 }),
          col('bits3', { kind: 'bits', length: 3 }),
          col('born', { kind: 'date' }),
          col('span', { kind: 'time' }),
          col('at_local', { kind: 'timestamp' }),
          col('at_utc', { kind: 'timestamptz' }),
          col('yr', { kind: 'year' }),
        ],
      };
      const max: Row = {
        id: 9223372036854775807n,
        flag: true,
        small: 32767,
        medium: 2147483647,
        big: 9223372036854775807n,
        f32: Math.fround(3.4028234663852886e38),
        f64: 1.7976931348623157e308,
        price: '9999999999999999999999999999.9999999999',
        cents: '9999999.99',
        amount: '99999999999999.9999',
        big_u: '18446744073709551615',
        wide: '99999999999999999999999999999999999.999999999999999999999999999999',
        name: 'Zoë 😀 "quoted" \\ back\ttab\nnewline\0nul',
        doc: '{"a": [1, 2.50, "x"], "big": 18446744073709551615}',
        status: "it's",
        tags: 'red,blue',
        uid: 'ffffffff-ffff-4fff-bfff-ffffffffffff',
        payload: Buffer.from([0, 1, 2, 0xfe, 0xff, 0]),
        bits64: Buffer.from([0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x81]),
        bits3: Buffer.from([0x05]),
        born: wide ? 2_932_896 : 120_529, // 9999-12-31 / 2299-12-31
        span: 3_020_399_000_000n, // 838:59:59
        at_local: wide ? 253_402_300_799_999_999n : 10_413_791_999_999_999n, // 9999-12-31 / 2299-12-31 23:59:59.999999
        at_utc: 2_147_483_647_999_999n,
        yr: 2155,
      };
      const min: Row = {
        id: -9223372036854775808n,
        flag: false,
        small: -32768,
        medium: -2147483648,
        big: -9223372036854775808n,
        f32: Math.fround(1.4e-45),
        f64: -5e-324,
        price: '-9999999999999999999999999999.9999999999',
        cents: '-0.01',
        amount: '-0.0001',
        big_u: '0',
        wide: '-99999999999999999999999999999999999.999999999999999999999999999999',
        name: '',
        doc: '[]',
        status: '',
        tags: '',
        uid: '00000000-0000-0000-0000-000000000000',
        payload: Buffer.alloc(0),
        bits64: Buffer.alloc(8),
        bits3: Buffer.from([0]),
        born: wide ? -719_162 : -25_567, // 0001-01-01 / 1900-01-01
        span: -3_020_399_000_000n, // -838:59:59
        at_local: wide ? -62_135_596_800_000_000n : -2_208_988_800_000_000n,
        at_utc: wide ? -1n : 0n,
        yr: 0,
      };
      // Floats that text parsing gets wrong on 18.16 (one ulp off) or cannot spell in JSON.
      const floats: Row = { id: 1n, f32: Number.NaN, f64: 2.3609440048480364e-154, born: 11_016, span: -500_000n, at_local: 951_782_400_000_001n };
      const floats2: Row = { id: 2n, f32: -Infinity, f64: -0 };
      const floats3: Row = { id: 3n, f32: Math.fround(0.1), f64: Number.NaN };
      const nulls: Row = Object.fromEntries(table.columns.map((c) => [c.name, c.name === 'id' ? 0n : null]));
      const rows = [max, min, floats, floats2, floats3, nulls];

      await sink.prepare(table);
      await sink.apply([{ table, changes: rows.map((row, i) => upsert(row, pos(3, 1000, i + 1))) }], 'golden-1');

      const byId = [...rows].sort((a, b) => (BigInt(a.id as bigint) < BigInt(b.id as bigint) ? -1 : 1));
      await expectRows(database, table, (s) => `SELECT ${s} FROM ${q(database)}.${q('golden')} FINAL ORDER BY id`, byId);
      await expectRows(database, table, (s) => `SELECT ${s} FROM ${q(database)}.${q('golden_current')} ORDER BY id`, byId);
      // Tributary's own columns: the version from the position, never from a clock.
      expect(await text(`SELECT __tributary_version, __tributary_deleted, __tributary_position FROM ${q(database)}.golden FINAL WHERE id = 1`)).toEqual([
        [positionVersion(pos(3, 1000, 3)).toString(), '0', pos(3, 1000, 3)],
      ]);
    });
  });

  it('writes numeric, timetz, interval and arrays with NULL elements, and reads each back exactly', async () => {
    await withSink(async (sink, database) => {
      const extended = sink.features.extendedTypes;
      const table: TableSchema = {
        namespace: 'public',
        table: 'pg_kinds',
        primaryKey: ['id'],
        columns: [
          col('id', { kind: 'int64' }, false),
          col('num', { kind: 'numeric' }),
          col('tz', { kind: 'timetz' }),
          col('span', { kind: 'interval' }),
          col('ints', { kind: 'array', items: { kind: 'int64' } }),
          col('texts', { kind: 'array', items: { kind: 'string' } }),
          col('wide', { kind: 'array', items: { kind: 'decimal', precision: 40, scale: 10 } }),
          col('decs', { kind: 'array', items: { kind: 'decimal', precision: 20, scale: 2 } }),
          col('nums', { kind: 'array', items: { kind: 'numeric' } }),
          col('days', { kind: 'array', items: { kind: 'date' } }),
        ],
      };
      const rows: Row[] = [
        {
          id: 1n,
          num: '-1234567890123456789012345678901234567890.0000000000000000000000000000000000000001',
          tz: '24:00:00.000000Z',
          span: 'P-178000000Y-11M-2147483648DT-2562047788H-54M-775.807S',
          ints: [9223372036854775807n, null, -9223372036854775808n],
          texts: ["it's \\ \t \n 😀", null, ''],
          wide: ['-123456789012345678901234567890.0123456789', null],
          decs: ['999999999999999999.99', null, '-0.01'],
          nums: ['NaN', null, '1234567890123456789012345678901234567890', '-Infinity'],
          days: [0, null, extended ? -25_567 : -719_162],
        },
        { id: 2n, num: 'NaN', tz: '00:00:00.000001Z', span: 'PT0S', ints: [], texts: [null], wide: [], decs: [], nums: [], days: [] },
        { id: 3n, num: 'Infinity', tz: null, span: null, ints: null, texts: null, wide: null, decs: null, nums: null, days: null },
      ];
      await sink.prepare(table);
      await sink.apply([{ table, changes: rows.map((row) => upsert(row, pos(1, 10, Number(row.id)))) }], 'pg-1');

      expect(Object.fromEntries(await columnTypes(database, 'pg_kinds'))).toMatchObject({
        num: 'Nullable(String)',
        tz: 'Nullable(String)',
        span: 'Nullable(String)',
        ints: 'Array(Nullable(Int64))',
        texts: 'Array(Nullable(String))',
        wide: extended ? 'Array(Nullable(Decimal(40, 10)))' : 'Array(Nullable(String))',
        decs: 'Array(Nullable(Decimal(20, 2)))',
        nums: 'Array(Nullable(String))',
        days: extended ? 'Array(Nullable(Date32))' : 'Array(Nullable(Int32))',
      });
      const hexes = (values: ColumnValue[]) => `[${values.map((v) => (v === null ? 'NULL' : `'${Buffer.from(String(v)).toString('hex').toUpperCase()}'`)).join(',')}]`;
      const plain = (values: ColumnValue[]) => `[${values.map((v) => (v === null ? 'NULL' : String(v))).join(',')}]`;
      const wide = (values: ColumnValue[]) => (extended ? plain(values) : `[${values.map((v) => (v === null ? 'NULL' : `'${String(v)}'`)).join(',')}]`);
      const days = (values: ColumnValue[]) => (extended ? `[${values.map((v) => (v === null ? 'NULL' : `'${new Date(Number(v) * 86_400_000).toISOString().slice(0, 10)}'`)).join(',')}]` : plain(values));
      const cells = await text(
        `SELECT id, hex(num), tz, span, ints, arrayMap(x -> hex(x), texts), wide, decs, arrayMap(x -> hex(x), nums), days FROM ${q(database)}.pg_kinds FINAL ORDER BY id`,
      );
      expect(cells).toEqual(
        rows.map((row) => [
          String(row.id),
          Buffer.from(String(row.num)).toString('hex').toUpperCase(),
          row.tz ?? '\\N',
          row.span ?? '\\N',
          plain((row.ints as ColumnValue[] | null) ?? []),
          hexes((row.texts as ColumnValue[] | null) ?? []),
          wide((row.wide as ColumnValue[] | null) ?? []),
          plain((row.decs as ColumnValue[] | null) ?? []),
          hexes((row.nums as ColumnValue[] | null) ?? []),
          days((row.days as ColumnValue[] | null) ?? []),
        ]),
      );
    });
  });

  it('keeps the stored values of unchanged columns, exactly, by key; NULL (or []) where the key has no row', async () => {
    await withSink(async (sink, database) => {
      const table: TableSchema = {
        namespace: 'public',
        table: 'toasted',
        primaryKey: ['id', 'region'],
        columns: [
          col('id', { kind: 'int64' }, false),
          col('region', { kind: 'string' }, false),
          col('title', { kind: 'string' }),
          col('body', { kind: 'string' }),
          col('tags', { kind: 'array', items: { kind: 'int32' } }),
          col('n', { kind: 'numeric' }),
          col('amount', { kind: 'decimal', precision: 38, scale: 10 }),
          col('f64', { kind: 'float64' }),
          col('uid', { kind: 'uuid' }),
        ],
      };
      const keyOf = (row: Row) => ({ id: row.id ?? null, region: row.region ?? null });
      const change = (row: Row, position: string, unchanged?: string[]): SinkChange => ({ op: 'upsert', key: keyOf(row), row, position, ...(unchanged ? { unchanged } : {}) });
      const region = "it's'); DROP TABLE x; -- \\ 😀";
      const body = `${'long text '.repeat(3000)}\u0000\t`;
      const full = (id: bigint, title: string): Row => ({
        id,
        region,
        title,
        body,
        tags: [1, null, -2147483648],
        n: '-1234567890123456789012345678901234567890.5',
        amount: '-9999999999999999999999999999.9999999999',
        f64: 2.3609440048480364e-154,
        uid: 'ffffffff-ffff-4fff-bfff-ffffffffffff',
      });
      const blank: Row = { title: null, body: null, tags: null, n: null, amount: null, f64: null, uid: null };
      const kept = ['body', 'tags', 'n', 'amount', 'f64', 'uid'];
      await sink.prepare(table);
      await sink.apply([{ table, changes: [change(full(-9223372036854775808n, 'one'), pos(1, 10, 1)), change(full(2n, 'two'), pos(1, 10, 2))] }], 'u0');
      await sink.apply([{ table, changes: [{ op: 'delete', key: { id: 2n, region }, position: pos(1, 20, 1) }] }], 'u1');
      const batch: TableChanges[] = [
        {
          table,
          changes: [
            change({ ...full(-9223372036854775808n, 'one v2'), ...blank, title: 'one v2' }, pos(1, 30, 1), kept),
            change({ id: 2n, region, ...blank, title: 'two again' }, pos(1, 30, 2), kept), // its last version is a delete
            change({ id: 3n, region, ...blank, title: 'three' }, pos(1, 30, 3), kept), // never written
          ],
        },
      ];
      await sink.apply(batch, 'u2');
      await sink.apply(batch, 'u2'); // a replay reads the same values and changes nothing

      const read = () =>
        text(
          `SELECT id, title, hex(body), tags, hex(n), amount, f64, uid, __tributary_position FROM ${q(database)}.toasted FINAL ` +
            'WHERE __tributary_deleted = 0 ORDER BY id',
        );
      const one = [
        '-9223372036854775808',
        'one v2',
        Buffer.from(body).toString('hex').toUpperCase(),
        '[1,NULL,-2147483648]',
        Buffer.from('-1234567890123456789012345678901234567890.5').toString('hex').toUpperCase(),
        '-9999999999999999999999999999.9999999999',
        '2.3609440048480364e-154',
        'ffffffff-ffff-4fff-bfff-ffffffffffff',
        pos(1, 30, 1),
      ];
      const fresh = (id: string, title: string, position: string) => [id, title, '\\N', '[]', '\\N', '\\N', '\\N', '\\N', position];
      expect(await read()).toEqual([one, fresh('2', 'two again', pos(1, 30, 2)), fresh('3', 'three', pos(1, 30, 3))]);

      // A later part of the same apply (another table version) sees what an earlier part inserted.
      const v2: TableSchema = { ...table, columns: [...table.columns, col('extra', { kind: 'int32' })] };
      await sink.prepare(v2);
      await sink.apply(
        [
          { table, changes: [change({ ...full(3n, 'three v2') }, pos(1, 40, 1))] },
          { table: v2, changes: [change({ id: 3n, region, ...blank, title: 'three v3', extra: 7 }, pos(1, 40, 2), kept)] },
        ],
        'u3',
      );
      expect((await read())[2]).toEqual(['3', 'three v3', ...one.slice(2, 8), pos(1, 40, 2)]);
    });
  });

  it('is idempotent: a batch applied twice leaves one row per key, and an older change never wins', async () => {
    await withSink(async (sink, database) => {
      const table: TableSchema = { namespace: 'shop', table: 'items', primaryKey: ['id'], columns: [col('id', { kind: 'int32' }, false), col('v', { kind: 'string' })] };
      const batch: TableChanges[] = [{ table, changes: [1, 2, 3].map((id) => upsert({ id, v: `v${id}` }, pos(1, 100, id))) }];
      await sink.prepare(table);
      await sink.apply(batch, 'batch-a');
      await sink.apply(batch, 'batch-a'); // the runner's replay after a crash before its offset commit
      const read = () => text(`SELECT id, v, __tributary_position FROM ${q(database)}.items FINAL ORDER BY id`);
      expect(await read()).toEqual([
        ['1', 'v1', pos(1, 100, 1)],
        ['2', 'v2', pos(1, 100, 2)],
        ['3', 'v3', pos(1, 100, 3)],
      ]);

      await sink.apply([{ table, changes: [upsert({ id: 1, v: 'newer' }, pos(2, 50, 1))] }], 'batch-b');
      // Older changes arriving later (an earlier topic partition replayed): an upsert and a delete. Positions are
      // those a binlog can hold: a transaction at offset 90 with 9 rows ends before offset 100.
      await sink.apply([{ table, changes: [upsert({ id: 1, v: 'older' }, pos(1, 900, 1)), { op: 'delete', key: { id: 2 }, position: pos(1, 90, 9) }] }], 'batch-c');
      expect(await read()).toEqual([
        ['1', 'newer', pos(2, 50, 1)],
        ['2', 'v2', pos(1, 100, 2)],
        ['3', 'v3', pos(1, 100, 3)],
      ]);
      expect(await text(`SELECT count() FROM ${q(database)}.items_current`)).toEqual([['3']]);
    });
  });

  it('hides deleted rows from FINAL queries and the _current view, and brings a key back on a later upsert', async () => {
    await withSink(async (sink, database) => {
      const table: TableSchema = {
        namespace: 'shop',
        table: 'people',
        primaryKey: ['id'],
        columns: [col('id', { kind: 'int64' }, false), col('name', { kind: 'string' }), col('age', { kind: 'int32' })],
      };
      await sink.prepare(table);
      await sink.apply([{ table, changes: [upsert({ id: 1n, name: 'ann', age: 30 }, pos(1, 10, 1)), upsert({ id: 2n, name: 'bob', age: 40 }, pos(1, 10, 2))] }], 't1');
      await sink.apply([{ table, changes: [{ op: 'delete', key: { id: 1n }, position: pos(1, 20, 1) }] }], 't2');

      const live = `SELECT id FROM ${q(database)}.people FINAL WHERE __tributary_deleted = 0 ORDER BY id`;
      expect(await text(live)).toEqual([['2']]);
      expect(await text(`SELECT id, name, age FROM ${q(database)}.people_current ORDER BY id`)).toEqual([['2', 'bob', '40']]);
      if (sink.features.isDeletedEngine) {
        expect(await text(`SELECT id FROM ${q(database)}.people FINAL ORDER BY id`)).toEqual([['2']]);
      }
      // The delete row, the key's latest version: key, NULLs, the flag and the delete's own version. Read
      // without FINAL because the is_deleted engine (23.2+) hides it from FINAL.
      expect(
        await text(
          `SELECT id, name, age, __tributary_deleted, __tributary_version FROM ${q(database)}.people WHERE id = 1 ` +
            'ORDER BY __tributary_version DESC LIMIT 1',
        ),
      ).toEqual([['1', '\\N', '\\N', '1', positionVersion(pos(1, 20, 1)).toString()]]);

      await sink.apply([{ table, changes: [upsert({ id: 1n, name: 'ann again', age: 31 }, pos(1, 30, 1))] }], 't3');
      expect(await text(`SELECT id, name FROM ${q(database)}.people_current ORDER BY id`)).toEqual([
        ['1', 'ann again'],
        ['2', 'bob'],
      ]);
    });
  });

  it('truncates every row written before the truncate, waiting for the mutation, and keeps later ones', async () => {
    await withSink(async (sink, database) => {
      const table: TableSchema = { namespace: 'shop', table: 'log', primaryKey: ['id'], columns: [col('id', { kind: 'int32' }, false), col('v', { kind: 'string' })] };
      await sink.prepare(table);
      await sink.apply([{ table, changes: [1, 2, 3].map((id) => upsert({ id, v: 'before' }, pos(1, 100, id))) }], 'a');
      const truncateAt = pos(1, 300, 0);
      await sink.apply(
        [
          { table, changes: [upsert({ id: 4, v: 'before too' }, pos(1, 200, 1))] },
          { table, changes: [{ op: 'truncate', position: truncateAt }] },
          { table, changes: [upsert({ id: 5, v: 'after' }, pos(1, 400, 1)), upsert({ id: 1, v: 'after' }, pos(1, 400, 2))] },
        ],
        'b',
      );
      // No polling: apply() resolves only once the mutation is done.
      expect(await text(`SELECT count() FROM ${q(database)}.log WHERE __tributary_version < ${positionVersion(truncateAt)}`)).toEqual([['0']]);
      expect(await text(`SELECT count() FROM system.mutations WHERE database = ${lit(database)} AND is_done = 0`)).toEqual([['0']]);
      expect(await text(`SELECT id, v FROM ${q(database)}.log_current ORDER BY id`)).toEqual([
        ['1', 'after'],
        ['5', 'after'],
      ]);
    });
  });

  it('adds columns a new schema version brings, and refuses an incompatible change naming table, column, types and fix', async () => {
    await withSink(async (sink, database) => {
      const v1: TableSchema = { namespace: 'shop', table: 'orders', primaryKey: ['id'], columns: [col('id', { kind: 'int32' }, false), col('qty', { kind: 'int32' })] };
      await sink.prepare(v1);
      await sink.apply([{ table: v1, changes: [upsert({ id: 1, qty: 5 }, pos(1, 10, 1))] }], 'v1');

      const v2: TableSchema = { ...v1, columns: [...v1.columns, col('note', { kind: 'string' }), col('amount', { kind: 'decimal', precision: 10, scale: 2 })] };
      await sink.prepare(v2);
      await sink.prepare(v2); // cached: nothing to do
      await sink.apply([{ table: v2, changes: [upsert({ id: 2, qty: 6, note: 'n', amount: '12.50' }, pos(1, 20, 1))] }], 'v2');
      expect(await columnTypes(database, 'orders')).toEqual(
        new Map([
          ['id', 'Int32'],
          ['qty', 'Nullable(Int32)'],
          ['__tributary_version', 'UInt64'],
          ['__tributary_deleted', 'UInt8'],
          ['__tributary_position', 'String'],
          ['note', 'Nullable(String)'],
          ['amount', 'Nullable(Decimal(10, 2))'],
        ]),
      );
      // The view was created again with the new columns.
      expect(await text(`SELECT id, qty, note, amount FROM ${q(database)}.orders_current ORDER BY id`)).toEqual([
        ['1', '5', '\\N', '\\N'],
        ['2', '6', 'n', '12.50'],
      ]);

      const v3: TableSchema = { ...v2, columns: v2.columns.map((c) => (c.name === 'qty' ? { ...c, type: { kind: 'string' }, sourceType: 'varchar(10)' } : c)) };
      const refused = await sink.prepare(v3).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(TributaryError);
      expect(refused).toMatchObject({ code: 'SINK_SCHEMA_INCOMPATIBLE', retriable: false });
      const message = (refused as Error).message;
      expect(message).toContain(`\`${database}\`.\`orders\``);
      expect(message).toContain('column `qty` is Nullable(Int32) in ClickHouse, which cannot hold string (varchar(10) at the source)');
      expect(message).toContain('MODIFY COLUMN `qty` Nullable(String)');
      await expect(sink.apply([{ table: v3, changes: [upsert({ id: 3, qty: 'x' }, pos(1, 30, 1))] }], 'v3')).rejects.toMatchObject({ code: 'SINK_SCHEMA_INCOMPATIBLE' });

      const rekeyed: TableSchema = { ...v2, primaryKey: ['id', 'qty'] };
      await expect(sink.prepare(rekeyed)).rejects.toThrow(/primary key is \(id, qty\) but the table is ordered by \(id\)/);
      // The table is untouched and the compatible schema still writes.
      await sink.apply([{ table: v2, changes: [upsert({ id: 3, qty: 7, note: null, amount: null }, pos(1, 40, 1))] }], 'v2b');
      expect(await text(`SELECT count() FROM ${q(database)}.orders_current`)).toEqual([['3']]);
    });
  });

  it('quotes hostile database, table and column names everywhere', async () => {
    await withSink(async (sink, database) => {
      // Tables the names try to drop, to show nothing was injected.
      await admin.command({ query: `CREATE TABLE ${q(database)}.x (a UInt8) ENGINE = MergeTree ORDER BY a` });
      await admin.command({ query: `CREATE TABLE ${q(database)}.y (a UInt8) ENGINE = MergeTree ORDER BY a` });
      const names = ['k`;"]', 'DROP TABLE x', 'a b', "it's", 'back\\slash', 'Zoë'];
      const table: TableSchema = {
        namespace: 'shop',
        table: 'we`ird "t" ]; DROP TABLE y',
        primaryKey: ['k`;"]'],
        columns: names.map((name, i) => col(name, i === 0 ? { kind: 'int32' } : { kind: 'string' }, i !== 0)),
      };
      const row = (k: number): Row => Object.fromEntries(names.map((name, i) => [name, i === 0 ? k : `${name}=${k}`]));
      await sink.prepare(table);
      await sink.apply([{ table, changes: [1, 2, 3].map((k) => upsert(row(k), pos(1, 10, k), 'k`;"]')) }], 'h1');
      await sink.apply([{ table, changes: [{ op: 'delete', key: { 'k`;"]': 2 }, position: pos(1, 20, 1) }] }], 'h2');
      await sink.apply([{ table, changes: [{ op: 'truncate', position: pos(1, 10, 2) }] }], 'h3');
      const evolved: TableSchema = { ...table, columns: [...table.columns, col('new `col`', { kind: 'int32' })] };
      await sink.prepare(evolved);

      const tables = await json<{ name: string }>(`SELECT name FROM system.tables WHERE database = ${lit(database)} ORDER BY name`);
      expect(tables.map(({ name }) => name)).toEqual(['we`ird "t" ]; DROP TABLE y', 'we`ird "t" ]; DROP TABLE y_current', 'x', 'y'].sort());
      const columns = await columnTypes(database, table.table);
      expect([...columns.keys()].filter((name) => !name.startsWith('__tributary'))).toEqual([...names, 'new `col`']);
      expect(await text(`SELECT ${q('k`;"]')}, hex(${q("it's")}) FROM ${q(database)}.${q(`${table.table}_current`)} ORDER BY 1`)).toEqual([
        ['3', Buffer.from("it's=3").toString('hex').toUpperCase()],
      ]);
    }, 'chsink_we`ird "db" ];');
  });

  it('gives a source table named like another table\'s view that name, and leaves it alone afterwards', async () => {
    await withSink(async (sink, database) => {
      const orders: TableSchema = { namespace: 'shop', table: 'orders', primaryKey: ['id'], columns: [col('id', { kind: 'int32' }, false)] };
      const current: TableSchema = { namespace: 'shop', table: 'orders_current', primaryKey: ['id'], columns: [col('id', { kind: 'int32' }, false), col('x', { kind: 'int32' })] };
      await sink.prepare(orders);
      await sink.prepare(current);
      await sink.prepare({ ...orders, columns: [...orders.columns, col('y', { kind: 'string' })] });
      await sink.apply([{ table: current, changes: [upsert({ id: 1, x: 2 }, pos(1, 1, 1))] }], 'c');
      expect(await text(`SELECT name, engine FROM system.tables WHERE database = ${lit(database)} ORDER BY name`)).toEqual([
        ['orders', 'ReplacingMergeTree'],
        ['orders_current', 'ReplacingMergeTree'],
        ['orders_current_current', 'View'],
      ]);
      expect(await text(`SELECT id, x FROM ${q(database)}.orders_current FINAL`)).toEqual([['1', '2']]);
    });
  });

  it('refuses a wrong password with a clear TARGET_REJECTED that does not show it', async () => {
    const password = 'wrong-Pa55word-9f3k';
    const sink = new ClickHouseSink(config(uniqueName('chsink'), { password }));
    const error = await sink.connect().then(
      () => undefined,
      (e: unknown) => e,
    );
    await sink.close();
    expect(error).toBeInstanceOf(TributaryError);
    expect(error).toMatchObject({ code: 'TARGET_REJECTED', retriable: false });
    const message = (error as Error).message;
    expect(message).toMatch(/connecting ClickHouse sink "ch-test" to http:\/\/127\.0\.0\.1:\d+ as user "default"/);
    expect(message).toMatch(/refused the login.*(password|Authentication)/i);
    expect(message).not.toContain(password);
    expect(JSON.stringify(error)).not.toContain(password);
  });

  it('reports an unreachable server as retriable TARGET_UNAVAILABLE', async () => {
    const sink = new ClickHouseSink(config('unused', { url: 'http://127.0.0.1:1' }));
    await expect(sink.connect()).rejects.toMatchObject({ code: 'TARGET_UNAVAILABLE', retriable: true });
    await sink.close();
    await sink.close();
  });
});
