import { describe, expect, it } from 'vitest';
import { BoundedQueue } from './bounded-queue.ts';

describe('BoundedQueue', () => {
  it('pauses the source past the byte bound and resumes it below half', async () => {
    const flow: string[] = [];
    const queue = new BoundedQueue<number>(100, { pause: () => flow.push('pause'), resume: () => flow.push('resume') });
    for (let i = 0; i < 10; i++) queue.push(i, 20);
    expect(flow).toEqual(['pause']);
    expect(queue.bufferedBytes).toBe(200);
    const read: number[] = [];
    for (let i = 0; i < 7; i++) read.push((await queue.next()).value as number);
    expect(read).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(flow).toEqual(['pause']); // 60 bytes left: above half of the bound
    await queue.next();
    expect(flow).toEqual(['pause', 'resume']);
  });

  it('hands items to a waiting consumer, then ends after draining', async () => {
    const queue = new BoundedQueue<string>(1000, { pause: () => undefined, resume: () => undefined });
    const pending = queue.next();
    queue.push('a', 1);
    expect(await pending).toEqual({ value: 'a', done: false });
    queue.push('b', 1);
    queue.end();
    const rest: string[] = [];
    for await (const item of queue) rest.push(item);
    expect(rest).toEqual(['b']);
  });

  it('delivers queued items before the failure', async () => {
    const queue = new BoundedQueue<number>(1000, { pause: () => undefined, resume: () => undefined });
    queue.push(1, 1);
    queue.fail(new Error('lost connection'));
    expect((await queue.next()).value).toBe(1);
    await expect(queue.next()).rejects.toThrow('lost connection');
  });

  it('keeps order across many items and compactions', async () => {
    const queue = new BoundedQueue<number>(1e9, { pause: () => undefined, resume: () => undefined });
    const n = 5000;
    for (let i = 0; i < n; i++) queue.push(i, 1);
    queue.end();
    let expected = 0;
    for await (const item of queue) expect(item).toBe(expected++);
    expect(expected).toBe(n);
  });

  it('hands over what is queued in runs of at most the size asked, in order, then the failure', async () => {
    const flow: string[] = [];
    const queue = new BoundedQueue<number>(100, { pause: () => flow.push('pause'), resume: () => flow.push('resume') });
    const waiting = queue.nextBatch(4);
    queue.push(0, 20);
    expect(await waiting).toEqual({ value: [0], done: false });
    for (let i = 1; i <= 2_000; i++) queue.push(i, 20);
    expect(flow).toEqual(['pause']);
    expect((await queue.nextBatch(4)).value).toEqual([1, 2, 3, 4]);
    const read: number[] = [1, 2, 3, 4];
    for (let run = await queue.nextBatch(1_500); ; run = await queue.nextBatch(1_500)) {
      read.push(...(run.value as number[]));
      if (read.length === 2_000) break;
    }
    expect(read).toEqual(Array.from({ length: 2_000 }, (_, i) => i + 1));
    expect(flow).toEqual(['pause', 'resume']);
    queue.push(2_001, 1);
    queue.fail(new Error('lost connection'));
    expect((await queue.nextBatch(10)).value).toEqual([2_001]);
    await expect(queue.nextBatch(10)).rejects.toThrow('lost connection');
  });
});
