import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureTopics, ensureCaptureTopics, loadOffset, offsetMessage } from '#capture/bookkeeping.ts';
import { TransactionalProducer } from '#kafka/producer.ts';
import { captureConfig } from '#test/support/capture-process.ts';
import { connectMySql, mysqlConnection, scratchDatabase } from '#test/support/mysql.ts';
import { stackEnv } from '#test/support/stack-env.ts';
import { TopicReader } from '#test/support/topic-reader.ts';
import { eventually, uniqueName } from '#test/support/wait.ts';
import { duplicates, expectConverged, fillTable } from './convergence.ts';

// Bad input and outages, judged from outside as an operator would: `tributary capture` as its own process, its
// exit code, what it prints on stderr, and what reaches the topics. A bad configuration, credential, grant or
// stored position ends the process with one clear message that says what to fix and never shows a secret;
// a MySQL outage is retried with a log line per attempt and loses nothing.

const bin = new URL('../../bin/tributary.js', import.meta.url).pathname;
/** How long a process that cannot work may take to say so and exit: no retry loop may hide the error. */
const EXIT_DEADLINE_MS = 30_000;

/** Every capture process started here; afterAll kills those still running. */
const running: ChildProcess[] = [];

interface Capture {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

/** Like test/support/capture-process.ts, but keeps stderr apart and sets the log level per process. */
function capture(config: string, source: string, level = 'warn'): Capture {
  const child = spawn(process.execPath, [bin, 'capture', source, '--config', config], {
    env: { ...process.env, TRIBUTARY_LOG_LEVEL: level },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // 'close' comes after the process exited and its pipes were read to the end.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

/** The exit code, once the process has exited on its own within the deadline. */
async function exitCode(run: Capture, deadlineMs = EXIT_DEADLINE_MS): Promise<number | null> {
  let closed = false;
  void run.exited.then(() => (closed = true));
  await eventually('capture to exit', async () => (closed ? true : undefined), deadlineMs).catch((error: unknown) => {
    throw new Error(`${(error as Error).message}\nstderr so far:\n${run.stderr()}`);
  });
  return run.exited;
}

/** Adds the capture's stderr to a failed wait, which is where the reason is. */
async function showing<T>(run: Capture, wait: Promise<T>): Promise<T> {
  return wait.catch((error: unknown) => {
    throw new Error(`${(error as Error).message}\ncapture stderr:\n${run.stderr()}`, { cause: error });
  });
}

/** Polls `probe` while the capture runs; fails at once, with its stderr, when the capture exits first. */
async function whileRunning(run: Capture, what: string, probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const outcome = await showing(
    run,
    eventually(what, async () => {
      if (run.child.exitCode !== null || run.child.signalCode !== null) return 'exited';
      return (await probe()) ? 'done' : undefined;
    }, timeoutMs),
  );
  if (outcome === 'exited') {
    throw new Error(`capture exited (code ${run.child.exitCode}) while waiting for ${what}\ncapture stderr:\n${run.stderr()}`);
  }
}

/** expectConverged, failing at once when the capture exits first. */
async function convergedWhileRunning(
  run: Capture,
  reader: TopicReader,
  topic: string,
  connection: mysql.Connection,
  qualified: string,
): Promise<void> {
  let done = false;
  const exited = run.exited.then((code) => {
    if (!done) throw new Error(`capture exited (code ${code}) before ${topic} converged`);
  });
  try {
    await showing(run, Promise.race([expectConverged(reader, topic, connection, qualified), exited]));
  } finally {
    done = true;
  }
}

const nonEmptyLines = (text: string) => text.split('\n').filter((line) => line.trim() !== '');
/** A JS stack frame, as Node prints them: "    at fn (file:line:col)". */
const STACK_FRAME = /^\s+at .+[(:]/m;

/** Retry log lines (pino JSON on stderr) of the capture loop. */
interface RetryLine {
  time: number;
  action: string;
  attempt: number;
  err: string;
  msg: string;
}
function retryLines(stderr: string): RetryLine[] {
  const parse = (line: string): Partial<RetryLine> | null => {
    try {
      return JSON.parse(line) as Partial<RetryLine>;
    } catch {
      return null; // a line still being written
    }
  };
  return nonEmptyLines(stderr)
    .filter((line) => line.startsWith('{'))
    .map(parse)
    .filter((entry): entry is RetryLine => typeof entry?.action === 'string' && typeof entry.attempt === 'number');
}

/** A config like captureConfig's, pointed at another MySQL port (the proxy below). */
function withPort(file: string, port: number): string {
  writeFileSync(file, readFileSync(file, 'utf8').replace(/^(\s+port: ).*$/m, `$1${port}`));
  return file;
}

/**
 * A TCP proxy to MariaDB on a fixed loopback port, which the test can take down (every connection cut, nothing
 * listening: connects are refused) and bring back on the same port.
 */
class MySqlProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;

  async up(): Promise<void> {
    const target = mysqlConnection();
    const server = createServer((client) => {
      const upstream = connect(target.port, target.host);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream);
      upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  async down(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

describe('capture: bad input and outages', () => {
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  let connection: mysql.Connection;
  let kafka: Kafka;
  const users: string[] = [];
  const readers: TopicReader[] = [];
  const proxies: MySqlProxy[] = [];

  beforeAll(async () => {
    db = await scratchDatabase('err');
    connection = await connectMySql(db.name);
    kafka = new Kafka({ brokers: stackEnv('KAFKA_BROKERS').split(','), logLevel: logLevel.NOTHING });
  });
  afterAll(async () => {
    for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const reader of readers) await reader.stop().catch(() => undefined);
    for (const proxy of proxies) await proxy.down();
    for (const user of users) await connection?.query(`DROP USER IF EXISTS '${user}'@'%'`);
    await connection?.end();
    await db?.drop();
  });

  /** Whether `topic` exists and holds a message. */
  async function topicHasMessages(topic: string): Promise<boolean> {
    const admin = kafka.admin();
    await admin.connect();
    try {
      if (!(await admin.listTopics()).includes(topic)) return false;
      const offsets = await admin.fetchTopicOffsets(topic);
      return offsets.some((p) => BigInt(p.high) > BigInt(p.low));
    } finally {
      await admin.disconnect();
    }
  }

  it('a wrong password: one line naming the user and host and what to check, non-zero exit, no password, no stack', async () => {
    const password = 'canary-Wr0ng-pass';
    const config = captureConfig({ prefix: uniqueName('pw'), source: 'shop', database: db.name, password });

    const quiet = capture(config, 'shop');
    expect(await exitCode(quiet)).toBeGreaterThan(0); // exited by itself, with an error code
    const lines = nonEmptyLines(quiet.stderr());
    expect(lines, quiet.stderr()).toHaveLength(1);
    const [line] = lines as [string];
    expect(line).toMatch(/^tributary: /);
    expect(line).toMatch(/access denied/i);
    expect(line).toContain(`'${mysqlConnection().user}'@'`); // the user and the client host the server saw
    expect(line).toMatch(/check the user and password/);
    expect(line).toContain('source "shop"');
    expect(quiet.stderr() + quiet.stdout()).not.toContain(password);
    expect(quiet.stderr()).not.toMatch(STACK_FRAME);

    // Every log line the process can write, and still no password.
    const verbose = capture(config, 'shop', 'trace');
    expect(await exitCode(verbose)).toBeGreaterThan(0);
    expect(verbose.stderr()).toMatch(/access denied/i);
    expect(verbose.stderr() + verbose.stdout()).not.toContain(password);
    expect(verbose.stderr()).not.toMatch(STACK_FRAME);
  });

  it('a failed preflight: lists each missing privilege with its GRANT, publishes nothing, shows no password', async () => {
    const user = uniqueName('ro');
    const password = `canary-Pr3flight-${uniqueName('pw')}`;
    users.push(user);
    await connection.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${password}'`);
    await connection.query(`GRANT SELECT ON \`${db.name}\`.* TO '${user}'@'%'`);
    await fillTable(connection, `\`${db.name}\`.readonly`, 10);
    const prefix = uniqueName('pf');
    const config = captureConfig({ prefix, source: 'shop', database: db.name, include: `${db.name}.readonly`, password });
    writeFileSync(config, readFileSync(config, 'utf8').replace(/^(\s+user: ).*$/m, `$1${user}`));

    const run = capture(config, 'shop');
    expect(await exitCode(run)).toBeGreaterThan(0);
    const stderr = run.stderr();
    const grantee = `\`${user}\`@\`%\``;
    expect(stderr).toMatch(/^tributary: .*source "shop"/m);
    for (const privilege of ['REPLICATION SLAVE', 'BINLOG MONITOR']) {
      expect(stderr).toMatch(new RegExp(`privilege ${privilege} is not granted to \`${user}\`@\`%\``));
      expect(stderr).toContain(`GRANT ${privilege} ON *.* TO ${grantee}`);
    }
    expect(stderr).not.toMatch(/privilege SELECT is not granted/);
    expect(stderr + run.stdout()).not.toContain(password);
    expect(stderr).not.toMatch(STACK_FRAME);
    expect(await topicHasMessages(`${prefix}.${db.name}.readonly`)).toBe(false);
  });

  it('an unknown source name: non-zero exit naming the sources that exist', async () => {
    const config = captureConfig({ prefix: uniqueName('ns'), source: 'shop', database: db.name });
    const run = capture(config, 'nope');
    expect(await exitCode(run)).toBeGreaterThan(0);
    const lines = nonEmptyLines(run.stderr());
    expect(lines, run.stderr()).toHaveLength(1);
    expect(lines[0]).toMatch(/^tributary: .*"nope".*shop/);
    expect(run.stderr()).not.toMatch(STACK_FRAME);
  });

  it('a purged binlog: stops with the lost position and the fix; with snapshot: when_needed it snapshots again', async () => {
    const [logs] = await connection.query('SHOW BINARY LOGS');
    const existing = (logs as Array<{ Log_name: string }>)[0]?.Log_name ?? 'mysql-bin.000001';
    const missing = existing.replace(/\.\d+$/, '.999999');
    const qualified = `\`${db.name}\`.purged`;
    await fillTable(connection, qualified, 2_000);

    const prefix = uniqueName('pg');
    const topics = captureTopics(prefix);
    await ensureCaptureTopics(kafka, topics, 1);
    const seeded = { binlog: { file: missing, pos: '4', gtids: '' } };
    const seed = await TransactionalProducer.connect(kafka, `${prefix}-seed`);
    await seed.commit([{ topic: topics.offsets, messages: [offsetMessage('shop', seeded)] }]);
    await seed.close();

    const base = { prefix, source: 'shop', database: db.name, include: `${db.name}.purged` };
    const strict = capture(captureConfig(base), 'shop');
    expect(await exitCode(strict)).toBeGreaterThan(0);
    const stderr = strict.stderr();
    expect(stderr).toMatch(/^tributary: /m);
    expect(stderr).toContain(`${missing}:4`);
    expect(stderr).toMatch(/purged/);
    expect(stderr).toContain('snapshot: when_needed');
    expect(stderr).not.toMatch(STACK_FRAME);
    // Nothing lost: the stored position is still the one it could not resume from, and no rows were published.
    expect(await loadOffset(kafka, topics, 'shop')).toEqual(seeded);
    const topic = `${prefix}.${db.name}.purged`;
    expect(await topicHasMessages(topic)).toBe(false);

    const reader = new TopicReader([topic]);
    readers.push(reader);
    const lenient = capture(captureConfig({ ...base, extra: '    snapshot: when_needed' }), 'shop');
    await whileRunning(lenient, 'the new snapshot to publish', async () => {
      await reader.start();
      return reader.messages.length > 0;
    });
    await connection.query(`UPDATE ${qualified} SET n = n + 1 WHERE id <= 10`); // and it streams after it
    await convergedWhileRunning(lenient, reader, topic, connection, qualified);
    expect(duplicates(reader.messages, topic)).toEqual([]);
    lenient.child.kill('SIGTERM');
    expect(await exitCode(lenient)).toBe(0);
  });

  it('MySQL down, then back: retried with a log line per attempt; the topic ends equal to the table, no duplicates', async () => {
    const proxy = new MySqlProxy();
    proxies.push(proxy);
    await proxy.up();
    const qualified = `\`${db.name}\`.outage`;
    await fillTable(connection, qualified, 1_000);
    const prefix = uniqueName('out');
    const topic = `${prefix}.${db.name}.outage`;
    const config = withPort(captureConfig({ prefix, source: 'shop', database: db.name, include: `${db.name}.outage` }), proxy.port);
    const reader = new TopicReader([topic]);
    readers.push(reader);
    const run = capture(config, 'shop');

    // Snapshot, then streaming: a change made now arrives through the binlog.
    await whileRunning(run, 'the snapshot to publish', async () => {
      await reader.start();
      return reader.messages.length > 0;
    });
    await connection.query(`INSERT INTO ${qualified} (id, val, n) VALUES (1001, 'before', 1)`);
    await connection.query(`UPDATE ${qualified} SET val = 'changed', n = n + 1 WHERE id <= 100`);
    await convergedWhileRunning(run, reader, topic, connection, qualified);

    // Retry lines from before the outage (Kafka can answer "not the leader" just after creating a topic) are
    // not the ones this test is about.
    const before = retryLines(run.stderr()).length;
    const outage = () => retryLines(run.stderr()).slice(before);
    await proxy.down();
    await whileRunning(run, 'a retry log line', async () => outage().length > 0);
    // Written while the capture cannot reach the server.
    await connection.query(`INSERT INTO ${qualified} (id, val, n) VALUES (1002, 'during', 1), (1003, 'during', 1)`);
    await connection.query(`UPDATE ${qualified} SET val = 'outage', n = n + 1 WHERE id BETWEEN 50 AND 300`);
    await connection.query(`DELETE FROM ${qualified} WHERE id BETWEEN 900 AND 950`);
    await connection.query('START TRANSACTION');
    await connection.query(`UPDATE ${qualified} SET n = n + 10 WHERE id BETWEEN 400 AND 420`);
    await connection.query(`DELETE FROM ${qualified} WHERE id = 421`);
    await connection.query('COMMIT');
    // Down for a few seconds: the capture keeps trying, with a line per attempt, and does not give up.
    await whileRunning(run, 'retries spanning two seconds', async () => {
      const lines = outage();
      return lines.length > 1 && (lines.at(-1)?.time ?? 0) - (lines[0]?.time ?? 0) >= 2_000;
    });

    await proxy.up();
    await connection.query(`INSERT INTO ${qualified} (id, val, n) VALUES (1004, 'after', 1)`);
    await convergedWhileRunning(run, reader, topic, connection, qualified);
    expect(duplicates(reader.messages, topic)).toEqual([]);

    // One retry loop: every line names the capture of this source, the attempts count up, and the error of each
    // names what failed underneath: the binlog read that lost its connection, then the reconnects refused.
    const retries = retryLines(run.stderr());
    for (const entry of retries) {
      expect(entry.action).toBe('capturing source "shop"');
      expect(entry.msg).toMatch(/^capturing source "shop" failed; retrying/);
    }
    expect(retries.map((r) => r.attempt)).toEqual(retries.map((_, i) => i + 1));
    const errors = outage().map((r) => r.err);
    expect(errors[0]).toMatch(/^reading the binlog from \S+:\d+: /);
    expect(errors.slice(1).join('\n')).toMatch(/ECONNREFUSED/);
    expect(run.stderr()).not.toMatch(STACK_FRAME);

    run.child.kill('SIGTERM');
    expect(await exitCode(run)).toBe(0);
  });
});
