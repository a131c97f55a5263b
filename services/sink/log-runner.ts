import type { Kafka } from 'kafkajs';
import { TributaryError } from '#core/errors.ts';
import type { Logger } from '#core/log.ts';
import type { LogFlush, LogPartition, LogRecord, LogSink } from '#core/log-sink.ts';
import { consumeGroup, isRebalanceError, type ConsumedMessage, type PartitionBatch } from '#kafka/consumer.ts';
import type { AvroSerde } from '#kafka/serde.ts';
import type { DecodedChange } from './decoder.ts';
import { MessageIntake } from './intake.ts';
import type { SinkSettings } from './runner.ts';
import { countApplied, type AppliedCounts, type SinkStatus } from './status.ts';
import { consumeMatchingTopics, sinkGroupOptions } from './topic-loop.ts';

/** How often open files are checked for their age (the sink decides with its rollMs) and lanes for staleness. */
const TICK_MS = 1_000;

/** One assigned partition: its operations run one at a time, in order, on `work`. */
interface Lane {
  partition: LogPartition;
  /** The latest batch of the partition: commits go through it, and its isStale() says when the partition left. */
  batch: PartitionBatch;
  work: Promise<void>;
  /** The last offset handed to the sink: a batch starting at or before it means the fetch went back (a rebalance). */
  lastHanded: bigint | null;
  committed: string | null;
  /** Records made durable since the last commit, for the applied metric. */
  counts: AppliedCounts;
  /** Last offset and Kafka timestamp of each chunk handed over since the last commit, for the latency gauge. */
  handed: Array<{ offset: bigint; timestamp: string }>;
  released: boolean;
  tickQueued: boolean;
}

/**
 * Runs a LogSink (the lake) from a consumer group. Unlike SinkRunner it commits not after each batch but when the
 * sink says records became durable (a file was published): between two files the offsets stay uncommitted, and a
 * crash or a rebalance re-reads them from the last commit, which the sink's own skip of offsets it holds makes
 * harmless. Consuming, decoding and dead letters are SinkRunner's (topic-loop.ts, intake.ts).
 */
export class LogSinkRunner {
  private readonly intake: MessageIntake;
  private readonly lanes = new Map<string, Lane>();
  private readonly onFailure = (error: TributaryError, retrying: boolean) => this.status?.failed(error, retrying);

  constructor(
    private readonly kafka: Kafka,
    serde: AvroSerde,
    private readonly sink: LogSink,
    private readonly settings: SinkSettings,
    private readonly log: Logger,
    private readonly status?: SinkStatus,
  ) {
    this.intake = new MessageIntake(kafka, serde, settings, log, status, this.onFailure, { full: true });
  }

  async run(signal: AbortSignal): Promise<void> {
    try {
      await this.sink.connect();
      await consumeMatchingTopics(this.kafka, this.settings, this.log, this.status, signal, async (topics, restart) => {
        const tick = setInterval(() => this.tick(), TICK_MS);
        try {
          const drain = () => {
            clearInterval(tick);
            return this.drain();
          };
          await consumeGroup(this.kafka, sinkGroupOptions(this.settings, topics, signal, restart, drain), (batch) => this.handle(batch, signal));
        } finally {
          clearInterval(tick);
        }
      });
    } finally {
      await this.intake.close();
    }
  }

  /**
   * Decodes a fetched batch chunk by chunk and queues each chunk's append on the partition's lane. As in SinkRunner,
   * the next chunk is queued only once the previous one is written, so memory holds one chunk and the open files'
   * row groups.
   */
  private async handle(batch: PartitionBatch, signal: AbortSignal): Promise<void> {
    if (this.intake.isPaused(batch.topic) || batch.messages.length === 0) return;
    const beat = setInterval(() => void batch.heartbeat().catch(() => undefined), 3_000);
    try {
      let lane = this.lanes.get(laneKey(batch));
      const first = BigInt((batch.messages[0] as ConsumedMessage).offset);
      if (lane && lane.lastHanded !== null && first <= lane.lastHanded) {
        // The fetch went back to the last commit (a rebalance, even one that left the partition here): what the
        // open file holds comes again, so it is dropped and the partition opened afresh.
        const old = lane;
        await this.enqueue(old, () => this.release(old));
        lane = undefined;
      }
      if (!lane || lane.released) lane = this.openLane(batch);
      lane.batch = batch;
      for (let start = 0; start < batch.messages.length; start += this.settings.maxRows) {
        if (signal.aborted || batch.isStale() || this.intake.isPaused(batch.topic)) return;
        const chunk = batch.messages.slice(start, start + this.settings.maxRows);
        // A tombstone follows its delete, which is the row: it has nothing to add to a log.
        const pending = await this.intake.decodeChunk(
          batch,
          chunk.filter((m) => m.value !== null),
          signal,
        );
        await lane.work;
        const last = chunk.at(-1) as ConsumedMessage;
        const target = lane;
        void this.enqueue(lane, () => this.append(target, batch, pending, last));
        batch.resolve(last.offset);
        lane.lastHanded = BigInt(last.offset);
      }
    } finally {
      clearInterval(beat);
    }
  }

  private openLane(batch: PartitionBatch): Lane {
    const partition = { topic: batch.topic, partition: batch.partition };
    const lane: Lane = { partition, batch, work: Promise.resolve(), lastHanded: null, committed: null, counts: new Map(), handed: [], released: false, tickQueued: false };
    this.lanes.set(laneKey(batch), lane);
    void this.enqueue(lane, () => this.sink.open(partition));
    return lane;
  }

