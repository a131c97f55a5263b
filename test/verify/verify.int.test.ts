import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import type mysql from 'mysql2/promise';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '#config/load.ts';
import { DELETED_COLUMN, POSITION_COLUMN, VERSION_COLUMN } from '#core/sink.ts';
import { clickHouseTarget, mariaDbTarget, type TestTarget } from '#test/sink/targets.ts';
import { captureConfig, startCapture, startSink, type CaptureProcess } from '#test/support/capture-process.ts';
import { connectMySql, scratchDatabase } from '#test/support/mysql.ts';
import { connectPostgres, scratchPostgresDatabase } from '#test/support/postgres.ts';
import { stackEnv } from '#test/support/stack-env.ts';
import { eventually, uniqueName } from '#test/support/wait.ts';
import { allMatch, formatText, type TableReport } from '#verify/report.ts';
import { runVerify, type RunOptions } from '#verify/run.ts';
import { verifyProcess } from './verify-process.ts';

// `tributary verify` against the real pipeline: a source table of many types goes through capture, Kafka and the
// MariaDB and ClickHouse sinks; verify must find the copies equal, then find exactly the rows changed by hand in a
// target, and must not blame the sink for a change it applies while verify runs.

const mariadb = mariaDbTarget();
const clickhouse = clickHouseTarget();
const ch: ClickHouseClient = createClient({ url: stackEnv('CLICKHOUSE_URL'), log: { level: ClickHouseLogLevel.OFF } });

/** Small ranges, so that a few thousand rows are cut and listed on several levels. */
const SMALL: RunOptions['verify'] = { chunkRows: 700, limits: { leafRows: 40, fanout: 4 }, recheckMs: 1_500 };

const ITEMS_DDL = `CREATE TABLE items (
  id BIGINT NOT NULL PRIMARY KEY,
  qty INT NULL,
  big BIGINT NULL,
  price DECIMAL(20,6) NULL,
  wide DECIMAL(38,10) NULL,
  name VARCHAR(100) NULL,
  at DATETIME(6) NULL,
  born DATE NULL,
  payload BLOB NULL,
  doc JSON NULL,
  ratio DOUBLE NULL,
  f32 FLOAT NULL,
  flag BIT(1) NULL,
  span TIME(6) NULL,
  ts TIMESTAMP(6) NULL,
  yr YEAR NULL,
  status ENUM('new','it''s','done') NULL
) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci`;

const ITEMS = 3_000;

/** Row i of `items`: every column varies, every nullable column is NULL in some rows, edge values in the first. */
function itemRow(i: number): unknown[] {
  const blank = i % 7 === 0;
  if (i === 1) {
    return [
      1, -2147483648, '-9223372036854775808', '-99999999999999.999999', '-9999999999999999999999999999.9999999999', 'Zoë 😀 "q" \\ | ~ 12:x',
      '0001-01-01 00:00:00.000000', '0001-01-01', Buffer.from([0, 255, 1]), '{"a": [1, 2.50], "big": 18446744073709551615}',
      1.7976931348623157e308, 3.4028234663852886e38, 1, '-838:59:59.000000', '2038-01-19 03:14:07.999999', 2155, "it's",
    ];
  }
  return [
    i,
    blank ? null : (i * 37) % 100_000 - 50_000,
    blank ? null : `${BigInt(i) * 1_000_000_007n}`,
    blank ? null : `${(i % 2 ? '-' : '')}${i}.${String(i % 1_000_000).padStart(6, '0')}`,
    blank ? null : `${i}${'9'.repeat(i % 20)}.${String(i).padStart(10, '0')}`,
    blank ? null : `name ${i} ${['é', 'ß', '漢字', '😀', ''][i % 5]}`,
    blank ? null : `20${String(i % 100).padStart(2, '0')}-0${1 + (i % 9)}-1${i % 10} 0${i % 10}:1${i % 6}:2${i % 10}.${String(i * 7).padStart(6, '0').slice(-6)}`,
    blank ? null : `19${String(i % 100).padStart(2, '0')}-12-${String(1 + (i % 28)).padStart(2, '0')}`,
    blank ? null : Buffer.from(`bytes ${i}`),
    blank ? null : JSON.stringify({ n: i, tags: ['x', i % 3] }),
    // Doubles whose shortest text reads back exactly: MariaDB's text protocol prints some others one ulp off,
    // which the capture's snapshot then copies (verify finds those rows different, rightly).
    blank ? null : i % 3 === 0 ? i * 1e20 : i / 64,
    blank ? null : i / 4,
    blank ? null : i % 2,
    blank ? null : `${i % 3 === 0 ? '-' : ''}${i % 800}:${String(i % 60).padStart(2, '0')}:01.${String(i).padStart(6, '0').slice(-6)}`,
    blank ? null : `2001-02-0${1 + (i % 9)} 10:00:0${i % 10}.123456`,
    blank ? null : 1901 + (i % 250),
    blank ? null : ['new', "it's", 'done'][i % 3],
  ];
}

