import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { isoDate } from '#core/calendar.ts';
import type { LogPartition } from '#core/log-sink.ts';
import type { TableSchema } from '#core/table-schema.ts';

// Where the lake puts things. Data files are Hive-partitioned by table and UTC date, named by the partition and
// offset range they hold; Tributary's own state lives under `_tributary/`, where no data file ever is, and its
// temporary files do not end in `.parquet`, so that a reader globbing `**/*.parquet` sees complete files only.

/** Tributary's own directory inside the lake: manifests and temporary files. */
export const STATE_DIR = '_tributary';
export const TEMP_DIR = join(STATE_DIR, 'tmp');
export const MANIFEST_DIR = join(STATE_DIR, 'manifest');
const TEMP_SUFFIX = '.parquet.tmp';

/**
 * A Hive partition value: characters a path or a Hive reader treats specially (`/`, `=`, `%`, `\`, quotes,
 * control characters, …) are percent-encoded as UTF-8, as Hive and Spark do; DuckDB decodes them back.
 */
export function partitionValue(text: string): string {
  let value = '';
  for (const ch of text) value += SAFE.test(ch) ? ch : [...Buffer.from(ch, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  return value;
}

const SAFE = /^[A-Za-z0-9_.$@-]$/;

/** The UTC date of a millisecond timestamp, `YYYY-MM-DD`. */
export function utcDate(tsMs: number): string {
  return isoDate(Math.floor(tsMs / 86_400_000));
}

/** `table=<namespace>.<table>/date=<YYYY-MM-DD>`, relative to the lake's root. */
export function partitionDir(table: Pick<TableSchema, 'namespace' | 'table'>, date: string): string {
  return join(`table=${partitionValue(`${table.namespace}.${table.table}`)}`, `date=${date}`);
}

/** `<topic>+<partition>+<firstOffset>+<lastOffset>.parquet`: a replay of the same range writes the same name. */
export function dataFileName(partition: LogPartition, firstOffset: string, lastOffset: string): string {
  return `${partitionKey(partition)}+${firstOffset}+${lastOffset}.parquet`;
}

/** Topic names hold only `[A-Za-z0-9._-]`, so `+` separates safely. */
export function partitionKey(partition: LogPartition): string {
  return `${partition.topic}+${partition.partition}`;
}

/** The manifest of one partition, relative to the lake's root. */
export function manifestFile(partition: LogPartition): string {
  return join(MANIFEST_DIR, `${partitionKey(partition)}.jsonl`);
}

/** A fresh temporary file name for a partition's next file, relative to the lake's root. */
export function tempFile(partition: LogPartition, firstOffset: string): string {
  return join(TEMP_DIR, `${partitionKey(partition)}+${firstOffset}.${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`);
}

/** Whether `name` (a file name in TEMP_DIR) is a temporary file of `partition`. */
export function isTempFileOf(name: string, partition: LogPartition): boolean {
  return name.startsWith(`${partitionKey(partition)}+`) && name.endsWith(TEMP_SUFFIX);
}
