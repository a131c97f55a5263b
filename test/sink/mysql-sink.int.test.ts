import { inspect } from 'node:util';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MysqlSinkConfigSchema } from '#config/schema.ts';
import type { Row } from '#core/change-event.ts';
import type { ColumnType, ColumnValue } from '#core/column-type.ts';
import { TributaryError } from '#core/errors.ts';
import type { SinkChange, TableChanges } from '#core/sink.ts';
import type { ColumnSchema, TableSchema } from '#core/table-schema.ts';
import type { StatementLimits } from '#mysql/sink-dialect.ts';
import { MySqlSink } from '#mysql/sink.ts';
import { rowFromMySql } from '#mysql/values.ts';
import { GOLDEN_COLUMNS, GOLDEN_MAX_ROW, GOLDEN_NULL_ROW } from '#test/fixtures/golden-mysql.ts';
import { connectMySql, mysqlConnection, scratchDatabase } from '#test/support/mysql.ts';

// MySqlSink against the stack's MariaDB, driven with hand-built TableChanges (no Kafka): every column type
// written and read back exactly, idempotent replays, schema evolution, hostile names, connection errors.
// Every apply() resolves only after COMMIT, so the tests read the target straight after, without polling.

const col = (name: string, type: ColumnType, sourceType: string = type.kind): ColumnSchema => ({ name, type, nullable: true, sourceType });
const q = (name: string) => `\`${name.replaceAll('`', '``')}\``;
/** Positions as the MySQL source writes them: fixed width, so string order is source order. */
const pos = (n: number) => `0000000001:${String(n).padStart(20, '0')}:000000`;
const upsert = (row: Row, position: string): SinkChange => ({ op: 'upsert', key: {}, row, position });
const remove = (key: Row, position: string): SinkChange => ({ op: 'delete', key, position });

let database: { name: string; drop: () => Promise<void> };
let reader: Connection;
const sinks: MySqlSink[] = [];

function sinkConfig(overrides: Record<string, unknown> = {}) {
  return MysqlSinkConfigSchema.parse({
    type: 'mariadb',
    name: 'it',
    topics: ['shop.shop.t'],
    connection: { ...mysqlConnection(), database: database.name, ...overrides },
  });
}

async function openSink(limits?: StatementLimits, overrides: Record<string, unknown> = {}): Promise<MySqlSink> {
  const sink = new MySqlSink(sinkConfig(overrides), limits ? { limits } : {});
  sinks.push(sink);
  await sink.connect();
  return sink;
}

/** Every row of the target table in key order, read back into ColumnValues with the source's own reader. */
async function readRows(table: TableSchema): Promise<Array<{ row: Row; position: string }>> {
  // MariaDB's text protocol prints FLOAT with 6 digits; as DOUBLE it prints the stored float exactly.
  const select = table.columns.map((c) => (c.type.kind === 'float32' ? `CAST(${q(c.name)} AS DOUBLE) AS ${q(c.name)}` : q(c.name)));
  const [rows] = await reader.query<RowDataPacket[]>(
    `SELECT ${select.join(', ')}, __tributary_position FROM ${q(table.table)} ORDER BY ${table.primaryKey.map(q).join(', ')}`,
  );
  return rows.map((raw) => ({ row: rowFromMySql(table.columns, raw), position: String(raw.__tributary_position) }));
}

async function columnTypes(name: string): Promise<Record<string, string>> {
  const [rows] = await reader.query<RowDataPacket[]>(
    'SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
    [database.name, name],
  );
  return Object.fromEntries(rows.map((r) => [String(r.name), String(r.type)]));
}

async function rejection(promise: Promise<unknown>): Promise<TributaryError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TributaryError);
  return error as TributaryError;
}

beforeAll(async () => {
  database = await scratchDatabase('sink');
  reader = await connectMySql(database.name);
});

afterAll(async () => {
  for (const sink of sinks) await sink.close();
  await reader?.end();
  await database?.drop();
});

