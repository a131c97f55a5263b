import { Writable } from 'node:stream';
import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '#config/load.ts';
import { DELETED_COLUMN, POSITION_COLUMN, VERSION_COLUMN } from '#core/sink.ts';
import { createKafka } from '#kafka/client.ts';
import { groupLag } from '#kafka/group-offsets.ts';
import { clickHouseTarget, mariaDbTarget, type TestTarget } from '#test/sink/targets.ts';
import { captureConfig, startCapture, startSink, type CaptureProcess } from '#test/support/capture-process.ts';
import { freePort } from '#test/support/http.ts';
import { connectMySql } from '#test/support/mysql.ts';
import { connectPostgres, scratchPostgresDatabase } from '#test/support/postgres.ts';
import { stackEnv } from '#test/support/stack-env.ts';
import { eventually, uniqueName } from '#test/support/wait.ts';
import { collectingKeys, extraRowsNote, repairDifferences, type RepairResult } from '#verify/repair.ts';
import { formatRepairText } from '#verify/repair-report.ts';
import { formatText, type TableReport } from '#verify/report.ts';
import { runVerify, type RunOptions } from '#verify/run.ts';
import { verifyProcess } from './verify-process.ts';

// `tributary verify --repair` against the real pipeline: a PostgreSQL source captured (with its status endpoint)
// into a MariaDB and a ClickHouse sink. Rows deleted, changed and added by hand in a target are found; the repair has
// the capture re-read those keys, waits for the sink, and verifies again: the deleted and changed rows are back, the
// added row is deleted, and the exit code is 0. A table with more differing keys than the budget is re-snapshotted
// whole instead: its added row (which no snapshot can remove) is reported as remaining, with the reason.

const mariadb = mariaDbTarget();
const clickhouse = clickHouseTarget();
const ch: ClickHouseClient = createClient({ url: stackEnv('CLICKHOUSE_URL'), log: { level: ClickHouseLogLevel.OFF } });
const ROWS = 300;

