// bench/capture-postgres: how fast capture drains a PostgreSQL WAL backlog into Kafka, against the things it is made of.
//
// 1. Starts the capture once on an empty table, so that its slot and publication exist and its stored offset is the
//    end of the WAL, and stops it. A second slot on the same publication is created for the baselines.
// 2. Loads ROWS rows (about 200 bytes each, six columns) with INSERT … SELECT generate_series while no capture runs.
// 3. Baseline: a bare pgoutput reader (ReplicationConnection, do-nothing handler) streams the second slot and counts
//    inserts, message by message: reading in runs, as the capture does, measured 1 to 10% slower here (a reader that
//    keeps up has the walsender send each message on its own). It reads twice, before the capture and after it (step
//    4), and the faster read counts. Intermediate: the same, each row converted as the capture does (values.ts
//    rowConverter). The baseline slot is never acknowledged, so every read streams the same WAL.
// 4. Capture (`tributary capture`, its own process) starts from its stored offset and drains the load into Kafka:
//    Avro, transactional, acknowledged. Done when its committed offset reaches the end LSN of the load's last
//    commit, which the offsets topic holds in the same Kafka transaction as the events before it. Its time is split
//    at the moment a walsender of the new process takes the slot: before it, the process's start (about a second:
//    Node, Kafka, the registry, the stored offset and schema history, preflight), after it the drain, which is what
//    the bare reader's time compares with (its own start is a connection, a few milliseconds).
// 5. Baseline: a bare kafkajs transactional producer sends as many pre-encoded messages of the capture's average
//    size, with the capture's send size and commit period: the ceiling of a kafkajs-based capture.
// Prints rows/s of each, capture's ratio to the bare reader (drain, and with the start) and to the producer, and
// capture's peak RSS and CPU seconds.
// Run: npx tsx bench/capture-postgres.ts [rows] [--one-transaction] [--tsx]
// The capture runs from the bundle of `npm run build`, as deployed; `--tsx` runs it from the sources (capture-baselines.ts).
import { setTimeout as delay } from 'node:timers/promises';
import type { Consumer, Kafka } from 'kafkajs';
import type pg from 'pg';
import '#test/support/stack-env.ts';
import { cpuLine, cpuSeconds, peakRssMb, producerBaseline, useDeployedBuild } from './capture-baselines.ts';
import { createKafka } from '#kafka/client.ts';
import { captureTopics, ensureCaptureTopics } from '#capture/bookkeeping.ts';
import { formatLsn, parseLsn } from '#postgres/lsn.ts';
import { tupleTexts, type Tuple } from '#postgres/pgoutput.ts';
import { ReplicationConnection } from '#postgres/replication-stream.ts';
import { readTableSchema } from '#postgres/schema-reader.ts';
import { rowConverter } from '#postgres/values.ts';
import { captureConfig, startCapture, type CaptureProcess } from '#test/support/capture-process.ts';
import { connectPostgres, postgresConnection, scratchPostgresDatabase } from '#test/support/postgres.ts';
import { stackEnv } from '#test/support/stack-env.ts';
import { uniqueName } from '#test/support/wait.ts';

const ROWS = Number(process.argv.slice(2).find((arg) => !arg.startsWith('--')) ?? 1_000_000);
// Rows per source transaction: ten transactions for a million rows. `--one-transaction` loads them in one.
const ONE_TRANSACTION = process.argv.includes('--one-transaction');
useDeployedBuild();
const PER_TRANSACTION = ONE_TRANSACTION ? ROWS : Math.min(ROWS, 100_000);
const SOURCE = 'bench';
const TABLE = 'customers';

async function load(sql: pg.Client): Promise<number> {
  const started = Date.now();
  for (let first = 1; first <= ROWS; first += PER_TRANSACTION) {
    const last = Math.min(first + PER_TRANSACTION - 1, ROWS);
    await sql.query(
      `INSERT INTO public.${TABLE} (id, name, balance, created_at, visits, active)
       SELECT g, rpad('customer number ' || g || ' with a reasonably long display name', 100, '.'), (g % 100000) / 100.0,
              timestamptz '2026-11-22 10:00:00.123456+00' + g * interval '1 second', g % 1000, g % 3 <> 0
         FROM generate_series($1::bigint, $2::bigint) AS g`,
      [first, last],
    );
  }
  return Date.now() - started;
}

/**
 * Streams the baseline slot until ROWS inserts and the commit after them have arrived; `onInsert` is the handler.
 * Returns the time taken (connection included, as the capture's includes its start) and the commit's end LSN.
 */
