import { afterEach } from 'vitest';
import type { CaptureProcess } from './capture-process.ts';

/**
 * What a test starts and must end: after each test, its processes are killed (SIGKILL) and awaited, then its
 * cleanups run in reverse order of registration, each failure ignored so that the others still run.
 */
export function processScope(): { processes: CaptureProcess[]; cleanups: Array<() => Promise<void>> } {
  const processes: CaptureProcess[] = [];
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const process of processes.splice(0)) {
      if (process.child.exitCode === null && process.child.signalCode === null) process.child.kill('SIGKILL');
      await process.exited;
    }
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
  });
  return { processes, cleanups };
}
