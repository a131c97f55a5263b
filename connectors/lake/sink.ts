import { unlinkSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import type { LakeSinkConfig } from '#config/schema.ts';
import { TributaryError } from '#core/errors.ts';
import type { LogFlush, LogPartition, LogRecord, LogSink, RefusedRecord } from '#core/log-sink.ts';
import { ensureDir } from './durable-fs.ts';
import { fsError } from './errors.ts';
import { DEFAULT_ROW_GROUP, type RowGroupLimits } from './file-writer.ts';
import { MANIFEST_DIR, partitionKey, TEMP_DIR } from './layout.ts';
import { PartitionLog } from './partition-log.ts';

export interface LakeSinkOptions {
  rowGroup?: RowGroupLimits;
  now?: () => number;
}

/**
 * The lake sink: every change event of the topics it consumes becomes a row of a Parquet file under a local
 * directory (TYPES.md has the layout, the columns and the types). One PartitionLog per assigned partition does the
 * work; this class checks the directory, keeps them apart and classifies file system errors.
 *
 * A partition whose operation failed is dropped (its open file deleted): its state after a half-done step is not
 * trusted, and the runner's restart opens it again from the manifest.
 */
export class LakeSink implements LogSink {
  private readonly root: string;
  private readonly logs = new Map<string, PartitionLog>();

  constructor(
    private readonly config: LakeSinkConfig,
    private readonly options: LakeSinkOptions = {},
  ) {
    const path = config.connection.path;
    this.root = isAbsolute(path) ? path : resolve(path);
  }

  async connect(): Promise<void> {
    if (/^s3:\/\//i.test(this.config.connection.path)) {
      throw new TributaryError(
        'CONFIG_INVALID',
        `sink "${this.config.name}": connection.path ${this.config.connection.path} is an S3 URL, and the lake sink does not support S3 yet; use a local directory (a mounted volume works)`,
      );
    }
    const probe = join(this.root, TEMP_DIR, `.probe-${process.pid}`);
    try {
      ensureDir(this.root, TEMP_DIR);
      ensureDir(this.root, MANIFEST_DIR);
      // The directory may exist but be read-only: find out now rather than at the first file.
      writeFileSync(probe, '');
      unlinkSync(probe);
    } catch (error) {
      throw fsError(`checking that the lake directory ${this.root} can be written`, error);
    }
  }

  async open(partition: LogPartition): Promise<void> {
    await this.release(partition);
    const { log } = this.run(partition, 'recovering', () =>
      PartitionLog.open(
        {
          root: this.root,
          rollBytes: this.config.connection.rollBytes,
          rollMs: this.config.connection.rollMs,
          rowGroup: this.options.rowGroup ?? DEFAULT_ROW_GROUP,
          now: this.options.now ?? Date.now,
        },
        partition,
      ),
    );
    this.logs.set(partitionKey(partition), log);
  }

  async append(partition: LogPartition, records: readonly LogRecord[], through: string): Promise<{ flushed: LogFlush[]; refused: RefusedRecord[] }> {
    return this.run(partition, `writing offsets through ${through}`, () => this.log(partition).append(records, through));
  }

  async flush(partition: LogPartition, all: boolean): Promise<LogFlush[]> {
    return this.run(partition, 'publishing a file', () => this.log(partition).flush(all));
  }

  durableEnd(partition: LogPartition): string | null {
    return this.logs.get(partitionKey(partition))?.durableEnd() ?? null;
  }

  async release(partition: LogPartition): Promise<void> {
    try {
      this.drop(partitionKey(partition));
    } catch (error) {
      throw fsError(`dropping the open file of ${partition.topic}/${partition.partition}`, error);
    }
  }

  async close(): Promise<void> {
    for (const key of [...this.logs.keys()]) {
      try {
        this.drop(key);
      } catch {
        // Closing goes on: a temporary file left behind is deleted when the partition is next opened.
      }
    }
  }

  /** Forgets a partition and deletes its open file. */
  private drop(key: string): void {
    const log = this.logs.get(key);
    this.logs.delete(key);
    log?.release();
  }

  private log(partition: LogPartition): PartitionLog {
    const log = this.logs.get(partitionKey(partition));
    if (!log) throw new TributaryError('INTERNAL', `partition ${partition.topic}/${partition.partition} was not opened`);
    return log;
  }

  private run<T>(partition: LogPartition, action: string, work: () => T): T {
    try {
      return work();
    } catch (error) {
      try {
        this.drop(partitionKey(partition));
      } catch {
        // The failure that brought us here is the one to report.
      }
      throw fsError(`${action} of ${partition.topic}/${partition.partition} in lake ${this.root}`, error);
    }
  }
}
