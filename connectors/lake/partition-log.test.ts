import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Row } from '#core/change-event.ts';
import type { ColumnType } from '#core/column-type.ts';
import { TributaryError } from '#core/errors.ts';
import type { LogRecord } from '#core/log-sink.ts';
import type { TableSchema } from '#core/table-schema.ts';
import { manifestFile, TEMP_DIR } from './layout.ts';
import { parseManifest } from './manifest.ts';
import { PartitionLog, type PartitionLogSettings } from './partition-log.ts';

// The lake's per-partition logic on a real directory, read back by DuckDB (an independent Parquet reader).

const column = (name: string, type: ColumnType) => ({ name, type, nullable: true, sourceType: type.kind });
const TABLE: TableSchema = {
  namespace: 'shop',
  table: 'orders',
  primaryKey: ['id'],
  columns: [
    column('id', { kind: 'int64' }),
    column('amount', { kind: 'decimal', precision: 30, scale: 10 }),
    column('big', { kind: 'decimal', precision: 20, scale: 0 }),
    column('stamp', { kind: 'timestamp' }),
    column('doc', { kind: 'json' }),
    column('raw', { kind: 'bytes' }),
    column('name', { kind: 'string' }),
    column('born', { kind: 'date' }),
    column('flag', { kind: 'boolean' }),
    column('ratio', { kind: 'float64' }),
    column('tags', { kind: 'array', items: { kind: 'string' } }),
    column('uid', { kind: 'uuid' }),
    column('wide', { kind: 'decimal', precision: 65, scale: 30 }),
  ],
};
const DAY = 86_400_000;
const T0 = Date.UTC(2024, 5, 1, 12);
const partition = { topic: 'cdc.shop.orders', partition: 0 };

let root: string;
let clock: number;
const settings = (overrides: Partial<PartitionLogSettings> = {}): PartitionLogSettings => ({
  root,
  rollBytes: 1 << 30,
  rollMs: 60_000,
  rowGroup: { rows: 3, bytes: 1 << 20 },
  now: () => clock,
  ...overrides,
});

function record(offset: number, row: Row | null, extra: Partial<LogRecord> = {}): LogRecord {
  return { table: TABLE, schemaId: 7, op: 'c', row, position: `p${String(offset).padStart(6, '0')}`, tsMs: T0, offset: String(offset), ...extra };
}

function rows(from: number, count: number, extra: Partial<LogRecord> = {}): LogRecord[] {
  return Array.from({ length: count }, (_, i) => record(from + i, { id: BigInt(from + i), name: `row ${from + i}` }, extra));
}

