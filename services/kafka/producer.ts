import { Partitioners, type Kafka, type Message, type Producer } from 'kafkajs';
import { classifyKafkaError } from './errors.ts';

export interface TopicMessages {
  topic: string;
  messages: Message[];
}

/**
 * An idempotent, transactional producer: everything passed to one `commit` call becomes visible to
 * read_committed consumers together, or not at all. One transactional id per capture, so a restarted capture
 * fences its previous incarnation's open transaction.
 */
export class TransactionalProducer {
  private constructor(private readonly producer: Producer, readonly transactionalId: string) {}

  static async connect(kafka: Kafka, transactionalId: string): Promise<TransactionalProducer> {
    const producer = kafka.producer({
      transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: 60_000,
      // Murmur2, as the Java client: a key lands on the partition any other Kafka producer would choose.
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    try {
      await producer.connect();
    } catch (error) {
      throw classifyKafkaError(`connecting transactional producer "${transactionalId}"`, error);
    }
    return new TransactionalProducer(producer, transactionalId);
  }

  /** Sends all batches in one transaction and commits it; on any failure the transaction is aborted. */
  async commit(batches: TopicMessages[]): Promise<void> {
    const transaction = await this.producer.transaction();
    try {
      await transaction.sendBatch({ topicMessages: batches });
      // Invariant: nothing of this transaction is visible to read_committed consumers until this commit returns.
      await transaction.commit();
    } catch (error) {
      await transaction.abort().catch(() => undefined);
      throw classifyKafkaError(`producing a transaction of ${batches.length} topic batches`, error);
    }
  }

  /** Sends all batches in one transaction and aborts it: for tests of what read_committed consumers never see. */
  async abort(batches: TopicMessages[]): Promise<void> {
    const transaction = await this.producer.transaction();
    await transaction.sendBatch({ topicMessages: batches });
    await transaction.abort();
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}
