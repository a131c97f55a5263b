import { setTimeout as delay } from 'node:timers/promises';
import type { CaptureStatusReport } from '#capture/status.ts';
import type { SnapshotProgress } from '#core/source.ts';
import { readProcess } from '#admin/process-client.ts';

/**
 * Following the snapshot a signal asked for, in the capture's `/status` (`snapshot`: one entry per table). The
 * entries of an earlier snapshot of the same tables may still be there, done, when the signal is sent. Given the
 * signal's id, only entries carrying that id count. Without it, a table counts as snapshotted again only once its
 * entry has been seen running, or differs from what it was before the signal.
 */

export type TableState = 'waiting' | 'running' | 'done';

export interface TableProgress {
  table: string;
  state: TableState;
  progress: SnapshotProgress | null;
}

export class SnapshotTracker {
  private readonly seenRunning = new Set<string>();
  private readonly before: Map<string, SnapshotProgress>;

  /**
   * `before`: the capture's snapshot entries just before the signal was sent (empty when unread); `signal`: the id
   * of the signal, when the entries of this snapshot are told apart by it (SnapshotProgress.signal).
   */
  constructor(
    readonly tables: readonly string[],
    before: readonly SnapshotProgress[],
    readonly signal?: string,
  ) {
    this.before = new Map(before.map((entry) => [entry.table, entry]));
  }

  /** Each table's state in a status read after the signal was sent. */
  update(snapshot: readonly SnapshotProgress[]): TableProgress[] {
    return this.tables.map((table) => {
      const entry = snapshot.find((e) => e.table === table && (this.signal === undefined || e.signal === this.signal)) ?? null;
      if (entry === null) return { table, state: 'waiting', progress: null };
      if (this.signal !== undefined) return { table, state: entry.done ? 'done' : 'running', progress: entry };
      if (!entry.done) {
        this.seenRunning.add(table);
        return { table, state: 'running', progress: entry };
      }
      const earlier = this.before.get(table);
      const fresh = this.seenRunning.has(table) || !earlier || !earlier.done || earlier.rowsDone !== entry.rowsDone;
      return fresh ? { table, state: 'done', progress: entry } : { table, state: 'waiting', progress: null };
    });
  }
}

/** One table as a line: a bar on a terminal, plain words otherwise. */
export function progressLine(table: TableProgress, width: number, bar: boolean): string {
  const name = table.table.padEnd(width);
  if (table.state === 'waiting' || table.progress === null) return `${name}  waiting for the capture to start it`;
  const { rowsDone, rowsEstimated, rowsPerSecond } = table.progress;
  const rows = `${rowsDone.toLocaleString('en-US')}/~${Math.max(rowsEstimated, rowsDone).toLocaleString('en-US')} rows`;
  // An estimate is a statistic of the server: a running table never shows 100% before it is done.
  const fraction = table.state === 'done' ? 1 : Math.min(0.99, rowsEstimated > 0 ? rowsDone / rowsEstimated : 0);
  const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
  const tail = table.state === 'done' ? `done, ${rowsDone.toLocaleString('en-US')} rows` : `${rows}, ${rowsPerSecond.toLocaleString('en-US')} rows/s`;
  if (!bar) return `${name}  ${percent}  ${tail}`;
  const filled = Math.round(fraction * 30);
  return `${name}  [${'#'.repeat(filled)}${'-'.repeat(30 - filled)}] ${percent}  ${tail}`;
}

export interface WatchOptions {
  url: string;
  token: string | undefined;
  tracker: SnapshotTracker;
  signal: AbortSignal;
  /** Where progress goes: stderr, so that stdout holds only the signal id. */
  out: NodeJS.WriteStream;
  pollMs?: number;
  /**
   * Give up ('not started') when no table has run for this long while some still wait: the capture has not taken
   * the signal, or does not act on it (a source without ad-hoc snapshots). Default: wait as long as it takes.
   */
  startTimeoutMs?: number;
  /** Give up ('unreachable') when the capture has not answered for this long. Default: wait as long as it takes. */
  unreachableTimeoutMs?: number;
  /** Every status read, with the tables' states in it. */
  onStatus?(status: CaptureStatusReport, tables: TableProgress[]): void;
}

export type WatchOutcome = 'done' | 'stopped' | 'not started' | 'unreachable';

/**
 * Polls the capture until every table is done, the signal aborts (Ctrl-C) or a configured timeout passes. On a
 * terminal the lines are redrawn in place; otherwise a line is written when a table's figures change, at most every
 * few seconds per table.
 */
export async function watchSnapshot(options: WatchOptions): Promise<WatchOutcome> {
  const { out, tracker, signal } = options;
  const tty = out.isTTY === true;
  const width = Math.max(...tracker.tables.map((table) => table.length));
  const lastLine = new Map<string, { text: string; at: number }>();
  let drawn = 0;
  let unreachable = false;
  // When the capture last answered, and when a table last ran or moved on (or the watch began, or the capture came back).
  let answeredAt = Date.now();
  let activeAt = answeredAt;
  let lastStates = '';
  while (!signal.aborted) {
    let tables: TableProgress[] | null = null;
    try {
      const status = (await readProcess(options.url, '/status', options.token)) as CaptureStatusReport;
      tables = tracker.update(status.snapshot ?? []);
      answeredAt = Date.now();
      if (unreachable) {
        out.write('the capture answers again\n');
        activeAt = answeredAt;
      }
      unreachable = false;
      options.onStatus?.(status, tables);
    } catch (error) {
      // A capture that restarts resumes the snapshot: say so once and keep asking.
      if (!unreachable) {
        const giveUp = options.unreachableTimeoutMs === undefined ? ' (Ctrl-C to stop watching)' : ` for up to ${options.unreachableTimeoutMs / 1000} s`;
        out.write(`the capture does not answer (${(error as Error).message}); still waiting${giveUp}\n`);
      }
      unreachable = true;
      drawn = 0;
      if (options.unreachableTimeoutMs !== undefined && Date.now() - answeredAt >= options.unreachableTimeoutMs) return 'unreachable';
    }
    if (tables) {
      const lines = tables.map((table) => progressLine(table, width, tty));
      if (tty) {
        // Back to the first line drawn last time, then over it.
        out.write(`${drawn > 0 ? `\x1b[${drawn}F` : ''}${lines.map((line) => `\x1b[2K${line}\n`).join('')}`);
        drawn = lines.length;
      } else {
        const now = Date.now();
        tables.forEach((table, index) => {
          const text = lines[index] as string;
          const last = lastLine.get(table.table);
          if (last?.text === text || (last && table.state !== 'done' && now - last.at < 5_000)) return;
          lastLine.set(table.table, { text, at: now });
          out.write(`${text}\n`);
        });
      }
      if (tables.every((table) => table.state === 'done')) return 'done';
      const states = tables.map((table) => `${table.state}:${table.progress?.rowsDone ?? ''}`).join(',');
      if (states !== lastStates || tables.some((table) => table.state === 'running')) activeAt = Date.now();
      lastStates = states;
      if (options.startTimeoutMs !== undefined && Date.now() - activeAt >= options.startTimeoutMs) return 'not started';
    }
    await delay(options.pollMs ?? 1_000, undefined, { signal }).catch(() => undefined);
  }
  return 'stopped';
}