describe('every column type', () => {
  const EXTRA: ColumnSchema[] = [
    col('u', { kind: 'uuid' }),
    col('txt', { kind: 'string' }),
    col('b3', { kind: 'bits', length: 3 }),
    col('i16', { kind: 'int16' }),
    col('bin16', { kind: 'bytes', length: 16 }),
  ];
  const table: TableSchema = { namespace: 'shop', table: 'types', columns: [...GOLDEN_COLUMNS, ...EXTRA], primaryKey: ['id'] };

  const max: Row = {
    ...GOLDEN_MAX_ROW,
    u: '123e4567-e89b-42d3-a456-426614174000',
    txt: `${'long text '.repeat(7000)}😀`,
    b3: Buffer.from([0x05]),
    i16: 32767,
    bin16: Buffer.from('00ff00ff0102030405060708090a0b00', 'hex'),
  };
  const nulls: Row = { ...GOLDEN_NULL_ROW, u: null, txt: null, b3: null, i16: null, bin16: null };
  const min: Row = {
    id: -9223372036854775808n,
    flag: false,
    tiny: -32768,
    small_u: -2147483648,
    int_u: 9223372036854775807n,
    big: 9223372036854775807n,
    big_u: '0',
    price: '-0.0000000001',
    wide: '99999999999999999999999999999999999.999999999999999999999999999999',
    ratio: -2.2250738585072014e-308,
    f32: Math.fround(-3.4028234663852886e38),
    name: '',
    doc: '[]',
    status: '',
    tags: '',
    payload: Buffer.alloc(0),
    bits: Buffer.from([0, 0, 0, 0, 0, 0, 0, 0x80]),
    born: -1, // 1969-12-31
    at_local: -30610224000000001n, // 0999-12-31 23:59:59.999999
    at_utc: -1n, // 1969-12-31 23:59:59.999999 UTC
    span: -1_500_000n, // -00:00:01.500000
    yr: 0, // 0000
    'order key': -2147483648,
    u: 'ffffffff-ffff-ffff-ffff-ffffffffffff',
    txt: "line\nbreak\ttab \\0 NUL:\u0000 quote:' dq:\" ?",
    b3: Buffer.from([0x07]),
    i16: -32768,
    bin16: Buffer.from([0]),
  };

  let sink: MySqlSink;
  beforeAll(async () => {
    sink = await openSink();
    await sink.prepare(table);
  });

  it('creates the table with the documented column types', async () => {
    expect(await columnTypes('types')).toMatchObject({
      id: 'bigint(20)',
      flag: 'tinyint(1)',
      big_u: 'decimal(20,0)',
      wide: 'decimal(65,30)',
      f32: 'float',
      ratio: 'double',
      doc: 'longtext', // MariaDB's JSON
      status: 'varchar(255)',
      payload: 'longblob',
      bits: 'bit(64)',
      born: 'date',
      at_local: 'datetime(6)',
      at_utc: 'datetime(6)',
      span: 'time(6)',
      yr: 'year(4)',
      u: 'char(36)',
      txt: 'longtext',
      b3: 'bit(3)',
      bin16: 'varbinary(16)',
      __tributary_position: 'varchar(64)',
    });
  });

  it('writes edge values and reads them back exactly', async () => {
    await sink.apply([{ table, changes: [max, nulls, min].map((row) => upsert(row, pos(1))) }], 't1');
    expect(await readRows(table)).toEqual([
      { row: min, position: pos(1) },
      { row: nulls, position: pos(1) },
      { row: max, position: pos(1) },
    ]);
  });

  it('overwrites every type through the guarded update, exactly', async () => {
    // Each row takes another's values: the ON DUPLICATE KEY UPDATE path with IF(VALUES(c)) for every type.
    const swap = (row: Row, id: ColumnValue | undefined): Row => ({ ...row, id: id ?? null });
    const changes = [swap(min, max.id), swap(max, nulls.id), swap(nulls, min.id)].map((row) => upsert(row, pos(2)));
    await sink.apply([{ table, changes }], 't2');
    expect(await readRows(table)).toEqual([
      { row: swap(nulls, min.id), position: pos(2) },
      { row: swap(max, nulls.id), position: pos(2) },
      { row: swap(min, max.id), position: pos(2) },
    ]);
  });

  it('keeps a row too wide for VARCHARs by turning the widest into LONGTEXT', async () => {
    const columns = [
      col('id', { kind: 'int32' }),
      ...Array.from({ length: 60 }, (_, i) => col(`s${i}`, { kind: 'string', length: 60 })),
      ...Array.from({ length: 20 }, (_, i) => col(`l${i}`, { kind: 'string', length: 1000 + i })),
    ];
    const wide: TableSchema = { namespace: 'shop', table: 'wide', columns, primaryKey: ['id'] };
    await sink.prepare(wide);
    const row: Row = Object.fromEntries(columns.map((c) => [c.name, c.name === 'id' ? 1 : '😀'.repeat((c.type as { length: number }).length)]));
    await sink.apply([{ table: wide, changes: [upsert(row, pos(1))] }], 't');
    expect(await readRows(wide)).toEqual([{ row, position: pos(1) }]);
    const types = Object.values(await columnTypes('wide'));
    expect(types.filter((t) => t === 'longtext').length).toBeGreaterThan(0);
    expect(types.filter((t) => t.startsWith('varchar(')).length).toBeGreaterThan(30);
  });
});

