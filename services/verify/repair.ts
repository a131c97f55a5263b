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
import { MAX_SIGNAL_KEYS, sendSnapshotSignal, signalTopic, type TableKeys } from '#kafka/signals.ts';
import { topicName } from '#schemas/avro-names.ts';
import { captureCommitted, sinkCaughtUp, type SinkBehind } from './catch-up.ts';
import { createStatusLine } from './progress.ts';
import { TOO_MANY_KEYS } from './repair-report.ts';
import { tableStatus, type TableReport } from './report.ts';
import { runVerify, type RunOptions } from './run.ts';
import { matches } from './verify.ts';

// `tributary verify --repair`: the keys that differ are read again by the capture (an ad-hoc snapshot asked for
// through the signal topic, narrowed to those keys), which re-emits the source's row of each key through Kafka to
// every sink, and a delete for each key the source does not have; once the capture has done that and this sink has
// applied it, those tables are verified again. One signal carries at most MAX_SIGNAL_KEYS keys: a table with more
// differing keys than fit is re-snapshotted whole instead, which re-emits every row the source has and deletes
// nothing, so rows that exist only in the target of such a table stay: they are reported as such, and keep the exit
// code non-zero.

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
  /** Sends the snapshot signal for `tables`, narrowed to `keys` for the tables it lists; returns its id. */
  sendSignal?(tables: string[], keys: TableKeys): Promise<string>;
  /** The sink's group lag on the topics of the re-snapshotted tables. */
  readLag?(timestamps: boolean): Promise<GroupLag>;
  /** The second verify pass over `tables`. */
  verify?(tables: string[]): Promise<TableReport[]>;
}

export type RepairOutcome =
  /** Every table matched, or no differing table can be helped by a snapshot (too many extra rows only, not compared). */
  | 'nothing to re-snapshot'
  /** Keys re-read (or tables re-snapshotted), sink caught up, tables verified again (the final reports say whether they match now). */
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
  /** Tables repaired key by key (missing, extra and different rows alike), with how many keys the signal carries. */
  byKeys: { table: string; keys: number }[];
  /** Tables with rows missing in the target or different, but too many differing keys: re-snapshotted, whole. */
  whole: string[];
  /**
   * Tables whose only difference is rows extra in the target, too many to repair by key: a whole-table re-snapshot
   * cannot remove them, so they are not re-snapshotted.
   */
  extraOnly: string[];
  /** Tables that could not be compared: nothing says what to repair. */
  notVerified: string[];
  /** The keys the signal carries, per table of `byKeys` (never reported: there may be thousands). */
  signalKeys: TableKeys;
}

/** What the capture's status showed done per table of the signal: rows re-emitted, or keys re-read. */
export type SnapshotDone = { table: string; rows: number } | { table: string; keys: number };

export interface RepairResult {
  plan: RepairPlan;
  outcome: RepairOutcome;
  /** What happened, in a sentence; for the outcomes other than repaired, why nothing was repaired. */
  message: string;
  /** The snapshot signal's id; null when none was sent. */
  signal: string | null;
  /** Per table of the signal, the rows re-emitted or keys re-read (as the capture's status last showed them). */
  snapshot: SnapshotDone[];
  /** The second verify pass over the tables that differed; empty when it did not run. */
  final: TableReport[];
  /** Every table of the run with its latest report: the second pass where it ran, else the first. */
  tables: TableReport[];
  seconds: number;
}

/** The first pass of a repair collects the differing keys of each table, as many as one signal can carry. */
export function collectingKeys(options: RunOptions): RunOptions {
  return { ...options, verify: { ...options.verify, repairKeys: MAX_SIGNAL_KEYS } };
}

/**
 * How each differing table is repaired: by its keys where the first pass collected them and they fit in the
 * signal's `maxKeys`, whole otherwise (or not at all when only extra rows differ, which a whole snapshot cannot remove).
 */
