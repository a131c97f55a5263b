import { randomBytes } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { TributaryError } from '#core/errors.ts';
import { withAdmin } from './admin.ts';
import { classifyKafkaError } from './errors.ts';

/**
 * Reads a (compacted) topic from the beginning to its current end in read_committed mode and returns the last
 * value of each key (null for a tombstone). For the small bookkeeping topics: offsets and schema history.
 * The end is each partition's last stable offset when the read begins (a read_committed ListOffsets): everything
 * committed by then. The high watermark would not do: a transaction another producer has open keeps it above what
 * read_committed consumers can reach until that transaction ends.
 */
export async function readLatestByKey(
  kafka: Kafka,
  topic: string,
  keep: (key: string) => boolean,
  timeoutMs = 30_000,
): Promise<Map<string, Buffer | null>> {
  const latest = new Map<string, Buffer | null>();
  await readToEnd(
    kafka,
    topic,
    (message) => {
      const key = message.key?.toString('utf8');
      if (key !== undefined && keep(key)) latest.set(key, message.value);
    },
    timeoutMs,
  );
  return latest;
}

/** Reads a topic from the beginning to its current end (as readLatestByKey), handing every message over in order. */
export async function readToEnd(kafka: Kafka, topic: string, onMessage: (message: KafkaMessage) => void, timeoutMs = 30_000): Promise<void> {
  const ends = await withAdmin(kafka, (admin) => admin.fetchTopicOffsets(topic)).catch((error: unknown) => {
    throw classifyKafkaError(`reading the end offsets of ${topic}`, error);
  });
  // kafkajs's ListOffsets is read_committed by default: `high` is the last stable offset.
  const stable = new Map(ends.map((p) => [p.partition, BigInt(p.high)]));
  const pending = new Set(ends.filter((p) => BigInt(p.high) > BigInt(p.low)).map((p) => p.partition));
  if (pending.size === 0) return;

  const groupId = `tributary-reader-${randomBytes(6).toString('hex')}`;
  const consumer = kafka.consumer({ groupId, readUncommitted: false });
  let caughtUp!: () => void;
  const done = new Promise<void>((resolve) => (caughtUp = resolve));
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    // A batch's last offset counts transaction markers and aborted records too, so it does reach the end.
    const reached = BigInt(payload.lastOffset) + 1n >= (stable.get(payload.partition) ?? 0n) || BigInt(payload.offsetLag) <= 0n;
    if (payload.topic === topic && reached) {
      pending.delete(payload.partition);
      if (pending.size === 0) caughtUp();
    }
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ message }) => onMessage(message),
    });
    // A read that never reaches the end (a transaction another producer keeps open) must not hang the caller:
    // it fails as retriable, and the retry loop starts over.
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new TributaryError('KAFKA_UNAVAILABLE', `did not reach the end of ${topic} within ${timeoutMs} ms`, { retriable: true })),
        timeoutMs,
      );
    });
    try {
      await Promise.race([done, late]);
    } finally {
      clearTimeout(timer);
    }
  } catch (error) {
    throw classifyKafkaError(`reading ${topic}`, error);
  } finally {
    await consumer.disconnect();
    await withAdmin(kafka, (admin) => admin.deleteGroups([groupId])).catch(() => undefined);
  }
}