describe('PostgreSQL column kinds: numeric, timetz, interval, arrays', () => {
  const v1: TableSchema = { namespace: 'public', table: 'pg_kinds', columns: [col('id', { kind: 'int64' }), col('num', { kind: 'numeric' })], primaryKey: ['id'] };
  const table: TableSchema = {
    ...v1,
    columns: [
      ...v1.columns,
      col('tz', { kind: 'timetz' }),
      col('span', { kind: 'interval' }),
      col('ints', { kind: 'array', items: { kind: 'int64' } }),
      col('texts', { kind: 'array', items: { kind: 'string' } }),
      col('decs', { kind: 'array', items: { kind: 'decimal', precision: 40, scale: 10 } }),
      col('nums', { kind: 'array', items: { kind: 'numeric' } }),
    ],
  };
  const rows: Row[] = [
    {
      id: 1n,
      num: '1234567890123456789012345678901234567890.0000000000000000000000000000000000000001',
      tz: '24:00:00.000000Z',
      span: 'P-178000000Y-11M-2147483648DT-2562047788H-54M-775.807S',
      ints: [9223372036854775807n, null, -9223372036854775808n],
      texts: ['quote " back \\ nl \n', null, '😀', ''],
      decs: ['-123456789012345678901234567890.0123456789', null],
      nums: ['NaN', null, '0.0000000000000000000000000000000000000001', '-Infinity'],
    },
    { id: 2n, num: 'NaN', tz: '00:00:00.000001Z', span: 'PT0S', ints: [], texts: [null], decs: [], nums: [] },
    { id: 3n, num: '-Infinity', tz: null, span: null, ints: null, texts: null, decs: null, nums: null },
    { id: 4n, num: 'Infinity', tz: '13:14:15Z', span: 'P1Y2M3DT4H5M6.000007S', ints: [null], texts: [], decs: ['0.0000000001'], nums: ['-0.000'] },
  ];
  /** The JSON text each array column holds (core/array-json.ts). */
  const json: Record<string, string | null>[] = [
    {
      ints: '[9223372036854775807,null,-9223372036854775808]',
      texts: '["quote \\" back \\\\ nl \\n",null,"😀",""]',
      decs: '["-123456789012345678901234567890.0123456789",null]',
      nums: '["NaN",null,"0.0000000000000000000000000000000000000001","-Infinity"]',
    },
    { ints: '[]', texts: '[null]', decs: '[]', nums: '[]' },
    { ints: null, texts: null, decs: null, nums: null },
    { ints: '[null]', texts: '[]', decs: '["0.0000000001"]', nums: '["-0.000"]' },
  ];
  const expected = rows.map((row, i) => ({ ...row, ...json[i] }));

  async function read(): Promise<Array<Record<string, unknown>>> {
    const [result] = await reader.query<RowDataPacket[]>(`SELECT id, num, tz, span, ints, texts, decs, nums FROM pg_kinds ORDER BY id`);
    return result.map((r) => ({ ...r, id: BigInt(r.id as string | number) }));
  }

  let sink: MySqlSink;
  beforeAll(async () => {
    sink = await openSink();
    await sink.prepare(v1);
    await sink.apply([{ table: v1, changes: [upsert({ id: 1n, num: '1' }, pos(1))] }], 'v1');
  });

  it('adds columns of the new kinds with their documented types', async () => {
    await sink.prepare(table);
    expect(await columnTypes('pg_kinds')).toEqual({
      id: 'bigint(20)',
      num: 'longtext',
      __tributary_position: 'varchar(64)',
      tz: 'varchar(32)',
      span: 'varchar(64)',
      ints: 'longtext', // MariaDB's JSON
      texts: 'longtext',
      decs: 'longtext',
      nums: 'longtext',
    });
  });

  it('writes and reads back each value exactly, through the insert and the guarded update', async () => {
    await sink.apply([{ table, changes: rows.map((row) => upsert(row, pos(2))) }], 'k1');
    expect(await read()).toEqual(expected);
    // Every row takes the next one's values: the ON DUPLICATE KEY UPDATE path.
    const rotated = rows.map((row, i) => ({ ...(rows[(i + 1) % rows.length] as Row), id: row.id as bigint }));
    await sink.apply([{ table, changes: rotated.map((row) => upsert(row, pos(3))) }], 'k2');
    expect(await read()).toEqual(expected.map((_, i) => ({ ...expected[(i + 1) % rows.length], id: rows[i]?.id })));
  });

  it('keeps a numeric key exactly, NaN and 40 digits included', async () => {
    const keyed: TableSchema = { namespace: 'public', table: 'pg_numeric_key', columns: [col('k', { kind: 'numeric' }), col('v', { kind: 'int32' })], primaryKey: ['k'] };
    await sink.prepare(keyed);
    const keys = ['NaN', '1234567890123456789012345678901234567890', '1234567890123456789012345678901234567891', '0.10', '0.1'];
    await sink.apply([{ table: keyed, changes: keys.map((k, i) => ({ op: 'upsert', key: { k }, row: { k, v: i }, position: pos(1) })) }], 'nk1');
    await sink.apply([{ table: keyed, changes: [remove({ k: '1234567890123456789012345678901234567890' }, pos(2)), remove({ k: '0.1' }, pos(2))] }], 'nk2');
    const [result] = await reader.query<RowDataPacket[]>('SELECT k, v FROM pg_numeric_key ORDER BY v');
    expect(result.map((r) => [r.k, r.v])).toEqual([
      ['NaN', 0],
      ['1234567890123456789012345678901234567891', 2],
      ['0.10', 3],
    ]);
  });
});

