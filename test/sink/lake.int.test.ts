import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { Kafka, logLevel } from 'kafkajs';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillTable, startWriter, tableState } from '#test/capture/convergence.ts';
import { committedEnd } from '#test/support/group-offsets.ts';
import { captureConfig, startCapture, startSink, type CaptureProcess } from '#test/support/capture-process.ts';
import { connectMySql, scratchDatabase } from '#test/support/mysql.ts';
import { stackEnv } from '#test/support/stack-env.ts';
import { TopicReader } from '#test/support/topic-reader.ts';
import { eventually, uniqueName } from '#test/support/wait.ts';

// MariaDB → capture → Kafka → lake sink → Parquet files, read back by DuckDB as a user reads a lake: every change
// once, with its op, exact values, and nothing half-written visible through a crash.

const kafka = new Kafka({ brokers: stackEnv('KAFKA_BROKERS').split(','), logLevel: logLevel.NOTHING });

describe('lake sink', () => {
  let source: Awaited<ReturnType<typeof scratchDatabase>>;
  let connection: mysql.Connection;
  let duck: DuckDBConnection;
  const prefix = uniqueName('lk');
  const processes: CaptureProcess[] = [];
  const dirs: string[] = [];

  beforeAll(async () => {
    source = await scratchDatabase('lakesrc');
    connection = await connectMySql(source.name);
    duck = await (await DuckDBInstance.create(':memory:')).connect();
    processes.push(startCapture(captureConfig({ prefix, source: 'src', database: source.name, partitions: 2 }), 'src'));
  });
  afterAll(async () => {
    for (const p of processes) p.child.kill('SIGKILL');
    await connection?.end();
    await source?.drop();
    duck?.closeSync();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  /** A lake directory and a sink config reading one table's topic into it. */
  function stage(table: string, rollBytes = 64 * 1024 * 1024) {
    const lake = mkdtempSync(join(tmpdir(), 'lake-it-'));
    dirs.push(lake);
    const sinkName = uniqueName('lake');
    const topic = `${prefix}.${source.name}.${table}`;
    const config = captureConfig({
      prefix,
      source: 'src',
      database: source.name,
      sinks: [
        `  - name: ${sinkName}`,
        '    type: lake',
        `    topics: [${topic}]`,
        '    batch: { maxRows: 500, lingerMs: 100 }',
        '    connection:',
        `      path: ${lake}`,
        `      rollBytes: ${rollBytes}`,
        '      rollMs: 1000',
      ],
    });
    const start = (env: Record<string, string> = {}) => {
      const sink = startSink(config, sinkName, env);
      processes.push(sink);
      return sink;
    };
    return { lake, topic, sinkName, start, files: () => `read_parquet('${lake}/**/*.parquet', hive_partitioning = true, union_by_name = true)` };
  }

  async function rows(sql: string): Promise<Record<string, unknown>[]> {
    return (await duck.runAndReadAll(sql)).getRowObjectsJson() as Record<string, unknown>[];
  }

  /** Every visible file is whole (DuckDB reads each), and no Parquet file lies under Tributary's own directory. */
  async function visibleFilesAreWhole(lake: string): Promise<number> {
    const all = (readdirSync(lake, { recursive: true }) as string[]).filter((f) => f.endsWith('.parquet'));
    expect(all.filter((f) => f.startsWith('_tributary')), 'temporary files must not end in .parquet').toEqual([]);
    for (const file of all) await rows(`SELECT count(*) FROM read_parquet('${join(lake, file)}')`);
    return all.length;
  }

  /**
   * The manifests agree with the files: each partition's files are listed once, in increasing, disjoint offset
   * ranges, and every visible file is listed. A replay that wrote offsets again would list a range twice.
   */
  function manifestsAgree(lake: string): void {
    const dir = join(lake, '_tributary', 'manifest');
    const listed = new Set<string>();
    for (const name of readdirSync(dir)) {
      let last = -1n;
      const lines = readFileSync(join(dir, name), 'utf8').split('\n').filter(Boolean);
      for (const line of lines.map((l) => JSON.parse(l) as { event: string; file: string; firstOffset: string; lastOffset: string })) {
        if (line.event !== 'published') continue;
        expect(BigInt(line.firstOffset), `${name}: ${line.file} after offset ${last}`).toBeGreaterThan(last);
        last = BigInt(line.lastOffset);
        listed.add(line.file);
      }
    }
    const visible = (readdirSync(lake, { recursive: true }) as string[]).filter((f) => f.endsWith('.parquet'));
    expect(new Set(visible)).toEqual(listed);
  }

  it('writes each change as a row with its op and exact values, as DuckDB reads them', async () => {
    const table = uniqueName('types');
    const qualified = `\`${source.name}\`.\`${table}\``;
    await connection.query(
      `CREATE TABLE ${qualified} (id INT PRIMARY KEY, d DECIMAL(30,10), u BIGINT UNSIGNED, n BIGINT, ts DATETIME(6), j JSON, b VARBINARY(16), s VARCHAR(64), sm SMALLINT, dt DATE)`,
    );
    await connection.query(
      `INSERT INTO ${qualified} VALUES
        (1, -12345678901234567890.0123456789, 18446744073709551615, -9223372036854775808, '2024-02-29 23:59:59.123456', '{"big": 18446744073709551615, "x": 2.50}', x'00ff00ff', 'émoji 😀', -32768, '2024-02-29'),
        (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`,
    );
    const s = stage(table);
    const sink = s.start();
    const sorted = `SELECT * FROM ${s.files()} ORDER BY _source_position, id`;
    await eventually('the snapshot rows in the lake', async () => {
      if (sink.child.exitCode !== null) throw new Error(`the sink exited:\n${sink.output()}`);
      return existsSync(join(s.lake, '_tributary')) && (await rows(`SELECT count(*) AS n FROM ${s.files()}`).catch(() => [{ n: '0' }]))[0]?.n === '2' ? true : undefined;
    }, 90_000).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${sink.output()}`);
    });
    await connection.query(`UPDATE ${qualified} SET d = 0.0000000001, s = 'changed' WHERE id = 1`);
    await connection.query(`DELETE FROM ${qualified} WHERE id = 1`);
    await connection.query(`INSERT INTO ${qualified} (id, u) VALUES (3, 0)`);
    await eventually('the update, delete and insert in the lake', async () => ((await rows(`SELECT count(*) AS n FROM ${s.files()}`))[0]?.n === '5' ? true : undefined), 60_000).catch(
      (error: unknown) => {
        throw new Error(`${(error as Error).message}\n${sink.output()}`);
      },
    );

    const got = await rows(
      `SELECT id, d::VARCHAR d, typeof(d) d_type, u::VARCHAR u, typeof(u) u_type, n::VARCHAR n, typeof(n) n_type, ts::VARCHAR ts, typeof(ts) ts_type,
              j::VARCHAR j, typeof(j) j_type, hex(b) b, s, sm::VARCHAR sm, typeof(sm) sm_type, dt::VARCHAR dt, typeof(dt) dt_type, _op, "table", "date"::VARCHAR "date", _ts_ms > 0 AS has_ts
       FROM (${sorted})`,
    );
    const base = { d_type: 'DECIMAL(30,10)', u_type: 'DECIMAL(20,0)', n_type: 'BIGINT', ts_type: 'TIMESTAMP', j_type: 'JSON', sm_type: 'SMALLINT', dt_type: 'DATE', table: `${source.name}.${table}`, has_ts: true };
    const today = new Date().toISOString().slice(0, 10);
    const nulls = { d: null, u: null, n: null, ts: null, j: null, b: null, s: null, sm: null, dt: null };
    const one = {
      d: '-12345678901234567890.0123456789',
      u: '18446744073709551615',
      n: '-9223372036854775808',
      ts: '2024-02-29 23:59:59.123456',
      j: '{"big": 18446744073709551615, "x": 2.50}',
      b: '00FF00FF',
      s: 'émoji 😀',
      sm: '-32768',
      dt: '2024-02-29',
    };
    // Dates of the partitions are the commit dates (UTC) of the changes: today, or tomorrow past midnight.
    expect(got.map(({ date, ...rest }) => ({ ...rest, date: date === today || date! > today ? 'today' : date }))).toEqual([
      { ...base, id: 1, ...one, _op: 'r', date: 'today' },
      { ...base, id: 2, ...nulls, _op: 'r', date: 'today' },
      { ...base, id: 1, ...one, d: '0.0000000001', s: 'changed', _op: 'u', date: 'today' },
      // A delete carries the before image: the row as the update left it.
      { ...base, id: 1, ...one, d: '0.0000000001', s: 'changed', _op: 'd', date: 'today' },
      { ...base, id: 3, ...nulls, u: '0', _op: 'c', date: 'today' },
    ]);
    sink.child.kill('SIGTERM');
    expect(await sink.exited, sink.output()).toBe(0);
  }, 180_000);

  it('is SIGKILLed while writing, renaming and listing files: no half file is ever visible, and every change lands once', async () => {
    const table = uniqueName('items');
    const qualified = `\`${source.name}\`.\`${table}\``;
    await fillTable(connection, qualified, 3_000);
    const writer = startWriter(connection, qualified, 3_001);
    // Small files, so that a run publishes many and each kill point is reached in a few seconds.
    const s = stage(table, 16 * 1024);
    const points = ['row-group:2', 'renaming:3', 'renamed:2', 'published:4', 'row-group:5', 'renamed:4'];
    let visible = 0;
    for (const point of points) {
      const sink = s.start({ TRIBUTARY_TEST_KILL_LAKE: point });
      const code = await sink.exited;
      expect(sink.child.signalCode ?? code, `killed at ${point}:\n${sink.output()}`).toBe('SIGKILL');
      visible = await visibleFilesAreWhole(s.lake);
    }
    expect(visible).toBeGreaterThan(0);
    await writer.stop();

    const reader = new TopicReader([s.topic]);
    await reader.start();
    const sink = s.start();
    try {
      // Converged: as many rows as change events (tombstones aside), one per event. A snapshot's rows share its
      // position, so an event is its position with its key and op, as the capture tests count them.
      await eventually(
        'every change in the lake',
        async () => {
          if (sink.child.exitCode !== null) throw new Error(`the sink exited:\n${sink.output()}`);
          const events = reader.messages.filter((m) => m.value !== null).length;
          const [counts] = await rows(`SELECT count(*) AS n FROM ${s.files()}`);
          return events > 3_000 && Number(counts?.n) >= events ? events : undefined;
        },
        180_000,
      );
      const events = reader.messages.filter((m) => m.value !== null).length;
      const [counts] = await rows(`SELECT count(*) AS n, count(DISTINCT (_source_position, id, _op)) AS distinct_events FROM ${s.files()}`);
      expect(counts).toEqual({ n: String(events), distinct_events: String(events) });

      // The log replayed in position order gives the source table.
      const latest = await rows(
        `SELECT id::VARCHAR id, val, n, _op FROM ${s.files()} QUALIFY row_number() OVER (PARTITION BY id ORDER BY _source_position DESC) = 1`,
      );
      const fromLake = new Map(latest.filter((r) => r._op !== 'd').map((r) => [String(r.id), { val: r.val, n: Number(r.n) }]));
      const fromSource = new Map([...(await tableState(connection, qualified))].map(([id, row]) => [id, { val: row.val, n: Number(row.n) }]));
      expect(fromLake.size).toBe(fromSource.size);
      expect(fromLake).toEqual(fromSource);
      expect(await visibleFilesAreWhole(s.lake)).toBeGreaterThan(visible);
    } finally {
      await reader.stop();
      sink.child.kill('SIGTERM');
    }
    // SIGTERM publishes the open file and commits it: no temporary file is left.
    expect(await sink.exited, sink.output()).toBe(0);
    expect(readdirSync(join(s.lake, '_tributary', 'tmp'))).toEqual([]);
    manifestsAgree(s.lake);

    // A user resets the group to the start of the topic: the whole history is read again and nothing is written twice.
    const events = reader.messages.filter((m) => m.value !== null).length;
    const admin = kafka.admin();
    await admin.connect();
    await admin.resetOffsets({ groupId: s.sinkName, topic: s.topic, earliest: true });
    await admin.disconnect();
    expect(await committedEnd(kafka, s.sinkName, s.topic)).toBe(false);
    const replay = s.start();
    await eventually('the replay to commit the end of the topic', async () => ((await committedEnd(kafka, s.sinkName, s.topic)) ? true : undefined), 120_000).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${replay.output()}`);
    });
    replay.child.kill('SIGTERM');
    expect(await replay.exited, replay.output()).toBe(0);
    const [after] = await rows(`SELECT count(*) AS n FROM ${s.files()}`);
    expect(after).toEqual({ n: String(events) });
    manifestsAgree(s.lake);
  }, 420_000);
});
