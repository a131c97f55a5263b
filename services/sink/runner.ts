import { setTimeout as delay } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import { TributaryError, withAction } from '#core/errors.ts';
import type { Logger } from '#core/log.ts';
import { retry } from '#core/retry.ts';
import type { Sink } from '#core/sink.ts';
import type { TableSchema } from '#core/table-schema.ts';
import { consumeGroup, isRebalanceError, matchingTopics, type ConsumedMessage, type PartitionBatch } from '#kafka/consumer.ts';
import { DeadLetters } from '#kafka/dead-letters.ts';
import type { AvroSerde } from '#kafka/serde.ts';
import { groupChanges } from './batch.ts';
import { ChangeDecoder, type DecodedChange } from './decoder.ts';
import type { SinkStatus } from './status.ts';

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
  private readonly decoder: ChangeDecoder;
  private readonly deadLetters: DeadLetters;
  private readonly paused = new Set<string>();
  /** Per partition, the apply and commit of its last queued chunk; a failed one fails whatever waits on it. */
  private readonly lanes = new Map<string, Promise<void>>();
  /** The last prepare queued (see prepare()). */
  private preparing: Promise<void> = Promise.resolve();
  private applies = 0;
  /** Failed attempts the runner's own retries see, for the status and the error metric. */
  private readonly onFailure = (error: TributaryError, retrying: boolean) => this.status?.failed(error, retrying);
  /** Messages set aside in a row: past a hundred, the target itself is at fault, not the messages. */
  private poisonedInARow = 0;

  constructor(
    private readonly kafka: Kafka,
    serde: AvroSerde,
    private readonly sink: Sink,
    private readonly settings: SinkSettings,
    private readonly log: Logger,
    private readonly status?: SinkStatus,
  ) {
    this.decoder = new ChangeDecoder(serde);
    this.deadLetters = new DeadLetters(kafka, settings.deadLetterTopic, settings.replicationFactor);
  }

  async run(signal: AbortSignal): Promise<void> {
    try {
      await this.sink.connect();
      while (!signal.aborted) {
        const topics = await matchingTopics(this.kafka, this.settings.topics);
        this.status?.consuming(topics);
        if (topics.length === 0) {
          this.log.info({ topics: String(this.settings.topics) }, 'no topic matches yet; waiting');
          await delay(this.settings.topicRefreshMs, undefined, { signal }).catch(() => undefined);
          continue;
        }
        this.log.info({ topics }, 'consuming');
        const stopWatching = new AbortController();
        try {
          await consumeGroup(
            this.kafka,
            {
              groupId: this.settings.groupId,
              topics,
              fromBeginning: this.settings.startFrom === 'earliest',
              maxWaitMs: this.settings.lingerMs,
              minBytes: 1024 * 1024,
              signal,
              restart: this.topicsChanged(topics, stopWatching.signal),
              drain: () => this.drain(),
            },
            (batch) => this.handle(batch, signal),
          );
        } finally {
          stopWatching.abort();
        }
      }
    } finally {
      await this.deadLetters.close();
    }
  }

  /** Resolves when the pattern matches a different set of topics than `current`. */
  private async topicsChanged(current: string[], stop: AbortSignal): Promise<void> {
    if (Array.isArray(this.settings.topics)) return new Promise<void>(() => {});
    while (!stop.aborted) {
      await delay(this.settings.topicRefreshMs, undefined, { signal: stop }).catch(() => undefined);
      if (stop.aborted) break;
      const now = await matchingTopics(this.kafka, this.settings.topics).catch(() => current);
      if (now.join('\n') !== current.join('\n')) return;
    }
    return new Promise<void>(() => {}); // the run ended for another reason: nothing to restart
  }

  /**
   * Decodes a fetched partition batch chunk by chunk and queues each chunk's apply on the partition's lane, which
   * runs one apply at a time, in order, and commits each chunk's offset once the target holds it. The handler
   * returns once its last chunk is queued, so kafkajs fetches the next batch while the target works on it.
   */
  private async handle(batch: PartitionBatch, signal: AbortSignal): Promise<void> {
    if (this.paused.has(batch.topic)) return;
    const laneKey = `${batch.topic}/${batch.partition}`;
    // kafkajs only heartbeats between fetches or when asked: a long outage of the target must not cost the group
    // membership (a rebalance would hand the partition to another instance for no reason).
    const beat = setInterval(() => void batch.heartbeat().catch(() => undefined), 3_000);
    try {
      for (let start = 0; start < batch.messages.length; start += this.settings.maxRows) {
        // SIGTERM: the chunks queued finish and are committed; the rest is left for the next run.
        if (signal.aborted || batch.isStale() || this.paused.has(batch.topic)) return;
        const chunk = batch.messages.slice(start, start + this.settings.maxRows);
        const pending = await this.decodeChunk(batch, chunk, signal);
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
      if (this.paused.has(batch.topic) || batch.isStale()) return;
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

  private async decodeChunk(batch: PartitionBatch, chunk: ConsumedMessage[], signal: AbortSignal): Promise<DecodedChange[]> {
    const pending: DecodedChange[] = [];
    for (const message of chunk) {
      let decoded: DecodedChange | null;
      try {
        const result = this.decoder.decode(batch.topic, message);
        decoded =
          result instanceof Promise
            ? await retry(`decoding ${batch.topic}/${batch.partition}@${message.offset}`, async (attempt) => (attempt === 1 ? result : this.decoder.decode(batch.topic, message)), {
                signal,
                log: this.log,
                maxDelayMs: 5_000,
              })
            : result;
      } catch (error) {
        const failure = error instanceof TributaryError ? error : withAction(`decoding ${batch.topic}/${batch.partition}@${message.offset}`, error);
        if (!isPoison(failure)) throw failure;
        await this.poison(batch, message, failure);
        continue;
      }
      if (decoded) pending.push(decoded);
    }
    return pending;
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
      // retry() rethrows with the action prepended and the code and retriability kept.
      if (error instanceof TributaryError && error.code === 'SINK_SCHEMA_INCOMPATIBLE') {
        // Nothing of this table is applied past the last commit; other topics go on.
        this.log.error({ topic: batch.topic, err: error.message }, 'table paused: its new schema cannot be applied safely; fix the target table and restart the sink');
        this.paused.add(batch.topic);
        this.status?.pausedTopic(batch.topic);
        batch.pauseTopic();
        throw new BatchAbandoned();
      }
      if (!isPoison(error) || signal.aborted) throw error;
      if (pending.length === 1) {
        await this.poison(batch, first.message, error);
        return;
      }
      const half = Math.ceil(pending.length / 2);
      await this.apply(batch, pending.slice(0, half), signal);
      await this.apply(batch, pending.slice(half), signal);
      return;
    }
    if (abandoned) throw new BatchAbandoned();
    this.status?.wrote(pending.length, (performance.now() - started) / 1000);
    this.poisonedInARow = 0;
    this.applies++;
    faultAfterApply(this.applies);
  }

  /** A message that cannot be decoded or applied: to the dead-letter topic, or the sink halts (`onError: halt`). */
  private async poison(batch: PartitionBatch, message: ConsumedMessage, failure: TributaryError): Promise<void> {
    const where = `${batch.topic}/${batch.partition}@${message.offset}`;
    if (++this.poisonedInARow > 100) {
      throw new TributaryError(failure.code, `halting at ${where}: more than 100 messages in a row were refused, so the target is at fault rather than the messages: ${failure.message}`, { cause: failure });
    }
    if (this.settings.onError === 'halt') {
      throw new TributaryError(failure.code, `halting at ${where} (onError: halt): ${failure.message}`, { cause: failure });
    }
    await retry(`writing the dead letter for ${where}`, () => this.deadLetters.send(batch, message, failure), { log: this.log, maxDelayMs: 5_000, onFailure: this.onFailure });
    this.status?.deadLettered(batch.topic);
    this.log.warn({ at: where, code: failure.code, err: failure.message, deadLetterTopic: this.deadLetters.topic }, 'message sent to the dead-letter topic');
  }
}

/**
 * What one message can cause and set aside: it cannot be decoded, or the target refuses its values. Outages are
 * retried instead, and anything else (a bug, a refused schema) stops the sink rather than emptying the topic into
 * the dead letters.
 */
function isPoison(error: unknown): error is TributaryError {
  return error instanceof TributaryError && !error.retriable && ['DECODE_FAILED', 'TARGET_REJECTED', 'VALUE_INVALID', 'SCHEMA_UNSUPPORTED'].includes(error.code);
}

/**
 * Fault injection for the crash tests: `TRIBUTARY_TEST_KILL_AFTER_APPLY=N` kills the process right after its N-th
 * apply, between the target commit and the offset commit, the window a crash test must hit.
 */
function faultAfterApply(applies: number): void {
  const at = Number(process.env.TRIBUTARY_TEST_KILL_AFTER_APPLY ?? 0);
  if (at > 0 && applies === at) process.kill(process.pid, 'SIGKILL');
}