describe('unchanged columns (PostgreSQL TOAST)', () => {
  const table: TableSchema = {
    namespace: 'public',
    table: 'toasted',
    columns: [
      col('id', { kind: 'int64' }),
      col('title', { kind: 'string', length: 20 }),
      col('body', { kind: 'string' }),
      col('tags', { kind: 'array', items: { kind: 'int32' } }),
      col('n', { kind: 'numeric' }),
    ],
    primaryKey: ['id'],
  };
  const update = (row: Row, position: string, unchanged: string[]): SinkChange => ({ op: 'upsert', key: { id: row.id ?? null }, row, position, unchanged });
  const body = 'long text '.repeat(5000);
  let sink: MySqlSink;

  const state = async () => {
    const [result] = await reader.query<RowDataPacket[]>('SELECT id, title, body, tags, n, __tributary_position AS p FROM toasted ORDER BY id');
    return result.map((r) => [Number(r.id), r.title, r.body === body ? '<body>' : r.body, r.tags, r.n, r.p]);
  };

  beforeAll(async () => {
    sink = await openSink();
    await sink.prepare(table);
    await sink.apply([{ table, changes: [upsert({ id: 1n, title: 'one', body, tags: [1, null], n: '1.5' }, pos(10)), upsert({ id: 3n, title: 'three', body: 'b3', tags: [3], n: '3' }, pos(10))] }], 'u0');
  });

  it('updates only the columns the source sent, and inserts NULL for them in a row it does not have', async () => {
    await sink.apply(
      [
        {
          table,
          changes: [
            update({ id: 1n, title: 'one v2', body: null, tags: null, n: '2' }, pos(20), ['body', 'tags']),
            update({ id: 2n, title: 'two', body: null, tags: null, n: 'NaN' }, pos(20), ['body']),
            update({ id: 3n, title: 'three v2', body: null, tags: null, n: null }, pos(20), ['tags']),
          ],
        },
      ],
      'u1',
    );
    const after = [
      [1, 'one v2', '<body>', '[1,null]', '2', pos(20)],
      [2, 'two', null, null, 'NaN', pos(20)],
      [3, 'three v2', null, '[3]', null, pos(20)],
    ];
    expect(await state()).toEqual(after);
    // Replayed, and an older update arriving late: nothing moves.
    await sink.apply([{ table, changes: [update({ id: 1n, title: 'one v2', body: null, tags: null, n: '2' }, pos(20), ['body', 'tags'])] }], 'u1');
    await sink.apply([{ table, changes: [update({ id: 1n, title: 'stale', body: null, tags: null, n: '0' }, pos(15), ['body'])] }], 'u2');
    expect(await state()).toEqual(after);
  });

  it('takes the stored values left by an earlier change of the same apply (a later group of the batch)', async () => {
    const v2: TableSchema = { ...table, columns: [...table.columns, col('extra', { kind: 'int32' })] };
    await sink.prepare(v2);
    await sink.apply(
      [
        { table, changes: [upsert({ id: 4n, title: 'four', body: 'b4', tags: [4], n: '4' }, pos(30))] },
        { table: v2, changes: [update({ id: 4n, title: 'four v2', body: null, tags: null, n: '4', extra: 1 }, pos(31), ['body', 'tags'])] },
      ],
      'u3',
    );
    expect((await state()).find(([id]) => id === 4)).toEqual([4, 'four v2', 'b4', '[4]', '4', pos(31)]);
  });
});

