import { setTimeout as delay } from 'node:timers/promises';
import { TributaryError, withAction } from './errors.ts';
import type { Logger } from './log.ts';

export interface RetryOptions {
  signal?: AbortSignal;
  log?: Logger;
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** Give up after this many attempts; unbounded by default, as an outage may last. */
  maxAttempts?: number;
  /** Told of every failed attempt (for metrics and status), with whether it will be retried. */
  onFailure?: (error: TributaryError, retrying: boolean) => void;
}

/**
 * The one retry loop of the project. Runs `work` until it succeeds; a retriable TributaryError is logged once
 * per attempt with the action that failed and retried after an exponential delay with full jitter; anything
 * else is thrown at once, wrapped with the action.
 */
export async function retry<T>(action: string, work: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const initial = options.initialDelayMs ?? 250;
  const max = options.maxDelayMs ?? 30_000;
  for (let attempt = 1; ; attempt++) {
    const started = Date.now();
    try {
      return await work(attempt);
    } catch (error) {
      // Work that ran well past the longest delay before failing had recovered: this is a new outage, so the
      // backoff starts over instead of going on from the previous outage's attempts.
      if (Date.now() - started > 2 * max) attempt = 1;
      const retriable = error instanceof TributaryError && error.retriable;
      if (!retriable || options.signal?.aborted || attempt >= (options.maxAttempts ?? Infinity)) {
        const failure = withAction(action, error);
        options.onFailure?.(failure, false);
        throw failure;
      }
      options.onFailure?.(error, true);
      const wait = Math.round(Math.random() * Math.min(max, initial * 2 ** (attempt - 1)));
      options.log?.warn({ action, attempt, retryInMs: wait, code: error.code, err: error.message }, `${action} failed; retrying`);
      await delay(wait, undefined, options.signal ? { signal: options.signal } : undefined).catch(() => undefined);
      if (options.signal?.aborted) throw withAction(action, error);
    }
  }
}