export function planRepair(reports: readonly TableReport[], maxKeys = MAX_SIGNAL_KEYS): RepairPlan {
  const plan: RepairPlan = { byKeys: [], whole: [], extraOnly: [], notVerified: [], signalKeys: {} };
  const keyed = fittingKeys(reports, maxKeys);
  for (const report of reports) {
    const counts = report.counts;
    const keys = keyed.get(report.source);
    if (!counts) plan.notVerified.push(report.source);
    else if (matches(counts)) continue;
    else if (keys) {
      plan.byKeys.push({ table: report.source, keys: keys.length });
      plan.signalKeys[report.source] = keys;
    } else if (counts.missing > 0 || counts.different > 0) plan.whole.push(report.source);
    else plan.extraOnly.push(report.source);
  }
  return plan;
}

/**
 * The differing tables whose keys go into the signal, with their keys: the ones with the fewest keys first, so that
 * as few tables as possible are re-snapshotted whole when the keys of all do not fit.
 */
function fittingKeys(reports: readonly TableReport[], maxKeys: number): Map<string, string[][]> {
  const candidates = reports.flatMap((report) => {
    const keys = report.counts && !matches(report.counts) ? report.counts.differingKeys : null;
    // No key although the counts differ: the rows moved while they were read; a whole re-snapshot is the safe side.
    return keys && keys.length > 0 ? [{ table: report.source, keys }] : [];
  });
  const fitting = new Map<string, string[][]>();
  let room = maxKeys;
  for (const { table, keys } of candidates.sort((a, b) => a.keys.length - b.keys.length)) {
    if (keys.length > room) break;
    fitting.set(table, keys);
    room -= keys.length;
  }
  return fitting;
}

/** The tables the snapshot signal names: the ones repaired by key, then the ones re-snapshotted whole. */
export function signalTables(plan: RepairPlan): string[] {
  return [...plan.byKeys.map((entry) => entry.table), ...plan.whole];
}

/**
 * The note a table repaired whole or not at all gets when rows extra in the target remain after a repair: the
 * re-snapshot did not remove them.
 */
export function extraRowsNote(extra: number): string {
  const rows = extra === 1 ? '1 row' : `${extra.toLocaleString('en-US')} rows`;
  return (
    `${rows} extra in the target cannot be repaired: ${TOO_MANY_KEYS}, and a whole-table re-snapshot re-emits the rows ` +
    'the source has and deletes nothing: delete them in the target by hand (keys above), or let a delete of those keys flow from the source'
  );
}

