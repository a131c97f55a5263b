import type { ChangeEvent, Row } from '#core/change-event.ts';
import { stringifyExact } from '#core/json.ts';
import type { TableSchema } from '#core/table-schema.ts';
import { loadConfig } from '#config/load.ts';
import { ensureTopics } from '#kafka/admin.ts';
import { createKafka } from '#kafka/client.ts';
import { EventEncoder } from '#kafka/event-codec.ts';
import { TransactionalProducer } from '#kafka/producer.ts';
import { AvroSerde } from '#kafka/serde.ts';
import { tailTopic } from '#kafka/tail.ts';
import { mySqlColumnType } from '#mysql/column-types.ts';
import { buildTableAvro } from '#schemas/table-avro.ts';

// `make dev` for now: the smoke pipeline of the foundation. It publishes one transaction of ChangeEvents for a
// small shop table with Tributary's transactional producer and Avro serde, then reads the topic back through the
// registry as `tributary tail` does. The capture and sink services replace the hand-made events in later issues.

const config = loadConfig(process.env.TRIBUTARY_CONFIG ?? 'tributary.yaml');
const kafka = createKafka(config.kafka);
const serde = new AvroSerde(config.schemaRegistry);

const column = (name: string, type: string, nullable = true) => ({ name, type: mySqlColumnType(type), nullable, sourceType: type });
const customers: TableSchema = {
  namespace: 'shop',
  table: 'customers',
  columns: [
    column('id', 'bigint(20) unsigned', false),
    column('email', 'varchar(255)', false),
    column('balance', 'decimal(12,2)'),
    column('created_at', 'datetime(6)'),
    column('profile', 'json'),
  ],
  primaryKey: ['id'],
};
const avro = buildTableAvro(customers, { topicPrefix: config.kafka.topicPrefix, connector: 'mysql' });

const runId = Date.now();
const event = (op: ChangeEvent['op'], before: Row | null, after: Row | null, order: number): ChangeEvent =>
  ({
    op,
    before,
    after,
    source: {
      connector: 'mysql',
      name: 'demo',
      db: 'shop',
      table: 'customers',
      tsMs: runId,
      snapshot: 'false',
      position: `demo:${runId}:${order}`,
    },
    transaction: { id: `demo-${runId}`, totalOrder: order, dataCollectionOrder: order },
    tsMs: Date.now(),
  }) as ChangeEvent;

const alice: Row = {
  id: '18446744073709551615',
  email: 'alice@example.com',
  balance: '1234567890.12',
  created_at: BigInt(runId) * 1000n + 123n,
  profile: '{"tier": "gold", "visits": 9007199254740993}',
};
const events = [
  event('c', null, alice, 1),
  event('u', alice, { ...alice, balance: '0.01' }, 2),
  event('d', { ...alice, balance: '0.01' }, null, 3),
];

await ensureTopics(kafka, [{ topic: avro.topic, ...config.kafka.topicDefaults }]);
const producer = await TransactionalProducer.connect(kafka, 'tributary-demo');
const encoder = new EventEncoder(serde);
const messages = await Promise.all(events.map((e) => encoder.encode(e, avro)));
const tombstone = await encoder.tombstone(events[2] as ChangeEvent, avro);
await producer.commit([{ topic: avro.topic, messages: tombstone ? [...messages, tombstone] : messages }]);
await producer.close();
process.stdout.write(`published one transaction of ${messages.length} change events and a tombstone to ${avro.topic}\n`);

process.stdout.write(`reading them back through the schema registry:\n`);
// Earlier runs left their events in the topic too: stop once this run's three events and its tombstone are read.
const done = new AbortController();
const ours: string[] = [];
await tailTopic(
  kafka,
  serde,
  { topic: avro.topic, fromBeginning: true, signal: AbortSignal.any([done.signal, AbortSignal.timeout(60_000)]) },
  (m) => {
    const value = m.value as { transaction?: { id: string } } | null;
    if (value?.transaction?.id !== `demo-${runId}` && ours.length !== 3) return;
    ours.push(stringifyExact({ partition: m.partition, offset: m.offset, key: m.key, value: m.value }));
    if (ours.length === 4) done.abort();
  },
);
for (const line of ours) process.stdout.write(`${line}\n`);
if (ours.length !== 4) throw new Error(`read back ${ours.length} of this run's 4 messages within 60 s`);
process.stdout.write(`
The stack keeps running (make stack-status; make stack-down stops it). Try:
  npx tributary tail ${avro.topic} --from-beginning
  npx tributary config check
`);