interface Pipeline {
  config: string;
  prefix: string;
  sinks: Record<TestTarget['type'], string>;
  databases: Record<TestTarget['type'], string>;
  processes: CaptureProcess[];
  start(type: TestTarget['type']): CaptureProcess;
}

/** The capture of `database` and one sink per target, each into a fresh target database. */
async function pipeline(options: { database: string; type?: 'mariadb' | 'postgres' }): Promise<Pipeline> {
  const prefix = uniqueName('v');
  // The change topics of the source's tables only, not the capture's own (schema history, offsets).
  const pattern = `^${prefix}\\.${options.type === 'postgres' ? 'public' : options.database}\\.[^.]+$`;
  const sinks = { mariadb: uniqueName('vreplica'), clickhouse: uniqueName('vwarehouse') };
  const databases = { mariadb: uniqueName('vreplica'), clickhouse: uniqueName('vwarehouse') };
  const config = captureConfig({
    prefix,
    source: 'src',
    database: options.database,
    ...(options.type ? { type: options.type } : {}),
    sinks: [
      ...mariadb.sinkYaml({ name: sinks.mariadb, database: databases.mariadb, pattern }),
      ...clickhouse.sinkYaml({ name: sinks.clickhouse, database: databases.clickhouse, pattern }),
    ],
  });
  await mariadb.createDatabase(databases.mariadb);
  await clickhouse.createDatabase(databases.clickhouse);
  const processes: CaptureProcess[] = [];
  processes.push(startCapture(config, 'src'));
  const start = (type: TestTarget['type']) => {
    const sink = startSink(config, sinks[type]);
    processes.push(sink);
    return sink;
  };
  start('mariadb');
  start('clickhouse');
  return { config, prefix, sinks, databases, processes, start };
}

async function converged(p: Pipeline, tables: Record<string, number>): Promise<void> {
  for (const target of [mariadb, clickhouse]) {
    for (const [table, rows] of Object.entries(tables)) {
      await eventually(
        `${target.type} to hold the ${rows} rows of ${table}`,
        async () => ((await target.rowCount(p.databases[target.type], table).catch(() => -1)) === rows ? true : undefined),
        180_000,
      ).catch((error: unknown) => {
        throw new Error(`${(error as Error).message}\n${p.processes.map((x) => x.output()).join('\n---\n')}`);
      });
    }
  }
}

function verify(p: Pipeline, type: TestTarget['type'], extra: Partial<RunOptions> = {}): Promise<TableReport[]> {
  return runVerify(loadConfig(p.config), { source: 'src', sink: p.sinks[type], tables: [], parallel: 3, verify: SMALL, ...extra });
}

/** `tributary verify` of the pipeline's sink into `type` as a process. */
function verifyPipeline(p: Pipeline, type: TestTarget['type'], args: string[] = []) {
  return verifyProcess(p.config, ['--sink', p.sinks[type], ...args]);
}

