import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureConfig, startCapture, type CaptureProcess } from '#test/support/capture-process.ts';
import { connectMySql, scratchDatabase } from '#test/support/mysql.ts';
import { TopicReader } from '#test/support/topic-reader.ts';
import { eventually, uniqueName } from '#test/support/wait.ts';
import { duplicates, expectConverged, fillTable, startWriter } from './convergence.ts';

// MariaDB → capture → Kafka, judged as a consumer would: the topic replayed in read_committed mode equals the
// table, and no change appears twice, through a concurrent workload and repeated SIGKILLs.

describe('MySQL/MariaDB capture', () => {
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let connection: mysql.Connection;
  const running: CaptureProcess[] = [];

  beforeAll(async () => {
    db = await scratchDatabase('cap');
    connection = await connectMySql(db.name);
  });
  afterAll(async () => {
    for (const capture of running) capture.child.kill('SIGKILL');
    await connection?.end();
    await db?.drop();
  });

  it('snapshots 100,000 rows under concurrent writes, then streams: topic equals table, no duplicates', async () => {
    const prefix = uniqueName('t');
    const qualified = `\`${db.name}\`.items`;
    await fillTable(connection, qualified, 100_000);
    const config = captureConfig({ prefix, source: 'shop', database: db.name, extra: '    snapshotChunkSize: 2000' });
    const topic = `${prefix}.${db.name}.items`;
    const reader = new TopicReader([topic]);

    const capture = startCapture(config, 'shop');
    running.push(capture);
    const writer = startWriter(connection, qualified, 100_001);
    await eventually('the snapshot to start publishing', async () => {
      if (reader.messages.length === 0) await reader.start().catch(() => undefined);
      return reader.messages.length > 0 ? true : undefined;
    }, 60_000).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\ncapture output:\n${capture.output()}`);
    });
    const operations = await writer.stop();
    expect(operations).toBeGreaterThan(0);

    await expectConverged(reader, topic, connection, qualified);
    expect(duplicates(reader.messages, topic)).toEqual([]);
    await reader.stop();
    capture.child.kill('SIGTERM');
    expect(await capture.exited).toBe(0);
  }, 240_000);

  // A killed incarnation may leave a Kafka transaction open, on the offsets topic too. The next one's producer fences
  // it and aborts that transaction when it connects, before the offsets are read; until that was so, the read
  // waited for the transaction's timeout (minutes) in about 1 run in 6 (test/kafka/compacted.int.test.ts).
  it('survives SIGKILL at random points five times: topic equals table, zero duplicates', { timeout: 300_000 }, async () => {
    const prefix = uniqueName('k');
    for (const capture of running) capture.child.kill('SIGKILL'); // a retry must not share the stage with leftovers
    const tableName = uniqueName('killed'); // a retry of this test needs a table of its own
    const qualified = `\`${db.name}\`.${tableName}`;
    await fillTable(connection, qualified, 30_000);
    const config = captureConfig({ prefix, source: 'shop', database: db.name, include: `${db.name}.${tableName}`, extra: '    snapshotChunkSize: 1000' });
    const topic = `${prefix}.${db.name}.${tableName}`;
    const reader = new TopicReader([topic]);
    const writer = startWriter(connection, qualified, 30_001);
    try {
      for (let kill = 0; kill < 5; kill++) {
        // Info-level logs: when an incarnation stalls, its output says in which step.
        const capture = startCapture(config, 'shop', 'info');
        running.push(capture);
        // Kill after a random amount of this incarnation's output: in the snapshot, at its end, or streaming. Once
        // the snapshot is done only the writer feeds the topic, so the amount stays small enough for it to reach.
        const target = reader.messages.length + 1 + Math.floor(Math.random() * 1_500);
        await eventually(`incarnation ${kill + 1} to publish`, async () => {
          if (reader.messages.length === 0) await reader.start().catch(() => undefined);
          return reader.messages.length >= target ? true : undefined;
        }, 120_000).catch((error: unknown) => {
          throw new Error(`${(error as Error).message}\ncapture output:\n${capture.output().slice(-6000)}`);
        });
        if (kill === 3) {
          // A 20,000-row transaction in flight when the process dies: it is still being read and sent.
          await connection.query(`UPDATE ${qualified} SET n = n + 1000 WHERE id <= 20000`);
        }
        capture.child.kill('SIGKILL');
        await capture.exited;
      }
    } finally {
      await writer.stop();
    }
    const last = startCapture(config, 'shop', 'info');
    running.push(last);
    await expectConverged(reader, topic, connection, qualified).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\ncapture output:\n${last.output().slice(-6000)}`);
    });
    expect(duplicates(reader.messages, topic)).toEqual([]);
    await reader.stop();
    last.child.kill('SIGTERM');
    await last.exited;
  });
});