async function bareReader(database: string, slot: string, publication: string, onInsert?: (tuple: Tuple) => void): Promise<{ ms: number; endLsn: bigint }> {
  const started = Date.now();
  const replication = await ReplicationConnection.connect(postgresConnection(database), { applicationName: 'bench-bare-reader' });
  let inserts = 0;
  let endLsn = 0n;
  // Never acknowledged: the slot stays where it was created, so the next reader streams the same WAL.
  for await (const { message } of await replication.start({ slot, startLsn: 0n, publications: [publication] })) {
    if (message.tag === 'insert') {
      inserts++;
      onInsert?.(message.newTuple);
    } else if (message.tag === 'commit' && inserts >= ROWS) {
      endLsn = message.endLsn;
      break;
    }
  }
  const ms = Date.now() - started;
  await replication.close();
  if (inserts !== ROWS) throw new Error(`the bare reader received ${inserts} inserts instead of ${ROWS}`);
  return { ms, endLsn };
}

/** Resolves once `reached()` holds; rejects when the capture exits first or after `timeoutMs`. */
async function until(capture: CaptureProcess, reached: () => boolean, what: string, timeoutMs: number): Promise<void> {
  let poll: NodeJS.Timeout | undefined;
  let deadline: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      new Promise<void>((resolve) => {
        poll = setInterval(() => reached() && resolve(), 20);
      }),
      capture.exited.then(() => {
        throw new Error(`capture exited before ${what}:\n${capture.output()}`);
      }),
      new Promise<never>((_, reject) => {
        deadline = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}:\n${capture.output()}`)), timeoutMs);
      }),
    ]);
  } finally {
    clearInterval(poll);
    clearTimeout(deadline);
  }
}

/**
 * A read_committed consumer of the offsets topic that calls `onLsn` with the source's stored LSNs; returned once its
 * group has given it the partition. A consumer that joins before the new topic's metadata has reached it is assigned
 * nothing and would wait for the next metadata refresh (minutes): it is replaced instead.
 */
async function watchOffsets(kafka: Kafka, topic: string, onLsn: (lsn: bigint) => void): Promise<Consumer> {
  for (let attempt = 1; ; attempt++) {
    const consumer = kafka.consumer({ groupId: uniqueName('bench-watch'), readUncommitted: false });
    const assigned = new Promise<boolean>((resolve) => {
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => resolve((payload.memberAssignment[topic]?.length ?? 0) > 0));
      setTimeout(() => resolve(false), 30_000).unref();
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        const value = JSON.parse(message.value?.toString() ?? 'null') as { offset?: { lsn?: string } } | null;
        if (message.key?.toString() === SOURCE && value?.offset?.lsn) onLsn(parseLsn(value.offset.lsn));
      },
    });
    if (await assigned) return consumer;
    await consumer.disconnect();
    if (attempt === 3) throw new Error(`the watcher of ${topic} was assigned no partition in 3 attempts`);
  }
}

async function stop(capture: CaptureProcess): Promise<void> {
  if (capture.child.exitCode === null) capture.child.kill('SIGTERM');
  await capture.exited;
}

const db = await scratchPostgresDatabase('bench');
const sql = await connectPostgres(db.name);
const kafka = createKafka({ brokers: stackEnv('KAFKA_BROKERS').split(',') });
const prefix = uniqueName('bench');
const topics = captureTopics(prefix);
let watcher: Consumer | null = null;
let capture: CaptureProcess | null = null;
try {
  await sql.query(
    `CREATE TABLE public.${TABLE} (id bigint PRIMARY KEY, name text NOT NULL, balance numeric(12,2) NOT NULL,
     created_at timestamptz NOT NULL, visits int NOT NULL, active boolean NOT NULL)`,
  );
  // Slot names are cluster-wide: named after the scratch database, not after the source.
  const slot = `${db.name}_capture`;
  const bareSlot = `${db.name}_bare`;
  const publication = db.name;

  await ensureCaptureTopics(kafka, topics, 1);
  // The capture's committed offsets, as the offsets topic holds them (read_committed).
  let committed: bigint | null = null;
  watcher = await watchOffsets(kafka, topics.offsets, (lsn) => (committed = lsn));

  const config = captureConfig({
    prefix,
    source: SOURCE,
    database: db.name,
    type: 'postgres',
    extra: [`    slotName: ${slot}`, `    publicationName: ${publication}`, '    snapshot: never', '    heartbeatIntervalMs: 0'].join('\n'),
  });
  // First run on the empty table: creates the slot and the publication and stores the slot's position as its offset.
  // Without the profiler: only the drain below is profiled.
  const profiling = process.env.TRIBUTARY_NODE_ARGS;
  delete process.env.TRIBUTARY_NODE_ARGS;
  capture = startCapture(config, SOURCE);
  if (profiling !== undefined) process.env.TRIBUTARY_NODE_ARGS = profiling;
  await until(capture, () => committed !== null, 'storing its first offset', 60_000);
  await stop(capture);
  capture = null;

  await sql.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [bareSlot]);
  const loadMs = await load(sql);
  const transactions = Math.ceil(ROWS / PER_TRANSACTION);
  console.log(
    `loaded ${ROWS} rows in ${(loadMs / 1000).toFixed(1)} s as ${transactions} transaction${transactions === 1 ? '' : 's'} ` +
      `of INSERT … SELECT generate_series (capture's offset ${formatLsn(committed ?? 0n)})`,
  );

  // The bare reader reads twice, before the capture and after it, and its faster read counts: reads of the same WAL
  // differ by 10 to 30% from one to the next here, the machine's speed drifts over minutes, and the ratio should not
  // flatter the capture.
  const first = await bareReader(db.name, bareSlot, publication);
  const table = await readTableSchema(sql, 'public', TABLE);
  if (!table) throw new Error(`table public.${TABLE} not found`);
  const convert = rowConverter(table.schema);
  const converting = await bareReader(db.name, bareSlot, publication, (tuple) => void convert(tupleTexts(tuple)));
  console.log(
    `bare pgoutput reader + row conversion: ${(converting.ms / 1000).toFixed(2)} s, ${Math.round((ROWS * 1000) / converting.ms)} rows/s`,
  );

  const started = Date.now();
  capture = startCapture(config, SOURCE);
  const running = capture;
  let peak = 0;
  const sampler = setInterval(() => {
    if (running.child.exitCode === null) peak = Math.max(peak, peakRssMb(running.child.pid!));
  }, 200);
  // When a walsender of the new capture process takes the slot: what comes before is the process's start (Node, Kafka, the
  // registry, the stored offset and schema history, preflight), a cost per start and not per row.
  let streamingAt = 0;
  const watchSlot = (async () => {
    while (streamingAt === 0 && running.child.exitCode === null) {
      const { rows } = await sql.query(
        `SELECT 1 FROM pg_replication_slots s JOIN pg_stat_activity a ON a.pid = s.active_pid
          WHERE s.slot_name = $1 AND a.backend_start >= $2`,
        [slot, new Date(started)],
      );
      if (rows.length > 0) streamingAt = Date.now();
      else await delay(10);
    }
  })();
  await until(running, () => committed !== null && committed >= first.endLsn, `committing ${formatLsn(first.endLsn)}`, 600_000);
  const captureMs = Date.now() - started;
  await watchSlot;
  clearInterval(sampler);
  peak = Math.max(peak, peakRssMb(running.child.pid!));
  const cpu = cpuSeconds(running.child.pid!);
  await stop(running);
  capture = null;
  const captureRate = (ROWS * 1000) / captureMs;
  const topic = `${prefix}.public.${TABLE}`;
  // What a read_committed reader sees: the commit markers reach each partition shortly after the offsets topic's.
  const admin = kafka.admin();
  await admin.connect();
  let end = 0;
  for (const deadline = Date.now() + 10_000; end < ROWS && Date.now() < deadline; await delay(100)) {
    end = (await admin.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high), 0);
  }
  await admin.disconnect();
  console.log(
    `capture into Kafka: ${(captureMs / 1000).toFixed(2)} s, ${Math.round(captureRate)} rows/s (process start included; ` +
      `${topic} ends at offset ${end}: ${ROWS} events and the transaction markers)`,
  );
  const drainMs = captureMs - (streamingAt - started);
  const drainRate = (ROWS * 1000) / drainMs;
  console.log(
    `  of which start ${((streamingAt - started) / 1000).toFixed(2)} s (until its walsender streams the slot) ` +
      `and drain ${(drainMs / 1000).toFixed(2)} s, ${Math.round(drainRate)} rows/s`,
  );

  const second = await bareReader(db.name, bareSlot, publication);
  const bare = first.ms <= second.ms ? first : second;
  const bareRate = (ROWS * 1000) / bare.ms;
  console.log(
    `bare pgoutput reader: ${(bare.ms / 1000).toFixed(2)} s, ${Math.round(bareRate)} rows/s ` +
      `(faster of two reads, before and after the capture: ${Math.round((ROWS * 1000) / first.ms)} and ` +
      `${Math.round((ROWS * 1000) / second.ms)} rows/s; to ${formatLsn(bare.endLsn)})`,
  );

  const producerRate = await producerBaseline(kafka, topic, `${prefix}.bare`, ROWS);
  console.log(`ratio capture / bare reader: ${(drainRate / bareRate).toFixed(2)} drain (${(captureRate / bareRate).toFixed(2)} with the start)`);
  console.log(`ratio capture / bare producer: ${(captureRate / producerRate).toFixed(2)}`);
  console.log(`capture peak RSS: ${peak.toFixed(0)} MB`);
  console.log(cpuLine(cpu, ROWS));
} finally {
  if (capture) await stop(capture);
  await watcher?.disconnect().catch(() => undefined);
  await sql.end();
  // Drops both slots with the database. The bench's topics are deleted too: this Kafka is shared.
  await db.drop();
  const admin = kafka.admin();
  await admin.connect();
  const mine = (await admin.listTopics()).filter((t) => t.startsWith(`${prefix}.`));
  await admin.deleteTopics({ topics: mine }).catch(() => undefined);
  await admin.disconnect();
}