function byTable(reports: TableReport[], table: string): TableReport {
  const report = reports.find((r) => r.source.endsWith(`.${table}`));
  if (!report) throw new Error(`no report for ${table} in:\n${formatText(reports)}`);
  return report;
}

/** A row of a ClickHouse target written as the sink would: a newer version of the key, whole. */
async function clickHouseWrite(database: string, table: string, select: string): Promise<void> {
  await ch.command({ query: `INSERT INTO \`${database}\`.\`${table}\` ${select}` });
}

async function clickHouseColumns(database: string, table: string): Promise<string[]> {
  const result = await ch.query({ query: `SELECT name FROM system.columns WHERE database = '${database}' AND table = '${table}'`, format: 'JSONEachRow' });
  return (await result.json<{ name: string }>()).map((row) => row.name);
}

describe('verify a MariaDB source against its MariaDB and ClickHouse copies', () => {
  let source: Awaited<ReturnType<typeof scratchDatabase>>;
  let connection: mysql.Connection;
  let p: Pipeline;

  beforeAll(async () => {
    source = await scratchDatabase('vsrc');
    connection = await connectMySql(source.name);
    await connection.query("SET time_zone = '+00:00'");
    await connection.query(ITEMS_DDL);
    for (let start = 1; start <= ITEMS; start += 500) {
      const rows = Array.from({ length: Math.min(500, ITEMS - start + 1) }, (_, k) => itemRow(start + k));
      await connection.query('INSERT INTO items VALUES ?', [rows]);
    }
    // A composite key whose text column sorts by another collation at the source (utf8mb4_unicode_ci: 'a' = 'A').
    await connection.query(
      'CREATE TABLE pairs (region VARCHAR(12) NOT NULL, n INT NOT NULL, val VARCHAR(20) NULL, PRIMARY KEY (region, n)) ' +
        'DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci',
    );
    const regions = ['Zürich', 'alpha', 'Beta', 'beta2', 'ÅSA', '_x', 'z', 'Ωmega'];
    await connection.query('INSERT INTO pairs VALUES ?', [regions.flatMap((region) => Array.from({ length: 60 }, (_, n) => [region, n - 30, `${region}/${n}`]))]);
    p = await pipeline({ database: source.name });
    await converged(p, { items: ITEMS, pairs: 480 });
  }, 300_000);

  afterAll(async () => {
    for (const process of p?.processes ?? []) process.child.kill('SIGKILL');
    await connection?.end();
    await source?.drop();
    await mariadb.dropDatabase(p?.databases.mariadb ?? '').catch(() => undefined);
    await clickhouse.dropDatabase(p?.databases.clickhouse ?? '').catch(() => undefined);
  });

  it.each(['mariadb', 'clickhouse'] as const)('finds the %s copy equal, every row compared, and exits 0', async (type) => {
    const reports = await verify(p, type);
    expect(formatText(reports)).not.toMatch(/DIFFERS|NOT VERIFIED/);
    expect(allMatch(reports)).toBe(true);
    const items = byTable(reports, 'items');
    expect(items.counts).toMatchObject({ sourceRows: ITEMS, targetRows: ITEMS, compared: ITEMS, missing: 0, extra: 0, different: 0 });
    expect(items.notes).toEqual([]);
    expect(byTable(reports, 'pairs').counts).toMatchObject({ compared: 480, missing: 0, extra: 0, different: 0 });

    const run = await verifyPipeline(p, type, ['--recheck', '0']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/items → .*\.items: match/);
    expect(run.stdout).toMatch(/2 tables: 2 match, 0 differ, 0 not verified/);
  }, 120_000);

  it('does not report a change that the sink applies while verify re-checks', async () => {
    // The MariaDB sink is stopped while the change is made, and started again once verify has seen the difference.
    const sink = p.processes.find((x) => x.child.spawnargs.includes(p.sinks.mariadb) && x.child.exitCode === null);
    sink?.child.kill('SIGTERM');
    await sink?.exited;
    await connection.query("UPDATE pairs SET val = 'changed' WHERE region = 'beta2' AND n = 3");
    expect(sink, 'the MariaDB sink process').toBeDefined();
    let differing = -1;
    const reports = await verify(p, 'mariadb', {
      tables: [`${source.name}.pairs`],
      verify: { ...SMALL, recheckMs: 120_000 },
      hooks: {
        onRecheck: (ranges) => {
          differing = ranges;
          p.start('mariadb');
        },
      },
    });
    expect(differing, formatText(reports)).toBeGreaterThan(0);
    expect(byTable(reports, 'pairs').counts).toMatchObject({ compared: 480, missing: 0, extra: 0, different: 0 });
  }, 180_000);

  it('reports exactly the rows deleted, added and changed by hand in the MariaDB copy', async () => {
    const replica = await connectMySql(p.databases.mariadb);
    try {
      await replica.query('DELETE FROM items WHERE id = 10');
      await replica.query(`INSERT INTO items (id, name, \`${POSITION_COLUMN}\`) VALUES (1000000, 'extra', '')`);
      await replica.query("UPDATE items SET price = price + 0.000001 WHERE id = 20");
    } finally {
      await replica.end();
    }
    const reports = await verify(p, 'mariadb');
    const items = byTable(reports, 'items');
    expect(items.counts).toMatchObject({ sourceRows: ITEMS, targetRows: ITEMS, compared: ITEMS + 1, missing: 1, extra: 1, different: 1 });
    expect(items.counts?.examples).toEqual({ missing: [['10']], extra: [['1000000']], different: [['20']] });
    expect(allMatch(reports)).toBe(false);

    const run = await verifyPipeline(p, 'mariadb', ['--table', `${source.name}.items`, '--recheck', '0.5']);
    expect(run.code, run.stderr).toBe(1);
    expect(run.stdout).toContain('missing in the target: 1  e.g. id=10');
    expect(run.stdout).toContain('extra in the target: 1  e.g. id=1000000');
    expect(run.stdout).toContain('different: 1  e.g. id=20');
    expect(run.stdout).toContain('1 table: 0 match, 1 differ, 0 not verified');
  }, 120_000);

  it('reports exactly the rows deleted, added and changed by hand in the ClickHouse copy', async () => {
    const database = p.databases.clickhouse;
    const columns = (await clickHouseColumns(database, 'items')).map((c) => `\`${c}\``);
    const top = "toUInt64('18446744073709551000')";
    // A delete as the sink writes one: the key at a newer version, flagged deleted.
    await clickHouseWrite(database, 'items', `(id, \`${VERSION_COLUMN}\`, \`${DELETED_COLUMN}\`, \`${POSITION_COLUMN}\`) VALUES (10, 18446744073709551000, 1, 'by hand')`);
    await clickHouseWrite(database, 'items', `(id, name, \`${VERSION_COLUMN}\`, \`${DELETED_COLUMN}\`, \`${POSITION_COLUMN}\`) VALUES (1000000, 'extra', 1, 0, 'by hand')`);
    const changed = columns.map((c) => (c === '`name`' ? "'changed' AS name" : c === `\`${VERSION_COLUMN}\`` ? `${top} AS ${c}` : c));
    await clickHouseWrite(database, 'items', `(${columns.join(', ')}) SELECT ${changed.join(', ')} FROM \`${database}\`.items FINAL WHERE id = 20`);

    const reports = await verify(p, 'clickhouse');
    const items = byTable(reports, 'items');
    expect(items.counts).toMatchObject({ sourceRows: ITEMS, targetRows: ITEMS, compared: ITEMS + 1, missing: 1, extra: 1, different: 1 });
    expect(items.counts?.examples).toEqual({ missing: [['10']], extra: [['1000000']], different: [['20']] });
    expect(allMatch(reports)).toBe(false);
  }, 120_000);
});

