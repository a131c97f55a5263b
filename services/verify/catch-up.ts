import { setTimeout as delay } from 'node:timers/promises';
import type { CaptureStatusReport } from '#capture/status.ts';
import type { GroupLag } from '#kafka/group-offsets.ts';

// `verify --repair` waits, between the capture's snapshot and the last verify pass, for what the snapshot emitted
// to reach the target: first for the capture to commit it to Kafka, then for the sink's consumer group to pass the
// ends of its topics as they were once that commit was in. Both waits read what the processes report (the
// capture's /status, the group's committed offsets), never the data.

export interface WaitOptions {
  timeoutMs: number;
  pollMs?: number;
  signal?: AbortSignal;
}

export type CaptureCommit = { ok: true } | { ok: false; reason: string };

/**
 * The capture marks a table done when it hands the last chunk to its runner, which commits that chunk with the
 * next Kafka transaction, a linger period (100 ms) later. `lastCommitAt` is what the status read that first showed
 * the snapshot done said. The chunk is in Kafka once two commits followed that read (the first may have been in
 * flight already), or once no commit followed for `quietMs` (nothing was pending: the chunk went with a commit
 * before that read).
 */
export async function captureCommitted(
  read: () => Promise<CaptureStatusReport>,
  lastCommitAt: string | null,
  options: WaitOptions & { quietMs?: number },
): Promise<CaptureCommit> {
  const quietMs = options.quietMs ?? 2_000;
  const deadline = Date.now() + options.timeoutMs;
  let last = lastCommitAt;
  let commits = 0;
  let changedAt = Date.now();
  let problem = 'no status read yet';
  while (!options.signal?.aborted) {
    try {
      const status = await read();
      // Failed for good: what it had not committed is lost with it. (A capture that stops for a restart commits what
      // it holds, or reads it again when it resumes: that shows as a commit, or as the timeout.)
      if (status.state === 'failed') {
        const error = status.lastError ? `: ${status.lastError.code} ${status.lastError.message}` : '';
        return { ok: false, reason: `the capture failed before committing what the snapshot emitted${error}` };
      }
      if (status.lastCommitAt !== last) {
        last = status.lastCommitAt;
        commits++;
        changedAt = Date.now();
      }
      if (commits >= 2) return { ok: true };
      const settled = status.state === 'streaming' || status.state === 'snapshotting';
      if (settled && Date.now() - changedAt >= quietMs) return { ok: true };
      problem = settled ? `its last commit was at ${last ?? 'no time yet'}` : `it is ${status.state}`;
    } catch (error) {
      problem = `it does not answer (${(error as Error).message})`;
    }
    if (Date.now() >= deadline) return { ok: false, reason: `the capture did not show a commit of what the snapshot emitted within ${options.timeoutMs / 1000} s: ${problem}` };
    await pause(options);
  }
  return { ok: false, reason: 'stopped (interrupted)' };
}

export interface SinkBehind {
  /** Offsets (transaction markers included) between where the group resumes and the ends it must reach. */
  messages: bigint;
  partitions: number;
}

export type SinkCatchUp = { ok: true } | { ok: false; behind: SinkBehind; lag: GroupLag };

/**
 * Waits until the group's committed offsets reach the ends of its partitions as the first read found them.
 * Committed offsets point at the next message to read, and a sink commits the offset after the last message it
 * applied: the commit marker of the transaction that ends a partition is never consumed, so a partition one short
 * of its end counts as caught up when what is left up to the end holds no message (groupLag's lagSeconds is then
 * 0). `readLag(timestamps)` is groupLag over the repaired tables' topics; `onWait` hears how far behind it is.
 */
export async function sinkCaughtUp(
  readLag: (timestamps: boolean) => Promise<GroupLag>,
  options: WaitOptions & { onWait?(behind: SinkBehind, lag: GroupLag): void },
): Promise<SinkCatchUp> {
  const deadline = Date.now() + options.timeoutMs;
  let lag = await readLag(false);
  const ends = new Map(lag.partitions.map((p) => [partitionKey(p), BigInt(p.end)]));
  for (;;) {
    const { behind, near } = measure(lag, ends);
    options.onWait?.(behind, lag);
    if (behind.partitions === 0 && near.length === 0) return { ok: true };
    if (behind.partitions === near.length) {
      // Only partitions one short of their end: is that last offset a marker?
      const checked = await readLag(true);
      const { behind: still, near: unsure } = measure(checked, ends);
      const empty = (key: string) => checked.partitions.find((p) => partitionKey(p) === key)?.lagSeconds === 0;
      if (still.partitions === unsure.length && unsure.every(empty)) return { ok: true };
      lag = checked;
    }
    if (Date.now() >= deadline || options.signal?.aborted) return { ok: false, behind, lag };
    await pause(options);
    lag = await readLag(false);
  }
}

/** Per partition read in the first look: how far the group's resume offset is from that look's end. */
function measure(lag: GroupLag, ends: Map<string, bigint>): { behind: SinkBehind; near: string[] } {
  const behind: SinkBehind = { messages: 0n, partitions: 0 };
  const near: string[] = [];
  for (const p of lag.partitions) {
    const key = partitionKey(p);
    const target = ends.get(key);
    if (target === undefined) continue;
    // lagMessages = end - resume when positive; a group at or past the end resumes at the end at least.
    const lagging = BigInt(p.lagMessages);
    const resume = lagging > 0n ? BigInt(p.end) - lagging : BigInt(p.end);
    if (resume >= target) continue;
    behind.messages += target - resume;
    behind.partitions++;
    if (resume === target - 1n) near.push(key);
  }
  return { behind, near };
}

function partitionKey(p: { topic: string; partition: number }): string {
  return `${p.topic}\u0000${p.partition}`;
}

async function pause(options: WaitOptions): Promise<void> {
  await delay(options.pollMs ?? 1_000, undefined, options.signal ? { signal: options.signal } : {}).catch(() => undefined);
}
