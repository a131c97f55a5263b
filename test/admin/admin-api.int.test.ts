import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import type mysql from 'mysql2/promise';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminApp } from '#admin/app.ts';
import { listen, type Listening } from '#admin/http.ts';
import { processRegistry } from '#admin/metrics.ts';
import type { Pipelines, SinkPipeline, SourcePipeline } from '#admin/pipelines.ts';
import { loadConfig } from '#config/load.ts';
import { createKafka } from '#kafka/client.ts';
import { mariaDbTarget } from '#test/sink/targets.ts';
import { captureConfig, startCapture, startSink, type CaptureProcess } from '#test/support/capture-process.ts';
import { freePort } from '#test/support/http.ts';
import { connectMySql, scratchDatabase } from '#test/support/mysql.ts';
import { stackEnv } from '#test/support/stack-env.ts';
import { eventually, uniqueName } from '#test/support/wait.ts';

// The admin service over a running MariaDB → Kafka → MariaDB pipeline, used the way an operator uses it: its
// figures are Kafka's own, a replay is refused under a running sink and re-applies history once it stopped, the
// token guards everything but the probes, and no answer, metric or log line anywhere carries a secret.

const run = promisify(execFile);
const bin = new URL('../../bin/tributary.js', import.meta.url).pathname;
const kafka = new Kafka({ brokers: stackEnv('KAFKA_BROKERS').split(','), logLevel: logLevel.NOTHING });

const PATHS = [
  '/health',
  '/ready',
  '/openapi.json',
  '/metrics',
  '/v1/pipelines',
  '/v1/sources/{name}',
  '/v1/sinks/{name}',
  '/v1/sinks/{name}/replay',
  '/v1/sources/{name}/snapshots',
];

