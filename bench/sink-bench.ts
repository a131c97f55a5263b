// The sink benchmark shared by bench/sink-mysql.ts and bench/sink-clickhouse.ts.
//
// 1. Pre-fills a topic with EVENTS change events: inserts of KEYS keys, then updates of random keys, each ~200 bytes.
// 2. Baseline: the same events, grouped into the same batches, applied from memory straight to the target through
//    the same Sink (no Kafka, no decoding) into a table of its own.
// 3. `tributary sink` (its own process) drains the topic into another fresh table; done when the group's committed
//    offset reaches the end of the topic.
// Prints rows/s of both, their ratio, the sink's peak RSS, and checks both tables hold KEYS rows.
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '#test/support/stack-env.ts';
import type { ChangeEvent } from '#core/change-event.ts';
import type { Sink, TableChanges } from '#core/sink.ts';
import type { TableSchema } from '#core/table-schema.ts';
import { loadConfig } from '#config/load.ts';
import { SINKS } from '#connectors/sinks.ts';
import { ensureTopics, withAdmin } from '#kafka/admin.ts';
import { createKafka } from '#kafka/client.ts';
import { EventEncoder } from '#kafka/event-codec.ts';
import { TransactionalProducer } from '#kafka/producer.ts';
import { AvroSerde } from '#kafka/serde.ts';
import { eventPosition } from '#mysql/position.ts';
import { buildTableAvro } from '#schemas/table-avro.ts';
import { groupChanges, type KeyedChange } from '#sink/batch.ts';
import { startSink } from '#test/support/capture-process.ts';
import { stackEnv } from '#test/support/stack-env.ts';
import { eventually, uniqueName } from '#test/support/wait.ts';
import type { TestTarget } from '#test/sink/targets.ts';

const EVENTS = Number(process.argv[2] ?? 1_000_000);
const KEYS = Number(process.argv[3] ?? 200_000);
// Changes per batch, for the from-memory baseline and the sink alike (the sink's `batch.maxRows`).
const BATCH = Number(process.argv[4] ?? 5_000);

const table = (namespace: string): TableSchema => ({
  namespace,
  table: 'customers',
  columns: [
    { name: 'id', type: { kind: 'int64' }, nullable: false, sourceType: 'bigint' },
    { name: 'name', type: { kind: 'string', length: 100 }, nullable: false, sourceType: 'varchar(100)' },
    { name: 'email', type: { kind: 'string', length: 60 }, nullable: false, sourceType: 'varchar(60)' },
    { name: 'balance', type: { kind: 'decimal', precision: 12, scale: 2 }, nullable: false, sourceType: 'decimal(12,2)' },
    { name: 'created_at', type: { kind: 'timestamp' }, nullable: false, sourceType: 'datetime(6)' },
    { name: 'visits', type: { kind: 'int32' }, nullable: false, sourceType: 'int' },
  ],
  primaryKey: ['id'],
});

/** Event `i`: an insert of key i+1 for the first KEYS events, then an update of a pseudo-random key. */
function event(i: number, namespace: string): ChangeEvent {
  const id = i < KEYS ? i + 1 : 1 + ((i * 2_654_435_761) % KEYS);
  const position = eventPosition('mariadb-bin.000001', 4 + i * 300, 0);
  const after = {
    id: BigInt(id),
    name: `customer number ${id} with a reasonably long display name`.padEnd(90, '.'),
    email: `c${id}@example.com`,
    balance: `${Math.floor(i / 100) % 100000}.${String(i % 100).padStart(2, '0')}`,
    created_at: 1_795_000_000_000_000n + BigInt(i),
    visits: i % 1000,
  };
  return {
    op: i < KEYS ? 'c' : 'u',
    before: null,
    after,
    source: { connector: 'mysql', name: 'bench', db: namespace, table: 'customers', tsMs: 1_795_000_000_000, snapshot: 'false', position, file: 'mariadb-bin.000001', pos: BigInt(4 + i * 300), row: 0 },
    tsMs: 1_795_000_000_000,
  } as ChangeEvent;
}

function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

async function fillTopic(topic: string, namespace: string): Promise<void> {
  const kafka = createKafka({ brokers: stackEnv('KAFKA_BROKERS').split(',') });
  await ensureTopics(kafka, [{ topic, partitions: 1, replicationFactor: 1 }]);
  const encoder = new EventEncoder(new AvroSerde({ url: stackEnv('SCHEMA_REGISTRY_URL') }));
  const avro = buildTableAvro(table(namespace), { topicPrefix: topic.split('.')[0] as string, connector: 'mysql' });
  const producer = await TransactionalProducer.connect(kafka, uniqueName('bench-fill'));
  try {
    for (let start = 0; start < EVENTS; start += 50_000) {
      const transaction = await producer.begin();
      for (let chunk = start; chunk < Math.min(start + 50_000, EVENTS); chunk += 3_000) {
        const messages = [];
        for (let i = chunk; i < Math.min(chunk + 3_000, start + 50_000, EVENTS); i++) messages.push(await encoder.encode(event(i, namespace), avro));
        await transaction.send([{ topic, messages }]);
      }
      await transaction.commit();
    }
  } finally {
    await producer.close();
  }
}

