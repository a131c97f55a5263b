import type { Kafka, Message, Producer, Transaction } from 'kafkajs';
import { classifyKafkaError } from './errors.ts';
import { JavaCompatiblePartitioner } from './partitioner.ts';

export interface TopicMessages {
  topic: string;
  messages: Message[];
}

/** An open Kafka transaction: batches sent to it stay invisible to read_committed consumers until `commit`. */
export interface OpenTransaction {
  send(batches: TopicMessages[]): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

/**
 * An idempotent, transactional producer. One transactional id per capture, so a restarted capture fences its
 * previous incarnation and aborts whatever transaction that one left open.
 */
export class TransactionalProducer {
  private constructor(private readonly producer: Producer, readonly transactionalId: string) {}

  static async connect(kafka: Kafka, transactionalId: string): Promise<TransactionalProducer> {
    const producer = kafka.producer({
      transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      // One source transaction is one Kafka transaction, so this bounds how long a single source transaction may
      // take to publish (a million rows takes about 40 s here). The broker allows up to 15 minutes by default.
      transactionTimeout: 300_000,
      // Murmur2, as the Java client: a key lands on the partition any other Kafka producer would choose.
      createPartitioner: JavaCompatiblePartitioner,
      // A transaction that begins right after a commit is refused (CONCURRENT_TRANSACTIONS) until the broker has
      // written the commit markers, a few milliseconds; kafkajs's default first retry after 300 ms would idle
      // the capture for most of each commit.
      retry: { initialRetryTime: 10, maxRetryTime: 5_000, retries: 15 },
    });
    try {
      await producer.connect();
      // kafkajs's connect() initialises only its idempotent, non-transactional producer id: the transactional id is
      // registered with the coordinator (bumping its epoch, which fences the previous incarnation and aborts the
      // transaction that one left open) at the first transaction(). Beginning and abandoning an empty one does it
      // now, so that the caller's next read_committed read sees everything that incarnation left, final. An empty
      // transaction's abort sends nothing.
      const fence = await producer.transaction();
      await fence.abort();
    } catch (error) {
      await producer.disconnect().catch(() => undefined);
      throw classifyKafkaError(`connecting transactional producer "${transactionalId}"`, error);
    }
    return new TransactionalProducer(producer, transactionalId);
  }

  /** Opens a transaction to which any number of batches can be sent before it commits: memory stays bounded. */
  async begin(): Promise<OpenTransaction> {
    let transaction: Transaction;
    try {
      transaction = await this.producer.transaction();
    } catch (error) {
      throw classifyKafkaError('beginning a Kafka transaction', error);
    }
    return {
      send: async (batches) => {
        if (batches.length === 0) return;
        try {
          await transaction.sendBatch({ topicMessages: batches });
        } catch (error) {
          throw classifyKafkaError(`producing ${batches.length} topic batches`, error);
        }
      },
      commit: async () => {
        try {
          // Invariant: nothing of this transaction is visible to read_committed consumers until this returns.
          await transaction.commit();
        } catch (error) {
          throw classifyKafkaError('committing a Kafka transaction', error);
        }
      },
      abort: async () => {
        await transaction.abort().catch(() => undefined);
      },
    };
  }

  /** Sends all batches in one transaction and commits it; on any failure the transaction is aborted. */
  async commit(batches: TopicMessages[]): Promise<void> {
    const transaction = await this.begin();
    try {
      await transaction.send(batches);
      await transaction.commit();
    } catch (error) {
      await transaction.abort();
      throw error;
    }
  }

  /** Sends all batches in one transaction and aborts it: for tests of what read_committed consumers never see. */
  async abort(batches: TopicMessages[]): Promise<void> {
    const transaction = await this.begin();
    await transaction.send(batches);
    await transaction.abort();
  }

  async close(): Promise<void> {
    await this.producer.disconnect();
  }
}