describe('verify a PostgreSQL source against its MariaDB and ClickHouse copies', () => {
  let source: Awaited<ReturnType<typeof scratchPostgresDatabase>>;
  let sql: pg.Client;
  let p: Pipeline;
  const ROWS = 600;

  beforeAll(async () => {
    source = await scratchPostgresDatabase('vpg');
    sql = await connectPostgres(source.name);
    await sql.query(`CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')`);
    await sql.query(`CREATE TABLE things (
      id integer PRIMARY KEY, amount numeric(20,6), label text, code char(5), at timestamptz, local timestamp, day date,
      raw bytea, doc jsonb, uid uuid, ok boolean, ratio float8, small real, span interval, clock time, feeling mood, total numeric)`);
    await sql.query(
      `INSERT INTO things
       SELECT i, (i * 1.5 - 400)::numeric(20,6), 'label ' || i || ' ☃', CASE WHEN i % 5 = 0 THEN NULL ELSE left('c' || i, 5) END,
              timestamptz '2024-01-01 00:00:00+02' + i * interval '1 hour 1.000001 second', timestamp '1999-12-31 23:00:00' + i * interval '1 day',
              date '2000-02-28' + i, decode(lpad(to_hex(i), 6, '0'), 'hex'), jsonb_build_object('n', i, 'list', jsonb_build_array(1, 2.50, 'x')),
              md5(i::text)::uuid, i % 2 = 0, i / 7.0, (i / 3.0)::real, make_interval(days => i, secs => i / 1000.0), time '10:00' + i * interval '1 second',
              (ARRAY['sad', 'ok', 'happy'])[1 + i % 3]::mood, (i / 8.0)::numeric
         FROM generate_series(1, ${ROWS}) AS i`,
    );
    await sql.query('INSERT INTO things (id) VALUES (0)'); // every other column NULL
    p = await pipeline({ database: source.name, type: 'postgres' });
    await converged(p, { things: ROWS + 1 });
  }, 300_000);

  afterAll(async () => {
    for (const process of p?.processes ?? []) process.child.kill('SIGKILL');
    await Promise.all((p?.processes ?? []).map((x) => x.exited));
    await sql?.end();
    await source?.drop();
    await mariadb.dropDatabase(p?.databases.mariadb ?? '').catch(() => undefined);
    await clickhouse.dropDatabase(p?.databases.clickhouse ?? '').catch(() => undefined);
  });

  it.each(['mariadb', 'clickhouse'] as const)('finds the %s copy equal, then one row changed by hand', async (type) => {
    const before = byTable(await verify(p, type), 'things');
    expect(formatText([before])).toMatch(/: match/);
    expect(before.counts).toMatchObject({ compared: ROWS + 1, missing: 0, extra: 0, different: 0 });
    expect(before.notes).toEqual([]);

    if (type === 'mariadb') {
      const replica = await connectMySql(p.databases.mariadb);
      await replica.query("UPDATE things SET span = 'P1D' WHERE id = 77").finally(() => replica.end());
    } else {
      const database = p.databases.clickhouse;
      const columns = (await clickHouseColumns(database, 'things')).map((c) => `\`${c}\``);
      const changed = columns.map((c) => (c === '`raw`' ? "unhex('00') AS raw" : c === `\`${VERSION_COLUMN}\`` ? `toUInt64('18446744073709551000') AS ${c}` : c));
      await clickHouseWrite(database, 'things', `(${columns.join(', ')}) SELECT ${changed.join(', ')} FROM \`${database}\`.things FINAL WHERE id = 77`);
    }
    const after = byTable(await verify(p, type), 'things');
    expect(after.counts).toMatchObject({ compared: ROWS + 1, missing: 0, extra: 0, different: 1 });
    expect(after.counts?.examples.different).toEqual([['77']]);
  }, 120_000);
});