describe('idempotence', () => {
  const table: TableSchema = {
    namespace: 'shop',
    table: 'idem',
    columns: [col('id', { kind: 'int64' }), col('v', { kind: 'string', length: 50 }), col('n', { kind: 'int32' })],
    primaryKey: ['id'],
  };
  const row = (id: bigint, v: string, n = 0): Row => ({ id, v, n });
  let sink: MySqlSink;

  beforeAll(async () => {
    sink = await openSink();
    await sink.prepare(table);
  });

  const state = async () => (await readRows(table)).map(({ row: r, position }) => [r.id, r.v, position]);

  it('applies the same batch twice to the same state', async () => {
    // Keys next to each other past 2^53, where a comparison through doubles could not tell them apart.
    const batch: TableChanges[] = [{ table, changes: [upsert(row(9007199254740993n, 'a'), pos(10)), upsert(row(9007199254740992n, 'b'), pos(11))] }];
    await sink.apply(batch, 'b');
    const once = await state();
    await sink.apply(batch, 'b');
    expect(await state()).toEqual(once);
    expect(once).toEqual([
      [9007199254740992n, 'b', pos(11)],
      [9007199254740993n, 'a', pos(10)],
    ]);
  });

  it('keeps the newer row when an older change comes after it, and takes a newer one', async () => {
    await sink.apply([{ table, changes: [upsert(row(9007199254740993n, 'newer'), pos(20))] }], 'n');
    await sink.apply([{ table, changes: [upsert(row(9007199254740993n, 'older'), pos(15))] }], 'o');
    await sink.apply([{ table, changes: [upsert(row(9007199254740993n, 'same position, other value'), pos(20))] }], 's');
    expect(await state()).toEqual([
      [9007199254740992n, 'b', pos(11)],
      [9007199254740993n, 'newer', pos(20)],
    ]);
  });

  it('deletes a key only when its row was written before the delete, leaving its neighbour', async () => {
    await sink.apply([{ table, changes: [remove({ id: 9007199254740993n }, pos(19))] }], 'd1');
    expect((await state()).map(([id]) => id)).toEqual([9007199254740992n, 9007199254740993n]);
    await sink.apply([{ table, changes: [remove({ id: 9007199254740993n }, pos(21))] }], 'd2');
    expect(await state()).toEqual([[9007199254740992n, 'b', pos(11)]]);
  });

  it('truncates only rows written before the truncate, also when an old truncate is replayed', async () => {
    await sink.apply([{ table, changes: [upsert(row(1n, 'before'), pos(40)), upsert(row(2n, 'after'), pos(60))] }], 't0');
    await sink.apply([{ table, changes: [{ op: 'truncate', position: pos(50) }] }], 't1');
    expect((await state()).map(([id]) => id)).toEqual([2n]);
    await sink.apply([{ table, changes: [{ op: 'truncate', position: pos(5) }] }], 't2');
    expect(await state()).toEqual([[2n, 'after', pos(60)]]);
  });

  it('converges when a whole sequence of changes is replayed', async () => {
    const sequence: TableChanges[][] = [
      [{ table, changes: [upsert(row(100n, 'v1'), pos(100)), upsert(row(101n, 'v1'), pos(101))] }],
      [{ table, changes: [upsert(row(100n, 'v2'), pos(102)), remove({ id: 101n }, pos(103))] }],
    ];
    for (const batch of sequence) await sink.apply(batch, 'x');
    const first = await state();
    for (const batch of sequence) await sink.apply(batch, 'x');
    expect(await state()).toEqual(first);
    expect(first.filter(([id]) => (id as bigint) >= 100n)).toEqual([[100n, 'v2', pos(102)]]);
  });

  it('splits large batches into several statements of one transaction', async () => {
    const small = await openSink({ maxParams: 10, maxBytes: 1 << 20, maxDeleteKeys: 3 });
    const rows = Array.from({ length: 50 }, (_, i) => row(BigInt(1000 + i), `r${i}`, i));
    await small.apply([{ table, changes: rows.map((r) => upsert(r, pos(200))) }], 'big');
    const deletes = rows.slice(0, 20).map((r) => remove({ id: r.id as bigint }, pos(201)));
    await small.apply([{ table, changes: deletes }], 'del');
    const ids = (await state()).map(([id]) => id).filter((id) => (id as bigint) >= 1000n);
    expect(ids).toEqual(rows.slice(20).map((r) => r.id));
  });

  it('rolls back every table of a batch when one statement fails', async () => {
    const other: TableSchema = { ...table, table: 'idem_other' };
    await sink.prepare(other);
    const before = await state();
    const error = await rejection(
      sink.apply(
        [
          { table, changes: [upsert(row(5000n, 'should not stay'), pos(300))] },
          { table: other, changes: [upsert(row(1n, 'x'.repeat(51)), pos(300))] }, // VARCHAR(50): too long
        ],
        'bad',
      ),
    );
    expect(error.code).toBe('TARGET_REJECTED');
    expect(error.retriable).toBe(false);
    expect(error.message).toMatch(/Data too long for column 'v'/);
    expect(await state()).toEqual(before);
  });
});

