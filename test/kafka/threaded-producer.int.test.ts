import { afterAll, describe, expect, it } from 'vitest';
import { TributaryError } from '#core/errors.ts';
import { ensureTopics } from '#kafka/admin.ts';
import { createKafka } from '#kafka/client.ts';
import { readLatestByKey } from '#kafka/compacted.ts';
import { ThreadedProducer } from '#kafka/threaded-producer.ts';
import { stackEnv } from '#test/support/stack-env.ts';
import { uniqueName } from '#test/support/wait.ts';

// The capture's producer runs on a thread of its own; what crosses between the threads must keep the transactional
// guarantees of the producer it wraps: committed batches visible whole, aborted and fenced ones never, and every
// failure back on the capture's side as a TributaryError with its code and retriability.

const connection = { brokers: stackEnv('KAFKA_BROKERS').split(',') };
const kafka = createKafka(connection);
const text = (v: Buffer | null | undefined) => v?.toString('utf8') ?? null;

describe('ThreadedProducer', () => {
  const started: ThreadedProducer[] = [];
  const start = async (id: string) => {
    const producer = await ThreadedProducer.start(connection, id);
    started.push(producer);
    return producer;
  };
  afterAll(async () => {
    await Promise.all(started.map((p) => p.close()));
  });

  it('publishes committed batches whole, with keys, values and headers, and aborted ones never', async () => {
    const topic = uniqueName('threaded');
    await ensureTopics(kafka, [{ topic, partitions: 3 }]);
    const producer = await start(`${topic}-tx`);

    const committed = producer.batch();
    for (let i = 0; i < 1_000; i++) committed.add(topic, { key: `k${i}`, value: `v${i}`, timestamp: String(1_795_000_000_000 + i) });
    committed.add(topic, { key: 'tombstone', value: null, headers: { 'tributary.position': 'p' } });
    await producer.send(committed);
    await producer.commit();

    const aborted = producer.batch();
    aborted.add(topic, { key: 'k1', value: 'aborted' });
    aborted.add(topic, { key: 'never', value: 'aborted' });
    await producer.send(aborted);
    await producer.abort();

    const latest = await readLatestByKey(kafka, topic, () => true);
    expect(latest.size).toBe(1_001);
    expect(text(latest.get('k1'))).toBe('v1');
    expect(text(latest.get('k999'))).toBe('v999');
    expect(latest.get('tombstone')).toBeNull();
    expect(latest.has('never')).toBe(false);
    await producer.close();
    await producer.close(); // safe twice
  });

  it('is fenced by a newer producer with the same transactional id: its open transaction never commits', async () => {
    const topic = uniqueName('fenced');
    await ensureTopics(kafka, [{ topic, partitions: 1 }]);
    const old = await start(`${topic}-tx`);
    const first = old.batch();
    first.add(topic, { key: 'old', value: 'open when fenced' });
    await old.send(first);

    const newer = await start(`${topic}-tx`);
    const late = old.batch();
    late.add(topic, { key: 'old-late', value: 'after the fence' });
    const failure = await old.send(late).then(() => old.commit()).then(() => null, (error: unknown) => error);
    expect(failure).toBeInstanceOf(TributaryError);
    expect((failure as TributaryError).retriable).toBe(false);
    expect((failure as TributaryError).code).toBe('KAFKA_REJECTED');
    // The thread refuses everything of that transaction from then on, until it is aborted.
    await expect(old.commit()).rejects.toThrow(/an earlier step of this Kafka transaction failed/);

    const batch = newer.batch();
    batch.add(topic, { key: 'new', value: 'committed' });
    await newer.send(batch);
    await newer.commit();
    const latest = await readLatestByKey(kafka, topic, () => true);
    expect([...latest.keys()]).toEqual(['new']);
  });
});
