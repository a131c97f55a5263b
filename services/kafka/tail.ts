import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { TributaryError } from '#core/errors.ts';
import { withAdmin } from './admin.ts';
import { classifyKafkaError } from './errors.ts';
import type { AvroSerde } from './serde.ts';

export interface TailedMessage {
  topic: string;
  partition: number;
  offset: string;
  timestamp: string;
  key: unknown;
  value: unknown;
}

export interface TailOptions {
  topic: string;
  fromBeginning: boolean;
  /** Stop after this many messages; unbounded when absent. */
  maxMessages?: number;
  signal?: AbortSignal;
}

/**
 * Reads a topic in read_committed mode and hands each decoded message to `onMessage` until `maxMessages` or
 * the signal. It consumes with a throw-away group that commits nothing and is deleted afterwards, so tailing
 * never moves any sink's offsets.
 */
export async function tailTopic(
  kafka: Kafka,
  serde: AvroSerde,
  options: TailOptions,
  onMessage: (message: TailedMessage) => void,
): Promise<number> {
  const groupId = `tributary-tail-${randomBytes(6).toString('hex')}`;
  const exists = await withAdmin(kafka, async (admin) => (await admin.listTopics()).includes(options.topic)).catch(
    (error: unknown) => {
      throw classifyKafkaError('listing topics', error);
    },
  );
  if (!exists) {
    throw new TributaryError('KAFKA_REJECTED', `topic "${options.topic}" does not exist (\`tributary topics\` lists them)`);
  }

  const consumer = kafka.consumer({ groupId, readUncommitted: false });
  let count = 0;
  let failure: unknown;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  if (options.maxMessages === 0) finish();
  options.signal?.addEventListener('abort', () => finish(), { once: true });
  if (options.signal?.aborted) finish();

  try {
    await consumer.connect();
    await consumer.subscribe({ topic: options.topic, fromBeginning: options.fromBeginning });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        if (options.maxMessages !== undefined && count >= options.maxMessages) return;
        try {
          onMessage({
            topic,
            partition,
            offset: message.offset,
            timestamp: message.timestamp,
            key: message.key ? await serde.decode(message.key) : null,
            value: message.value ? await serde.decode(message.value) : null,
          });
        } catch (error) {
          failure = error;
          finish();
          return;
        }
        count++;
        if (options.maxMessages !== undefined && count >= options.maxMessages) finish();
      },
    });
    await finished;
  } finally {
    await consumer.disconnect();
    await withAdmin(kafka, (admin) => admin.deleteGroups([groupId])).catch(() => undefined);
  }
  if (failure) throw failure;
  return count;
}
