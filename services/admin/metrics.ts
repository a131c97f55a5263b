import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ReplicationSlotHealth, SnapshotProgress } from '#core/source.ts';

/**
 * The Prometheus metrics of one Tributary process. Every process (a capture, a sink, the admin service) has its own
 * registry with Node's process metrics (memory, CPU, event-loop lag) and the metrics of its kind; series are labelled
 * by source or sink name, so the admin service can merge the registries of several processes without clashes.
 *
 * Metric names are part of the interface (dashboards and alerts use them): rename nothing without a reason.
 */
export function processRegistry(process: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ process });
  collectDefaultMetrics({ register: registry, prefix: 'tributary_' });
  return registry;
}

/** Failed attempts of any action, by error code: what the retry loop retried and what ended a run. */
export function errorCounter(registry: Registry): Counter<'code'> {
  return new Counter({
    name: 'tributary_errors_total',
    help: 'Failed attempts of an action (a connection, a write, a commit), by error code; retriable ones were retried.',
    labelNames: ['code'],
    registers: [registry],
  });
}

/** What the capture's gauges read at scrape time, so they are as fresh as the source's last look. */
export interface CaptureGaugeReaders {
  slot(): ReplicationSlotHealth | null;
  snapshot(): SnapshotProgress[];
}

export function captureMetrics(registry: Registry, source: string, read: CaptureGaugeReaders) {
  const labels = { registers: [registry] };
  return {
    events: new Counter({
      name: 'tributary_capture_events_total',
      help: 'Change events committed to Kafka, by table and op (c, u, d, r, t).',
      labelNames: ['source', 'table', 'op'],
      ...labels,
    }),
    transactions: new Counter({
      name: 'tributary_capture_commits_total',
      help: 'Kafka transactions committed (each holds one or more source transactions and the offset after them).',
      labelNames: ['source'],
      ...labels,
    }),
    commitEvents: new Histogram({
      name: 'tributary_capture_commit_events',
      help: 'Change events per Kafka transaction.',
      labelNames: ['source'],
      buckets: [1, 10, 100, 1_000, 5_000, 10_000, 50_000, 100_000],
      ...labels,
    }),
    commitSeconds: new Histogram({
      name: 'tributary_capture_commit_seconds',
      help: 'Time from posting a Kafka transaction\'s commit to the broker confirming it.',
      labelNames: ['source'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      ...labels,
    }),
    behindSource: new Gauge({
      name: 'tributary_capture_behind_source_seconds',
      help: 'At the last commit: its time minus the source commit time of its last event (capture lag).',
      labelNames: ['source'],
      ...labels,
    }),
    snapshotRows: new Gauge({
      name: 'tributary_capture_snapshot_rows',
      help: 'Rows read by the running snapshot, by table.',
      labelNames: ['source', 'table'],
      collect() {
        for (const table of read.snapshot()) this.set({ source, table: table.table }, table.rowsDone);
      },
      ...labels,
    }),
    slotRetainedWal: new Gauge({
      name: 'tributary_postgres_slot_retained_wal_bytes',
      help: 'WAL the replication slot holds back: the server\'s current LSN minus the slot\'s confirmed flush LSN.',
      labelNames: ['source', 'slot'],
      collect() {
        this.reset();
        const slot = read.slot();
        if (slot?.retainedWalBytes != null) this.set({ source, slot: slot.name }, Number(slot.retainedWalBytes));
      },
      ...labels,
    }),
  };
}

export type CaptureMetrics = ReturnType<typeof captureMetrics>;

export function sinkMetrics(registry: Registry) {
  const labels = { registers: [registry] };
  return {
    applied: new Counter({
      name: 'tributary_sink_changes_applied_total',
      help: 'Changes applied to the target and committed, by table and op (upsert, delete, truncate).',
      labelNames: ['sink', 'table', 'op'],
      ...labels,
    }),
    batchChanges: new Histogram({
      name: 'tributary_sink_batch_changes',
      help: 'Changes per target write (one transaction or insert).',
      labelNames: ['sink'],
      buckets: [1, 10, 100, 1_000, 5_000, 10_000, 50_000],
      ...labels,
    }),
    applySeconds: new Histogram({
      name: 'tributary_sink_apply_seconds',
      help: 'Time to apply one batch to the target, retries included.',
      labelNames: ['sink'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      ...labels,
    }),
    lagMessages: new Gauge({
      name: 'tributary_sink_lag_messages',
      help: 'At the last commit of a partition: offsets after the committed one (a transaction marker counts: caught up is 0 or 1).',
      labelNames: ['sink', 'topic', 'partition'],
      ...labels,
    }),
    latency: new Gauge({
      name: 'tributary_sink_end_to_end_seconds',
      help: 'At the last commit of a partition: its time minus the Kafka timestamp of its last message (capture to target).',
      labelNames: ['sink', 'topic', 'partition'],
      ...labels,
    }),
    deadLetters: new Counter({
      name: 'tributary_sink_dead_letters_total',
      help: 'Messages sent to the dead-letter topic, by the topic they came from.',
      labelNames: ['sink', 'topic'],
      ...labels,
    }),
  };
}

export type SinkMetrics = ReturnType<typeof sinkMetrics>;
