import type { Registry } from 'prom-client';
import type { Op } from '#core/change-event.ts';
import type { TributaryError } from '#core/errors.ts';
import { redactText } from '#config/redact.ts';
import type { ReplicationSlotHealth, SnapshotProgress, Source, SourceOffset } from '#core/source.ts';
import type { TableSchema } from '#core/table-schema.ts';
import { captureMetrics, errorCounter, type CaptureMetrics } from '#admin/metrics.ts';
import { RateWindow } from '#admin/rate-window.ts';

export type CaptureState = 'starting' | 'snapshotting' | 'streaming' | 'retrying' | 'stopped' | 'failed';

/** What `GET /status` of a capture process answers. */
export interface CaptureStatusReport {
  kind: 'capture';
  name: string;
  type: string;
  state: CaptureState;
  startedAt: string;
  /** The offset of the last committed Kafka transaction: where a restart resumes. */
  position: SourceOffset | null;
  lastCommitAt: string | null;
  /** Source commit time of the last event committed to Kafka. */
  lastEventTime: string | null;
  events: number;
  eventsPerSecond: number;
  snapshot: SnapshotProgress[];
  /** PostgreSQL: the replication slot as last checked; retainedWalBytes is a decimal string. */
  slot: (Omit<ReplicationSlotHealth, 'retainedWalBytes' | 'checkedAt'> & { retainedWalBytes: string | null; checkedAt: string }) | null;
  lastError: { code: string; message: string; at: string } | null;
}

/** Events counted since the last commit, by table object and op (counting happens per row: no strings built). */
export class PendingCounts {
  private readonly counts = new Map<TableSchema, Record<Op, number>>();
  total = 0;
  lastSourceTsMs = 0;

  add(table: TableSchema, op: Op, sourceTsMs: number): void {
    let counts = this.counts.get(table);
    if (!counts) this.counts.set(table, (counts = { c: 0, u: 0, d: 0, r: 0, t: 0 }));
    counts[op]++;
    this.total++;
    this.lastSourceTsMs = sourceTsMs;
  }

  *entries(): Iterable<[string, Op, number]> {
    for (const [table, counts] of this.counts) {
      const name = table.namespace ? `${table.namespace}.${table.table}` : table.table;
      for (const op of Object.keys(counts) as Op[]) if (counts[op] > 0) yield [name, op, counts[op]];
    }
  }
}

/**
 * A capture process's state and metrics: the runner reports commits and failures here, the process's HTTP server
 * reads the report and the registry. It outlives the runner, which restarts after retriable failures.
 */
export class CaptureStatus {
  private readonly metrics: CaptureMetrics;
  private readonly errors;
  private readonly startedAt = new Date().toISOString();
  private readonly rate = new RateWindow(60_000);
  private source: Source | null = null;
  private state: CaptureState = 'starting';
  private position: SourceOffset | null = null;
  private lastCommitAt: number | null = null;
  private lastSourceTsMs: number | null = null;
  private events = 0;
  private lastError: CaptureStatusReport['lastError'] = null;

  constructor(
    readonly registry: Registry,
    private readonly name: string,
    private readonly type: string,
    /** The config's secrets, masked in error messages. */
    private readonly secrets: readonly string[],
  ) {
    this.metrics = captureMetrics(registry, name, {
      slot: () => this.source?.replicationSlot?.() ?? null,
      snapshot: () => this.source?.snapshotProgress() ?? [],
    });
    this.errors = errorCounter(registry);
  }

  /** A run (first or after a retry) began with this source. */
  running(source: Source, offset: SourceOffset | null): void {
    this.source = source;
    this.position = offset;
    this.state = 'starting';
  }

  /** `events` are durable in Kafka with `offset`: called in commit order once the broker confirmed the commit. */
  committed(events: PendingCounts, offset: SourceOffset, postedAt: number): void {
    const now = Date.now();
    for (const [table, op, count] of events.entries()) this.metrics.events.inc({ source: this.name, table, op }, count);
    this.metrics.transactions.inc({ source: this.name });
    this.metrics.commitEvents.observe({ source: this.name }, events.total);
    this.metrics.commitSeconds.observe({ source: this.name }, (now - postedAt) / 1000);
    if (events.total > 0) {
      this.lastSourceTsMs = events.lastSourceTsMs;
      this.metrics.behindSource.set({ source: this.name }, Math.max(0, now - events.lastSourceTsMs) / 1000);
    }
    this.events += events.total;
    this.rate.add(now, events.total);
    this.position = offset;
    this.lastCommitAt = now;
    if (this.state === 'starting' || this.state === 'retrying') this.state = 'streaming';
  }

  /** An attempt failed: counted always; the state says whether the capture retries or stopped for good. */
  failed(error: TributaryError, retrying: boolean): void {
    this.errors.inc({ code: error.code });
    // A driver's message may echo a connection string: the status shows it with every config secret masked.
    this.lastError = { code: error.code, message: redactText(error.message, this.secrets), at: new Date().toISOString() };
    this.state = retrying ? 'retrying' : 'failed';
  }

  ready(): boolean {
    return ['snapshotting', 'streaming'].includes(this.report().state);
  }

  stopped(): void {
    if (this.state !== 'failed') this.state = 'stopped';
  }

  report(): CaptureStatusReport {
    const snapshot = this.source?.snapshotProgress() ?? [];
    const slot = this.source?.replicationSlot?.() ?? null;
    const snapshotting = snapshot.some((table) => !table.done);
    const state = snapshotting && (this.state === 'streaming' || this.state === 'starting') ? 'snapshotting' : this.state;
    return {
      kind: 'capture',
      name: this.name,
      type: this.type,
      state,
      startedAt: this.startedAt,
      position: this.position,
      lastCommitAt: this.lastCommitAt === null ? null : new Date(this.lastCommitAt).toISOString(),
      lastEventTime: this.lastSourceTsMs === null ? null : new Date(this.lastSourceTsMs).toISOString(),
      events: this.events,
      eventsPerSecond: this.rate.perSecond(Date.now()),
      snapshot,
      slot: slot && {
        name: slot.name,
        active: slot.active,
        retainedWalBytes: slot.retainedWalBytes === null ? null : slot.retainedWalBytes.toString(),
        walStatus: slot.walStatus,
        checkedAt: new Date(slot.checkedAt).toISOString(),
      },
      lastError: this.lastError,
    };
  }
}
