import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { CaptureStatusReport } from '#capture/status.ts';
import { POSITION_COLUMN } from '#core/sink.ts';
import { sendSnapshotSignal } from '#kafka/signals.ts';
import { clickHouseTarget, mariaDbTarget } from '#test/sink/targets.ts';
import { captureConfig, startSink, startTributary } from '#test/support/capture-process.ts';
import { processScope } from '#test/support/process-scope.ts';
import { freePort, get } from '#test/support/http.ts';
import { connectMySql, scratchDatabase } from '#test/support/mysql.ts';
import { connectPostgres, scratchPostgresDatabase } from '#test/support/postgres.ts';
import { stackEnv } from '#test/support/stack-env.ts';
import { eventually, uniqueName } from '#test/support/wait.ts';

// An ad-hoc snapshot asked of a running capture through the signal topic, as an operator repairs a target: rows
// deleted and changed by hand in the MariaDB copy come back while writers keep changing the table, and both
// targets (MariaDB by position, ClickHouse by row version) end equal to the source, no newer change lost.

/** What the test needs of a source engine: SQL differs, the judgement does not. */
interface SourceKit {
  type: 'postgres' | 'mariadb';
  /** A scratch database holding `items` with `rows` rows; `query` runs SQL there. */
  setup(rows: number): Promise<{ name: string; drop: () => Promise<void>; query: (sql: string, values?: unknown[]) => Promise<Record<string, unknown>[]>; connect: () => Promise<Writer> }>;
  /** The table's name in a signal and its topic's middle part. */
  table(database: string): string;
  namespace(database: string): string;
  /** Extra environment of the capture (PostgreSQL: its chunk window held open, so writes land inside it). */
  env: Record<string, string>;
}

interface Writer {
  write(id: number, op: number, tag: string): Promise<void>;
  end(): Promise<void>;
}

const postgres: SourceKit = {
  type: 'postgres',
  setup: async (rows) => {
    const db = await scratchPostgresDatabase('adhoc');
    const client = await connectPostgres(db.name);
    await client.query('CREATE TABLE items (id int PRIMARY KEY, val text NOT NULL, n int NOT NULL)');
    await client.query("INSERT INTO items SELECT g, 'v' || g, g FROM generate_series(1, $1::int) g", [rows]);
    return {
      name: db.name,
      drop: async () => {
        await client.end();
        await db.drop();
      },
      query: async (sql, values) => (await client.query(sql.replaceAll('?', () => '$1'), values as unknown[])).rows,
      connect: async () => {
        const writer = await connectPostgres(db.name);
        // Commits without waiting for the WAL flush: many land inside each chunk's window.
        await writer.query('SET synchronous_commit = off');
        return {
          write: async (id, op, tag) => {
            if (op < 0.5) await writer.query('UPDATE items SET n = n + 1, val = $2 WHERE id = $1', [id, tag]);
            else if (op < 0.8) await writer.query("INSERT INTO items VALUES ($1, 'new', 0) ON CONFLICT (id) DO UPDATE SET n = items.n + 100", [id]);
            else await writer.query('DELETE FROM items WHERE id = $1', [id]);
          },
          end: () => writer.end(),
        };
      },
    };
  },
  table: () => 'public.items',
  namespace: () => 'public',
  env: { TRIBUTARY_TEST_WINDOW_DELAY_MS: '300' },
};

const mariadb: SourceKit = {
  type: 'mariadb',
  setup: async (rows) => {
    const db = await scratchDatabase('adhoc');
    const connection = await connectMySql(db.name);
    await connection.query('CREATE TABLE items (id int PRIMARY KEY, val varchar(40) NOT NULL, n int NOT NULL)');
    await connection.query("INSERT INTO items SELECT seq, CONCAT('v', seq), seq FROM seq_1_to_" + String(rows));
    return {
      name: db.name,
      drop: async () => {
        await connection.end();
        await db.drop();
      },
      query: async (sql, values) => (await connection.query(sql, values))[0] as Record<string, unknown>[],
      connect: async () => {
        const writer = await connectMySql(db.name);
        return {
          write: async (id, op, tag) => {
            if (op < 0.5) await writer.query('UPDATE items SET n = n + 1, val = ? WHERE id = ?', [tag, id]);
            else if (op < 0.8) await writer.query("INSERT INTO items VALUES (?, 'new', 0) ON DUPLICATE KEY UPDATE n = n + 100", [id]);
            else await writer.query('DELETE FROM items WHERE id = ?', [id]);
          },
          end: () => writer.end(),
        };
      },
    };
  },
  table: (database) => `${database}.items`,
  namespace: (database) => database,
  env: {},
};