describe('verify --repair of a PostgreSQL source into MariaDB and ClickHouse', () => {
  let source: Awaited<ReturnType<typeof scratchPostgresDatabase>>;
  let sql: pg.Client;
  let config: string;
  let prefix: string;
  const sinks = { mariadb: uniqueName('rreplica'), clickhouse: uniqueName('rwarehouse') };
  const databases = { mariadb: uniqueName('rreplica'), clickhouse: uniqueName('rwarehouse') };
  const processes: CaptureProcess[] = [];
  const logs = () => processes.map((p, i) => `--- process ${i} (exit ${p.child.exitCode}):\n${p.output().slice(-3000)}`).join('\n');

  beforeAll(async () => {
    source = await scratchPostgresDatabase('vrep');
    sql = await connectPostgres(source.name);
    await sql.query('CREATE TABLE things (id integer PRIMARY KEY, label text NOT NULL, amount numeric(12,2), at timestamptz)');
    await sql.query(
      `INSERT INTO things SELECT i, 'thing ' || i, i * 1.25, timestamptz '2024-01-01 00:00:00+00' + i * interval '1 minute' FROM generate_series(1, ${ROWS}) AS i`,
    );
    await sql.query('CREATE TABLE tags (id integer PRIMARY KEY, name text)');
    await sql.query("INSERT INTO tags SELECT i, 'tag ' || i FROM generate_series(1, 40) AS i");

    prefix = uniqueName('vr');
    const pattern = `^${prefix}\\.public\\.[^.]+$`;
    const port = await freePort();
    config = captureConfig({
      prefix,
      source: 'src',
      database: source.name,
      type: 'postgres',
      extra: `    http: { port: ${port} }`,
      sinks: [
        ...mariadb.sinkYaml({ name: sinks.mariadb, database: databases.mariadb, pattern }),
        ...clickhouse.sinkYaml({ name: sinks.clickhouse, database: databases.clickhouse, pattern }),
      ],
    });
    await mariadb.createDatabase(databases.mariadb);
    await clickhouse.createDatabase(databases.clickhouse);
    processes.push(startCapture(config, 'src'), startSink(config, sinks.mariadb), startSink(config, sinks.clickhouse));
    for (const target of [mariadb, clickhouse]) {
      for (const [table, rows] of [['things', ROWS], ['tags', 40]] as const) {
        await eventually(
          `${target.type} to hold the ${rows} rows of ${table}`,
          async () => ((await target.rowCount(databases[target.type], table).catch(() => -1)) === rows ? true : undefined),
          180_000,
        ).catch((error: unknown) => {
          throw new Error(`${(error as Error).message}\n${logs()}`);
        });
      }
    }
  }, 300_000);

  afterAll(async () => {
    for (const process of processes) process.child.kill('SIGKILL');
    await Promise.all(processes.map((x) => x.exited));
    await sql?.end();
    await source?.drop();
    await mariadb.dropDatabase(databases.mariadb).catch(() => undefined);
    await clickhouse.dropDatabase(databases.clickhouse).catch(() => undefined);
    await Promise.all([clickhouse.close(), ch.close()]);
  });

  /**
   * Both sinks have applied everything (a snapshot of another test goes to both): damage made by hand while one
   * still applies would be overwritten before verify sees it.
   */
  async function settled(): Promise<void> {
    const kafka = createKafka(loadConfig(config).kafka);
    for (const sink of Object.values(sinks)) {
      await eventually(
        `sink ${sink} to have applied its topics`,
        async () => {
          const lag = await groupLag(kafka, sink, new RegExp(`^${prefix}\\.public\\.`), { timestamps: false });
          // A sink commits the offset after the last message it applied: the last transaction's marker stays.
          return lag.partitions.length > 0 && lag.partitions.every((p) => BigInt(p.lagMessages) <= 1n) ? true : undefined;
        },
        60_000,
      );
    }
  }

  async function expectSourceRows(target: TestTarget, ids: number[]): Promise<void> {
    const labels = await target.column(databases[target.type], 'things', 'label');
    for (const id of ids) expect(labels.get(String(id)), `${target.type} row ${id}`).toBe(`thing ${id}`);
  }

  async function damageMariaDb(statements: string[]): Promise<void> {
    const replica = await connectMySql(databases.mariadb);
    try {
      for (const statement of statements) await replica.query(statement);
    } finally {
      await replica.end();
    }
  }

  /** A row of things that the source does not have, written into the MariaDB copy as the sink writes rows. */
  const addedRow = (id: number) => `INSERT INTO things (id, label, \`${POSITION_COLUMN}\`) VALUES (${id}, 'extra', '')`;

  async function repairInProcess(settings: ReturnType<typeof loadConfig>, run: RunOptions, first: TableReport[]): Promise<{ result: RepairResult; said: string[]; output: string }> {
    const said: string[] = [];
    let drawn = '';
    const out = new Writable({ write: (chunk: Buffer, _encoding, done) => ((drawn += chunk.toString()), done()) }) as unknown as NodeJS.WriteStream;
    const result = await repairDifferences(settings, run, first, { timeoutMs: 120_000, out, say: (line) => said.push(line) });
    return { result, said, output: `${said.join('\n')}\n${drawn}\n${result.message}\n${formatText(result.final)}\n${logs()}` };
  }

  it('repairs the rows deleted, changed and added in the MariaDB copy by their keys, and exits 0', async () => {
    await settled();
    await damageMariaDb(['DELETE FROM things WHERE id = 10', "UPDATE things SET label = 'damaged' WHERE id = 20", addedRow(100000)]);
    const run = await verifyProcess(config, ['--sink', sinks.mariadb, '--recheck', '1', '--repair', '--repair-timeout', '120']);
    const output = `stdout:\n${run.stdout}\nstderr:\n${run.stderr}\n${logs()}`;
    expect(run.code, output).toBe(0);
    const [firstPass, afterRepair = ''] = run.stdout.split('after the repair:');
    // The first pass finds the three keys.
    expect(firstPass, output).toContain('missing in the target: 1  e.g. id=10');
    expect(firstPass, output).toContain('extra in the target: 1  e.g. id=100000');
    expect(firstPass, output).toContain('different: 1  e.g. id=20');
    expect(firstPass, output).toContain('2 tables: 1 match, 1 differ, 0 not verified');
    // Those keys are re-read, and said so.
    expect(firstPass, output).toContain(
      'repair: re-emitting 3 keys of public.things: the capture of source "src" re-reads those keys and deletes the ones the source does not have',
    );
    expect(firstPass, output).toMatch(/repair: sent snapshot signal [0-9a-f-]{36} to /);
    expect(firstPass, output).toContain('repair: snapshot done: public.things 3 keys re-read');
    expect(firstPass, output).toContain(`repair: sink "${sinks.mariadb}" applied the snapshot`);
    // The second pass: the deleted and changed rows are back, the added one is gone.
    expect(afterRepair, output).toContain('public.things → ');
    expect(afterRepair, output).not.toContain('missing in the target');
    expect(afterRepair, output).not.toContain('extra in the target');
    expect(afterRepair, output).not.toContain('different:');
    expect(afterRepair, output).toContain('repair: repair done: 1 of 1 repaired table matches now');
    expect(afterRepair, output).toContain('result: 2 tables: 2 match, 0 differ, 0 not verified');
    await expectSourceRows(mariadb, [10, 20]);
    expect((await mariadb.column(databases.mariadb, 'things', 'label')).has('100000')).toBe(false);
  }, 240_000);

  it('prints one JSON document with the keys repaired counted per table', async () => {
    await settled();
    await damageMariaDb(['DELETE FROM things WHERE id = 30', 'UPDATE things SET amount = amount + 1 WHERE id = 31', addedRow(100002)]);
    const run = await verifyProcess(config, ['--sink', sinks.mariadb, '--recheck', '1', '--repair', '--json']);
    const output = `stdout:\n${run.stdout}\nstderr:\n${run.stderr}\n${logs()}`;
    expect(run.code, output).toBe(0);
    const document = JSON.parse(run.stdout) as {
      match: boolean;
      tables: { source: string; status: string }[];
      firstPass: { match: boolean; tables: { source: string; missing: number; different: number; extra: number }[] };
      repair: { outcome: string; byKeys: { table: string; keys: number }[]; whole: string[]; signal: string };
    };
    expect(document.match).toBe(true);
    expect(document.firstPass.match).toBe(false);
    expect(document.firstPass.tables.find((t) => t.source === 'public.things')).toMatchObject({ missing: 1, different: 1, extra: 1 });
    expect(document.repair).toMatchObject({ outcome: 'repaired', byKeys: [{ table: 'public.things', keys: 3 }], whole: [] });
    expect(document.tables.map((t) => t.status)).toEqual(['match', 'match']);
    // The repair's lines go to stderr under --json.
    expect(run.stderr, output).toContain('repair: re-emitting 3 keys of public.things');
  }, 240_000);

  it('repairs the ClickHouse copy in-process: one signal carrying the keys of both tables, the one with extra rows only too', async () => {
    await settled();
    const database = databases.clickhouse;
    // Written as the sink writes rows: one version above the key's current one (the re-snapshot's versions are
    // WAL positions read later, so they win, as they would over any change older than the snapshot).
    const version = async (id: number) =>
      BigInt(((await (await ch.query({ query: `SELECT max(\`${VERSION_COLUMN}\`) AS v FROM \`${database}\`.things WHERE id = ${id}`, format: 'JSONEachRow' })).json()) as { v: string }[])[0]?.v ?? '0');
    const meta = `\`${VERSION_COLUMN}\`, \`${DELETED_COLUMN}\`, \`${POSITION_COLUMN}\``;
    await ch.command({ query: `INSERT INTO \`${database}\`.things (id, ${meta}) VALUES (11, ${(await version(11)) + 1n}, 1, 'by hand')` });
    const columns = ((await (await ch.query({ query: `SELECT name FROM system.columns WHERE database = '${database}' AND table = 'things'`, format: 'JSONEachRow' })).json()) as { name: string }[]).map((c) => `\`${c.name}\``);
    const changed = columns.map((c) => (c === '`label`' ? "'damaged' AS label" : c === `\`${VERSION_COLUMN}\`` ? `${c} + 1 AS ${c}` : c));
    await ch.command({ query: `INSERT INTO \`${database}\`.things (${columns.join(', ')}) SELECT ${changed.join(', ')} FROM \`${database}\`.things FINAL WHERE id = 21` });
    await ch.command({ query: `INSERT INTO \`${database}\`.things (id, label, ${meta}) VALUES (100001, 'extra', 1, 0, 'by hand')` });
    await ch.command({ query: `INSERT INTO \`${database}\`.tags (id, name, ${meta}) VALUES (9999, 'extra', 1, 0, 'by hand')` });

    const settings = loadConfig(config);
    const run = collectingKeys({ source: 'src', sink: sinks.clickhouse, tables: [], parallel: 2, verify: { recheckMs: 1_000 } });
    const first = await runVerify(settings, run);
    const byTable = (reports: readonly TableReport[], table: string) => reports.find((r) => r.source === `public.${table}`);
    expect(byTable(first, 'things')?.counts, formatText(first)).toMatchObject({ missing: 1, extra: 1, different: 1, examples: { missing: [['11']], extra: [['100001']], different: [['21']] } });
    expect(byTable(first, 'tags')?.counts, formatText(first)).toMatchObject({ missing: 0, extra: 1, different: 0 });

    const { result, said, output } = await repairInProcess(settings, run, first);
    expect(result.outcome, output).toBe('repaired');
    expect(result.plan).toEqual({
      byKeys: [
        { table: 'public.tags', keys: 1 },
        { table: 'public.things', keys: 3 },
      ],
      whole: [],
      extraOnly: [],
      notVerified: [],
      signalKeys: { 'public.things': [['11'], ['21'], ['100001']], 'public.tags': [['9999']] },
    });
    expect(said[0], output).toBe(
      're-emitting 1 key of public.tags, 3 keys of public.things: the capture of source "src" re-reads those keys and deletes the ones the source does not have',
    );
    expect(said.filter((line) => line.startsWith('sent snapshot signal')), output).toHaveLength(1);
    // Tables in the order verify compares them (by name).
    expect(result.snapshot, output).toEqual([
      { table: 'public.tags', keys: 1 },
      { table: 'public.things', keys: 3 },
    ]);
    expect(result.final.map((r) => r.source)).toEqual(['public.tags', 'public.things']);
    expect(result.final.map((r) => r.counts), output).toMatchObject([
      { missing: 0, different: 0, extra: 0 },
      { missing: 0, different: 0, extra: 0 },
    ]);
    expect(result.message).toBe('repair done: 2 of 2 repaired tables match now');
    await expectSourceRows(clickhouse, [11, 21]);
    expect((await clickhouse.column(database, 'things', 'label')).has('100001')).toBe(false);
    expect((await clickhouse.column(database, 'tags', 'name')).has('9999')).toBe(false);
  }, 240_000);

  it('re-snapshots whole a table with more differing keys than the budget, in the same signal as keys of another, and reports its added row as remaining', async () => {
    await settled();
    await damageMariaDb(['DELETE FROM things WHERE id = 40', "UPDATE things SET label = 'damaged' WHERE id = 41", addedRow(100003), "UPDATE tags SET name = 'damaged' WHERE id = 5"]);
    const settings = loadConfig(config);
    // A budget of 2 keys per table: things (3 keys) is too many to repair by key, tags (1) is not.
    const run: RunOptions = { source: 'src', sink: sinks.mariadb, tables: [], parallel: 2, verify: { recheckMs: 1_000, repairKeys: 2 } };
    const first = await runVerify(settings, run);
    const things = first.find((r) => r.source === 'public.things')?.counts;
    expect(things, formatText(first)).toMatchObject({ missing: 1, extra: 1, different: 1, differingKeys: null });

    const { result, said, output } = await repairInProcess(settings, run, first);
    expect(result.outcome, output).toBe('repaired');
    expect(result.plan, output).toMatchObject({ byKeys: [{ table: 'public.tags', keys: 1 }], whole: ['public.things'], extraOnly: [] });
    expect(said[0], output).toMatch(/^re-emitting 1 key of public\.tags: /);
    expect(said[1], output).toMatch(/^re-snapshotting 1 table: public\.things \(whole tables, too many differing keys to repair by key/);
    expect(result.snapshot, output).toEqual([
      { table: 'public.tags', keys: 1 },
      { table: 'public.things', rows: ROWS },
    ]);
    // The deleted and changed rows are back; the added one stays, with the reason; tags matches.
    const byTable = (table: string) => result.final.find((r) => r.source === `public.${table}`);
    expect(byTable('things')?.counts, output).toMatchObject({ missing: 0, different: 0, extra: 1, examples: { extra: [['100003']] } });
    expect(byTable('things')?.notes).toContain(extraRowsNote(1));
    expect(byTable('tags')?.counts, output).toMatchObject({ missing: 0, different: 0, extra: 0 });
    expect(result.message).toBe('repair done: 1 of 2 repaired tables match now');
    expect(formatRepairText(result)).toContain('repair: rows extra in the target remain in public.things (1): too many differing keys to repair by key');
    await expectSourceRows(mariadb, [40, 41]);
  }, 240_000);
});
