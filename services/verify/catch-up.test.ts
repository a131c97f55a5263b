import { describe, expect, it } from 'vitest';
import type { CaptureStatusReport } from '#capture/status.ts';
import type { GroupLag, PartitionLag } from '#kafka/group-offsets.ts';
import { captureCommitted, sinkCaughtUp } from './catch-up.ts';

function status(lastCommitAt: string | null, state: CaptureStatusReport['state'] = 'streaming'): CaptureStatusReport {
  return {
    kind: 'capture',
    name: 'shop',
    type: 'postgres',
    state,
    startedAt: '',
    position: null,
    lastCommitAt,
    lastEventTime: null,
    events: 0,
    eventsPerSecond: 0,
    snapshot: [],
    slot: null,
    lastError: state === 'failed' ? { code: 'POSITION_LOST', message: 'slot gone', at: '' } : null,
  };
}

/** A reader answering the given statuses in turn, the last one for ever. */
function reads(...answers: (CaptureStatusReport | Error)[]): { read: () => Promise<CaptureStatusReport>; count: () => number } {
  let asked = 0;
  return {
    read: async () => {
      const answer = answers[Math.min(asked++, answers.length - 1)] as CaptureStatusReport | Error;
      if (answer instanceof Error) throw answer;
      return answer;
    },
    count: () => asked,
  };
}

describe('captureCommitted', () => {
  it('is satisfied by two commits after the read that showed the snapshot done', async () => {
    const r = reads(status('t0'), status('t1'), status('t1'), status('t2'));
    expect(await captureCommitted(r.read, 't0', { timeoutMs: 5_000, pollMs: 1, quietMs: 60_000 })).toEqual({ ok: true });
    expect(r.count()).toBe(4);
  });

  it('is satisfied by a quiet period without commits: nothing was pending', async () => {
    const r = reads(status('t0'));
    expect(await captureCommitted(r.read, 't0', { timeoutMs: 5_000, pollMs: 5, quietMs: 50 })).toEqual({ ok: true });
    expect(r.count()).toBeGreaterThan(1);
  });

  it('fails when the capture failed, saying why', async () => {
    const r = reads(status('t0', 'failed'));
    const result = await captureCommitted(r.read, 't0', { timeoutMs: 5_000, pollMs: 1 });
    expect(result).toEqual({ ok: false, reason: 'the capture failed before committing what the snapshot emitted: POSITION_LOST slot gone' });
  });

  it('gives up at the timeout while the capture retries or does not answer', async () => {
    const retrying = await captureCommitted(reads(status('t0', 'retrying')).read, 't0', { timeoutMs: 60, pollMs: 5, quietMs: 10 });
    expect(retrying).toEqual({ ok: false, reason: expect.stringMatching(/within 0\.06 s: it is retrying$/) });
    const silent = await captureCommitted(reads(new Error('ECONNREFUSED')).read, 't0', { timeoutMs: 60, pollMs: 5, quietMs: 10 });
    expect(silent).toEqual({ ok: false, reason: expect.stringMatching(/it does not answer \(ECONNREFUSED\)$/) });
  });
});

function partition(p: Partial<PartitionLag> & { end: string; lagMessages: string }): PartitionLag {
  return { topic: 't', partition: 0, committed: null, lagSeconds: null, ...p };
}

function group(partitions: PartitionLag[], members = 1): GroupLag {
  return { group: 'copy', state: 'Stable', members, partitions, totalLagMessages: '0' };
}

describe('sinkCaughtUp', () => {
  it('waits until every partition passes the end the first read found, later messages aside', async () => {
    const answers = [
      // First read: the ends to reach are 100 and 50.
      group([partition({ end: '100', lagMessages: '40' }), partition({ partition: 1, end: '50', lagMessages: '0' })]),
      // New messages came in (end 120): 100 is reached when the lag is 20 or less.
      group([partition({ end: '120', lagMessages: '30' }), partition({ partition: 1, end: '50', lagMessages: '0' })]),
      group([partition({ end: '120', lagMessages: '20' }), partition({ partition: 1, end: '55', lagMessages: '5' })]),
    ];
    const seen: string[] = [];
    let asked = 0;
    const result = await sinkCaughtUp(async () => answers[Math.min(asked++, answers.length - 1)] as GroupLag, {
      timeoutMs: 5_000,
      pollMs: 1,
      onWait: (behind) => seen.push(`${behind.messages}/${behind.partitions}`),
    });
    expect(result).toEqual({ ok: true });
    expect(seen).toEqual(['40/1', '10/1', '0/0']);
  });

  it('takes a partition one short of its end as caught up only when what is left holds no message', async () => {
    let timestamped = 0;
    const readLag = async (timestamps: boolean) => {
      if (!timestamps) return group([partition({ end: '10', lagMessages: '1' })]);
      timestamped++;
      // The first check finds a message left (lagSeconds > 0); the second only the transaction marker.
      return group([partition({ end: '10', lagMessages: '1', lagSeconds: timestamped === 1 ? 3 : 0 })]);
    };
    expect(await sinkCaughtUp(readLag, { timeoutMs: 5_000, pollMs: 1 })).toEqual({ ok: true });
    expect(timestamped).toBe(2);
  });

  it('gives up at the timeout with how far behind the group is', async () => {
    const lag = group([partition({ end: '10', lagMessages: '10' }), partition({ partition: 1, end: '4', lagMessages: '2' })], 0);
    const result = await sinkCaughtUp(async () => lag, { timeoutMs: 30, pollMs: 5 });
    expect(result).toEqual({ ok: false, behind: { messages: 12n, partitions: 2 }, lag });
  });
});