/**
 * After `first` (a verify run with `options`, collectingKeys for a repair by key), has the capture re-read the keys
 * (or whole tables) that differ, waits for the sink to apply them, and verifies those tables again.
 */
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
  // Only a table repaired whole (or not at all) keeps the rows extra in its target, and says why.
  const unremovable = new Set([...plan.whole, ...plan.extraOnly]);
  const noted = (report: TableReport) => (unremovable.has(report.source) ? noteExtraRows(report) : report);
  const result = (outcome: RepairOutcome, message: string, extra: Partial<RepairResult> = {}): RepairResult => {
    const final = extra.final ?? [];
    const tables = first.map((report) => final.find((r) => r.source === report.source) ?? report).map(noted);
    return { plan, outcome, message, signal: null, snapshot: [], ...extra, final: final.map(noted), tables, seconds: (Date.now() - started) / 1000 };
  };

  for (const table of plan.extraOnly) {
    repair.say(`${table}: only rows extra in the target differ, ${TOO_MANY_KEYS}; a whole-table re-snapshot cannot remove them, so it is not re-snapshotted`);
  }
  const tables = signalTables(plan);
  if (tables.length === 0) {
    const why =
      plan.extraOnly.length > 0
        ? `the rows extra in the target are ${TOO_MANY_KEYS}, and a whole-table re-snapshot deletes nothing; delete them in the target by hand`
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
  for (const line of plannedLines(plan, capture)) repair.say(line);
  let signal: string;
  try {
    const keys = plan.byKeys.length > 0 ? plan.signalKeys : undefined;
    signal = hooks.sendSignal
      ? await hooks.sendSignal(tables, plan.signalKeys)
      : await sendSnapshotSignal(kafka, config.kafka.topicPrefix, config.kafka.topicDefaults.replicationFactor, source.name, tables, keys);
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
      tracker: new SnapshotTracker(tables, before.snapshot ?? [], signal),
      signal: watching.signal,
      out: repair.out,
      ...(repair.pollMs === undefined ? {} : { pollMs: repair.pollMs }),
      startTimeoutMs: repair.timeoutMs,
      unreachableTimeoutMs: repair.timeoutMs,
      onStatus: (status, progress) => {
        last = { status, tables: progress };
        if (progress.every((t) => t.state === 'done')) doneCommitAt = status.lastCommitAt;
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
  const snapshot = last.tables.flatMap((t): SnapshotDone[] => {
    if (!t.progress) return [];
    // A table read by key counts keys in its progress: rowsDone is the keys handled.
    return [Object.hasOwn(plan.signalKeys, t.table) ? { table: t.table, keys: t.progress.rowsDone } : { table: t.table, rows: t.progress.rowsDone }];
  });
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
  repair.say(`snapshot done: ${snapshot.map(doneText).join(', ')}`);

  // What the snapshot emitted: in Kafka, then applied by the sink.
  const line = createStatusLine(repair.out);
  const waitOptions = { timeoutMs: repair.timeoutMs, ...(repair.pollMs === undefined ? {} : { pollMs: repair.pollMs }), ...(repair.signal ? { signal: repair.signal } : {}) };
  line.update(`waiting for ${capture} to commit what the snapshot emitted`);
  const committed = await captureCommitted(readStatus, doneCommitAt, waitOptions);
  line.clear();
  if (!committed.ok) return result(repair.signal?.aborted ? 'interrupted' : 'capture failed', `not repaired: ${committed.reason}`, sent);

  const topics = tables.map((table) => {
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

  // The second pass: every table that differed, the ones not re-snapshotted too, so that the result is current. It
  // collects no keys: nothing is repaired after it.
  const again = first.filter((report) => report.counts && !matches(report.counts)).map((report) => report.source);
  repair.say(`verifying ${again.length === 1 ? 'it' : `the ${again.length} tables`} again`);
  const final = hooks.verify ? await hooks.verify(again) : await runVerify(config, { ...options, tables: again, verify: { ...options.verify, repairKeys: 0 } });
  const fixed = final.filter((r) => tables.includes(r.source) && tableStatus(r) === 'match').length;
  const count = tables.length;
  return result('repaired', `repair done: ${fixed} of ${count} repaired ${count === 1 ? 'table matches' : 'tables match'} now`, { ...sent, final });
}

/** What the repair is about to do, before the signal is sent: the keys re-read, the tables re-snapshotted whole. */
function plannedLines(plan: RepairPlan, capture: string): string[] {
  const lines: string[] = [];
  if (plan.byKeys.length > 0) {
    const keys = plan.byKeys.map((entry) => `${count(entry.keys, 'key')} of ${entry.table}`).join(', ');
    lines.push(`re-emitting ${keys}: ${capture} re-reads those keys and deletes the ones the source does not have`);
  }
  if (plan.whole.length > 0) {
    lines.push(
      `re-snapshotting ${count(plan.whole.length, 'table')}: ${plan.whole.join(', ')} ` +
        `(whole tables, ${TOO_MANY_KEYS}: ${capture} re-reads each table and re-emits all its rows)`,
    );
  }
  return lines;
}

function doneText(done: SnapshotDone): string {
  return 'keys' in done ? `${done.table} ${count(done.keys, 'key')} re-read` : `${done.table} ${count(done.rows, 'row')} re-emitted`;
}

/** `1 key`, `1,200 keys`. */
function count(n: number, noun: string): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? noun : `${noun}s`}`;
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
