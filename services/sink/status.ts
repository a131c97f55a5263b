import type { Registry } from 'prom-client';
import type { TributaryError } from '#core/errors.ts';
import { redactText } from '#config/redact.ts';
import type { TableSchema } from '#core/table-schema.ts';
import { errorCounter, sinkMetrics, type SinkMetrics } from '#admin/metrics.ts';
import { RateWindow } from '#admin/rate-window.ts';
import type { DecodedChange } from './decoder.ts';

export type SinkState = 'starting' | 'waiting-for-topics' | 'consuming' | 'retrying' | 'stopped' | 'failed';

export interface SinkPartitionStatus {
  topic: string;
  partition: number;
  /** The offset committed last by this process: the next message to apply. */
  committed: string;
  /** The partition's end (high watermark) when that batch was fetched. */
  endAtFetch: string;
  committedAt: string;
  /** Kafka timestamp of the last message applied. */
  lastMessageTime: string | null;
}

/** What `GET /status` of a sink process answers. Lag against the current end offsets is the admin service's. */
export interface SinkStatusReport {
  kind: 'sink';
  name: string;
  type: string;
  groupId: string;
  state: SinkState;
  startedAt: string;
  topics: string[];
  partitions: SinkPartitionStatus[];
  applied: number;
  appliedPerSecond: number;
  deadLetters: number;
  pausedTopics: string[];
  lastError: { code: string; message: string; at: string } | null;
}

/** Changes applied per table version and op, as the applied metric labels them. */
export type AppliedCounts = Map<TableSchema, Record<DecodedChange['change']['op'], number>>;

/** Adds `n` changes of `op` on `table` to `counts`. */
export function countApplied(counts: AppliedCounts, table: TableSchema, op: DecodedChange['change']['op'], n = 1): void {
  let count = counts.get(table);
  if (!count) counts.set(table, (count = { upsert: 0, delete: 0, truncate: 0 }));
  count[op] += n;
}

/**
 * A sink process's state and metrics: the runner reports here, the process's HTTP server reads the report and the
 * registry. It outlives the runner, which restarts after retriable failures.
 */
export class SinkStatus {
  private readonly metrics: SinkMetrics;
  private readonly errors;
  private readonly startedAt = new Date().toISOString();
  private readonly rate = new RateWindow(60_000);
  private readonly partitions = new Map<string, SinkPartitionStatus>();
  private readonly paused = new Set<string>();
  private state: SinkState = 'starting';
  private topics: string[] = [];
  private applied = 0;
  private deadLetters = 0;
  private lastError: SinkStatusReport['lastError'] = null;

  constructor(
    readonly registry: Registry,
    private readonly name: string,
    private readonly type: string,
    private readonly groupId: string,
    /** The config's secrets, masked in error messages. */
    private readonly secrets: readonly string[],
  ) {
    this.metrics = sinkMetrics(registry);
    this.errors = errorCounter(registry);
  }

  consuming(topics: string[]): void {
    this.topics = topics;
    this.state = topics.length === 0 ? 'waiting-for-topics' : 'consuming';
  }

  /** One target write of `changes` changes took `seconds`. */
  wrote(changes: number, seconds: number): void {
    this.metrics.batchChanges.observe({ sink: this.name }, changes);
    this.metrics.applySeconds.observe({ sink: this.name }, seconds);
  }

  /** `changes` are in the target and `next` is committed for their partition. */
  committed(topic: string, partition: number, next: string, highWatermark: string, changes: DecodedChange[], lastMessageTimestamp: string): void {
    const counts: AppliedCounts = new Map();
    for (const { table, change, message } of changes) {
      // A tombstone repeats its delete for compaction: the change was counted with the delete.
      if (message.value === null) continue;
      countApplied(counts, table, change.op);
    }
    this.committedCounts(topic, partition, next, highWatermark, counts, lastMessageTimestamp);
  }

  /** As committed(), for a runner that counted what it wrote as it went (a log sink, whose files span many fetches). */
  committedCounts(topic: string, partition: number, next: string, highWatermark: string, counts: AppliedCounts, lastMessageTimestamp: string): void {
    const now = Date.now();
    let applied = 0;
    for (const [table, count] of counts) {
      const name = table.namespace ? `${table.namespace}.${table.table}` : table.table;
      for (const [op, n] of Object.entries(count)) {
        if (n > 0) this.metrics.applied.inc({ sink: this.name, table: name, op }, n);
        applied += n;
      }
    }
    const labels = { sink: this.name, topic, partition: String(partition) };
    const lag = BigInt(highWatermark) - BigInt(next);
    this.metrics.lagMessages.set(labels, Number(lag > 0n ? lag : 0n));
    const messageTime = Number(lastMessageTimestamp);
    if (messageTime > 0) this.metrics.latency.set(labels, Math.max(0, now - messageTime) / 1000);
    this.partitions.set(`${topic}/${partition}`, {
      topic,
      partition,
      committed: next,
      endAtFetch: highWatermark,
      committedAt: new Date(now).toISOString(),
      lastMessageTime: messageTime > 0 ? new Date(messageTime).toISOString() : null,
    });
    this.applied += applied;
    this.rate.add(now, applied);
    if (this.state === 'retrying') this.state = 'consuming';
  }

  deadLettered(topic: string): void {
    this.deadLetters++;
    this.metrics.deadLetters.inc({ sink: this.name, topic });
  }

  pausedTopic(topic: string): void {
    this.paused.add(topic);
  }

  failed(error: TributaryError, retrying: boolean): void {
    this.errors.inc({ code: error.code });
    // A driver's message may echo a connection string: the status shows it with every config secret masked.
    this.lastError = { code: error.code, message: redactText(error.message, this.secrets), at: new Date().toISOString() };
    this.state = retrying ? 'retrying' : 'failed';
  }

  ready(): boolean {
    return this.state === 'consuming';
  }

  stopped(): void {
    if (this.state !== 'failed') this.state = 'stopped';
  }

  report(): SinkStatusReport {
    return {
      kind: 'sink',
      name: this.name,
      type: this.type,
      groupId: this.groupId,
      state: this.state,
      startedAt: this.startedAt,
      topics: this.topics,
      partitions: [...this.partitions.values()].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition),
      applied: this.applied,
      appliedPerSecond: this.rate.perSecond(Date.now()),
      deadLetters: this.deadLetters,
      pausedTopics: [...this.paused].sort(),
      lastError: this.lastError,
    };
  }
}
