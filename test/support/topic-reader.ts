import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { AvroSerde } from '#kafka/serde.ts';
import { stackEnv } from './stack-env.ts';
import { uniqueName } from './wait.ts';

export interface ReadMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Record<string, unknown> | null;
  value: Record<string, unknown> | null;
}

/**
 * Follows topics from the beginning in read_committed mode, decoding every message, for as long as a test
 * needs: `messages` grows while the test polls it.
 */
export class TopicReader {
  readonly messages: ReadMessage[] = [];
  private consumer: Consumer | null = null;
  private failure: unknown = null;

  constructor(private readonly topics: RegExp | string[]) {}

  /** Subscribes once; call again until it succeeds when the topics may not exist yet. */
  async start(): Promise<void> {
    if (this.consumer) return;
    const kafka = new Kafka({ brokers: stackEnv('KAFKA_BROKERS').split(','), logLevel: logLevel.NOTHING });
    const serde = new AvroSerde({ url: stackEnv('SCHEMA_REGISTRY_URL') });
    const consumer = kafka.consumer({ groupId: uniqueName('reader'), readUncommitted: false, metadataMaxAge: 1000 });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: Array.isArray(this.topics) ? this.topics : [this.topics], fromBeginning: true });
    } catch (error) {
      // The topic may not exist yet; the caller tries again.
      await consumer.disconnect();
      throw error;
    }
    this.consumer = consumer;
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        try {
          this.messages.push({
            topic,
            partition,
            offset: message.offset,
            key: message.key ? ((await serde.decode(message.key)) as Record<string, unknown>) : null,
            value: message.value ? ((await serde.decode(message.value)) as Record<string, unknown>) : null,
          });
        } catch (error) {
          this.failure = error;
        }
      },
    });
  }

  check(): void {
    if (this.failure) throw this.failure;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}
