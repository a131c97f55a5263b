import type { MessageBatch } from '#kafka/message-batch.ts';

/** What the writer needs of a producer: ThreadedProducer (services/kafka/threaded-producer.ts). */
export interface BatchProducer {
  batch(): MessageBatch;
  send(batch: MessageBatch): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

export interface WriterLimits {
  /** Messages sent to the open Kafka transaction at once. */
  messages: number;
  /** Bytes sent at once; Kafka refuses a partition's record batch above the broker's `message.max.bytes`. */
  bytes: number;
  /**
   * Sends and commits posted to the producer thread and not yet answered. The thread runs them one at a time (the
   * idempotent producer's sequence numbers allow no more); the others wait there, so that it never idles between
   * them, and the capture goes on reading while a commit's markers are written.
   */
  inFlight: number;
}

/**
 * The capture's Kafka transactions as a stream of requests to the producer thread: messages go into the current
 * batch, a full batch is sent into the open transaction while the next one fills, and a commit follows the sends
 * of its transaction. Nothing waits for an answer until more than `inFlight` are outstanding, or `drain`; a failure
 * is thrown there, never lost, and the producer thread refuses every send and commit after it until `abort`.
 */
export class TransactionWriter {
  /** The batch being filled; encoders append to it directly. */
  batch: MessageBatch;
  /**
   * Rejects with the first failure of anything posted, for a caller waiting on something else (the source, while
   * idle) to hear of it at once instead of at the next wait for room.
   */
  readonly failed: Promise<never>;
  private reportFailure!: (error: unknown) => void;
  /** Whether something was sent since the last commit. */
  private open = false;
  private readonly inFlight: Array<Promise<void>> = [];

  constructor(
    private readonly producer: BatchProducer,
    private readonly limits: WriterLimits,
  ) {
    this.batch = producer.batch();
    this.failed = new Promise<never>((_, reject) => (this.reportFailure = reject));
    this.failed.catch(() => undefined);
  }

  get full(): boolean {
    return this.batch.messages >= this.limits.messages || this.batch.bytes >= this.limits.bytes;
  }

  /** Sends the current batch into the open transaction (the producer thread begins one if needed). */
  async flush(): Promise<void> {
    if (this.batch.messages === 0) return;
    await this.room();
    this.post(this.producer.send(this.batch));
    this.batch = this.producer.batch();
    this.open = true;
  }

  /**
   * Sends what is pending and posts the commit of the open transaction. It is durable once `drain` (or a later
   * wait for room) has returned without a failure; `committed` is called then, in commit order.
   */
  async commit(committed?: () => void): Promise<void> {
    await this.flush();
    if (!this.open) return;
    await this.room();
    // Invariant: the producer thread commits only if every send of this transaction succeeded (it refuses otherwise);
    // nothing of the transaction is visible to read_committed consumers before that, and all of it after.
    const commit = this.producer.commit();
    this.post(committed ? commit.then(committed) : commit);
    this.open = false;
  }

  /** Waits until every send and commit posted is answered, throwing the first failure. */
  async drain(): Promise<void> {
    while (this.inFlight.length > 0) await this.inFlight.shift();
  }

  /** Abandons the open transaction after a failure, once what was posted has ended; what was pending is dropped. */
  async abort(): Promise<void> {
    await Promise.allSettled(this.inFlight.splice(0));
    this.batch = this.producer.batch();
    this.open = false;
    await this.producer.abort();
  }

  private async room(): Promise<void> {
    while (this.inFlight.length >= this.limits.inFlight) await this.inFlight.shift();
  }

  private post(request: Promise<void>): void {
    // Thrown where it is awaited (room or drain) and through `failed`, never as an unhandled rejection.
    request.catch((error: unknown) => this.reportFailure(error));
    this.inFlight.push(request);
  }
}