/** The baseline: the same changes in the same batches, applied straight from memory. */
async function fromMemory(sink: Sink, namespace: string): Promise<number> {
  const schema = table(namespace);
  await sink.connect();
  await sink.prepare(schema);
  const started = Date.now();
  for (let start = 0; start < EVENTS; start += BATCH) {
    const decoded: KeyedChange[] = [];
    for (let i = start; i < Math.min(start + BATCH, EVENTS); i++) {
      const e = event(i, namespace);
      const row = e.after as NonNullable<ChangeEvent['after']>;
      decoded.push({ table: schema, change: { op: 'upsert', key: { id: row.id ?? null }, row, position: e.source.position }, keyText: String(row.id) });
    }
    const groups: TableChanges[] = groupChanges(decoded);
    await sink.apply(groups, `bench-${start}`);
  }
  return Date.now() - started;
}

/** Runs the benchmark against one of the test targets (test/sink/targets.ts): the same servers and configs. */
export async function runSinkBench(target: TestTarget): Promise<void> {
  const prefix = uniqueName('sb');
  const memoryDb = uniqueName('bench_memory');
  const sinkDb = uniqueName('bench_sink');
  const topic = `${prefix}.${sinkDb}.customers`;
  await target.createDatabase(memoryDb);
  await target.createDatabase(sinkDb);
  try {
    const filled = Date.now();
    await fillTopic(topic, sinkDb);
    console.log(`filled ${topic} with ${EVENTS} events over ${KEYS} keys in ${((Date.now() - filled) / 1000).toFixed(1)} s`);

    const config = join(tmpdir(), `${uniqueName('bench-sink')}.yaml`);
    const sinkYaml = (database: string, name: string) => [
      ...target.sinkYaml({ name, database, pattern: `^${topic.replaceAll('.', '\\.')}$` }),
      `    batch: { maxRows: ${BATCH}, lingerMs: 200 }`,
    ];
    const groupId = uniqueName('bench-sink');
    writeFileSync(
      config,
      [
        'kafka:',
        `  brokers: ${stackEnv('KAFKA_BROKERS')}`,
        `  topicPrefix: ${prefix}`,
        'schemaRegistry:',
        `  url: ${stackEnv('SCHEMA_REGISTRY_URL')}`,
        'sinks:',
        ...sinkYaml(sinkDb, groupId),
        ...sinkYaml(memoryDb, 'memory'),
      ].join('\n'),
    );
    const memoryConfig = loadConfig(config).sinks.find((s) => s.name === 'memory');
    const memorySink = SINKS[memoryConfig!.type]!.create(memoryConfig!);
    const memoryMs = await fromMemory(memorySink, memoryDb).finally(() => memorySink.close());
    const memoryRate = (EVENTS * 1000) / memoryMs;
    console.log(`from-memory batched upserts (${target.type}): ${(memoryMs / 1000).toFixed(2)} s, ${Math.round(memoryRate)} rows/s`);

    const kafka = createKafka({ brokers: stackEnv('KAFKA_BROKERS').split(',') });
    const end = await withAdmin(kafka, (admin) => admin.fetchTopicOffsets(topic));
    const endOffset = end[0]!.high;
    const started = Date.now();
    const sink = startSink(config, groupId);
    // The sink's first commit: from there on it drains at its steady rate (start-up and the first batch are behind it).
    let first: { at: number; offset: bigint } | null = null;
    let peak = 0;
    const sampler = setInterval(() => {
      if (sink.child.exitCode === null) peak = Math.max(peak, peakRssMb(sink.child.pid!));
    }, 200);
    try {
      await eventually(
        'the sink to commit the end of the topic',
        async () => {
          if (sink.child.exitCode !== null) throw new Error(`the sink exited:\n${sink.output()}`);
          const offsets = await withAdmin(kafka, (admin) => admin.fetchOffsets({ groupId, topics: [topic] }));
          const committed = BigInt(offsets[0]?.partitions[0]?.offset ?? '-1');
          if (first === null && committed > 0n) first = { at: Date.now(), offset: committed };
          // The topic ends with the last transaction's commit marker: the sink's last offset to commit is one before.
          return committed >= BigInt(endOffset) - 1n ? true : undefined;
        },
        30 * 60_000,
      );
    } finally {
      clearInterval(sampler);
    }
    const sinkMs = Date.now() - started;
    peak = Math.max(peak, peakRssMb(sink.child.pid!));
    sink.child.kill('SIGTERM');
    await sink.exited;
    const sinkRate = (EVENTS * 1000) / sinkMs;
    console.log(`sink from Kafka (${target.type}): ${(sinkMs / 1000).toFixed(2)} s, ${Math.round(sinkRate)} rows/s (process start included)`);
    const steady = first as { at: number; offset: bigint } | null;
    const drained = steady && started + sinkMs > steady.at ? (Number(BigInt(endOffset) - 1n - steady.offset) * 1000) / (started + sinkMs - steady.at) : null;
    if (drained) console.log(`sink steady drain after its first commit: ${Math.round(drained)} rows/s`);
    console.log(`ratio sink / from-memory: ${(sinkRate / memoryRate).toFixed(2)}${drained ? ` (steady drain: ${(drained / memoryRate).toFixed(2)})` : ''}`);
    console.log(`sink peak RSS: ${peak.toFixed(0)} MB`);
    const [memoryRows, sinkRows] = [await target.rowCount(memoryDb, 'customers'), await target.rowCount(sinkDb, 'customers')];
    console.log(`rows: from-memory ${memoryRows}, sink ${sinkRows} (expected ${KEYS})`);
    if (memoryRows !== KEYS || sinkRows !== KEYS) process.exitCode = 1;
  } finally {
    await target.dropDatabase(memoryDb);
    await target.dropDatabase(sinkDb);
    await target.close();
  }
}
