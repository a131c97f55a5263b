import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { TributaryError, type ErrorCode } from '#core/errors.ts';
import type { KafkaConnection } from './client.ts';
import { MessageBatch, type BatchBuffers, type EncodedBatch } from './message-batch.ts';

type Request = { op: 'connect' | 'commit' | 'abort' | 'close' } | { op: 'send'; batch: EncodedBatch };
export type ProducerRequest = Request & { id: number };

/** An error as it crosses from the producer thread: what TributaryError needs, and its cause for the logs. */
export interface ThreadError {
  code: ErrorCode;
  message: string;
  retriable: boolean;
  stack: string;
  cause?: { name: string; message: string; type?: string | undefined; stack?: string | undefined };
}

export type ProducerReply = { id: number; ok: true; buffers?: BatchBuffers } | { id: number; ok: false; error: ThreadError };

// From the sources, the thread's code is TypeScript like the rest, and a worker does not inherit the main thread's
// tsx loader (bin/tributary.js registers it there): the thread registers tsx itself before loading its module, with
// tsx's require hook, not its ESM loader (that one would start a loader thread, and a V8 heap, of its own). The built
// bundle (npm run build) has the thread as dist/producer-thread.js beside this code, and loads it as it is.
const BUILT = import.meta.url.endsWith('.js');
const THREAD: { code: string | URL; eval: boolean } = BUILT ? { code: new URL('./producer-thread.js', import.meta.url), eval: false } : { code: tsxBoot(), eval: true };

function tsxBoot(): string {
  const require = createRequire(import.meta.url);
  return `require(${JSON.stringify(require.resolve('tsx/cjs/api'))}).register(); require(${JSON.stringify(fileURLToPath(new URL('./producer-thread.ts', import.meta.url)))});`;
}

const SPARES = 4;
const SPARE_BYTES = 4 * 1024 * 1024;

/**
 * A TransactionalProducer on a thread of its own, with the same transactional semantics (one transactional id,
 * fencing on connect, abort after any failure). What kafkajs does per message (partitioning, record encoding,
 * CRC32C) and per send (the request and its round trip) then runs beside the capture's reading and encoding instead
 * of after it, on the machine's other core. Batches cross as transferred buffers (message-batch.ts). Requests run in
 * the order they are posted, one at a time; each answer settles its own promise.
 */
export class ThreadedProducer {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: (reply: ProducerReply & { ok: true }) => void; reject: (error: Error) => void }>();
  private nextId = 0;
  /** Set once the thread is gone: every request from then on fails with it. */
  private gone: TributaryError | null = null;
  /** Buffers of sent batches, written again by the next batches: the same few buffers all along. */
  private readonly spare: BatchBuffers[] = [];
  private closing: Promise<void> | null = null;

  private constructor(connection: KafkaConnection, readonly transactionalId: string) {
    this.worker = new Worker(THREAD.code, {
      eval: THREAD.eval,
      workerData: { connection, transactionalId },
      // What the thread allocates per message dies young and is little (the batch arrives as one buffer): a young
      // generation a quarter of V8's default does, and keeps the process's memory down.
      resourceLimits: { maxYoungGenerationSizeMb: 8 },
    });
    this.worker.on('message', (reply: ProducerReply) => this.settle(reply));
    this.worker.on('error', (error) => this.fail(`the Kafka producer thread failed: ${error.message}`, error));
    this.worker.on('exit', (code) => this.fail(`the Kafka producer thread exited (code ${code})`));
    this.worker.unref();
  }

  /** Starts the thread and connects its producer, which fences any earlier producer with the same transactional id. */
  static async start(connection: KafkaConnection, transactionalId: string): Promise<ThreadedProducer> {
    const producer = new ThreadedProducer(connection, transactionalId);
    try {
      await producer.request({ op: 'connect' });
    } catch (error) {
      await producer.close();
      throw error;
    }
    return producer;
  }

  /** An empty batch to fill and `send`. */
  batch(): MessageBatch {
    return new MessageBatch(this.spare.pop());
  }

  /**
   * Sends `batch` into the open transaction, beginning one if none is open; `batch` must not be used afterwards
   * (its buffers move to the thread).
   */
  async send(batch: MessageBatch): Promise<void> {
    const encoded = batch.encoded();
    const reply = await this.request({ op: 'send', batch: encoded }, [encoded.data, encoded.index]);
    // A batch that grew for a huge row is not kept: the spares would hold that much memory for good.
    if (reply.buffers && this.spare.length < SPARES && reply.buffers.data.byteLength <= SPARE_BYTES) this.spare.push(reply.buffers);
  }

  /** Commits the open transaction once every send posted before it is done; fails if any of them failed. */
  async commit(): Promise<void> {
    await this.request({ op: 'commit' });
  }

  /** Aborts the open transaction, if any. Never throws: an abort follows a failure that is reported already. */
  async abort(): Promise<void> {
    await this.request({ op: 'abort' }).catch(() => undefined);
  }

  /** Safe to call more than once. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.request({ op: 'close' }).catch(() => undefined);
      this.gone ??= new TributaryError('INTERNAL', 'the Kafka producer was used after it was closed');
      await this.worker.terminate();
    })();
    return this.closing;
  }

  private request(request: Request, transfer: ArrayBuffer[] = []): Promise<ProducerReply & { ok: true }> {
    if (this.gone) return Promise.reject(this.gone);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      // Referenced only while an answer is awaited: an idle producer does not keep the process alive.
      if (this.waiting.size === 1) this.worker.ref();
      this.worker.postMessage({ ...request, id }, transfer);
    });
  }

  private settle(reply: ProducerReply): void {
    const waiter = this.waiting.get(reply.id);
    if (!waiter) return;
    this.waiting.delete(reply.id);
    if (this.waiting.size === 0) this.worker.unref();
    if (reply.ok) waiter.resolve(reply);
    else waiter.reject(fromThread(reply.error));
  }

  private fail(message: string, cause?: unknown): void {
    this.gone ??= new TributaryError('INTERNAL', message, cause === undefined ? {} : { cause });
    for (const waiter of this.waiting.values()) waiter.reject(this.gone);
    this.waiting.clear();
  }
}

function fromThread(error: ThreadError): TributaryError {
  const cause = error.cause ? Object.assign(new Error(error.cause.message), error.cause) : undefined;
  const recreated = new TributaryError(error.code, error.message, { retriable: error.retriable, ...(cause ? { cause } : {}) });
  recreated.stack = error.stack;
  return recreated;
}
