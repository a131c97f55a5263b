import type { Kafka } from 'kafkajs';
import type { CaptureStatusReport } from '#capture/status.ts';
import { SnapshotTracker, watchSnapshot, type TableProgress, type WatchOutcome } from '#cli/snapshot-watch.ts';
import { configuredByName } from '#config/load.ts';
import { collectSecrets, redactText } from '#config/redact.ts';
import type { TributaryConfig } from '#config/schema.ts';
import type { SnapshotProgress } from '#core/source.ts';
import { processUrl, readProcess } from '#admin/process-client.ts';
import { sinkTopics } from '#admin/pipelines.ts';
import { createKafka } from '#kafka/client.ts';
import { groupLag, type GroupLag } from '#kafka/group-offsets.ts';
import { sendSnapshotSignal, signalTopic } from '#kafka/signals.ts';
import { topicName } from '#schemas/avro-names.ts';
import { captureCommitted, sinkCaughtUp, type SinkBehind } from './catch-up.ts';
import { createStatusLine } from './progress.ts';
import { tableStatus, type TableReport } from './report.ts';
import { runVerify, type RunOptions } from './run.ts';

// `tributary verify --repair`: the tables that differ are read again by the capture (an ad-hoc snapshot asked for
// through the signal topic), which re-emits their rows through Kafka to every sink; once the capture has done that
// and this sink has applied it, those tables are verified again. A snapshot works per table: whole tables are
// re-emitted, not the differing keys. It re-emits the rows the source has and deletes nothing, so rows that exist
// only in the target stay: they are reported as such, and keep the exit code non-zero.

export interface RepairOptions {
  /**
   * How long each wait may take without moving on: the capture taking the signal (no snapshot entry carrying its id
   * before then means the source does not perform ad-hoc snapshots, or the capture did not read the signal), the
   * capture not answering, and the sink applying what the snapshot emitted. The snapshot itself runs as long as it
   * makes progress.
   */
  timeoutMs: number;
  /** Where the snapshot's progress and the waits are drawn: stderr. */
  out: NodeJS.WriteStream;
  /** What the repair does and finds, line by line (stdout for the text report, stderr under --json). */
  say(line: string): void;
  signal?: AbortSignal;
  pollMs?: number;
  /** Defaults to a client for config.kafka. */
  kafka?: Kafka;
  /** Test seams for the work done in Kafka and the databases. */
  hooks?: RepairHooks;
}

export interface RepairHooks {
  /** Sends the snapshot signal for `tables`; returns its id. */
  sendSignal?(tables: string[]): Promise<string>;
  /** The sink's group lag on the topics of the re-snapshotted tables. */
  readLag?(timestamps: boolean): Promise<GroupLag>;
  /** The second verify pass over `tables`. */
  verify?(tables: string[]): Promise<TableReport[]>;
}

export type RepairOutcome =
  /** Every table matched, or no differing table can be helped by a snapshot (extra rows only, not compared). */
  | 'nothing to re-snapshot'
  /** Snapshot done, sink caught up, tables verified again (the final reports say whether they match now). */
  | 'repaired'
  /** No signal was sent: no endpoint to follow the snapshot by, the capture does not answer, or sending failed. */
  | 'not sent'
  /** The capture's status shows no snapshot for the signal within the timeout. */
  | 'not started'
  | 'capture unreachable'
  | 'capture failed'
  | 'sink behind'
  | 'interrupted';

export interface RepairPlan {
  /** Tables with rows missing in the target or different: re-snapshotted, whole. */
  resnapshot: string[];
  /** Tables whose only difference is rows extra in the target, which a snapshot cannot remove. */
  extraOnly: string[];
  /** Tables that could not be compared: nothing says what to repair. */
  notVerified: string[];
}

export interface RepairResult {
  plan: RepairPlan;
  outcome: RepairOutcome;
  /** What happened, in a sentence; for the outcomes other than repaired, why nothing was repaired. */
  message: string;
  /** The snapshot signal's id; null when none was sent. */
  signal: string | null;
  /** Per re-snapshotted table, the rows the capture re-emitted (as its status last showed them). */
  snapshot: { table: string; rows: number }[];
  /** The second verify pass over the tables that differed; empty when it did not run. */
  final: TableReport[];
  /** Every table of the run with its latest report: the second pass where it ran, else the first. */
  tables: TableReport[];
  seconds: number;
}

