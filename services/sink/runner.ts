import type { Kafka } from 'kafkajs';
import { TributaryError } from '#core/errors.ts';
import type { Logger } from '#core/log.ts';
import { retry } from '#core/retry.ts';
import type { Sink } from '#core/sink.ts';
import type { TableSchema } from '#core/table-schema.ts';
import { consumeGroup, isRebalanceError, type ConsumedMessage, type PartitionBatch } from '#kafka/consumer.ts';
import type { AvroSerde } from '#kafka/serde.ts';
import { groupChanges } from './batch.ts';
import type { DecodedChange } from './decoder.ts';
import { isPoison, MessageIntake } from './intake.ts';
import type { SinkStatus } from './status.ts';
import { consumeMatchingTopics, sinkGroupOptions } from './topic-loop.ts';

export interface SinkSettings {
  name: string;
  /** The consumer group: the sink's checkpoint is this group's committed offsets. */
  groupId: string;
  topics: string[] | RegExp;
  startFrom: 'earliest' | 'latest';
  maxRows: number;
  lingerMs: number;
  onError: 'dlq' | 'halt';
  deadLetterTopic: string;
  replicationFactor: number;
  /** How often a topic pattern is matched again, so that new tables' topics are picked up. */
  topicRefreshMs: number;
}


/** The batch stops here: its partition was taken away or its table paused; nothing more is committed. */
class BatchAbandoned extends Error {}

/**
 * Runs one Sink from a consumer group: fetches per partition, decodes, applies in batches of at most `maxRows`
 * changes, and commits the offset after each batch only once the target holds it. A crash anywhere re-delivers
 * from the last commit, and re-applying is harmless (each target row keeps the position that wrote it).
 */
export class SinkRunner {
  private readonly intake: MessageIntake;
  /** Per partition, the apply and commit of its last queued chunk; a failed one fails whatever waits on it. */
  private readonly lanes = new Map<string, Promise<void>>();
  /** The last prepare queued (see prepare()). */
  private preparing: Promise<void> = Promise.resolve();
  private applies = 0;
  /** Failed attempts the runner's own retries see, for the status and the error metric. */
  private readonly onFailure = (error: TributaryError, retrying: boolean) => this.status?.failed(error, retrying);

  constructor(
    private readonly kafka: Kafka,
    serde: AvroSerde,
    private readonly sink: Sink,
    private readonly settings: SinkSettings,
    private readonly log: Logger,
    private readonly status?: SinkStatus,
  ) {
    this.intake = new MessageIntake(kafka, serde, settings, log, status, this.onFailure);
  }

  async run(signal: AbortSignal): Promise<void> {
    try {
      await this.sink.connect();
      await consumeMatchingTopics(this.kafka, this.settings, this.log, this.status, signal, (topics, restart) =>
        consumeGroup(this.kafka, sinkGroupOptions(this.settings, topics, signal, restart, () => this.drain()), (batch) => this.handle(batch, signal)),
      );
    } finally {
      await this.intake.close();
    }
  }

  /**
   * Decodes a fetched partition batch chunk by chunk and queues each chunk's apply on the partition's lane, which
   * runs one apply at a time, in order, and commits each chunk's offset once the target holds it. The handler
   * returns once its last chunk is queued, so kafkajs fetches the next batch while the target works on it.
   */
  private async handle(batch: PartitionBatch, signal: AbortSignal): Promise<void> {
    if (this.intake.isPaused(batch.topic)) return;
    const laneKey = `${batch.topic}/${batch.partition}`;
    // kafkajs only heartbeats between fetches or when asked: a long outage of the target must not cost the group
    // membership (a rebalance would hand the partition to another instance for no reason).
    const beat = setInterval(() => void batch.heartbeat().catch(() => undefined), 3_000);
    try {
      for (let start = 0; start < batch.messages.length; start += this.settings.maxRows) {
        // SIGTERM: the chunks queued finish and are committed; the rest is left for the next run.
        if (signal.aborted || batch.isStale() || this.intake.isPaused(batch.topic)) return;
        const chunk = batch.messages.slice(start, start + this.settings.maxRows);
        const pending = await this.intake.decodeChunk(batch, chunk, signal);
        // One chunk applying while this one was decoded: wait for it before queuing the next (memory stays bounded).
        // A chunk that failed stops its partition here: nothing after it is applied, so no offset passes it.
        await this.lanes.get(laneKey);
        const lastMessage = chunk.at(-1) as ConsumedMessage;
        const last = lastMessage.offset;
        const lane = this.applyAndCommit(batch, pending, lastMessage, signal);
        // Reported at once (the run ends with it), and again to whoever waits on the lane next.
        lane.catch((error: unknown) => batch.fail(error));
        this.lanes.set(laneKey, lane);
        batch.resolve(last);
      }
    } finally {
      clearInterval(beat);
    }
  }