  /** Runs `work` after the lane's queued work; a failure ends the run (reported through the lane's batch). */
  private enqueue(lane: Lane, work: () => Promise<void>): Promise<void> {
    const next = lane.work.then(work);
    lane.work = next;
    next.catch((error: unknown) => lane.batch.fail(error));
    return next;
  }

  private async append(lane: Lane, batch: PartitionBatch, pending: DecodedChange[], last: ConsumedMessage): Promise<void> {
    if (lane.released) return;
    if (batch.isStale() || this.intake.isPaused(batch.topic)) return this.release(lane);
    const messages = new Map<LogRecord, ConsumedMessage>();
    const records = pending.map((decoded) => {
      const record = logRecord(decoded);
      messages.set(record, decoded.message);
      return record;
    });
    let result: Awaited<ReturnType<LogSink['append']>>;
    try {
      result = await this.sink.append(lane.partition, records, last.offset);
    } catch (error) {
      if (this.intake.pauseIfIncompatible(batch, error, 'its rows cannot be written to the lake; fix the table or exclude it and restart the sink')) return this.release(lane);
      throw error;
    }
    for (const { record, error } of result.refused) {
      const failure = error instanceof TributaryError ? error : new TributaryError('VALUE_INVALID', error.message);
      await this.intake.poison(batch, messages.get(record) as ConsumedMessage, failure);
    }
    if (result.refused.length < records.length) this.intake.written();
    this.flushed(lane, result.flushed);
    lane.handed.push({ offset: BigInt(last.offset), timestamp: last.timestamp });
    await this.commit(lane);
  }

  /** Queues an age check of every open file, and drops lanes whose partition left. */
  private tick(): void {
    for (const lane of this.lanes.values()) {
      if (lane.tickQueued || lane.released) continue;
      lane.tickQueued = true;
      void this.enqueue(lane, async () => {
        lane.tickQueued = false;
        if (lane.released) return;
        if (lane.batch.isStale()) return this.release(lane);
        this.flushed(lane, await this.sink.flush(lane.partition, false));
        await this.commit(lane);
      });
    }
  }

  /**
   * The end of a run (SIGTERM, new topics) while still a member of the group: every open file is published and
   * committed, so a stop loses no work. A lane that failed is dropped; the first failure is thrown.
   */
  private async drain(): Promise<void> {
    const lanes = [...this.lanes.values()];
    const results = await Promise.allSettled(
      lanes.map((lane) =>
        lane.work.then(async () => {
          if (lane.released) return;
          if (lane.batch.isStale() || this.intake.isPaused(lane.partition.topic)) return this.release(lane);
          this.flushed(lane, await this.sink.flush(lane.partition, true));
          await this.commit(lane);
        }),
      ),
    );
    for (const lane of lanes) await this.release(lane).catch(() => undefined);
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private flushed(lane: Lane, flushed: LogFlush[]): void {
    for (const file of flushed) {
      this.status?.wrote(file.records, file.seconds);
      for (const [op, n] of Object.entries(file.ops)) countApplied(lane.counts, file.table, op === 'd' ? 'delete' : op === 't' ? 'truncate' : 'upsert', n);
    }
  }

  /** Commits what the sink holds durably, when that moved. */
  private async commit(lane: Lane): Promise<void> {
    const next = this.sink.durableEnd(lane.partition);
    if (next === null || next === lane.committed) return;
    // A rebalance moved the partition: its new owner reads from the last commit.
    if (lane.batch.isStale()) return this.release(lane);
    try {
      // Invariant: every message before `next` is in a published, listed file, needs no row, or is a dead letter.
      await lane.batch.commit(next);
    } catch (error) {
      if (isRebalanceError(error)) return this.release(lane);
      throw error;
    }
    lane.committed = next;
    const end = BigInt(next);
    let timestamp = '0';
    while (lane.handed.length > 0 && (lane.handed[0] as { offset: bigint }).offset < end) timestamp = (lane.handed.shift() as { timestamp: string }).timestamp;
    this.status?.committedCounts(lane.partition.topic, lane.partition.partition, next, lane.batch.highWatermark, lane.counts, timestamp);
    lane.counts = new Map();
  }

  /** Forgets a lane and drops its open file: the partition is read again from the last commit when it comes back. */
  private async release(lane: Lane): Promise<void> {
    if (lane.released) return;
    lane.released = true;
    const key = `${lane.partition.topic}/${lane.partition.partition}`;
    if (this.lanes.get(key) === lane) this.lanes.delete(key);
    await this.sink.release(lane.partition);
  }
}

function laneKey(batch: Pick<PartitionBatch, 'topic' | 'partition'>): string {
  return `${batch.topic}/${batch.partition}`;
}

/** A decoded change as a row of the log: the after image, or for a delete the before image or else the key. */
export function logRecord(decoded: DecodedChange): LogRecord {
  const { event, change, table, message } = decoded;
  if (!event) throw new TributaryError('INTERNAL', 'a log sink needs a decoder made with { full: true }');
  const base = { table, schemaId: event.schemaId, op: event.op, position: change.position, tsMs: event.tsMs, offset: message.offset };
  switch (change.op) {
    case 'upsert':
      return change.unchanged ? { ...base, row: change.row, unchanged: change.unchanged } : { ...base, row: change.row };
    case 'delete':
      return { ...base, row: event.before ?? change.key };
    case 'truncate':
      return { ...base, row: null };
  }
}
