import { spawn } from 'node:child_process';
import { DuckDBInstance } from '@duckdb/node-api';
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import { describe, expect, it } from 'vitest';
import { MARIADB_SHOP, POSTGRES_SHOP, ROOT, demoConfig } from '../../deploy/demo/env.ts';
import { connectMySql } from '#test/support/mysql.ts';
import { connectPostgres } from '#test/support/postgres.ts';
import { stackEnv } from '#test/support/stack-env.ts';
import { eventually, uniqueName } from '#test/support/wait.ts';

// `make dev` as a newcomer runs it: the same entry point (`node --import tsx deploy/local/demo.ts`, what the
// Makefile's dev target runs after `deps stack-up`), with the repository's tributary.yaml. It shares the demo's
// databases, topics and ports with a `make dev` a person may run, so it fails at once (ports in use) beside one.
// A row written into each shop must reach every target; then Ctrl-C, as a terminal sends it to the whole
// foreground process group, must stop everything: exit code 0 and no process of the group left.

const FLOW_DEADLINE_MS = 240_000;
const STOP_DEADLINE_MS = 60_000;

describe('make dev', () => {
  it('runs the demo: a customer added to each shop reaches MariaDB, ClickHouse and the lake; Ctrl-C stops every process', async () => {
    const config = demoConfig();
    const database = (sink: string): string => {
      const found = config.sinks.find((s) => s.name === sink);
      const name = found?.type === 'mariadb' || found?.type === 'clickhouse' ? found.connection.database : undefined;
      if (name === undefined) throw new Error(`tributary.yaml has no sink ${sink} with a database`);
      return name;
    };
    const lake = config.sinks.find((s) => s.type === 'lake');
    if (lake?.type !== 'lake') throw new Error('tributary.yaml has no lake sink');

    // Its own process group, as a shell gives a foreground job: the signal goes to the group, and the group tells
    // whether any process outlived the demo.
    const demo = spawn(process.execPath, ['--import', 'tsx', 'deploy/local/demo.ts'], {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, TRIBUTARY_DEMO_PROGRESS_MS: '5000' },
    });
    let output = '';
    demo.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    demo.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      demo.on('exit', (code, signal) => resolve({ code, signal })),
    );
    const group = demo.pid as number;

    const marker = uniqueName('smoke');
    // Not @example.com: the load generator deletes only customers of its own, and must not delete this one.
    const email = `${marker}@smoke.test`;
    const mysql = await connectMySql();
    const postgres = await connectPostgres();
    const clickhouse = createClient({ url: stackEnv('CLICKHOUSE_URL'), log: { level: ClickHouseLogLevel.OFF } });
    const duck = await (await DuckDBInstance.create()).connect();
    try {
      // The demo creates the shops; write into them once it has.
      await eventually(
        'the demo to create the MariaDB shop',
        async () => {
          await mysql.query(`INSERT INTO \`${MARIADB_SHOP}\`.customers (external_id, email, full_name) VALUES (UNHEX(REPLACE(UUID(), '-', '')), ?, 'Smoke Test')`, [email]);
          return true;
        },
        120_000,
      );
      await eventually(
        'the demo to create the PostgreSQL shop',
        async () => {
          await postgres.query(`INSERT INTO ${POSTGRES_SHOP}.customers (external_id, email, full_name) VALUES (gen_random_uuid(), $1, 'Smoke Test')`, [email]);
          return true;
        },
        120_000,
      );

      const inMariaDb = (db: string) => async () => {
        const [rows] = await mysql.query(`SELECT COUNT(*) AS n FROM \`${db}\`.customers WHERE email = ?`, [email]);
        return Number((rows as { n: number }[])[0]?.n) === 1 || undefined;
      };
      const inClickHouse = (db: string) => async () => {
        const result = await clickhouse.query({
          query: `SELECT count() AS n FROM \`${db}\`.customers FINAL WHERE email = '${email}' AND __tributary_deleted = 0`,
          format: 'JSONEachRow',
        });
        return Number(((await result.json()) as { n: string }[])[0]?.n) === 1 || undefined;
      };
      const inLake = (db: string) => async () => {
        const reader = await duck.runAndReadAll(`SELECT count(*) AS n FROM read_parquet('${lake.connection.path}/table=${db}.customers/*/*.parquet') WHERE email = '${email}'`);
        return Number(reader.getRowObjectsJS()[0]?.n) >= 1 || undefined;
      };
      await eventually('the MariaDB customer in the MariaDB replica', inMariaDb(database('replica-mariadb')), FLOW_DEADLINE_MS);
      await eventually('the PostgreSQL customer in the MariaDB replica', inMariaDb(database('replica-mariadb-pg')), FLOW_DEADLINE_MS);
      await eventually('the MariaDB customer in ClickHouse', inClickHouse(database('warehouse-clickhouse')), FLOW_DEADLINE_MS);
      await eventually('the PostgreSQL customer in ClickHouse', inClickHouse(database('warehouse-clickhouse-pg')), FLOW_DEADLINE_MS);
      await eventually('the MariaDB customer in the lake', inLake(MARIADB_SHOP), FLOW_DEADLINE_MS);
      await eventually('the PostgreSQL customer in the lake', inLake(POSTGRES_SHOP), FLOW_DEADLINE_MS);
      // The guide is printed once every process is ready, and the load generator's changes flow too.
      await eventually('the demo to print its guide and a progress line', async () => (/npx tributary status/.test(output) && /written mariadb \d+ tx/.test(output)) || undefined, 60_000);

      // Ctrl-C: the terminal sends SIGINT to every process of the foreground group at once.
      process.kill(-group, 'SIGINT');
      const exit = await Promise.race([exited, new Promise<null>((resolve) => setTimeout(() => resolve(null), STOP_DEADLINE_MS).unref())]);
      expect(exit, 'the demo to exit within the deadline').toEqual({ code: 0, signal: null });
      // Helpers of the processes (tsx's esbuild service) leave when their parent's pipe closes: give them a moment.
      await eventually('every process of the demo to be gone', async () => (groupAlive(group) ? undefined : true), 10_000);
    } catch (error) {
      process.stderr.write(`make dev output:\n${output}\n`);
      throw error;
    } finally {
      if (groupAlive(group)) {
        // A failure above: stop the demo the same way, and whatever does not go by itself, by force.
        process.kill(-group, 'SIGINT');
        await eventually('the demo to stop', async () => (groupAlive(group) ? undefined : true), STOP_DEADLINE_MS).catch(() => process.kill(-group, 'SIGKILL'));
      }
      duck.closeSync();
      await clickhouse.close();
      await postgres.end();
      await mysql.end();
    }
  }, 480_000);
});

/** Whether any process of the group is left: signal 0 checks without sending anything. */
function groupAlive(group: number): boolean {
  try {
    process.kill(-group, 0);
    return true;
  } catch {
    return false;
  }
}
