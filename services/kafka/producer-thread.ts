import { parentPort, workerData } from 'node:worker_threads';
import { TributaryError } from '#core/errors.ts';
import { createKafka, type KafkaConnection } from './client.ts';
import { topicMessages } from './message-batch.ts';
import { TransactionalProducer, type OpenTransaction } from './producer.ts';
import type { ProducerReply, ProducerRequest, ThreadError } from './threaded-producer.ts';

// The producer thread of a ThreadedProducer (threaded-producer.ts): owns one TransactionalProducer and runs the
// requests of the capture's thread strictly one after another, in the order they were posted.

const { connection, transactionalId } = workerData as { connection: KafkaConnection; transactionalId: string };
const port = parentPort;
if (!port) throw new Error('producer-thread.ts runs only as a worker thread');

let producer: TransactionalProducer | null = null;
let transaction: OpenTransaction | null = null;
/** The first failure inside the open transaction: it may never commit after it, only abort. */
let failed: TributaryError | null = null;

async function handle(request: ProducerRequest): Promise<ProducerReply> {
  switch (request.op) {
    case 'connect':
      producer = await TransactionalProducer.connect(createKafka(connection), transactionalId);
      return { id: request.id, ok: true };
    case 'send': {
      // The first send after a commit or an abort begins the next transaction: no round trip between the threads.
      const open = inTransaction() ?? (transaction = await connected().begin());
      await failing(open.send(topicMessages(request.batch)));
      // kafkajs has copied the messages into its request: the buffers go back to be written again.
      return { id: request.id, ok: true, buffers: { data: request.batch.data, index: request.batch.index } };
    }
    case 'commit': {
      const open = inTransaction();
      if (!open) throw new TributaryError('INTERNAL', 'a Kafka transaction was committed before anything was sent to it');
      await failing(open.commit());
      transaction = null;
      return { id: request.id, ok: true };
    }
    case 'abort':
      await transaction?.abort();
      transaction = null;
      failed = null;
      return { id: request.id, ok: true };
    case 'close':
      await producer?.close();
      producer = null;
      return { id: request.id, ok: true };
  }
}

/** Runs a step of the open transaction; its failure leaves it able only to abort. */
async function failing(step: Promise<void>): Promise<void> {
  try {
    await step;
  } catch (error) {
    failed = error instanceof TributaryError ? error : new TributaryError('INTERNAL', String(error), { cause: error });
    throw error;
  }
}

function connected(): TransactionalProducer {
  if (!producer) throw new TributaryError('INTERNAL', 'the producer thread was used before it connected');
  return producer;
}

/** The open transaction, if any; none once a step of it failed. */
function inTransaction(): OpenTransaction | null {
  // Invariant: a transaction in which a send or the commit failed never commits, and nothing more is sent until
  // it is aborted: every later send and commit fails with the first failure.
  if (failed) throw new TributaryError(failed.code, `an earlier step of this Kafka transaction failed: ${failed.message}`, { retriable: failed.retriable });
  return transaction;
}

function describe(error: unknown): ThreadError {
  const tributary = error instanceof TributaryError ? error : new TributaryError('INTERNAL', String((error as Error)?.message ?? error), { cause: error });
  const cause = tributary.cause as { name?: string; message?: string; type?: string; stack?: string } | undefined;
  return {
    code: tributary.code,
    message: tributary.message,
    retriable: tributary.retriable,
    stack: tributary.stack ?? '',
    ...(cause ? { cause: { name: cause.name ?? 'Error', message: cause.message ?? String(cause), type: cause.type, stack: cause.stack } } : {}),
  };
}

let queue: Promise<void> = Promise.resolve();
port.on('message', (request: ProducerRequest) => {
  queue = queue.then(async () => {
    let reply: ProducerReply;
    try {
      reply = await handle(request);
    } catch (error) {
      reply = { id: request.id, ok: false, error: describe(error) };
    }
    if (reply.ok && reply.buffers) port.postMessage(reply, [reply.buffers.data, reply.buffers.index]);
    else port.postMessage(reply);
    if (request.op === 'close') port.close();
  });
});