async function query(sql: string): Promise<Record<string, unknown>[]> {
  const db = await DuckDBInstance.create(':memory:');
  const connection = await db.connect();
  try {
    return (await connection.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
  }
}

const glob = () => `read_parquet('${root}/**/*.parquet', hive_partitioning = true, union_by_name = true)`;
const parquetFiles = () => (readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith('.parquet'));
const manifest = () => parseManifest(existsSync(join(root, manifestFile(partition))) ? readFileSync(join(root, manifestFile(partition)), 'utf8') : '', 'm');

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'lake-'));
  clock = 0;
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('PartitionLog', () => {
  it('writes every kind exactly, as DuckDB reads it back, one row per event with its op', async () => {
    const { log } = PartitionLog.open(settings(), partition);
    const full: Row = {
      id: -9223372036854775808n,
      amount: '-12345678901234567890.0123456789',
      big: '18446744073709551615',
      stamp: 253402300799999999n,
      doc: '{"n": 18446744073709551615, "x": 2.50}',
      raw: Buffer.from([0x00, 0xff, 0x00]),
      name: 'émoji 😀 \'quoted\'',
      born: -719162,
      flag: true,
      ratio: 0.1,
      tags: ['a', null, 'b"c'],
      uid: 'ffffffff-ffff-4fff-bfff-ffffffffffff',
      wide: '12345678901234567890123456789012345.123456789012345678901234567890',
    };
    log.append(
      [
        record(10, full),
        record(11, { id: 2n }, { op: 'u', unchanged: ['doc'] }),
        record(13, { id: 2n }, { op: 'd' }),
        record(14, null, { op: 't' }),
      ],
      '15',
    );
    expect(log.durableEnd()).toBe('10');
    const flushed = log.flush(true);
    expect(flushed).toMatchObject([{ records: 4, ops: { c: 1, u: 1, d: 1, t: 1 } }]);
    expect(log.durableEnd()).toBe('16');
    expect(parquetFiles()).toEqual(['table=shop.orders/date=2024-06-01/cdc.shop.orders+0+10+14.parquet']);

    const [first, ...rest] = await query(
      `SELECT id::VARCHAR id, amount::VARCHAR amount, big::VARCHAR big, stamp::VARCHAR stamp, doc::VARCHAR doc, typeof(doc) doc_type, hex(raw) raw, name,
              born::VARCHAR born, flag, ratio, tags::VARCHAR tags, uid::VARCHAR uid, wide, _op, _source_position, _ts_ms::VARCHAR ts, _unchanged::VARCHAR unchanged,
              "table", "date"::VARCHAR "date", typeof(amount) amount_type, typeof(big) big_type, typeof(stamp) stamp_type
       FROM ${glob()} ORDER BY _source_position`,
    );
    expect(first).toEqual({
      id: '-9223372036854775808',
      amount: '-12345678901234567890.0123456789',
      big: '18446744073709551615',
      stamp: '9999-12-31 23:59:59.999999',
      doc: '{"n": 18446744073709551615, "x": 2.50}',
      doc_type: 'JSON',
      raw: '00FF00',
      name: 'émoji 😀 \'quoted\'',
      born: '0001-01-01',
      flag: true,
      ratio: 0.1,
      tags: '["a",null,"b\\"c"]',
      uid: 'ffffffff-ffff-4fff-bfff-ffffffffffff',
      wide: '12345678901234567890123456789012345.123456789012345678901234567890',
      _op: 'c',
      _source_position: 'p000010',
      ts: String(T0),
      unchanged: null,
      table: 'shop.orders',
      date: '2024-06-01',
      amount_type: 'DECIMAL(30,10)',
      big_type: 'DECIMAL(20,0)',
      stamp_type: 'TIMESTAMP',
    });
    expect(rest.map((r) => [r._op, r.id, r.unchanged, r.name])).toEqual([
      ['u', '2', '["doc"]', null],
      ['d', '2', null, null],
      ['t', null, null, null],
    ]);
  });

  it('streams row groups into the temporary file and publishes nothing before the roll', async () => {
    const { log } = PartitionLog.open(settings(), partition);
    log.append(rows(0, 7), '6');
    expect(parquetFiles()).toEqual([]);
    const temps = readdirSync(join(root, TEMP_DIR));
    expect(temps).toHaveLength(1);
    expect(readFileSync(join(root, TEMP_DIR, temps[0] as string)).length).toBeGreaterThan(4); // two row groups written
    log.flush(true);
    const groups = await query(`SELECT count(DISTINCT row_group_id) AS n FROM parquet_metadata('${root}/**/*.parquet')`);
    expect(Number(groups[0]?.n)).toBe(3);
    expect(readdirSync(join(root, TEMP_DIR))).toEqual([]);
  });

  it('rolls on a new schema version, a new UTC date, rollBytes and rollMs', async () => {
    const { log } = PartitionLog.open(settings({ rollBytes: 600 }), partition);
    log.append([...rows(0, 2), ...rows(2, 2, { schemaId: 8 }), ...rows(4, 1, { schemaId: 8, tsMs: T0 + DAY })], '4');
    expect(manifest().files.map((f) => [f.firstOffset, f.lastOffset, f.schemaId, f.date])).toEqual([
      ['0', '1', 7, '2024-06-01'],
      ['2', '3', 8, '2024-06-01'],
    ]);
    // Size: rows of ~60 bytes in a file of at most 600.
    log.append(rows(5, 30, { schemaId: 8, tsMs: T0 + DAY }), '34');
    expect(manifest().files.length).toBeGreaterThan(3);
    const open = log.durableEnd();
    clock += 59_999;
    expect(log.flush(false)).toEqual([]);
    clock += 1;
    expect(log.flush(false)).toHaveLength(1);
    expect(log.durableEnd()).toBe('35');
    expect(open).not.toBe('35');
    const counted = await query(`SELECT count(*) AS n, count(DISTINCT _source_position) AS d FROM ${glob()}`);
    expect(counted).toEqual([{ n: '35', d: '35' }]);
  });

  it('skips offsets a published file holds when the partition is read again (replay, reset offsets)', async () => {
    const first = PartitionLog.open(settings(), partition).log;
    first.append(rows(0, 5), '4');
    first.flush(true);
    first.append(rows(5, 3), '7'); // open, never published: lost with the process
    const { log } = PartitionLog.open(settings(), partition);
    expect(log.covered).toBe(4n);
    log.append(rows(0, 10), '9');
    log.flush(true);
    expect(manifest().files.map((f) => [f.firstOffset, f.lastOffset])).toEqual([
      ['0', '4'],
      ['5', '9'],
    ]);
    expect(await query(`SELECT count(*) AS n, count(DISTINCT _source_position) AS d FROM ${glob()}`)).toEqual([{ n: '10', d: '10' }]);
  });

  it('lists a file a crash left renamed but unlisted, and deletes temporary files', async () => {
    const { log } = PartitionLog.open(settings(), partition);
    log.append(rows(0, 3), '2');
    log.flush(true);
    // Replays the steps of a publish up to the rename, as a crash right after it leaves them.
    const lines = readFileSync(join(root, manifestFile(partition)), 'utf8').split('\n').filter(Boolean);
    const published = JSON.parse(lines[1] as string) as Record<string, unknown>;
    writeFileSync(join(root, manifestFile(partition)), `${lines[0]}\n`);
    writeFileSync(join(root, TEMP_DIR, 'cdc.shop.orders+0+3.abcd.parquet.tmp'), 'half a file');
    writeFileSync(join(root, TEMP_DIR, 'cdc.shop.orders+1+3.abcd.parquet.tmp'), 'another partition');
    expect(manifest().pending).toHaveLength(1);

    const reopened = PartitionLog.open(settings(), partition);
    expect(reopened.reconciled).toEqual([published.file]);
    expect(reopened.removedTemps).toEqual(['cdc.shop.orders+0+3.abcd.parquet.tmp']);
    expect(readdirSync(join(root, TEMP_DIR))).toEqual(['cdc.shop.orders+1+3.abcd.parquet.tmp']);
    expect(reopened.log.covered).toBe(2n);
    expect(manifest()).toMatchObject({ pending: [], coveredThrough: 2n });
  });

  it('drops an announced file whose rename never happened', () => {
    const { log } = PartitionLog.open(settings(), partition);
    log.append(rows(0, 3), '2');
    log.flush(true);
    const lines = readFileSync(join(root, manifestFile(partition)), 'utf8').split('\n').filter(Boolean);
    const entry = JSON.parse(lines[0] as string) as { file: string };
    writeFileSync(join(root, manifestFile(partition)), `${lines[0]}\n`);
    renameSync(join(root, entry.file), join(root, TEMP_DIR, 'cdc.shop.orders+0+0.ffff.parquet.tmp'));
    const reopened = PartitionLog.open(settings(), partition);
    expect(reopened.reconciled).toEqual([]);
    expect(reopened.log.covered).toBeNull();
    expect(parquetFiles()).toEqual([]);
  });

  it('cuts a torn last manifest line so that the next line starts clean', () => {
    const { log } = PartitionLog.open(settings(), partition);
    log.append(rows(0, 2), '1');
    log.flush(true);
    appendFileSync(join(root, manifestFile(partition)), '{"event":"renam');
    const again = PartitionLog.open(settings(), partition).log;
    again.append(rows(2, 2), '3');
    again.flush(true);
    expect(manifest().files.map((f) => f.lastOffset)).toEqual(['1', '3']);
  });

  it('refuses to publish when another process wrote the manifest since (a stale owner)', () => {
    const mine = PartitionLog.open(settings(), partition).log;
    const other = PartitionLog.open(settings(), partition).log;
    other.append(rows(0, 2), '1');
    other.flush(true);
    mine.append(rows(0, 2), '1');
    let error: unknown;
    try {
      mine.flush(true);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(TributaryError);
    expect((error as TributaryError).retriable).toBe(true);
    expect(manifest().files).toHaveLength(1);
    expect(readdirSync(join(root, TEMP_DIR))).toEqual([]);
  });

  it('refuses a record whose value its column cannot hold, and writes the others', () => {
    const { log } = PartitionLog.open(settings(), partition);
    const { refused } = log.append([record(0, { id: 1n }), record(1, { id: 2n, amount: '1.00000000001' }), record(2, { id: 3n })], '2');
    expect(refused.map((r) => [r.record.offset, (r.error as TributaryError).code])).toEqual([['1', 'VALUE_INVALID']]);
    expect(log.flush(true)).toMatchObject([{ records: 2 }]);
  });

  it('publishes nothing when every record of a file was refused, and lets the offsets be committed', () => {
    const { log } = PartitionLog.open(settings(), partition);
    log.append([record(0, { id: 'x' as unknown as bigint })], '0');
    expect(log.durableEnd()).toBe('1');
    expect(log.flush(true)).toEqual([]);
    expect(parquetFiles()).toEqual([]);
  });
});
