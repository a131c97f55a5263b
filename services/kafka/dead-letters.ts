import type { Kafka, Producer } from 'kafkajs';
import type { TributaryError } from '#core/errors.ts';
import { ensureTopics } from './admin.ts';
import { classifyKafkaError } from './errors.ts';
import type { ConsumedMessage } from './consumer.ts';

/** Where a message came from, for the headers of its dead letter. */
export interface Origin {
  topic: string;
  partition: number;
}

/**
 * Writes messages a sink could not decode or apply to its dead-letter topic, unchanged, with headers naming the
 * error and the original topic, partition and offset. Each send is acknowledged by all in-sync replicas before
 * it resolves: only then may the sink commit past the message.
 */
export class DeadLetters {
  private producer: Producer | null = null;
  private ensured = false;

  constructor(
    private readonly kafka: Kafka,
    readonly topic: string,
    private readonly replicationFactor: number,
  ) {}

  async send(origin: Origin, message: ConsumedMessage, error: TributaryError): Promise<void> {
    try {
      if (!this.ensured) {
        await ensureTopics(this.kafka, [{ topic: this.topic, partitions: 1, replicationFactor: this.replicationFactor }]);
        this.ensured = true;
      }
      if (!this.producer) {
        const producer = this.kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
        await producer.connect();
        this.producer = producer;
      }
      await this.producer.send({
        topic: this.topic,
        acks: -1,
        messages: [
          {
            key: message.key,
            value: message.value,
            headers: {
              ...message.headers,
              'tributary.error.code': error.code,
              'tributary.error.message': error.message,
              'tributary.original.topic': origin.topic,
              'tributary.original.partition': String(origin.partition),
              'tributary.original.offset': message.offset,
              'tributary.original.timestamp': message.timestamp,
            },
          },
        ],
      });
    } catch (failure) {
      throw classifyKafkaError(`writing a dead letter to ${this.topic}`, failure);
    }
  }

  async close(): Promise<void> {
    const producer = this.producer;
    this.producer = null;
    await producer?.disconnect().catch(() => undefined);
  }
}
