import type { SnapshotProgress, SourceOffset } from '#core/source.ts';
import type { Pipelines, SinkPipeline, SourcePipeline } from '#admin/pipelines.ts';
import { formatTable } from './table.ts';

/**
 * `tributary status` for people: a table of sources, a table of sinks, and below them why anything could not be
 * read. A dash is a figure that does not apply or that nobody could report (the process has no endpoint or does
 * not answer); `--json` has every detail.
 */
export function statusText(pipelines: Pipelines, now: number): string {
  const sources = formatTable(
    [
      { header: 'source' },
      { header: 'type' },
      { header: 'state' },
      { header: 'position' },
      { header: 'events/s', align: 'right' },
      { header: 'last event' },
      { header: 'snapshot' },
      { header: 'slot WAL', align: 'right' },
    ],
    pipelines.sources.map((source) => {
      const status = source.status;
      return [
        source.name,
        source.type,
        source.state,
        status ? positionText(status.position) : '-',
        status ? String(status.eventsPerSecond) : '-',
        status?.lastEventTime ? ageText(Date.parse(status.lastEventTime), now) : '-',
        status ? snapshotText(status.snapshot) : '-',
        source.type !== 'postgres' || !status ? '-' : status.slot?.retainedWalBytes == null ? 'unknown' : bytesText(BigInt(status.slot.retainedWalBytes)),
      ];
    }),
  );
  const sinks = formatTable(
    [
      { header: 'sink' },
      { header: 'type' },
      { header: 'state' },
      { header: 'lag (messages)', align: 'right' },
      { header: 'max lag (s)', align: 'right' },
      { header: 'applied/s', align: 'right' },
      { header: 'dead letters', align: 'right' },
    ],
    pipelines.sinks.map((sink) => [
      sink.name,
      sink.type,
      sink.state,
      sink.lag?.totalLagMessages ?? '-',
      maxLagText(sink),
      sink.status ? String(sink.status.appliedPerSecond) : '-',
      sink.deadLetters.messages ?? '-',
    ]),
  );
  const sections = [
    pipelines.sources.length > 0 ? sources : 'no sources configured',
    pipelines.sinks.length > 0 ? sinks : 'no sinks configured',
  ];
  const notes = problems([...pipelines.sources, ...pipelines.sinks], now);
  return [...sections, ...(notes.length > 0 ? [notes.join('\n')] : [])].join('\n\n');
}

/** Where a restart resumes, in the source's own terms: a binlog file and offset, or an LSN. */
export function positionText(position: SourceOffset | null): string {
  if (position === null) return 'none';
  const binlog = position.binlog as { file?: unknown; pos?: unknown } | undefined;
  if (binlog && typeof binlog.file === 'string' && typeof binlog.pos === 'string') return `${binlog.file}:${binlog.pos}`;
  if (typeof position.lsn === 'string') return `lsn ${position.lsn}`;
  return JSON.stringify(position);
}

/** Tables snapshotted so far and, while one runs, rows read against the estimate. */
export function snapshotText(tables: readonly SnapshotProgress[]): string {
  if (tables.length === 0) return '-';
  const done = tables.filter((table) => table.done).length;
  if (done === tables.length) return `done (${tables.length} table${tables.length === 1 ? '' : 's'})`;
  const running = tables.filter((table) => !table.done);
  const rows = running.reduce((sum, table) => sum + table.rowsDone, 0);
  const estimated = running.reduce((sum, table) => sum + Math.max(table.rowsEstimated, table.rowsDone), 0);
  return `${done}/${tables.length} tables, ${rows.toLocaleString('en-US')}/~${estimated.toLocaleString('en-US')} rows`;
}

export function ageText(at: number, now: number): string {
  const seconds = Math.max(0, Math.round((now - at) / 1000));
  if (seconds < 120) return `${seconds}s ago`;
  if (seconds < 7_200) return `${Math.round(seconds / 60)}m ago`;
  if (seconds < 172_800) return `${Math.round(seconds / 3_600)}h ago`;
  return `${Math.round(seconds / 86_400)}d ago`;
}

export function bytesText(bytes: bigint): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = Number(bytes);
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** The oldest unconsumed message's age over the partitions; unknown when some lag could not be timed. */
function maxLagText(sink: SinkPipeline): string {
  if (!sink.lag) return '-';
  const seconds = sink.lag.partitions.map((p) => p.lagSeconds);
  if (seconds.some((s) => s === null)) return 'unknown';
  return Math.max(0, ...(seconds as number[])).toFixed(1);
}

function problems(pipelines: readonly (SourcePipeline | SinkPipeline)[], now: number): string[] {
  return pipelines.flatMap((pipeline) => {
    const last = pipeline.status?.lastError;
    const lastText = last && `${pipeline.kind} ${pipeline.name}: last error (${ageText(Date.parse(last.at), now)}) ${last.code}: ${last.message}`;
    return [
      ...(pipeline.error ? [`${pipeline.kind} ${pipeline.name}: ${pipeline.error}`] : []),
      ...(lastText ? [lastText] : []),
      ...(pipeline.kind === 'sink' && pipeline.kafkaError ? [`${pipeline.kind} ${pipeline.name}: ${pipeline.kafkaError}`] : []),
    ];
  });
}
