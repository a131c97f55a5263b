import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LakeSinkConfig } from '#config/schema.ts';
import { TributaryError } from '#core/errors.ts';
import { LakeSink } from './sink.ts';

const config = (path: string): LakeSinkConfig =>
  ({ type: 'lake', name: 'lake', topics: ['t'], startFrom: 'earliest', batch: { maxRows: 1000, lingerMs: 100 }, onError: 'dlq', connection: { path, rollBytes: 1 << 20, rollMs: 1000 } }) as LakeSinkConfig;

let root: string;
beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'lake-sink-'))));
afterEach(() => rmSync(root, { recursive: true, force: true }));

async function connectError(path: string): Promise<TributaryError | undefined> {
  try {
    await new LakeSink(config(path)).connect();
  } catch (error) {
    return error as TributaryError;
  }
  return undefined;
}

describe('LakeSink.connect', () => {
  it('refuses an S3 URL with one clear configuration error', async () => {
    const error = await connectError('s3://bucket/prefix');
    expect(error).toBeInstanceOf(TributaryError);
    expect(error?.code).toBe('CONFIG_INVALID');
    expect(error?.retriable).toBe(false);
    expect(error?.message).toMatch(/does not support S3 yet; use a local directory/);
  });

  it('creates the directory and its state folders', async () => {
    expect(await connectError(join(root, 'a', 'b'))).toBeUndefined();
  });

  // Root writes into any directory, so there is nothing to refuse: the skip says so in the test's name.
  it.skipIf(process.getuid?.() === 0)('refuses a directory it cannot write, without retrying (skipped when run as root, who can write anywhere)', async () => {
    chmodSync(root, 0o500);
    const error = await connectError(join(root, 'lake'));
    chmodSync(root, 0o700);
    expect(error?.code).toBe('TARGET_REJECTED');
    expect(error?.retriable).toBe(false);
  });

  it('refuses a path that is a file', async () => {
    const error = await connectError('/dev/null/lake');
    expect(error?.code).toBe('TARGET_REJECTED');
  });

  it('refuses to append to a partition it has not opened', async () => {
    const sink = new LakeSink(config(root));
    await sink.connect();
    await expect(sink.append({ topic: 't', partition: 0 }, [], '0')).rejects.toThrow(/not opened/);
  });
});
