import { describe, expect, it } from 'vitest';
import { log } from './log.ts';
import { SnapshotQueue } from './snapshot-queue.ts';
import type { SnapshotProgress } from './source.ts';

describe('SnapshotQueue', () => {
  const queue = (progress = new Map<string, SnapshotProgress>()) => ({ progress, queue: new SnapshotQueue(undefined, progress, log) });

  it('reads a table by keys chunk after chunk, progress counted in keys, what is left kept for the offsets', () => {
    const { queue: q, progress } = queue();
    q.request('s1', ['db.t'], { 'db.t': [['1'], ['2'], ['3']] });
    expect(q.head()).toMatchObject({ id: 's1', table: 'db.t', keys: [['1'], ['2'], ['3']] });
    expect(q.needsEstimate()).toBe(false);
    expect(progress.get('db.t')).toMatchObject({ rowsEstimated: 3, rowsDone: 0, done: false });

    q.published(1, null, false, 2);
    expect(q.current()).toEqual({ queue: [{ id: 's1', table: 'db.t', keys: [['3']] }], lastKey: null });
    expect(progress.get('db.t')).toMatchObject({ rowsDone: 2, done: false });
    q.published(0, null, true, 1);
    expect(q.current()).toBeUndefined();
    expect(progress.get('db.t')).toMatchObject({ rowsDone: 3, done: true });
  });

  it('queues a table once: a signal read again adds nothing, another signal\'s keys join the keys queued', () => {
    const { queue: q, progress } = queue();
    q.request('s1', ['db.t', 'db.u'], { 'db.t': [['1']] });
    q.request('s1', ['db.t'], { 'db.t': [['1']] });
    q.request('s2', ['db.t', 'db.u'], { 'db.t': [['1'], ['9']], 'db.u': [['4']] });
    expect(q.current()?.queue).toEqual([
      { id: 's1', table: 'db.t', keys: [['1'], ['9']] },
      { id: 's1', table: 'db.u' },
    ]);
    expect(progress.get('db.t')?.rowsEstimated).toBe(2);
  });

  it('resumes from the state stored with an offset', () => {
    const progress = new Map<string, SnapshotProgress>();
    const q = new SnapshotQueue({ queue: [{ id: 's1', table: 'db.t', keys: [['7'], ['8']] }], lastKey: null }, progress, log);
    expect(q.head()?.keys).toEqual([['7'], ['8']]);
    expect(progress.get('db.t')).toMatchObject({ rowsEstimated: 2, signal: 's1' });
  });

  it("keeps its own progress entry when the initial snapshot's entry for the same table replaces it", () => {
    const { queue: q, progress } = queue();
    q.request('s1', ['db.t']);
    // The initial snapshot, still running (or run again after a restart), sets its entry for the table.
    progress.set('db.t', { table: 'db.t', rowsDone: 500, rowsEstimated: 500, rowsPerSecond: 10, done: true });
    expect(q.needsEstimate()).toBe(true);
    q.estimated(40);
    q.published(40, ['40'], true);
    expect(progress.get('db.t')).toMatchObject({ signal: 's1', rowsEstimated: 40, rowsDone: 40, done: true });
  });
});
