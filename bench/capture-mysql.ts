// bench/capture-mysql: how fast capture drains a binlog backlog into Kafka, against the two things it is made of.
//
// 1. Loads ROWS rows (about 200 bytes each) into a fresh table while no capture runs.
// 2. Baseline: a bare zongji reader with a do-nothing handler reads the same binlog range.
// 3. Capture (`tributary capture`, its own process) starts at the position before the load and drains it into
//    Kafka: Avro, transactional, acknowledged. Done when its committed offset passes the end of the load.
// 4. Baseline: a bare kafkajs transactional producer sends as many pre-encoded messages, of the capture's average
//    key and value size, with the capture's send size and commit period: the ceiling of a kafkajs-based capture.
// Prints rows/s of all three, capture's ratio to each baseline, and capture's peak RSS and CPU seconds.
// Run: npx tsx bench/capture-mysql.ts [rows] [--one-transaction] [--tsx]
// The capture runs from the bundle of `npm run build`, as deployed; `--tsx` runs it from the sources (capture-baselines.ts).
import mysql from 'mysql2/promise';
import ZongJi from '@vlasky/zongji';
import '#test/support/stack-env.ts';
import { cpuLine, cpuSeconds, peakRssMb, producerBaseline, useDeployedBuild } from './capture-baselines.ts';
import { createKafka } from '#kafka/client.ts';
import { TransactionalProducer } from '#kafka/producer.ts';
import { captureTopics, ensureCaptureTopics, offsetMessage } from '#capture/bookkeeping.ts';
import { fileSequence, type BinlogCoordinates } from '#mysql/position.ts';
import { mySqlOptions } from '#mysql/connection.ts';
import { captureConfig, startCapture } from '#test/support/capture-process.ts';
import { connectMySql, mysqlConnection, scratchDatabase } from '#test/support/mysql.ts';
import { stackEnv } from '#test/support/stack-env.ts';
import { uniqueName } from '#test/support/wait.ts';

const ROWS = Number(process.argv.slice(2).find((arg) => !arg.startsWith('--')) ?? 1_000_000);
const BATCH = 5_000;
// `--one-transaction`: load every row in a single source transaction, to show memory stays bounded inside it.
const ONE_TRANSACTION = process.argv.includes('--one-transaction');
useDeployedBuild();

async function coordinates(connection: mysql.Connection): Promise<BinlogCoordinates> {
  const [rows] = await connection.query('SHOW MASTER STATUS');
  const row = (rows as Array<{ File: string; Position: number }>)[0]!;
  const [gtid] = await connection.query('SELECT @@GLOBAL.gtid_binlog_pos AS g');
  return { file: row.File, pos: String(row.Position), gtids: String((gtid as Array<{ g: string }>)[0]?.g ?? '') };
}

const reached = (at: BinlogCoordinates, end: BinlogCoordinates) =>
  fileSequence(at.file) > fileSequence(end.file) || (at.file === end.file && BigInt(at.pos) >= BigInt(end.pos));

async function load(connection: mysql.Connection, table: string): Promise<number> {
  await connection.query(
    `CREATE TABLE ${table} (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL, email VARCHAR(60) NOT NULL,
     balance DECIMAL(12,2) NOT NULL, created_at DATETIME(6) NOT NULL, visits INT NOT NULL)`,
  );
  const started = Date.now();
  if (ONE_TRANSACTION) await connection.query('START TRANSACTION');
  for (let start = 1; start <= ROWS; start += BATCH) {
    const values = [];
    for (let id = start; id < Math.min(start + BATCH, ROWS + 1); id++) {
      values.push([id, `customer number ${id} with a reasonably long display name`.padEnd(90, '.'), `c${id}@example.com`, (id % 100000) / 100, '2026-11-22 10:00:00.123456', id % 1000]);
    }
    await connection.query(`INSERT INTO ${table} (id, name, email, balance, created_at, visits) VALUES ?`, [values]);
  }
  if (ONE_TRANSACTION) await connection.query('COMMIT');
  return Date.now() - started;
}