describe('schema evolution', () => {
  const v1: TableSchema = {
    namespace: 'shop',
    table: 'evo',
    columns: [col('id', { kind: 'int32' }, 'int(11)'), col('name', { kind: 'string', length: 20 }, 'varchar(20)'), col('amount', { kind: 'decimal', precision: 10, scale: 2 }, 'decimal(10,2)')],
    primaryKey: ['id'],
  };
  const v2: TableSchema = {
    ...v1,
    columns: [
      col('id', { kind: 'int64' }, 'bigint(20)'),
      v1.columns[1] as ColumnSchema,
      col('amount', { kind: 'decimal', precision: 14, scale: 4 }, 'decimal(14,4)'),
      col('note', { kind: 'string', length: 100 }, 'varchar(100)'),
    ],
  };
  let sink: MySqlSink;

  beforeAll(async () => {
    sink = await openSink();
    await sink.prepare(v1);
    await sink.apply([{ table: v1, changes: [upsert({ id: 1, name: 'first', amount: '12345678.90' }, pos(1))] }], 'v1');
  });

  it('adds the columns of a new version and widens the ones it widens, keeping the rows', async () => {
    await sink.prepare(v2);
    expect(await columnTypes('evo')).toEqual({
      id: 'bigint(20)',
      name: 'varchar(20)',
      amount: 'decimal(14,4)',
      __tributary_position: 'varchar(64)',
      note: 'varchar(100)',
    });
    await sink.apply([{ table: v2, changes: [upsert({ id: 9223372036854775807n, name: 'second', amount: '1234567890.1234', note: 'new' }, pos(2))] }], 'v2');
    expect((await readRows(v2)).map((r) => r.row)).toEqual([
      { id: 1n, name: 'first', amount: '12345678.9000', note: null },
      { id: 9223372036854775807n, name: 'second', amount: '1234567890.1234', note: 'new' },
    ]);
  });

  it('refuses a narrowing as a whole, naming the table, column, both types and the fix, and changes nothing', async () => {
    const v3: TableSchema = {
      ...v2,
      columns: [...v2.columns.map((c) => (c.name === 'name' ? col('name', { kind: 'string', length: 10 }, 'varchar(10)') : c)), col('extra', { kind: 'int32' })],
    };
    const before = await columnTypes('evo');
    const error = await rejection(sink.prepare(v3));
    expect(error.code).toBe('SINK_SCHEMA_INCOMPATIBLE');
    expect(error.retriable).toBe(false);
    expect(error.message).toContain(`target table ${database.name}.evo cannot take the new schema`);
    expect(error.message).toContain(
      'column "name" is varchar(20) but the new schema (varchar(10)) needs VARCHAR(10), a narrower type that could lose stored values',
    );
    expect(error.message).toContain(`ALTER TABLE \`${database.name}\`.\`evo\` MODIFY COLUMN \`name\` VARCHAR(10) NULL`);
    expect(await columnTypes('evo')).toEqual(before);
  });

  it('refuses a changed primary key', async () => {
    const error = await rejection(sink.prepare({ ...v2, primaryKey: ['id', 'name'] }));
    expect(error.code).toBe('SINK_SCHEMA_INCOMPATIBLE');
    expect(error.message).toContain("its primary key is (id) but the new schema's is (id, name)");
  });

  it('prepares a schema it has seen without asking the server, and checks again after a failed apply', async () => {
    await reader.query('DROP TABLE evo');
    await sink.prepare(v2); // cached: the table is not recreated
    expect(await columnTypes('evo')).toEqual({});
    const error = await rejection(sink.apply([{ table: v2, changes: [upsert({ id: 3n, name: 'x', amount: null, note: null }, pos(3))] }], 'gone'));
    expect(error.code).toBe('TARGET_REJECTED');
    expect(error.message).toMatch(/doesn't exist/);
    await sink.prepare(v2);
    expect(Object.keys(await columnTypes('evo'))).toEqual(['id', 'name', 'amount', 'note', '__tributary_position']);
  });
});

describe('hostile identifiers', () => {
  const names = ['k`ey', 'say "hi"', 'a]b[c', 'semi;colon', 'with space', 'DROP TABLE x', 'what?', "it's", '--', '/* c */'];
  const table: TableSchema = {
    namespace: 'shop',
    table: 'x`; DROP TABLE x; -- "]',
    columns: names.map((name) => col(name, { kind: 'string', length: 30 })),
    primaryKey: ['k`ey', 'DROP TABLE x'],
  };

  it('creates, writes, deletes and reads back tables and columns with any characters in their names', async () => {
    await reader.query('CREATE TABLE x (id INT PRIMARY KEY)');
    const sink = await openSink();
    await sink.prepare(table);
    const row = (i: number): Row => Object.fromEntries(names.map((name) => [name, `${name} ${i} ?'\``]));
    await sink.apply([{ table, changes: [1, 2, 3].map((i) => upsert(row(i), pos(i))) }], 'h1');
    await sink.apply([{ table, changes: [upsert({ ...row(2), 'with space': 'changed' }, pos(9)), remove({ 'k`ey': row(3)['k`ey'] as string, 'DROP TABLE x': row(3)['DROP TABLE x'] as string }, pos(9))] }], 'h2');
    expect(await readRows(table)).toEqual([
      { row: row(1), position: pos(1) },
      { row: { ...row(2), 'with space': 'changed' }, position: pos(9) },
    ]);
    expect(Object.keys(await columnTypes(table.table))).toEqual([...names, '__tributary_position']);
    const [tables] = await reader.query<RowDataPacket[]>('SHOW TABLES');
    expect(tables.map((t) => Object.values(t)[0]).sort()).toEqual(expect.arrayContaining(['x', table.table]));
  });
});

describe('connection errors', () => {
  it('reports a wrong password once, clearly, as TARGET_REJECTED without the password', async () => {
    const password = 'wrong-secret-Pa55word';
    const sink = new MySqlSink(sinkConfig({ password }));
    sinks.push(sink);
    const error = await rejection(sink.connect());
    expect(error.code).toBe('TARGET_REJECTED');
    expect(error.retriable).toBe(false);
    expect(error.message).toMatch(
      new RegExp(`^connecting to database "${database.name}" on .+ for sink "it": Access denied for user '${mysqlConnection().user}'@'[^']+' \\(using password: YES\\); check the user and password`),
    );
    expect(error.message.match(/Access denied/g)).toHaveLength(1);
    expect(inspect(error, { depth: 10 })).not.toContain(password);
  });

  it('reports a database that does not exist as TARGET_REJECTED, with the fix', async () => {
    const sink = new MySqlSink(sinkConfig({ database: `${database.name}_missing` }));
    sinks.push(sink);
    const error = await rejection(sink.connect());
    expect(error.code).toBe('TARGET_REJECTED');
    expect(error.message).toMatch(/Unknown database .*; create the database/);
  });

  it('reports a refused connection as a retriable TARGET_UNAVAILABLE', async () => {
    const sink = new MySqlSink(sinkConfig({ host: '127.0.0.1', port: 1 }));
    sinks.push(sink);
    const error = await rejection(sink.connect());
    expect(error.code).toBe('TARGET_UNAVAILABLE');
    expect(error.retriable).toBe(true);
  });
});