describe('admin API and tributary status over a running pipeline', () => {
  const prefix = uniqueName('adm');
  const sourceName = uniqueName('src');
  const sinkName = uniqueName('snk');
  const token = `canary-token-${uniqueName('t')}`;
  const salt = `canary-salt-${uniqueName('s')}`;
  const target = mariaDbTarget();
  const targetDb = uniqueName('admtgt');
  const processes: CaptureProcess[] = [];
  /** Every answer body and every output the test saw, searched for the canaries at the end. */
  const seen: string[] = [];
  let adminLog = '';
  let source: Awaited<ReturnType<typeof scratchDatabase>>;
  let connection: mysql.Connection;
  let configFile: string;
  let topic: string;
  let admin: Listening;
  let capture: CaptureProcess;
  let sink: CaptureProcess;
  /** A time after every snapshot message and before every later change. */
  let between: number;

  const api = async (method: string, path: string, options: { token?: string | null; body?: unknown } = {}) => {
    const bearer = options.token === undefined ? token : options.token;
    const response = await fetch(`${admin.url}${path}`, {
      method,
      headers: { ...(bearer === null ? {} : { authorization: `Bearer ${bearer}` }), 'content-type': 'application/json' },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    const body = await response.text();
    seen.push(body);
    return { status: response.status, body, json: () => JSON.parse(body) as unknown };
  };

  const tributary = async (...args: string[]) => {
    const result = await run(process.execPath, [bin, ...args, '--config', configFile], { env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'info' } }).catch(
      (error: { code: number; stdout: string; stderr: string }) => ({ ...error, failed: error.code }),
    );
    seen.push(result.stdout, result.stderr);
    return result;
  };

  const startTheSink = () => {
    sink = startSink(configFile, sinkName, {}, 'info');
    processes.push(sink);
  };

  const stopTheSink = async () => {
    sink.child.kill('SIGTERM');
    expect(await sink.exited, sink.output()).toBe(0);
    // A consumer that leaves says so: the group is empty at once, but the coordinator is asked until it agrees.
    await eventually('the sink group to have no members', async () => ((await describeGroup(sinkName)).members.length === 0 ? true : undefined));
  };

  const sourceState = async () => {
    const [rows] = await connection.query('SELECT id, val, n FROM items');
    return new Map((rows as { id: number; val: string; n: number }[]).map((r) => [String(r.id), { val: r.val, n: Number(r.n) }]));
  };

  const targetEqualsSource = (what: string) =>
    eventually(
      what,
      async () => {
        if (sink.child.exitCode !== null) throw new Error(`the sink exited:\n${sink.output()}`);
        const [expected, actual] = await Promise.all([sourceState(), target.state(targetDb, 'items').catch(() => new Map())]);
        return JSON.stringify([...expected].sort()) === JSON.stringify([...actual].sort()) ? true : undefined;
      },
      90_000,
    );

  beforeAll(async () => {
    source = await scratchDatabase('admsrc');
    connection = await connectMySql(source.name);
    await connection.query('CREATE TABLE items (id INT PRIMARY KEY, val VARCHAR(64) NOT NULL, n INT NOT NULL)');
    const values = Array.from({ length: 200 }, (_, i) => `(${i + 1}, 'v${i + 1}', ${i + 1})`).join(',');
    await connection.query(`INSERT INTO items VALUES ${values}`);
    await target.createDatabase(targetDb);
    topic = `${prefix}.${source.name}.items`;

    const [capturePort, sinkPort] = [await freePort(), await freePort()];
    const base = captureConfig({
      prefix,
      source: sourceName,
      database: source.name,
      partitions: 2,
      extra: [
        `    http: { port: ${capturePort} }`,
        `    columns: { mask: ['${source.name}.items.nothing'], maskSalt: "${salt}" }`,
        '    heartbeatIntervalMs: 1000',
      ].join('\n'),
      sinks: target.sinkYaml({
        name: sinkName,
        database: targetDb,
        pattern: `^${topic.replaceAll('.', '\\.')}$`,
        extra: [`    http: { port: ${sinkPort} }`],
      }),
    });
    configFile = `${base}.admin.yaml`;
    writeFileSync(configFile, `${readFileSync(base, 'utf8')}\nadmin:\n  host: 127.0.0.1\n  token: "${token}"\n`);

    capture = startCapture(configFile, sourceName, 'info');
    processes.push(capture);
    startTheSink();

    const config = loadConfig(configFile);
    const log = pino(
      { level: 'debug' },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          adminLog += chunk.toString();
          done();
        },
      }),
    );
    admin = await listen(
      createAdminApp({ config, kafka: createKafka(config.kafka), log, registry: processRegistry('admin') }),
      config.admin.host,
      0,
      'starting the admin app for a test',
    );

    // The snapshot, committed; then, after a moment nothing of the snapshot carries, updates and deletes.
    await eventually(
      'the capture to commit the snapshot',
      async () => {
        const sources = (await api('GET', `/v1/sources/${sourceName}`)).json() as SourcePipeline;
        return sources.state === 'streaming' && sources.status?.events === 200 ? true : undefined;
      },
      90_000,
    );
    between = Date.now() + 1;
    await eventually('the clock to pass the snapshot', async () => (Date.now() > between ? true : undefined));
    await connection.query('UPDATE items SET n = n + 1000, val = CONCAT(val, "-u") WHERE id <= 20');
    await connection.query('DELETE FROM items WHERE id > 190');
    await connection.query("INSERT INTO items VALUES (500, 'late', 5)");
    await targetEqualsSource('the target to equal the source');
  }, 180_000);

  afterAll(async () => {
    for (const p of processes) {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await p.exited;
    }
    await admin?.close();
    await connection?.end();
    await source?.drop();
    await target.dropDatabase(targetDb).catch(() => undefined);
    const kafkaAdmin = kafka.admin();
    await kafkaAdmin.connect();
    try {
      const topics = (await kafkaAdmin.listTopics()).filter((name) => name.startsWith(`${prefix}.`));
      if (topics.length > 0) await kafkaAdmin.deleteTopics({ topics });
      await kafkaAdmin.deleteGroups([sinkName]).catch(() => undefined);
    } finally {
      await kafkaAdmin.disconnect();
    }
  });

  it('reports the source streaming and the sink lag exactly as Kafka reports its group', async () => {
    // Nothing is written now, so the figures hold still; they are compared once the group's offsets read the same
    // before and after the API answered.
    const { pipelines, kafkaFigures } = await eventually('stable lag figures', async () => {
      const before = await groupFigures(sinkName, topic);
      const answer = await api('GET', '/v1/pipelines');
      const after = await groupFigures(sinkName, topic);
      return JSON.stringify(before) === JSON.stringify(after) ? { pipelines: answer.json() as Pipelines, kafkaFigures: after } : undefined;
    });
    expect(pipelines.sources).toEqual([
      expect.objectContaining({ kind: 'source', name: sourceName, type: 'mariadb', state: 'streaming', error: null }),
    ]);
    expect(pipelines.sources[0]?.status).toMatchObject({ kind: 'capture', name: sourceName, events: 200 + 20 + 10 + 1 });
    const sinkView = pipelines.sinks[0] as SinkPipeline;
    expect(pipelines.sinks).toHaveLength(1);
    expect(sinkView).toMatchObject({ name: sinkName, type: 'mariadb', state: 'consuming', error: null, kafkaError: null });
    expect(sinkView.deadLetters).toEqual({ topic: `${prefix}.dlq.${sinkName}`, messages: '0' });
    expect(sinkView.lag).toMatchObject({ group: sinkName, state: 'Stable', members: 1 });
    expect(sinkView.lag?.partitions.map(({ topic: t, partition, committed, end, lagMessages }) => ({ topic: t, partition, committed, end, lagMessages }))).toEqual(
      kafkaFigures,
    );
    expect(kafkaFigures).toHaveLength(2);
    expect(sinkView.lag?.totalLagMessages).toBe(String(kafkaFigures.reduce((sum, p) => sum + BigInt(p.lagMessages), 0n)));
    // Caught up: at most the transaction marker after the last message, which no consumer waits for.
    for (const p of sinkView.lag?.partitions ?? []) expect(p.lagSeconds).toBe(0);

    const one = await api('GET', `/v1/sinks/${sinkName}`);
    expect(one.status).toBe(200);
    expect(one.json()).toMatchObject({ name: sinkName, state: 'consuming', lag: { members: 1 } });
    const missing = await api('GET', '/v1/sinks/nope');
    expect(missing.status).toBe(404);
    expect(missing.json()).toEqual({ error: `no sink named "nope" in the configuration (sinks: ${sinkName})` });
    expect((await api('GET', '/v1/sources/nope')).status).toBe(404);
  });

  it('guards everything but the probes with the token and describes every path', async () => {
    expect((await api('GET', '/v1/pipelines', { token: null })).status).toBe(401);
    expect((await api('GET', '/v1/pipelines', { token: `${token.slice(0, -1)}x` })).status).toBe(401);
    expect((await api('GET', '/metrics', { token: 'short' })).status).toBe(401);
    expect((await api('POST', `/v1/sinks/${sinkName}/replay`, { token: null, body: { to: 'earliest' } })).status).toBe(401);
    expect(await api('GET', '/health', { token: null })).toMatchObject({ status: 200, body: '{"status":"up"}' });
    expect(await api('GET', '/ready', { token: null })).toMatchObject({ status: 200, body: '{"status":"ready"}' });
    const document = await api('GET', '/openapi.json');
    expect(document.status).toBe(200);
    expect(document.json()).toMatchObject({ openapi: '3.1.0' });
    expect(Object.keys((document.json() as { paths: object }).paths).sort()).toEqual([...PATHS].sort());
  });

  it('merges the metrics of the capture, the sink and itself', async () => {
    const metrics = await eventually('merged metrics of both processes', async () => {
      const answer = await api('GET', '/metrics');
      return answer.body.includes('tributary_sink_changes_applied_total') ? answer : undefined;
    });
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain(`tributary_capture_events_total{source="${sourceName}",table="${source.name}.items",op="r",process="capture:${sourceName}"} 200`);
    expect(metrics.body).toContain(`tributary_sink_changes_applied_total{sink="${sinkName}",table="${source.name}.items",op="delete",process="sink:${sinkName}"} 10`);
    expect(metrics.body).toContain(`tributary_admin_scrape_failures{process="capture:${sourceName}"} 0`);
    expect(metrics.body).toContain(`tributary_admin_scrape_failures{process="sink:${sinkName}"} 0`);
    expect(metrics.body).toMatch(/tributary_admin_http_requests_total\{method="GET",route="\/v1\/pipelines",status="200",process="admin"\} \d+/);
    // Each process's own figures, side by side under its label.
    for (const process of ['admin', `capture:${sourceName}`, `sink:${sinkName}`]) {
      expect(metrics.body).toMatch(new RegExp(`tributary_process_resident_memory_bytes\\{process="${process}"\\} \\d+`));
    }
  });

  it('prints both tables with `tributary status`, and the pipelines with --json', async () => {
    const text = await tributary('status');
    const lines = text.stdout.split('\n');
    expect(lines.find((line) => line.startsWith(`${sourceName} `))).toMatch(new RegExp(`^${sourceName}\\s+mariadb\\s+streaming\\s+\\S+:\\d+`));
    expect(lines.find((line) => line.startsWith(`${sinkName} `))).toMatch(new RegExp(`^${sinkName}\\s+mariadb\\s+consuming\\s+\\d+\\s+0\\.0\\s+\\d+\\s+0$`));
    expect(lines[0]).toMatch(/^source\s+type\s+state\s+position\s+events\/s\s+last event\s+snapshot\s+slot WAL$/);
    expect(lines).toContainEqual(expect.stringMatching(/^sink\s+type\s+state\s+lag \(messages\)\s+max lag \(s\)\s+applied\/s\s+dead letters$/));

    const json = JSON.parse((await tributary('status', '--json')).stdout) as Pipelines;
    expect(json.sources.map((s) => [s.name, s.state])).toEqual([[sourceName, 'streaming']]);
    expect(json.sinks.map((s) => [s.name, s.state, s.lag?.members])).toEqual([[sinkName, 'consuming', 1]]);
  });

  it('sends snapshot signals through the API and the CLI to <prefix>.signals, keyed by the source', async () => {
    const table = `${source.name}.items`;
    const accepted = await api('POST', `/v1/sources/${sourceName}/snapshots`, { body: { tables: [table] } });
    expect(accepted.status).toBe(202);
    const { id } = accepted.json() as { id: string };
    expect(accepted.json()).toEqual({ id, source: sourceName, tables: [table] });
    const bad = await api('POST', `/v1/sources/${sourceName}/snapshots`, { body: { tables: ['items'] } });
    expect(bad.status).toBe(400);
    expect((bad.json() as { error: string }).error).toContain('tables are named db.table');

    const cli = await tributary('snapshot', sourceName, '--table', table, '--no-wait');
    expect(cli.stdout).toMatch(/^[0-9a-f-]{36}\n$/);
    const cliId = cli.stdout.trim();

    const signals = await readSignals(`${prefix}.signals`, 2);
    expect(signals).toEqual([
      { key: sourceName, value: { id, type: 'execute-snapshot', data: { 'data-collections': [table], type: 'incremental' } } },
      { key: sourceName, value: { id: cliId, type: 'execute-snapshot', data: { 'data-collections': [table], type: 'incremental' } } },
    ]);
  });

  it('refuses a replay while the sink consumes, and re-applies history once it stopped', async () => {
    const before = await groupFigures(sinkName, topic);
    for (const body of [{ to: 'earliest' }, { to: 'earliest', dryRun: true }]) {
      const refused = await api('POST', `/v1/sinks/${sinkName}/replay`, { body });
      expect(refused.status).toBe(409);
      expect((refused.json() as { error: string }).error).toContain(`sink "${sinkName}" is consuming (1 member in group "${sinkName}")`);
    }
    expect(await groupFigures(sinkName, topic)).toEqual(before);

    await stopTheSink();
    // By hand, behind the sink's back: only a replay brings these rows back.
    const targetConnection = await connectMySql(targetDb);
    await targetConnection.query('DELETE FROM items');
    await targetConnection.end();
    expect(await target.rowCount(targetDb, 'items')).toBe(0);

    const dryRun = await api('POST', `/v1/sinks/${sinkName}/replay`, { body: { to: 'earliest', dryRun: true } });
    expect(dryRun.status).toBe(200);
    expect(dryRun.json()).toMatchObject({ sink: sinkName, dryRun: true, members: 0 });
    expect(await groupFigures(sinkName, topic)).toEqual(before);

    const moved = await api('POST', `/v1/sinks/${sinkName}/replay`, { body: { to: 'earliest' } });
    expect(moved.status).toBe(200);
    expect(moved.json()).toEqual({
      sink: sinkName,
      dryRun: false,
      group: sinkName,
      state: 'Empty',
      members: 0,
      partitions: before.map((p) => ({ topic, partition: p.partition, from: p.committed, to: '0' })),
    });
    expect((await groupFigures(sinkName, topic)).map((p) => p.committed)).toEqual(['0', '0']);

    // The merged metrics go on without the stopped sink, and say so.
    const metrics = await api('GET', '/metrics');
    expect(metrics.body).toContain(`tributary_admin_scrape_failures{process="sink:${sinkName}"} 1`);
    expect(metrics.body).not.toContain('tributary_sink_changes_applied_total');
    const stopped = (await api('GET', `/v1/sinks/${sinkName}`)).json() as SinkPipeline;
    expect(stopped).toMatchObject({ state: 'unreachable', status: null, lag: { members: 0 } });
    expect(stopped.error).toContain('ECONNREFUSED');

    startTheSink();
    await targetEqualsSource('the replayed sink to rebuild the target');
  });

  it('moves a stopped sink to the first offsets at a time with `tributary replay --to <time>`', async () => {
    await stopTheSink();
    const at = new Date(between).toISOString();
    const result = await tributary('replay', sinkName, '--to', at, '--yes');
    expect(result, result.stderr).not.toHaveProperty('failed');
    expect(result.stdout).toContain(`Moved the offsets of sink "${sinkName}"`);

    const expected = await withKafkaAdmin(async (kafkaAdmin) => {
      const ends = await kafkaAdmin.fetchTopicOffsets(topic);
      const atTime = await kafkaAdmin.fetchTopicOffsetsByTimestamp(topic, between);
      return atTime
        .map((p) => ({ partition: p.partition, offset: BigInt(p.offset) >= 0n ? p.offset : (ends.find((e) => e.partition === p.partition)?.high as string) }))
        .sort((a, b) => a.partition - b.partition);
    });
    const committed = await groupFigures(sinkName, topic);
    expect(committed.map((p) => ({ partition: p.partition, offset: p.committed }))).toEqual(expected);
    // Between the snapshot and the later changes: neither the start nor the end of a partition that has both.
    expect(committed.some((p) => BigInt(p.committed as string) > 0n && BigInt(p.committed as string) < BigInt(p.end))).toBe(true);
  });

  it('leaks no secret: no answer, metric, CLI output or log line carries the token or the mask salt', () => {
    const outputs = [...seen, adminLog, ...processes.map((p) => p.output())].join('\n');
    expect(adminLog).toContain('moved the committed offsets of the sink');
    expect(outputs).toContain(sinkName);
    expect(outputs).not.toContain(token);
    expect(outputs).not.toContain(salt);
  });
});

