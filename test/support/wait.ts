import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';

/** Polls `probe` until it returns a value other than undefined, or fails with `what` after the deadline. */
export async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (let pause = 20; Date.now() < deadline; pause = Math.min(pause * 2, 500)) {
    try {
      const result = await probe();
      if (result !== undefined) return result;
    } catch (error) {
      lastError = error;
    }
    await delay(pause);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`, { cause: lastError });
}

/** A name no other test run uses, valid as a topic, database and Avro name part. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}
