import { Kafka, logLevel } from 'kafkajs';
import type pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { CaptureStatusReport } from '#capture/status.ts';
import { sendSnapshotSignal } from '#kafka/signals.ts';
import { clickHouseTarget, mariaDbTarget } from '#test/sink/targets.ts';
import { captureConfig, startSink, startTributary, type CaptureProcess } from '#test/support/capture-process.ts';
import { freePort, get } from '#test/support/http.ts';
import { connectMySql } from '#test/support/mysql.ts';
import { connectPostgres, scratchPostgresDatabase } from '#test/support/postgres.ts';
import { stackEnv } from '#test/support/stack-env.ts';
import { eventually, uniqueName } from '#test/support/wait.ts';

// An ad-hoc snapshot asked of a running PostgreSQL capture through the signal topic, as an operator repairs a
// target: rows deleted and changed by hand in the MariaDB copy come back, while a writer keeps changing the table,
// and both targets (MariaDB by position, ClickHouse by row version) end equal to the source, no newer change lost.

describe('PostgreSQL ad-hoc snapshot', () => {
  const processes: CaptureProcess[] = [];
  const cleanups: (() => Promise<void>)[] = [];

  afterEach(async () => {
    for (const process of processes.splice(0)) {
      if (process.child.exitCode === null && process.child.signalCode === null) process.child.kill('SIGKILL');
      await process.exited;
    }
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });

  it('re-reads a table in chunks under concurrent writes and repairs a damaged target', async () => {
    const db = await scratchPostgresDatabase('pgadhoc');
    cleanups.push(db.drop);
    const client = await connectPostgres(db.name);
    cleanups.push(() => client.end());
    await client.query('CREATE TABLE items (id int PRIMARY KEY, val text NOT NULL, n int NOT NULL)');
    await client.query("INSERT INTO items SELECT g, 'v' || g, g FROM generate_series(1, 20000) g");

    const mariadb = mariaDbTarget();
    const clickhouse = clickHouseTarget();
    cleanups.push(() => clickhouse.close());
    const replica = uniqueName('adhoc');
    const warehouse = uniqueName('adhoc');
    await mariadb.createDatabase(replica);
    cleanups.push(() => mariadb.dropDatabase(replica));
    await clickhouse.createDatabase(warehouse);
    cleanups.push(() => clickhouse.dropDatabase(warehouse));

    const source = uniqueName('pga');
    const prefix = uniqueName('ah');
    const port = await freePort();
    const pattern = `^${prefix}\\.public\\..*$`;
    const sinkNames = [uniqueName('m'), uniqueName('c')] as const;
    const config = captureConfig({
      prefix,
      source,
      database: db.name,
      type: 'postgres',
      extra: [`    http: { port: ${port} }`, '    snapshotChunkSize: 2000'].join('\n'),
      sinks: [
        ...mariadb.sinkYaml({ name: sinkNames[0], database: replica, pattern }),
        ...clickhouse.sinkYaml({ name: sinkNames[1], database: warehouse, pattern }),
      ],
    });
    // Each chunk's window stays open 300 ms, so the writers' changes land inside windows (TRIBUTARY_TEST_WINDOW_DELAY_MS).
    const capture = startTributaryCapture(config, source);
    processes.push(capture, ...sinkNames.map((name) => startSink(config, name)));
    const logs = () => processes.map((p, i) => `--- process ${i} (exit ${p.child.exitCode}):\n${p.output().slice(-3000)}`).join('\n');
    await eventually('the initial snapshot in MariaDB', async () => ((await mariadb.rowCount(replica, 'items').catch(() => 0)) === 20000 ? true : undefined), 90_000).catch((error: unknown) => {
      throw new Error(`${String(error)}\n${logs()}`);
    });

    // Damage the MariaDB copy by hand: rows gone, values changed.
    const target = await connectMySql(replica);
    cleanups.push(() => target.end());
    await target.query('DELETE FROM items WHERE id % 37 = 0');
    await target.query("UPDATE items SET val = 'damaged' WHERE id % 41 = 0");

    // Several writers without waiting for WAL flushes: many commits land inside each chunk's window.
    const writerClients = await Promise.all([1, 2, 3, 4].map(() => connectPostgres(db.name)));
    cleanups.push(async () => void (await Promise.all(writerClients.map((c) => c.end()))));
    for (const c of writerClients) await c.query('SET synchronous_commit = off');
    const writers = writerClients.map((c) => startWriter(c, 21000));
    const writer = { stop: async () => void (await Promise.all(writers.map((w) => w.stop()))), writes: () => writers.reduce((n, w) => n + w.writes(), 0) };
    const kafka = new Kafka({ brokers: stackEnv('KAFKA_BROKERS').split(','), logLevel: logLevel.NOTHING });
    const signal = await sendSnapshotSignal(kafka, prefix, 1, source, ['public.items']);
    const done = await eventually(
      'the ad-hoc snapshot to finish',
      async () => {
        const report = JSON.parse((await get(`http://127.0.0.1:${port}/status`)).body) as CaptureStatusReport;
        const entry = report.snapshot.find((s) => s.table === 'public.items' && s.signal === signal);
        return entry?.done && entry.rowsDone > 0 ? entry : undefined;
      },
      120_000,
    );
    await writer.stop();
    expect(writer.writes()).toBeGreaterThan(0);
    // Rows a concurrent change touched while their chunk's window was open come from the stream, not the chunk:
    // fewer rows are published than the table holds.
    const rows = Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM items')).rows[0]?.n);
    expect(done.rowsDone).toBeGreaterThan(0);
    expect(done.rowsDone).toBeLessThan(rows);

    const expected = new Map(
      (await client.query<{ id: number; val: string; n: number }>('SELECT id, val, n FROM items')).rows.map((r) => [String(r.id), { val: r.val, n: Number(r.n) }]),
    );
    for (const [name, t, database] of [['MariaDB', mariadb, replica], ['ClickHouse', clickhouse, warehouse]] as const) {
      await eventually(
        `${name} to equal the source`,
        async () => {
          const state = await t.state(database, 'items');
          return state.size === expected.size && [...expected].every(([id, row]) => state.get(id)?.val === row.val && state.get(id)?.n === row.n) ? true : undefined;
        },
        90_000,
      ).catch(async (error: unknown) => {
        const state = await t.state(database, 'items');
        const wrong = [...expected].filter(([id, row]) => state.get(id)?.val !== row.val || state.get(id)?.n !== row.n).slice(0, 5);
        throw new Error(`${name}: ${state.size} rows for ${expected.size}; first differences ${JSON.stringify(wrong.map(([id, row]) => [id, row, state.get(id)]))}`, { cause: error });
      });
    }
  });
});

function startTributaryCapture(config: string, source: string): CaptureProcess {
  return startTributary(['capture', source], config, undefined, { TRIBUTARY_TEST_WINDOW_DELAY_MS: '300' });
}

/** Random inserts, updates and deletes over ids 1..maxId until stopped, each in its own transaction. */
function startWriter(client: pg.Client, maxId: number): { stop: () => Promise<void>; writes: () => number } {
  let running = true;
  let writes = 0;
  const loop = (async () => {
    while (running) {
      const id = 1 + Math.floor(Math.random() * maxId);
      const op = Math.random();
      if (op < 0.5) await client.query('UPDATE items SET n = n + 1, val = $2 WHERE id = $1', [id, `w${writes}`]);
      else if (op < 0.8) await client.query("INSERT INTO items VALUES ($1, 'new', 0) ON CONFLICT (id) DO UPDATE SET n = items.n + 100", [id]);
      else await client.query('DELETE FROM items WHERE id = $1', [id]);
      writes++;
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
    },
    writes: () => writes,
  };
}