/** Per partition of `topic`, what Kafka itself says of the group: committed offset, end and the difference. */
async function groupFigures(group: string, topic: string) {
  return withKafkaAdmin(async (admin) => {
    const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    const ends = await admin.fetchTopicOffsets(topic);
    return ends
      .map((end) => {
        const offset = committed?.partitions.find((p) => p.partition === end.partition)?.offset ?? '-1';
        const commit = BigInt(offset) >= 0n ? offset : null;
        const lag = BigInt(end.high) - BigInt(commit ?? end.low);
        return { topic, partition: end.partition, committed: commit, end: end.high, lagMessages: String(lag > 0n ? lag : 0n) };
      })
      .sort((a, b) => a.partition - b.partition);
  });
}

async function describeGroup(group: string) {
  return withKafkaAdmin(async (admin) => (await admin.describeGroups([group])).groups[0] ?? { members: [] });
}

async function withKafkaAdmin<T>(work: (admin: ReturnType<Kafka['admin']>) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}

/** The first `count` messages of the signal topic, as key and parsed JSON value. */
async function readSignals(topic: string, count: number): Promise<{ key: string; value: unknown }[]> {
  const groupId = uniqueName('signals');
  const consumer = kafka.consumer({ groupId });
  const messages: { key: string; value: unknown }[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        messages.push({ key: message.key?.toString() ?? '', value: JSON.parse(message.value?.toString() ?? 'null') });
      },
    });
    return await eventually(`${count} messages on ${topic}`, async () => (messages.length >= count ? messages.slice(0, count) : undefined));
  } finally {
    await consumer.disconnect();
    await withKafkaAdmin((admin) => admin.deleteGroups([groupId])).catch(() => undefined);
  }
}
