import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import avro from 'avsc';
import { Kafka, logLevel, type EachMessagePayload } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChangeEvent, Row } from '#core/change-event.ts';
import { ensureTopics } from '#kafka/admin.ts';
import { createKafka } from '#kafka/client.ts';
import { EventEncoder } from '#kafka/event-codec.ts';
import { TransactionalProducer } from '#kafka/producer.ts';
import { AvroSerde } from '#kafka/serde.ts';
import { buildTableAvro } from '#schemas/table-avro.ts';
import { mysqlEvent } from '#test/fixtures/events.ts';
import { GOLDEN_MAX_ROW, GOLDEN_NULL_ROW, goldenTable } from '#test/fixtures/golden-mysql.ts';
import { stackEnv } from '#test/support/stack-env.ts';
import { eventually, uniqueName } from '#test/support/wait.ts';

// A ChangeEvent with every mapped type goes through the real broker and registry with Tributary's producer and
// serde; a consumer written only with kafkajs, the registry client and avsc (none of Tributary's code) reads
// it back in read_committed mode and must find exactly the values that went in.

const prefix = uniqueName('it');
const table = goldenTable('inventory');
const avroTable = buildTableAvro(table, { topicPrefix: prefix, connector: 'mysql' });
const brokers = stackEnv('KAFKA_BROKERS').split(',');

const event = (op: ChangeEvent['op'], before: Row | null, after: Row | null, n: number) => mysqlEvent(op, before, after, n, prefix);

// The independent reader's own exact Avro handling: longs as bigint, decimals left as bytes and decoded here.
const independentLong = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  toBuffer: (n: bigint) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(n);
    return buf;
  },
  fromJSON: BigInt,
  toJSON: Number,
  isValid: (n: unknown) => typeof n === 'bigint',
  compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
});

function decimalFromBytes(bytes: Buffer, scale: number): string {
  let unscaled = BigInt(`0x${bytes.toString('hex') || '0'}`);
  if (bytes.length > 0 && (bytes[0] as number) >= 0x80) unscaled -= 1n << BigInt(bytes.length * 8);
  const negative = unscaled < 0n;
  const digits = (negative ? -unscaled : unscaled).toString().padStart(scale + 1, '0');
  const text = `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`;
  return negative ? `-${text}` : text;
}

interface Received {
  key: unknown;
  value: Record<string, unknown> | null;
  partition: number;
  offset: string;
}