/** Which tables a re-snapshot can help. */
export function planRepair(reports: readonly TableReport[]): RepairPlan {
  const plan: RepairPlan = { resnapshot: [], extraOnly: [], notVerified: [] };
  for (const report of reports) {
    const counts = report.counts;
    if (!counts) plan.notVerified.push(report.source);
    else if (counts.missing > 0 || counts.different > 0) plan.resnapshot.push(report.source);
    else if (counts.extra > 0) plan.extraOnly.push(report.source);
  }
  return plan;
}

/** The note every table with rows extra in the target gets after a repair: the re-snapshot did not remove them. */
export function extraRowsNote(extra: number): string {
  const rows = extra === 1 ? '1 row' : `${extra.toLocaleString('en-US')} rows`;
  return (
    `${rows} extra in the target cannot be repaired by a re-snapshot, which re-emits the rows the source has and ` +
    'deletes nothing: delete them in the target by hand (keys above), or let a delete of those keys flow from the source'
  );
}

/** After `first` (a verify run with `options`), re-snapshots the tables that differ and verifies them again. */
export async function repairDifferences(
  config: TributaryConfig,
  options: RunOptions,
  first: readonly TableReport[],
  repair: RepairOptions,
): Promise<RepairResult> {
  const started = Date.now();
  const plan = planRepair(first);
  const source = configuredByName(config.sources, 'source', options.source);
  const sink = configuredByName(config.sinks, 'sink', options.sink);
  const secrets = collectSecrets(config);
  const mask = (error: unknown) => redactText((error as Error)?.message ?? String(error), secrets);
  const result = (outcome: RepairOutcome, message: string, extra: Partial<RepairResult> = {}): RepairResult => {
    const final = extra.final ?? [];
    const tables = first.map((report) => final.find((r) => r.source === report.source) ?? report).map(noteExtraRows);
    return { plan, outcome, message, signal: null, snapshot: [], ...extra, final: final.map(noteExtraRows), tables, seconds: (Date.now() - started) / 1000 };
  };

  for (const table of plan.extraOnly) {
    repair.say(`${table}: only rows extra in the target differ; a re-snapshot cannot remove them, so it is not re-snapshotted`);
  }
  if (plan.resnapshot.length === 0) {
    const why =
      plan.extraOnly.length > 0
        ? 'no table has rows missing or different; rows extra in the target need a delete in the target by hand'
        : plan.notVerified.length > 0
          ? 'the tables that could not be compared cannot be repaired from a comparison'
          : 'every table matches';
    return result('nothing to re-snapshot', `nothing to re-snapshot: ${why}`);
  }

  const capture = `the capture of source "${source.name}"`;
  const where = processUrl(source.http);
  if ('missing' in where) {
    return result(
      'not sent',
      `not repaired: source "${source.name}" has ${where.missing}; verify --repair follows the capture's snapshot in its ` +
        'status endpoint (sources[].http), so no snapshot signal was sent',
    );
  }
  const token = config.admin.token;
  const readStatus = async (): Promise<CaptureStatusReport> => {
    const status = (await readProcess(where.url, '/status', token)) as CaptureStatusReport;
    if (status.kind !== 'capture' || status.name !== source.name) {
      throw new Error(`${where.url} answers for ${String(status.kind)} "${String(status.name)}", not capture "${source.name}": do two entries of the config share its http port?`);
    }
    return status;
  };
  let before: CaptureStatusReport;
  try {
    before = await readStatus();
  } catch (error) {
    return result('not sent', `not repaired: ${capture} does not answer (${mask(error)}); no snapshot signal was sent`);
  }

  const kafka = repair.kafka ?? createKafka(config.kafka);
  const hooks = repair.hooks ?? {};
  const count = plan.resnapshot.length;
  repair.say(
    `re-snapshotting ${count} ${count === 1 ? 'table' : 'tables'}: ${plan.resnapshot.join(', ')} ` +
      `(whole tables: ${capture} re-reads each table and re-emits all its rows; per-key repair is not done)`,
  );
  let signal: string;
  try {
    signal = hooks.sendSignal
      ? await hooks.sendSignal(plan.resnapshot)
      : await sendSnapshotSignal(kafka, config.kafka.topicPrefix, config.kafka.topicDefaults.replicationFactor, source.name, plan.resnapshot);
  } catch (error) {
    return result('not sent', `not repaired: sending the snapshot signal failed: ${mask(error)}`);
  }
  repair.say(`sent snapshot signal ${signal} to ${signalTopic(config.kafka.topicPrefix)}`);

  // The snapshot, followed in the capture's status by the signal's id.
  let last: { status: CaptureStatusReport; tables: TableProgress[] } = { status: before, tables: [] };
  let doneCommitAt: string | null = null;
  const watching = new AbortController();
  const stopWatching = () => watching.abort();
  repair.signal?.addEventListener('abort', stopWatching, { once: true });
  const ended: { failed: string | null } = { failed: null };
  let outcome: WatchOutcome;
  try {
    outcome = await watchSnapshot({
      url: where.url,
      token,
      tracker: new SnapshotTracker(plan.resnapshot, before.snapshot ?? [], signal),
      signal: watching.signal,
      out: repair.out,
      ...(repair.pollMs === undefined ? {} : { pollMs: repair.pollMs }),
      startTimeoutMs: repair.timeoutMs,
      unreachableTimeoutMs: repair.timeoutMs,
      onStatus: (status, tables) => {
        last = { status, tables };
        if (tables.every((t) => t.state === 'done')) doneCommitAt = status.lastCommitAt;
        // A capture that failed for good takes no snapshot any more. (One that stops, for a restart, resumes the
        // snapshot when it runs again: that is waited for as long as it may stay unreachable.)
        if (status.state === 'failed') {
          ended.failed = `${capture} failed${status.lastError ? ` (${status.lastError.code}: ${status.lastError.message})` : ''}`;
          watching.abort();
        }
      },
    });
  } finally {
    repair.signal?.removeEventListener('abort', stopWatching);
  }
  const snapshot = last.tables.flatMap((t) => (t.progress ? [{ table: t.table, rows: t.progress.rowsDone }] : []));
  const sent = { signal, snapshot };
  if (ended.failed !== null) return result('capture failed', `not repaired: ${ended.failed} during the snapshot of signal ${signal}`, sent);
  switch (outcome) {
    case 'done':
      break;
    case 'stopped':
      return result('interrupted', `interrupted while ${capture} snapshots; it goes on with signal ${signal} (tributary status shows it)`, sent);
    case 'unreachable':
      return result(
        'capture unreachable',
        `not repaired: ${capture} stopped answering at ${where.url} for ${repair.timeoutMs / 1000} s during the snapshot of signal ${signal}; ` +
          'it resumes the snapshot when it runs again: verify again once tributary status shows it done',
        sent,
      );
    case 'not started':
      return result('not started', notStarted(capture, last.status, last.tables, signal, repair.timeoutMs / 1000), sent);
  }
  repair.say(`snapshot done: ${snapshot.map((s) => `${s.table} ${s.rows.toLocaleString('en-US')} rows re-emitted`).join(', ')}`);

  // What the snapshot emitted: in Kafka, then applied by the sink.
  const line = createStatusLine(repair.out);
  const waitOptions = { timeoutMs: repair.timeoutMs, ...(repair.pollMs === undefined ? {} : { pollMs: repair.pollMs }), ...(repair.signal ? { signal: repair.signal } : {}) };
  line.update(`waiting for ${capture} to commit what the snapshot emitted`);
  const committed = await captureCommitted(readStatus, doneCommitAt, waitOptions);
  line.clear();
  if (!committed.ok) return result(repair.signal?.aborted ? 'interrupted' : 'capture failed', `not repaired: ${committed.reason}`, sent);

  const topics = plan.resnapshot.map((table) => {
    const dot = table.indexOf('.');
    return topicName(config.kafka.topicPrefix, table.slice(0, dot), table.slice(dot + 1));
  });
  const selection = sinkTopics(sink);
  const consumed = topics.filter((topic) => (Array.isArray(selection) ? selection.includes(topic) : selection.test(topic)));
  const catchUpStarted = Date.now();
  let caught;
  try {
    // Telling a transaction marker from a message reads the partition with a throw-away group, whose join can take a
    // few seconds on a cluster with a rebalance delay: time enough for that.
    const readLag = hooks.readLag ?? ((timestamps: boolean) => groupLag(kafka, sink.name, consumed, { timestamps, timeoutMs: 15_000 }));
    caught = await sinkCaughtUp(readLag, {
      ...waitOptions,
      onWait: (behind) => {
        if (behind.partitions > 0) line.update(`waiting for sink "${sink.name}" to apply the snapshot: ${behindText(behind)}`);
      },
    });
  } catch (error) {
    return result('sink behind', `not repaired: reading the offsets of sink "${sink.name}" failed: ${mask(error)}`, sent);
  } finally {
    line.clear();
  }
  if (!caught.ok) {
    return result(repair.signal?.aborted ? 'interrupted' : 'sink behind', sinkBehind(sink.name, caught.behind, caught.lag, repair.timeoutMs / 1000), sent);
  }
  repair.say(`sink "${sink.name}" applied the snapshot (${((Date.now() - catchUpStarted) / 1000).toFixed(1)} s)`);

  // The second pass: every table that differed, the ones not re-snapshotted too, so that the result is current.
  const again = [...plan.resnapshot, ...plan.extraOnly];
  repair.say(`verifying ${again.length === 1 ? 'it' : `the ${again.length} tables`} again`);
  const final = hooks.verify ? await hooks.verify(again) : await runVerify(config, { ...options, tables: again });
  const fixed = final.filter((r) => plan.resnapshot.includes(r.source) && tableStatus(r) === 'match').length;
  return result('repaired', `re-snapshot done: ${fixed} of ${count} re-snapshotted ${count === 1 ? 'table matches' : 'tables match'} now`, { ...sent, final });
}

