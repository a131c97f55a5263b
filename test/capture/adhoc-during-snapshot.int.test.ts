import { Kafka, logLevel } from 'kafkajs';
import { expect, it } from 'vitest';
import { captureTopics, loadOffsetRecord } from '#capture/bookkeeping.ts';
import type { CaptureStatusReport } from '#capture/status.ts';
import { sendSnapshotSignal } from '#kafka/signals.ts';
import { captureConfig, startTributary } from '#test/support/capture-process.ts';
import { processScope } from '#test/support/process-scope.ts';
import { freePort, get } from '#test/support/http.ts';
import { connectPostgres, scratchPostgresDatabase } from '#test/support/postgres.ts';
import { stackEnv } from '#test/support/stack-env.ts';
import { eventually, uniqueName } from '#test/support/wait.ts';

// An ad-hoc snapshot asked for while the initial snapshot still runs waits for streaming to begin. The signal
// topic's offset is stored past the signal as soon as the source has taken it, so the request must travel in the
// source's offset from then on: a capture killed before streaming begins takes the ad-hoc snapshot after its restart.

const { processes, cleanups } = processScope();

it('keeps an ad-hoc snapshot asked for during the initial snapshot across a crash before streaming begins', async () => {
  const db = await scratchPostgresDatabase('adhocinit');
  const sql = await connectPostgres(db.name);
  cleanups.push(async () => {
    await sql.end();
    await db.drop();
  });
  await sql.query('CREATE TABLE items (id int PRIMARY KEY, val text NOT NULL)');
  await sql.query("INSERT INTO items SELECT g, 'v' || g FROM generate_series(1, 2000) g");

  const name = uniqueName('ai');
  const prefix = uniqueName('ai');
  const port = await freePort();
  const config = captureConfig({
    prefix,
    source: name,
    database: db.name,
    type: 'postgres',
    extra: [`    http: { port: ${port} }`, '    snapshotChunkSize: 100'].join('\n'),
  });
  const kafka = new Kafka({ brokers: stackEnv('KAFKA_BROKERS').split(','), logLevel: logLevel.NOTHING });
  const topics = captureTopics(prefix);

  // Twenty chunks, a quarter of a second each: the initial snapshot takes five seconds.
  const first = startTributary(['capture', name], config, undefined, { TRIBUTARY_TEST_SNAPSHOT_CHUNK_DELAY_MS: '250' });
  processes.push(first);
  const logs = () => processes.map((p, i) => `--- capture ${i} (exit ${p.child.exitCode}):\n${p.output().slice(-3000)}`).join('\n');
  const storedOffset = async () => (await loadOffsetRecord(kafka, topics, name).catch(() => null))?.offset;
  await eventually('the initial snapshot to store its first offset', async () => ((await storedOffset()) ? true : undefined), 60_000);
  const signal = await sendSnapshotSignal(kafka, prefix, 1, name, ['public.items']);

  // The request is in an offset stored while the initial snapshot still runs, together with the signals taken.
  const stored = await eventually(
    'an initial-snapshot offset that carries the ad-hoc request',
    async () => {
      const record = await loadOffsetRecord(kafka, topics, name).catch(() => null);
      const offset = record?.offset as { snapshot?: unknown; incremental?: { queue: Array<{ id: string }> } } | undefined;
      return record && offset?.snapshot && offset.incremental?.queue.some((q) => q.id === signal) ? record : undefined;
    },
    60_000,
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}\n${logs()}`);
  });
  expect(stored.signals).toBeDefined();
  first.child.kill('SIGKILL');
  await first.exited;

  // Restarted without the delay: it finishes the initial snapshot, streams, and takes the ad-hoc snapshot.
  processes.push(startTributary(['capture', name], config));
  const done = await eventually(
    'the ad-hoc snapshot to finish after the restart',
    async () => {
      const answer = await get(`http://127.0.0.1:${port}/status`).catch(() => null);
      if (!answer || answer.status !== 200) return undefined;
      const entry = (JSON.parse(answer.body) as CaptureStatusReport).snapshot.find((s) => s.signal === signal);
      return entry?.done ? entry : undefined;
    },
    90_000,
  ).catch((error: unknown) => {
    throw new Error(`${String(error)}\n${logs()}`);
  });
  expect(done.rowsDone).toBe(2000);
});