  /**
   * Applies one chunk and commits the offset after `lastMessage`, its last; a chunk abandoned (partition taken away,
   * table paused) commits nothing.
   */
  private async applyAndCommit(batch: PartitionBatch, pending: DecodedChange[], lastMessage: ConsumedMessage, signal: AbortSignal): Promise<void> {
    const next = (BigInt(lastMessage.offset) + 1n).toString();
    try {
      if (this.intake.isPaused(batch.topic) || batch.isStale()) return;
      await this.apply(batch, pending, signal);
    } catch (error) {
      if (error instanceof BatchAbandoned) return;
      throw error;
    }
    // A rebalance moved the partition while this chunk was applied: its new owner commits from now on.
    if (batch.isStale()) return;
    try {
      // Invariant: every change before `next` is durable in the target (or in the dead-letter topic).
      await batch.commit(next);
    } catch (error) {
      if (isRebalanceError(error)) return; // the new owner re-applies from the last commit: harmless
      throw error;
    }
    this.status?.committed(batch.topic, batch.partition, next, batch.highWatermark, pending, lastMessage.timestamp);
  }

  /**
   * Waits for every queued apply and its commit: the end of a run (SIGTERM, new topics) loses nothing applied.
   * Every lane settles before this returns; the first failure is thrown (it was reported already).
   */
  private async drain(): Promise<void> {
    const lanes = [...this.lanes.values()];
    this.lanes.clear();
    const failed = (await Promise.allSettled(lanes)).find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /**
   * The sink's prepare, one at a time: partitions apply concurrently, and two of them meeting a new schema version
   * of one table must not both alter it.
   */
  private prepare(table: TableSchema): Promise<void> {
    const prepared = this.preparing.then(() => this.sink.prepare(table));
    this.preparing = prepared.catch(() => undefined);
    return prepared;
  }

  /** Applies `pending` in one target transaction; a change the target refuses is found by halving and set aside. */
  private async apply(batch: PartitionBatch, pending: DecodedChange[], signal: AbortSignal): Promise<void> {
    if (pending.length === 0) return;
    const first = pending[0] as DecodedChange;
    const last = pending.at(-1) as DecodedChange;
    const token = `${this.settings.groupId}/${batch.topic}/${batch.partition}/${first.message.offset}-${last.message.offset}`;
    const groups = groupChanges(pending);
    let abandoned = false;
    const started = performance.now();
    try {
      await retry(
        `applying ${batch.topic}/${batch.partition} offsets ${first.message.offset}-${last.message.offset} to sink "${this.settings.name}"`,
        async () => {
          // A rebalance during an outage gave the partition to another instance: it applies from the last commit.
          if (batch.isStale()) {
            abandoned = true;
            return;
          }
          for (const group of groups) await this.prepare(group.table);
          await this.sink.apply(groups, token);
        },
        { signal, log: this.log, maxDelayMs: 5_000, onFailure: this.onFailure },
      );
    } catch (error) {
      if (this.intake.pauseIfIncompatible(batch, error, 'its new schema cannot be applied safely; fix the target table and restart the sink')) throw new BatchAbandoned();
      if (!isPoison(error) || signal.aborted) throw error;
      if (pending.length === 1) {
        await this.intake.poison(batch, first.message, error);
        return;
      }
      const half = Math.ceil(pending.length / 2);
      await this.apply(batch, pending.slice(0, half), signal);
      await this.apply(batch, pending.slice(half), signal);
      return;
    }
    if (abandoned) throw new BatchAbandoned();
    this.status?.wrote(pending.length, (performance.now() - started) / 1000);
    this.intake.written();
    this.applies++;
    faultAfterApply(this.applies);
  }
}

/**
 * Fault injection for the crash tests: `TRIBUTARY_TEST_KILL_AFTER_APPLY=N` kills the process right after its N-th
 * apply, between the target commit and the offset commit, the window a crash test must hit.
 */
function faultAfterApply(applies: number): void {
  const at = Number(process.env.TRIBUTARY_TEST_KILL_AFTER_APPLY ?? 0);
  if (at > 0 && applies === at) process.kill(process.pid, 'SIGKILL');
}