/** What the capture's status shows when it never took up the signal. */
function notStarted(capture: string, status: CaptureStatusReport, tables: TableProgress[], signal: string, seconds: number): string {
  const waiting = tables.filter((t) => t.state === 'waiting').map((t) => t.table);
  const others = (status.snapshot ?? []).filter((entry: SnapshotProgress) => waiting.includes(entry.table) && entry.signal !== signal);
  const shown =
    others.length === 0
      ? 'no snapshot entry for these tables'
      : `only entries of other snapshots for them (${others.map((e) => `${e.table}: ${e.done ? 'done' : 'running'}, signal ${e.signal ?? 'none'}`).join('; ')})`;
  return (
    `not repaired: after ${seconds} s the status of ${capture} (type ${status.type}, ${status.state}) lists no snapshot of ` +
    `${waiting.join(', ')} for signal ${signal}, ${shown}. Either the source does not perform ad-hoc snapshots (not ` +
    'every source type does; the capture logs why it ignored or refused the signal), or the capture has not read the ' +
    'signal yet, or the tables were already queued by another snapshot signal (a table is queued once); nothing was repaired'
  );
}

function sinkBehind(sink: string, behind: SinkBehind, lag: GroupLag, seconds: number): string {
  const members = lag.members === 0 ? `; its consumer group has no member (is sink "${sink}" running?)` : '';
  return `not repaired: sink "${sink}" has not applied what the snapshot emitted within ${seconds} s: ${behindText(behind)}${members}`;
}

function behindText(behind: SinkBehind): string {
  return `${behind.messages.toLocaleString('en-US')} offsets behind on ${behind.partitions} ${behind.partitions === 1 ? 'partition' : 'partitions'}`;
}

function noteExtraRows(report: TableReport): TableReport {
  const extra = report.counts?.extra ?? 0;
  if (extra === 0) return report;
  const note = extraRowsNote(extra);
  return report.notes.includes(note) ? report : { ...report, notes: [...report.notes, note] };
}
