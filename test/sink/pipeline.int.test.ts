import type mysql from 'mysql2/promise';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fillTable, startWriter, tableState } from '#test/capture/convergence.ts';
import { committedEnd } from '#test/support/group-offsets.ts';
import { captureConfig, startCapture, startSink, type CaptureProcess } from '#test/support/capture-process.ts';
import { connectMySql, mysqlConnection, scratchDatabase } from '#test/support/mysql.ts';
import { stackEnv } from '#test/support/stack-env.ts';
import { TcpProxy } from '#test/support/tcp-proxy.ts';
import { eventually, uniqueName } from '#test/support/wait.ts';
import { clickHouseTarget, mariaDbTarget, type TestTarget } from './targets.ts';

// MariaDB → capture → Kafka → sink → target, judged as a user judges a replica: after the workload stops, the
// target table equals the source table row for row, through crashes, replays, outages and poison messages.

const kafka = new Kafka({ brokers: stackEnv('KAFKA_BROKERS').split(','), logLevel: logLevel.NOTHING });

describe.each([
  ['MariaDB', mariaDbTarget],
  ['ClickHouse', clickHouseTarget],
])('sink into %s', (_name, makeTarget) => {
  let target: TestTarget;
  let source: Awaited<ReturnType<typeof scratchDatabase>>;
  let connection: mysql.Connection;
  let capture: CaptureProcess;
  const prefix = uniqueName('s');
  const processes: CaptureProcess[] = [];
  const databases: string[] = [];

  beforeAll(async () => {
    target = makeTarget();
    source = await scratchDatabase('sinksrc');
    connection = await connectMySql(source.name);
    capture = startCapture(captureConfig({ prefix, source: 'src', database: source.name, partitions: 4 }), 'src');
    processes.push(capture);
  });
  afterAll(async () => {
    for (const p of processes) p.child.kill('SIGKILL');
    await connection?.end();
    await source?.drop();
    for (const database of databases) await target.dropDatabase(database).catch(() => undefined);
    await target?.close();
  });

  /** A table of its own in the source, filled, and a target database with a sink config for its topic. */
  async function stage(rows: number, options: { port?: number; extra?: string[] } = {}) {
    const table = uniqueName('items');
    const qualified = `\`${source.name}\`.\`${table}\``;
    await fillTable(connection, qualified, rows);
    const database = uniqueName('replica');
    await target.createDatabase(database);
    databases.push(database);
    const sinkName = uniqueName('sink');
    const topic = `${prefix}.${source.name}.${table}`;
    const config = captureConfig({
      prefix,
      source: 'src',
      database: source.name,
      sinks: target.sinkYaml({ name: sinkName, database, pattern: `^${topic.replaceAll('.', '\\.')}$`, ...options }),
    });
    const start = (env: Record<string, string> = {}) => {
      const sink = startSink(config, sinkName, env);
      processes.push(sink);
      return sink;
    };
    return { table, qualified, database, sinkName, topic, start };
  }

  async function expectEqual(qualified: string, database: string, table: string, sinks: CaptureProcess[], timeoutMs = 120_000) {
    let problems: string[] = [];
    await eventually(
      `${database}.${table} to equal ${qualified}`,
      async () => {
        for (const sink of sinks) if (sink.child.exitCode !== null) throw new Error(`a sink exited:\n${sink.output()}`);
        const expected = await tableState(connection, qualified);
        const actual = await target.state(database, table);
        problems = [];
        for (const [id, row] of expected) {
          const got = actual.get(id);
          if (!got) problems.push(`missing ${id}`);
          else if (got.val !== row.val || got.n !== row.n) problems.push(`different ${id}`);
        }
        for (const id of actual.keys()) if (!expected.has(id)) problems.push(`extra ${id}`);
        return problems.length === 0 ? true : undefined;
      },
      timeoutMs,
    ).catch((error: unknown) => {
      const logs = sinks.map((s) => s.output()).join('\n---\n');
      throw new Error(`${(error as Error).message}; ${problems.length} differences, e.g. ${problems.slice(0, 5).join(', ')}\nsink output:\n${logs}\ncapture output:\n${capture.output()}`);
    });
  }

  it('copies a table under a concurrent insert/update/delete workload', async () => {
    const s = await stage(5_000);
    const sink = s.start();
    const writer = startWriter(connection, s.qualified, 5_001);
    await eventually('the sink to write its first rows', async () => ((await target.state(s.database, s.table).catch(() => new Map())).size > 0 ? true : undefined), 90_000);
    expect(await writer.stop()).toBeGreaterThan(0);
    await expectEqual(s.qualified, s.database, s.table, [sink]);
    sink.child.kill('SIGTERM');
    expect(await sink.exited, sink.output()).toBe(0);
  }, 240_000);

  it('is killed between the target commit and the offset commit five times: same state, no duplicate keys', async () => {
    const s = await stage(3_000);
    const writer = startWriter(connection, s.qualified, 3_001);
    for (let kill = 0; kill < 5; kill++) {
      // Killed right after its Nth apply, before committing the offsets of that batch.
      const sink = s.start({ TRIBUTARY_TEST_KILL_AFTER_APPLY: String(1 + Math.floor(Math.random() * 3)) });
      const code = await sink.exited;
      expect(code === null || code !== 0, `incarnation ${kill} should have been killed:\n${sink.output()}`).toBe(true);
    }
    await writer.stop();
    const sink = s.start();
    await expectEqual(s.qualified, s.database, s.table, [sink]);
    expect(await target.duplicateKeys(s.database, s.table)).toBe(0);
    sink.child.kill('SIGTERM');
    await sink.exited;
  }, 300_000);

  it('replays the whole history twice after resetting offsets: same end state, no row ever older', async () => {
    const s = await stage(2_000);
    const writer = startWriter(connection, s.qualified, 2_001);
    let sink = s.start();
    await eventually('some rows', async () => ((await target.state(s.database, s.table).catch(() => new Map())).size > 0 ? true : undefined), 90_000);
    await writer.stop();
    await expectEqual(s.qualified, s.database, s.table, [sink]);
    await eventually('the group to commit the end of the topic', async () => ((await committedEnd(kafka, s.sinkName, s.topic)) ? true : undefined), 60_000);
    const before = await target.positions(s.database, s.table);
    for (let replay = 0; replay < 2; replay++) {
      sink.child.kill('SIGTERM');
      expect(await sink.exited, sink.output()).toBe(0);
      const admin = kafka.admin();
      await admin.connect();
      await admin.resetOffsets({ groupId: s.sinkName, topic: s.topic, earliest: true });
      await admin.disconnect();
      sink = s.start();
      // While the history replays, every visible row keeps the position it had (or a later one).
      await eventually(
        'the replay to reach the end of the topic',
        async () => {
          const now = await target.positions(s.database, s.table);
          for (const [id, position] of now) {
            const was = before.get(id);
            if (was !== undefined && position < was) throw new Error(`row ${id} went back from ${was} to ${position}`);
          }
          return (await committedEnd(kafka, s.sinkName, s.topic)) ? true : undefined;
        },
        120_000,
      ).catch((error: unknown) => {
        throw new Error(`${(error as Error).message}: ${String((error as Error).cause ?? '')}\n${sink.output()}`);
      });
      expect(await target.positions(s.database, s.table)).toEqual(before);
    }
    await expectEqual(s.qualified, s.database, s.table, [sink]);
    sink.child.kill('SIGTERM');
    await sink.exited;
  }, 300_000);

  it('loses nothing while the target is down for 30 seconds in the middle of a load', async () => {
    const server = target.type === 'mariadb' ? { host: mysqlConnection().host, port: mysqlConnection().port } : (() => {
      const url = new URL(stackEnv('CLICKHOUSE_URL'));
      return { host: url.hostname, port: Number(url.port) };
    })();
    const proxy = new TcpProxy(server.host, server.port);
    const port = await proxy.open();
    try {
      const s = await stage(2_000, { port });
      const sink = s.start();
      const writer = startWriter(connection, s.qualified, 2_001);
      await eventually('some rows', async () => ((await target.state(s.database, s.table).catch(() => new Map())).size > 0 ? true : undefined), 90_000);
      await proxy.close();
      const downSince = Date.now();
      await eventually('30 seconds of outage', async () => (Date.now() - downSince >= 30_000 ? true : undefined), 40_000);
      await proxy.open();
      await writer.stop();
      await expectEqual(s.qualified, s.database, s.table, [sink]);
      sink.child.kill('SIGTERM');
      await sink.exited;
    } finally {
      await proxy.close();
    }
  }, 300_000);

  it('shares partitions between two instances of a sink, one killed and restarted mid-way', async () => {
    const s = await stage(3_000);
    const writer = startWriter(connection, s.qualified, 3_001);
    const first = s.start();
    const second = s.start();
    await eventually('some rows', async () => ((await target.state(s.database, s.table).catch(() => new Map())).size > 0 ? true : undefined), 90_000);
    first.child.kill('SIGKILL');
    await first.exited;
    const restarted = s.start();
    await writer.stop();
    await expectEqual(s.qualified, s.database, s.table, [second, restarted]);
    for (const sink of [second, restarted]) sink.child.kill('SIGTERM');
    await Promise.all([second.exited, restarted.exited]);
  }, 300_000);

  it('adds a column that a new schema version brings, with its values', async () => {
    const s = await stage(50);
    const sink = s.start();
    await expectEqual(s.qualified, s.database, s.table, [sink]);
    await connection.query(`ALTER TABLE ${s.qualified} ADD COLUMN note VARCHAR(20) NULL`);
    await connection.query(`UPDATE ${s.qualified} SET note = CONCAT('note ', id), n = n + 1 WHERE id <= 10`);
    await eventually(
      'the new column to hold the new values',
      async () => {
        const notes = await target.column(s.database, s.table, 'note').catch(() => new Map<string, string | null>());
        return notes.get('10') === 'note 10' && notes.get('11') === null ? true : undefined;
      },
      60_000,
    ).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\n${sink.output()}`);
    });
    await expectEqual(s.qualified, s.database, s.table, [sink]);
    sink.child.kill('SIGTERM');
    await sink.exited;
  }, 240_000);

  it('pauses a table whose new schema it cannot apply safely, and changes nothing in it', async () => {
    const s = await stage(20);
    const sink = s.start();
    await expectEqual(s.qualified, s.database, s.table, [sink]);
    const before = await target.state(s.database, s.table);
    await connection.query(`ALTER TABLE ${s.qualified} MODIFY n VARCHAR(20) NOT NULL`);
    await connection.query(`UPDATE ${s.qualified} SET n = 'not a number' WHERE id = 1`);
    await eventually('the sink to pause the table', async () => (sink.output().includes('table paused') ? true : undefined), 60_000).catch((error: unknown) => {
      throw new Error(`${(error as Error).message}\nsink:\n${sink.output()}\ncapture:\n${capture.output().slice(-3000)}`);
    });
    expect(sink.output()).toContain(s.table);
    expect(sink.child.exitCode).toBeNull(); // the sink goes on with its other topics
    expect(await target.state(s.database, s.table)).toEqual(before);
    sink.child.kill('SIGTERM');
    expect(await sink.exited).toBe(0);
  }, 240_000);

  it('halts on a poison message with onError: halt, naming where, and applies nothing past it', async () => {
    const s = await stage(20, { extra: ['    onError: halt'] });
    let sink = s.start();
    await expectEqual(s.qualified, s.database, s.table, [sink]);
    sink.child.kill('SIGTERM');
    await sink.exited;
    const producer = kafka.producer();
    await producer.connect();
    const [sent] = await producer.send({ topic: s.topic, messages: [{ key: 'x', value: 'not avro', partition: 0 }] });
    await producer.disconnect();
    sink = s.start();
    expect(await sink.exited).toBe(1);
    expect(sink.output()).toContain(`halting at ${s.topic}/0@${sent?.baseOffset}`);
    expect(sink.output()).toContain('not in the Confluent wire format');
  }, 240_000);

  it('sends a poison message to the dead-letter topic with its headers and applies the messages after it', async () => {
    const s = await stage(100);
    const sink = s.start();
    await expectEqual(s.qualified, s.database, s.table, [sink]);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: s.topic, messages: [{ key: 'not avro', value: 'not the Confluent wire format', partition: 0 }] });
    await producer.disconnect();
    await connection.query(`UPDATE ${s.qualified} SET val = 'after the poison', n = 7`);
    await expectEqual(s.qualified, s.database, s.table, [sink]);

    const letters: Array<{ value: string; headers: Record<string, string> }> = [];
    const consumer = kafka.consumer({ groupId: uniqueName('dlq-reader') });
    await consumer.connect();
    await consumer.subscribe({ topic: `${prefix}.dlq.${s.sinkName}`, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
        letters.push({ value: String(message.value), headers });
      },
    });
    await eventually('the dead letter', async () => (letters.length > 0 ? true : undefined), 30_000).finally(() => consumer.disconnect());
    expect(letters).toHaveLength(1);
    expect(letters[0]?.value).toBe('not the Confluent wire format');
    expect(letters[0]?.headers).toMatchObject({
      'tributary.error.code': 'DECODE_FAILED',
      'tributary.original.topic': s.topic,
      'tributary.original.partition': '0',
    });
    expect(letters[0]?.headers['tributary.original.offset']).toMatch(/^\d+$/);
    sink.child.kill('SIGTERM');
    await sink.exited;
  }, 240_000);
});