describe('ChangeEvent through Kafka and the schema registry', () => {
  const kafka = createKafka({ brokers, clientId: prefix });
  const serde = new AvroSerde({ url: stackEnv('SCHEMA_REGISTRY_URL') });
  let producer: TransactionalProducer;

  beforeAll(async () => {
    await ensureTopics(kafka, [{ topic: avroTable.topic, partitions: 2 }]);
    producer = await TransactionalProducer.connect(kafka, `${prefix}-capture`);
  });
  afterAll(async () => {
    await producer?.close();
  });

  it('is read back by a plain kafkajs + registry consumer with exactly the same values, aborted writes unseen', async () => {
    const encoder = new EventEncoder(serde);
    const insert = event('c', null, GOLDEN_MAX_ROW, 1);
    const update = event('u', GOLDEN_MAX_ROW, { ...GOLDEN_NULL_ROW, id: 9223372036854775807n }, 2);
    const remove = event('d', GOLDEN_NULL_ROW, null, 3);
    const aborted = event('c', null, { ...GOLDEN_MAX_ROW, id: 42n }, 4);

    await producer.commit([{ topic: avroTable.topic, messages: [await encoder.encode(insert, avroTable)] }]);
    await producer.abort([{ topic: avroTable.topic, messages: [await encoder.encode(aborted, avroTable)] }]);
    const tombstone = await encoder.tombstone(remove, avroTable);
    await producer.commit([
      {
        topic: avroTable.topic,
        messages: [await encoder.encode(update, avroTable), await encoder.encode(remove, avroTable), tombstone!],
      },
    ]);

    const registry = new SchemaRegistry(
      { host: stackEnv('SCHEMA_REGISTRY_URL') },
      { [SchemaType.AVRO]: { registry: {}, typeHook: (s: avro.Schema) => (s === 'long' || (s as { type?: string }).type === 'long' ? independentLong : undefined) } },
    );
    const reader = new Kafka({ brokers, clientId: `${prefix}-reader`, logLevel: logLevel.NOTHING });
    const consumer = reader.consumer({ groupId: `${prefix}-reader`, readUncommitted: false });
    const received: Received[] = [];
    await consumer.connect();
    try {
      await consumer.subscribe({ topic: avroTable.topic, fromBeginning: true });
      await consumer.run({
        eachMessage: async ({ message, partition }: EachMessagePayload) => {
          received.push({
            key: message.key ? await registry.decode(message.key) : null,
            value: message.value ? ((await registry.decode(message.value)) as Record<string, unknown>) : null,
            partition,
            offset: message.offset,
          });
        },
      });
      await eventually('4 committed messages', async () => (received.length >= 4 ? true : undefined));
    } finally {
      await consumer.disconnect();
    }

    // Per-key order: the key hashes every event of row 9223372036854775807 to one partition, in commit order.
    const forMaxKey = received.filter((r) => (r.key as { id: bigint }).id === 9223372036854775807n);
    expect(forMaxKey.map((r) => (r.value ? r.value.op : 'tombstone'))).toEqual(['c', 'u']);
    expect(received).toHaveLength(4);
    expect(received.some((r) => (r.key as { id: bigint }).id === 42n)).toBe(false);

    const [created, updated] = forMaxKey.map((r) => r.value as Record<string, unknown>);
    const after = created!.after as Record<string, unknown>;
    // Exact values, read with nothing but avsc: 64-bit integers, decimals, microsecond times, JSON, binary.
    expect(after.id).toBe(9223372036854775807n);
    expect(after.big).toBe(-9223372036854775808n);
    expect(decimalFromBytes(after.big_u as Buffer, 0)).toBe('18446744073709551615.');
    expect(decimalFromBytes(after.price as Buffer, 10)).toBe('9999999999999999999999999999.9999999999');
    expect(decimalFromBytes(after.wide as Buffer, 30)).toBe('-99999999999999999999999999999999999.999999999999999999999999999999');
    expect(after.at_local).toBe(253402300799999999n);
    expect(after.at_utc).toBe(2147483647999999n);
    expect(after.span).toBe(-3020399000000n);
    expect(after.born).toBe(-719162);
    expect(after.doc).toBe(GOLDEN_MAX_ROW.doc);
    expect(JSON.parse(after.doc as string)).toEqual({ a: [1, 2.5, 'x'], big: 18446744073709552000 });
    expect(after.status).toBe("it's");
    expect(after.tags).toBe('red,blue');
    expect(after.payload).toEqual(Buffer.from([0, 1, 2, 0xfe, 0xff, 0]));
    expect(after.bits).toEqual(GOLDEN_MAX_ROW.bits);
    expect(after.name).toBe('Zoë 😀 "quoted" \\ back');
    expect(after.ratio).toBe(1.7976931348623157e308);
    expect(after.int_u).toBe(4294967295n);
    expect(after.order_key).toBe(7);
    for (const column of ['flag', 'tiny', 'small_u', 'f32', 'yr'] as const) expect(after[column]).toBe(GOLDEN_MAX_ROW[column]);

    // Nulls stay nulls, and the envelope carries Debezium's fields.
    const nulls = updated!.after as Record<string, unknown>;
    expect(Object.entries(nulls).filter(([name, v]) => name !== 'id' && v !== null)).toEqual([]);
    expect(updated!.before).toEqual(created!.after);
    expect(created).toMatchObject({
      op: 'c',
      before: null,
      ts_ms: 1_763_000_000_501n,
      transaction: { id: '0-1-1', total_order: 1n, data_collection_order: 1n },
      source: { connector: 'mysql', name: prefix, db: 'inventory', table: 'golden', gtid: '0-1-1', file: 'mysql-bin.000001', pos: 1001n, server_id: 1n, snapshot: 'false' },
    });

    // The delete and its tombstone share the null-row key and arrive in that order.
    const forNullKey = received.filter((r) => (r.key as { id: bigint }).id === 1n);
    expect(forNullKey.map((r) => (r.value ? r.value.op : 'tombstone'))).toEqual(['d', 'tombstone']);
  });

  it('registers subjects <topic>-key and <topic>-value with Debezium record names', async () => {
    const registry = new SchemaRegistry({ host: stackEnv('SCHEMA_REGISTRY_URL') });
    const valueId = await registry.getLatestSchemaId(`${avroTable.topic}-value`);
    const keyId = await registry.getLatestSchemaId(`${avroTable.topic}-key`);
    const value = JSON.parse(JSON.stringify(await registry.getSchema(valueId))) as { name: string };
    expect(value.name).toBe(`${prefix}.inventory.golden.Envelope`);
    const key = JSON.parse(JSON.stringify(await registry.getSchema(keyId))) as { name: string };
    expect(key.name).toBe(`${prefix}.inventory.golden.Key`);
  });
});
