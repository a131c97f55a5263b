import { afterAll, describe, expect, it } from 'vitest';
import { ensureTopics } from '#kafka/admin.ts';
import { createKafka } from '#kafka/client.ts';
import { readLatestByKey } from '#kafka/compacted.ts';
import { TransactionalProducer } from '#kafka/producer.ts';
import { stackEnv } from '#test/support/stack-env.ts';
import { uniqueName } from '#test/support/wait.ts';

// The capture reads its offsets and schema history with readLatestByKey before it publishes anything; that read
// must end even while another producer (another source of the same deployment) holds a transaction open on the
// topic, and must see the transaction a restarted capture's previous incarnation left open as aborted.

const kafka = createKafka({ brokers: stackEnv('KAFKA_BROKERS').split(',') });

describe('readLatestByKey', () => {
  const producers: TransactionalProducer[] = [];
  const connect = async (id: string) => {
    const producer = await TransactionalProducer.connect(kafka, id);
    producers.push(producer);
    return producer;
  };
  afterAll(async () => {
    await Promise.all(producers.map((p) => p.close().catch(() => undefined)));
  });

  it("reaches the end while another producer's transaction is open, without what that one has not committed", async () => {
    const topic = uniqueName('compacted');
    await ensureTopics(kafka, [{ topic, partitions: 1, configs: { 'cleanup.policy': 'compact' } }]);
    const committed = await connect(`${topic}-a`);
    await committed.commit([{ topic, messages: [{ key: 'a', value: '1' }, { key: 'a', value: '2' }] }]);
    const open = await (await connect(`${topic}-b`)).begin();
    await open.send([{ topic, messages: [{ key: 'b', value: 'not yet' }] }]);

    const latest = await readLatestByKey(kafka, topic, () => true, 15_000);
    expect([...latest].map(([key, value]) => [key, value?.toString()])).toEqual([['a', '2']]);
    await open.abort();
  });

  it('sees the transaction of a fenced producer as aborted as soon as its successor has connected', async () => {
    const topic = uniqueName('fenced');
    await ensureTopics(kafka, [{ topic, partitions: 1, configs: { 'cleanup.policy': 'compact' } }]);
    const killed = await connect(`${topic}-capture`);
    await killed.commit([{ topic, messages: [{ key: 'offset', value: 'committed' }] }]);
    const left = await killed.begin();
    await left.send([{ topic, messages: [{ key: 'offset', value: 'left open' }] }]);

    // As a restarted capture: connect with the same transactional id (fencing the old one), then read.
    await connect(`${topic}-capture`);
    const latest = await readLatestByKey(kafka, topic, () => true, 15_000);
    expect(latest.get('offset')?.toString()).toBe('committed');
    await expect(left.commit()).rejects.toThrow(/old epoch|fenced/i);
  });
});
