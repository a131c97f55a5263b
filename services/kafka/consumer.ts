import type { Consumer, IHeaders, Kafka } from 'kafkajs';
import { TributaryError } from '#core/errors.ts';
import { withAdmin } from './admin.ts';
import { classifyKafkaError } from './errors.ts';

/** A message as kafkajs fetched it, passed on without a copy (this is per message on the sink's hot path). */
export interface ConsumedMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers?: IHeaders;
  timestamp: string;
}

/** A header's (first) value as text, or undefined when the message does not have it. */
export function headerText(message: Pick<ConsumedMessage, 'headers'>, name: string): string | undefined {
  const value = message.headers?.[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}

/** What a batch handler may do with the partition it was given. */
export interface PartitionBatch {
  topic: string;
  partition: number;
  messages: ConsumedMessage[];
  /** The partition's end offset when the batch was fetched. */
  highWatermark: string;
  /**
   * Moves the fetch position past `last` without committing anything, so that the next fetch of this partition
   * runs while the messages up to `last` are still being applied.
   */
  resolve(last: string): void;
  /** Commits `next` (the offset of the first message not yet applied) for this partition. */
  commit(next: string): Promise<void>;
  /** Ends the run with an error found after the handler returned (in an apply it left running). */
  fail(error: unknown): void;
  /** True once a rebalance took the partition away: stop, commit nothing more. */
  isStale(): boolean;
  heartbeat(): Promise<void>;
  /** Stops fetching this topic until the consumer restarts (a table the sink cannot apply safely). */
  pauseTopic(): void;
}

export interface GroupConsumerOptions {
  groupId: string;
  topics: string[];
  fromBeginning: boolean;
  /** How long the broker may hold a fetch to gather `minBytes`: the batch linger. */
  maxWaitMs: number;
  minBytes: number;
  signal: AbortSignal;
  /** Resolves when the run should end so that the caller can subscribe again (e.g. new topics appeared). */
  restart?: Promise<void>;
  /**
   * Called once when the run ends, after the handler in progress returned and while the consumer is still a
   * member of the group: the caller finishes the work its handlers left running and commits it.
   */
  drain?: () => Promise<void>;
}

/**
 * Runs a consumer group over `topics` in read_committed mode with manual offset commits, handing each fetched
 * partition batch to `handle`. Resolves when the signal aborts or `restart` resolves, after the batch in flight
 * is finished and `drain` has run; rejects with the first error a handler threw or reported, or the consumer
 * crashed with.
 */
export async function consumeGroup(kafka: Kafka, options: GroupConsumerOptions, handle: (batch: PartitionBatch) => Promise<void>): Promise<void> {
  const consumer: Consumer = kafka.consumer({
    groupId: options.groupId,
    readUncommitted: false,
    maxWaitTimeInMs: options.maxWaitMs,
    minBytes: options.minBytes,
    // Fetches big enough for several batches of a partition, so that decoding overlaps the target's writes;
    // they also bound the sink's memory (kafkajs holds one fetch at a time).
    maxBytesPerPartition: 8 * 1024 * 1024,
    maxBytes: 16 * 1024 * 1024,
    retry: { retries: 5 },
    // A crashed instance's partitions move to the others after 10 s instead of kafkajs's 30 s; a live one
    // heartbeats every 3 s, even while it retries a target that is down (see SinkRunner).
    sessionTimeout: 10_000,
    heartbeatInterval: 3_000,
  });
  let failure: unknown;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  let stopping = false;
  /** The handler call in progress: the run waits for it before draining. */
  let handling: Promise<void> = Promise.resolve();
  const fail = (error: unknown) => {
    failure ??= error;
    finish();
  };
  const onAbort = () => finish();
  options.signal.addEventListener('abort', onAbort, { once: true });
  void options.restart?.then(() => finish());
  // The partitions this member was last assigned: an apply that outlives a rebalance which moved its partition
  // elsewhere commits nothing (the new owner re-applies from the last commit).
  let assigned: Set<string> | null = null;
  consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
    assigned = new Set(Object.entries(payload.memberAssignment).flatMap(([topic, partitions]) => partitions.map((p) => `${topic}/${p}`)));
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    // kafkajs restarts itself after retriable crashes; a crash it will not restart from ends the run.
    if (!payload.restart) fail(payload.error);
  });

  try {
    await consumer.connect();
    await consumer.subscribe({ topics: options.topics, fromBeginning: options.fromBeginning });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, heartbeat, isStale, isRunning, resolveOffset }) => {
        if (stopping || failure || options.signal.aborted || !isRunning()) return;
        handling = handle({
            topic: batch.topic,
            partition: batch.partition,
            messages: batch.messages as ConsumedMessage[],
            highWatermark: batch.highWatermark,
            // Resolving moves kafkajs's fetch position past the batch; without it the same messages come again.
            // With autoCommit off, kafkajs never commits resolved offsets on its own.
            resolve: (last) => resolveOffset(last),
            commit: async (next) => {
              await consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next }]);
            },
            fail,
            isStale: () => isStale() || !isRunning() || !(assigned?.has(`${batch.topic}/${batch.partition}`) ?? true),
            heartbeat,
            pauseTopic: () => consumer.pause([{ topic: batch.topic }]),
          }).catch(fail);
        await handling;
      },
    });
    await finished;
    stopping = true;
    await handling;
    await options.drain?.().catch(fail);
  } catch (error) {
    failure ??= error;
  } finally {
    options.signal.removeEventListener('abort', onAbort);
    // Waits for the batch in flight to finish: SIGTERM ends with it applied and committed.
    await consumer.disconnect().catch(() => undefined);
  }
  if (failure) throw classifyKafkaError(`consuming as group "${options.groupId}"`, failure);
}

/** Topics that exist now and match the selection (a list is taken as it is; a pattern is matched against all). */
export async function matchingTopics(kafka: Kafka, selection: string[] | RegExp): Promise<string[]> {
  if (Array.isArray(selection)) return selection;
  const all = await withAdmin(kafka, (admin) => admin.listTopics()).catch((error: unknown) => {
    throw classifyKafkaError('listing topics', error);
  });
  return all.filter((topic) => selection.test(topic)).sort();
}

/** Commits would move a group's offsets under a rebalance; these errors mean the partition is no longer ours. */
export function isRebalanceError(error: unknown): boolean {
  const cause = error instanceof TributaryError ? error.cause : error;
  const type = (cause as { type?: string } | undefined)?.type ?? '';
  return ['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'NOT_COORDINATOR'].includes(type);
}
