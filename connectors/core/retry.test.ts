import { describe, expect, it } from 'vitest';
import { TributaryError } from './errors.ts';
import { retry } from './retry.ts';

const unavailable = () => new TributaryError('SOURCE_UNAVAILABLE', 'connect ECONNREFUSED', { retriable: true });

describe('retry', () => {
  it('retries retriable errors until the work succeeds', async () => {
    let calls = 0;
    const result = await retry('connecting to shop', async () => {
      if (++calls < 3) throw unavailable();
      return 'ok';
    }, { initialDelayMs: 1 });
    expect(result).toBe('ok');
    expect(calls).toBe(3);
  });

  it('throws a fatal error at once, wrapped with the action', async () => {
    let calls = 0;
    const failing = retry('reading binlog position of source "shop"', async () => {
      calls++;
      throw new TributaryError('POSITION_LOST', 'binlog mysql-bin.000001 was purged');
    });
    await expect(failing).rejects.toThrow('reading binlog position of source "shop": binlog mysql-bin.000001 was purged');
    expect(calls).toBe(1);
  });

  it('stops after maxAttempts and when aborted', async () => {
    let calls = 0;
    await expect(retry('x', async () => { calls++; throw unavailable(); }, { initialDelayMs: 1, maxAttempts: 4 })).rejects.toMatchObject({ code: 'SOURCE_UNAVAILABLE' });
    expect(calls).toBe(4);
    const abort = new AbortController();
    const aborted = retry('y', async () => { abort.abort(); throw unavailable(); }, { signal: abort.signal, initialDelayMs: 10_000 });
    await expect(aborted).rejects.toThrow('y: connect ECONNREFUSED');
  });
});