describe.each([postgres, mariadb])('ad-hoc snapshot of a $type source', (kit) => {
  const { processes, cleanups } = processScope();

  /**
   * `rows` rows in the source, captured (status on its own port, `chunk` rows or keys per ad-hoc chunk) into a
   * MariaDB and a ClickHouse sink, once the initial snapshot is in MariaDB.
   */
  async function pipeline(rows: number, chunk: number) {
    const source = await kit.setup(rows);
    cleanups.push(source.drop);
    const replicaTarget = mariaDbTarget();
    const warehouseTarget = clickHouseTarget();
    cleanups.push(() => warehouseTarget.close());
    const replica = uniqueName('adhoc');
    const warehouse = uniqueName('adhoc');
    await replicaTarget.createDatabase(replica);
    cleanups.push(() => replicaTarget.dropDatabase(replica));
    await warehouseTarget.createDatabase(warehouse);
    cleanups.push(() => warehouseTarget.dropDatabase(warehouse));

    const name = uniqueName('ah');
    const prefix = uniqueName('ah');
    const port = await freePort();
    const pattern = `^${prefix}\\.${kit.namespace(source.name)}\\..*$`;
    const sinks = [uniqueName('m'), uniqueName('c')] as const;
    const config = captureConfig({
      prefix,
      source: name,
      database: source.name,
      type: kit.type,
      extra: [`    http: { port: ${port} }`, `    snapshotChunkSize: ${chunk}`].join('\n'),
      sinks: [
        ...replicaTarget.sinkYaml({ name: sinks[0], database: replica, pattern }),
        ...warehouseTarget.sinkYaml({ name: sinks[1], database: warehouse, pattern }),
      ],
    });
    processes.push(startTributary(['capture', name], config, undefined, kit.env), ...sinks.map((sink) => startSink(config, sink)));
    const logs = () => processes.map((p, i) => `--- process ${i} (exit ${p.child.exitCode}):\n${p.output().slice(-3000)}`).join('\n');
    await eventually('the initial snapshot in MariaDB', async () => ((await replicaTarget.rowCount(replica, 'items').catch(() => 0)) === rows ? true : undefined), 90_000).catch(
      (error: unknown) => {
        throw new Error(`${String(error)}\n${logs()}`);
      },
    );
    const target = await connectMySql(replica);
    cleanups.push(() => target.end());
    const table = kit.table(source.name);
    /** The capture's snapshot entry for `table` and `signal`, from its status endpoint. */
    const progress = async (signal: string) => {
      const answer = await get(`http://127.0.0.1:${port}/status`).catch((error: unknown) => {
        throw new Error(`the capture's status: ${String(error)}\n${logs()}`);
      });
      const report = JSON.parse(answer.body) as CaptureStatusReport;
      return report.snapshot.find((s) => s.table === table && s.signal === signal);
    };
    /** Sends a snapshot signal for the table (narrowed to `keys`) and waits until the capture's status shows it done. */
    const snapshot = async (keys?: string[][]) => {
      const kafka = new Kafka({ brokers: stackEnv('KAFKA_BROKERS').split(','), logLevel: logLevel.NOTHING });
      const signal = await sendSnapshotSignal(kafka, prefix, 1, name, [table], keys ? { [table]: keys } : undefined);
      return { signal, done: waitDone(signal) };
    };
    const waitDone = (signal: string) =>
      eventually(
        'the ad-hoc snapshot to finish',
        async () => {
          const entry = await progress(signal);
          return entry?.done ? entry : undefined;
        },
        120_000,
      ).catch(async (error: unknown) => {
        const status = await get(`http://127.0.0.1:${port}/status`).then((a) => a.body, String);
        throw new Error(`${String(error)}\nstatus: ${status}\n${logs()}`);
      });

    /** Both targets end holding exactly the source's rows. */
    const converged = async () => {
      const expected = new Map((await source.query('SELECT id, val, n FROM items')).map((r) => [String(r.id), { val: String(r.val), n: Number(r.n) }]));
      for (const [label, t, database] of [['MariaDB', replicaTarget, replica], ['ClickHouse', warehouseTarget, warehouse]] as const) {
        await eventually(
          `${label} to equal the source`,
          async () => {
            const state = await t.state(database, 'items');
            return state.size === expected.size && [...expected].every(([id, row]) => state.get(id)?.val === row.val && state.get(id)?.n === row.n) ? true : undefined;
          },
          90_000,
        ).catch(async (error: unknown) => {
          const state = await t.state(database, 'items');
          const wrong = [...expected].filter(([id, row]) => state.get(id)?.val !== row.val || state.get(id)?.n !== row.n).slice(0, 5);
          const extra = [...state.keys()].filter((id) => !expected.has(id)).slice(0, 5);
          throw new Error(`${label}: ${state.size} rows for ${expected.size}; first differences ${JSON.stringify(wrong.map(([id, row]) => [id, row, state.get(id)]))}; extra ${extra.join(', ')}\n${logs()}`, {
            cause: error,
          });
        });
      }
      return expected;
    };
    return { source, target, progress, snapshot, converged };
  }

  it('re-reads a table in chunks under concurrent writes and repairs a damaged target', async () => {
    const { source, target, snapshot, converged } = await pipeline(20_000, 2_000);

    // Damage the MariaDB copy by hand: rows gone, values changed.
    await target.query('DELETE FROM items WHERE id % 37 = 0');
    await target.query("UPDATE items SET val = 'damaged' WHERE id % 41 = 0");

    const writers = await Promise.all([1, 2, 3, 4].map(() => source.connect()));
    cleanups.push(async () => void (await Promise.all(writers.map((w) => w.end()))));
    let running = true;
    let writes = 0;
    const writing = Promise.all(
      writers.map(async (writer) => {
        while (running) await writer.write(1 + Math.floor(Math.random() * 21_000), Math.random(), `w${writes++}`);
      }),
    );

    const done = await (await snapshot()).done;
    running = false;
    await writing;
    expect(writes).toBeGreaterThan(0);
    expect(done.rowsDone).toBeGreaterThan(0);

    const expected = await converged();
    if (kit.type === 'postgres') {
      // Rows a concurrent change touched while their chunk's window was open come from the stream, not the chunk.
      expect(done.rowsDone).toBeLessThan(expected.size);
    }
  });

  it('re-reads only the keys asked for (verify --repair): rows found re-emitted, a delete for each key the source lacks', async () => {
    const rows = 2_000;
    const chunk = 50;
    const { source, target, progress, snapshot, converged } = await pipeline(rows, chunk);

    // Damage the MariaDB copy by hand: rows gone, values changed, rows added that the source never had.
    await target.query('DELETE FROM items WHERE id % 37 = 0');
    await target.query("UPDATE items SET val = 'damaged' WHERE id % 41 = 0");
    const added = Array.from({ length: 10 }, (_, i) => 100_001 + i);
    await target.query(`INSERT INTO items (id, val, n, \`${POSITION_COLUMN}\`) VALUES ${added.map((id) => `(${id}, 'by hand', 0, '')`).join(', ')}`);

    // Writers change each key asked for at most once, following the snapshot: each writes keys of the chunk after the
    // ones the capture's progress shows published, which it reads at once, so that many writes land inside the
    // chunk's window (held open on PostgreSQL). Keys the source has, and keys it lacks when the signal is sent (2001
    // up), which a writer inserts: the stream's insert must win over the chunk's delete. A key is written once, so no
    // later write can hide a lost change.
    const absent = Array.from({ length: 1_000 }, (_, i) => rows + 1 + i);
    const asked = [...Array.from({ length: rows }, (_, i) => i + 1).filter((id) => id % 37 === 0 || id % 41 === 0), ...absent];
    const keys = [...asked, ...added].map((id) => [String(id)]);
    const { signal, done: finished } = await snapshot(keys);
    const written = new Set<number>();
    const writers = await Promise.all([1, 2, 3].map(() => source.connect()));
    cleanups.push(async () => void (await Promise.all(writers.map((w) => w.end()))));
    let snapshotDone = false;
    const writing = Promise.all(
      writers.map(async (writer) => {
        while (!snapshotDone) {
          const entry = await progress(signal);
          if (entry?.done) break;
          const at = entry?.rowsDone ?? 0;
          const next = asked.slice(at, at + chunk).filter((id) => !written.has(id));
          const id = next[Math.floor(Math.random() * next.length)];
          if (id === undefined) continue;
          written.add(id);
          await writer.write(id, id > rows ? 0.6 : Math.random(), `w${written.size}`);
        }
      }),
    );

    const done = await finished.finally(() => (snapshotDone = true));
    await writing;
    expect(written.size).toBeGreaterThan(0);
    expect(done).toMatchObject({ rowsEstimated: keys.length, rowsDone: keys.length });
    await converged();
  });
});