async function bareReader(from: BinlogCoordinates, end: BinlogCoordinates): Promise<number> {
  const zongji = new ZongJi(mySqlOptions(mysqlConnection()));
  const started = Date.now();
  await new Promise<void>((resolve, reject) => {
    zongji.on('binlog', (event) => {
      const at = { file: zongji.options.filename ?? from.file, pos: String(zongji.options.position ?? 0), gtids: '' };
      if (event.getEventName() === 'xid' && reached(at, end)) resolve();
    });
    zongji.on('error', reject);
    zongji.start({
      serverId: 40_000 + Math.floor(Math.random() * 10_000),
      filename: from.file,
      position: Number(from.pos),
      includeEvents: ['rotate', 'tablemap', 'writerows', 'updaterows', 'deleterows', 'query', 'xid', 'gtid', 'mariadbgtid'],
    });
  });
  const elapsed = Date.now() - started;
  zongji.stop();
  return elapsed;
}

const db = await scratchDatabase('bench');
const connection = await connectMySql(db.name);
try {
  const table = `\`${db.name}\`.customers`;
  const from = await coordinates(connection);
  const loadMs = await load(connection, table);
  const end = await coordinates(connection);
  console.log(`loaded ${ROWS} rows in ${(loadMs / 1000).toFixed(1)} s (binlog ${from.file}:${from.pos} → ${end.file}:${end.pos})`);

  const bareMs = await bareReader(from, end);
  const bareRate = (ROWS * 1000) / bareMs;
  console.log(`bare zongji reader: ${(bareMs / 1000).toFixed(2)} s, ${Math.round(bareRate)} rows/s`);

  const prefix = uniqueName('bench');
  const kafka = createKafka({ brokers: stackEnv('KAFKA_BROKERS').split(',') });
  const topics = captureTopics(prefix);
  await ensureCaptureTopics(kafka, topics, 1);
  // Start the capture at the position before the load, as if it had been stopped there.
  const seed = await TransactionalProducer.connect(kafka, `${prefix}-seed`);
  await seed.commit([{ topic: topics.offsets, messages: [offsetMessage('bench', { binlog: { ...from } })] }]);
  await seed.close();

  // Watch the committed offsets: the capture is done when one passes the end of the load.
  const watcher = kafka.consumer({ groupId: uniqueName('bench-watch'), readUncommitted: false });
  await watcher.connect();
  await watcher.subscribe({ topic: topics.offsets, fromBeginning: true });
  let drained!: () => void;
  const done = new Promise<void>((resolve) => (drained = resolve));
  await watcher.run({
    eachMessage: async ({ message }) => {
      const offset = JSON.parse(message.value?.toString() ?? 'null') as { offset?: { binlog?: BinlogCoordinates } } | null;
      if (message.key?.toString() === 'bench' && offset?.offset?.binlog && reached(offset.offset.binlog, end)) drained();
    },
  });

  const config = captureConfig({ prefix, source: 'bench', database: db.name, extra: '    snapshot: never\n    heartbeatIntervalMs: 0' });
  const started = Date.now();
  const capture = startCapture(config, 'bench');
  let peak = 0;
  const sampler = setInterval(() => {
    if (capture.child.exitCode === null) peak = Math.max(peak, peakRssMb(capture.child.pid!));
  }, 200);
  const failed = capture.exited.then(() => {
    throw new Error(`capture exited early:\n${capture.output()}`);
  });
  failed.catch(() => undefined); // after the race, the exit that SIGTERM causes is expected
  await Promise.race([done, failed]);
  const captureMs = Date.now() - started;
  clearInterval(sampler);
  await watcher.disconnect();
  peak = Math.max(peak, peakRssMb(capture.child.pid!));
  const cpu = cpuSeconds(capture.child.pid!);
  capture.child.kill('SIGTERM');
  await capture.exited;
  const captureRate = (ROWS * 1000) / captureMs;
  console.log(`capture into Kafka: ${(captureMs / 1000).toFixed(2)} s, ${Math.round(captureRate)} rows/s (process start included)`);

  const producerRate = await producerBaseline(kafka, `${prefix}.${db.name}.customers`, `${prefix}.bare`, ROWS);
  console.log(`ratio capture / bare reader: ${(captureRate / bareRate).toFixed(2)}`);
  console.log(`ratio capture / bare producer: ${(captureRate / producerRate).toFixed(2)}`);
  console.log(`capture peak RSS: ${peak.toFixed(0)} MB`);
  console.log(cpuLine(cpu, ROWS));
} finally {
  await connection.end();
  await db.drop();
}
