import { existsSync, readdirSync, renameSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TributaryError } from '#core/errors.ts';
import type { Op } from '#core/change-event.ts';
import type { LogFlush, LogPartition, LogRecord, RefusedRecord } from '#core/log-sink.ts';
import { qualifiedName } from '#core/table-schema.ts';
import { ensureDir, fsyncDir } from './durable-fs.ts';
import { faultAt } from './fault.ts';
import { ParquetFileWriter, type RowGroupLimits } from './file-writer.ts';
import { dataFileName, isTempFileOf, manifestFile, partitionDir, TEMP_DIR, tempFile, utcDate } from './layout.ts';
import { Manifest, type ManifestEntry } from './manifest.ts';

export interface PartitionLogSettings {
  /** The lake's root directory. */
  root: string;
  rollBytes: number;
  rollMs: number;
  rowGroup: RowGroupLimits;
  /** The clock file ages are measured with (tests move it). */
  now: () => number;
}

/** The file being written: one table version, one UTC date, rows at increasing offsets. */
interface OpenFile {
  writer: ParquetFileWriter;
  temp: string;
  schemaId: number;
  date: string;
  /** Offsets of its first and last row; null until a row is in. */
  firstOffset: string | null;
  lastOffset: string | null;
  openedAt: number;
  ops: Partial<Record<Op, number>>;
}

/**
 * One topic partition's part of the lake: the file being written and what the manifest says is durable. Records
 * at offsets a published file holds are skipped, which makes a replay write nothing twice; a record that needs
 * another file than the open one (a new schema version or UTC date) or fills it (rollBytes) publishes it first.
 */
export class PartitionLog {
  private file: OpenFile | null = null;
  /** The last offset a published file holds. */
  private coveredThrough: bigint | null;
  /** The last offset handed over (append's `through`). */
  private handedThrough: bigint | null = null;

  private constructor(
    private readonly settings: PartitionLogSettings,
    private readonly partition: LogPartition,
    private readonly manifest: Manifest,
    coveredThrough: bigint | null,
  ) {
    this.coveredThrough = coveredThrough;
  }

  /**
   * Recovers the partition from whatever a crash left: a file renamed into place but not listed yet is listed
   * (rename is atomic and the file was fsynced before, so it is whole); temporary files are deleted.
   */
  static open(settings: PartitionLogSettings, partition: LogPartition): { log: PartitionLog; reconciled: string[]; removedTemps: string[] } {
    ensureDir(settings.root, TEMP_DIR);
    const manifestPath = join(settings.root, manifestFile(partition));
    ensureDir(settings.root, dirname(manifestFile(partition)));
    const manifest = new Manifest(manifestPath);
    const state = manifest.load();
    let covered = state.coveredThrough;
    const reconciled: string[] = [];
    for (const entry of state.pending) {
      if (!existsSync(join(settings.root, entry.file))) continue; // the crash came before the rename: the temp file goes below
      manifest.append('published', entry);
      reconciled.push(entry.file);
      const last = BigInt(entry.lastOffset);
      if (covered === null || last > covered) covered = last;
    }
    const tempDir = join(settings.root, TEMP_DIR);
    const removedTemps = readdirSync(tempDir).filter((name) => isTempFileOf(name, partition));
    for (const name of removedTemps) unlinkSync(join(tempDir, name));
    if (removedTemps.length > 0) fsyncDir(tempDir);
    return { log: new PartitionLog(settings, partition, manifest, covered), reconciled, removedTemps };
  }

  /** The last offset durably held, or null. */
  get covered(): bigint | null {
    return this.coveredThrough;
  }

  append(records: readonly LogRecord[], through: string): { flushed: LogFlush[]; refused: RefusedRecord[] } {
    const flushed: LogFlush[] = [];
    const refused: RefusedRecord[] = [];
    for (const record of records) {
      const offset = BigInt(record.offset);
      // Invariant: a published file holds every row at or below coveredThrough; writing them again would duplicate.
      if (this.coveredThrough !== null && offset <= this.coveredThrough) continue;
      if (this.handedThrough !== null && offset <= this.handedThrough) {
        throw new TributaryError('INTERNAL', `${this.partition.topic}/${this.partition.partition}: offset ${record.offset} was handed over before; the runner must release the partition on a rewind`);
      }
      const date = utcDate(record.tsMs);
      let file = this.file;
      if (file && (file.schemaId !== record.schemaId || file.date !== date || file.writer.table !== record.table)) {
        pushIf(flushed, this.publish());
        file = null;
      }
      file ??= this.create(record, date);
      try {
        file.writer.append(record);
      } catch (error) {
        if (error instanceof TributaryError && error.code === 'VALUE_INVALID') {
          refused.push({ record, error });
          continue;
        }
        throw error;
      }
      file.firstOffset ??= record.offset;
      file.lastOffset = record.offset;
      file.ops[record.op] = (file.ops[record.op] ?? 0) + 1;
      if (file.writer.bytes >= this.settings.rollBytes) pushIf(flushed, this.publish());
    }
    const handed = BigInt(through);
    if (this.handedThrough === null || handed > this.handedThrough) this.handedThrough = handed;
    return { flushed, refused };
  }

  /** Publishes the open file when it is older than rollMs, or in any case with `all`. */
  flush(all: boolean): LogFlush[] {
    const file = this.file;
    if (!file || (!all && this.settings.now() - file.openedAt < this.settings.rollMs)) return [];
    const flushed: LogFlush[] = [];
    pushIf(flushed, this.publish());
    return flushed;
  }

  /** See LogSink.durableEnd: the open file's first row, else past everything handed over. */
  durableEnd(): string | null {
    if (this.file?.firstOffset) return this.file.firstOffset;
    return this.handedThrough === null ? null : (this.handedThrough + 1n).toString();
  }

  /** Drops the open file, unpublished. */
  release(): void {
    const file = this.file;
    this.file = null;
    file?.writer.abort();
  }

  private create(record: LogRecord, date: string): OpenFile {
    const temp = tempFile(this.partition, record.offset);
    const writer = new ParquetFileWriter(join(this.settings.root, temp), record.table, this.settings.rowGroup);
    this.file = { writer, temp, schemaId: record.schemaId, date, firstOffset: null, lastOffset: null, openedAt: this.settings.now(), ops: {} };
    return this.file;
  }

  /**
   * Makes the open file part of the lake: finish and fsync it, announce it in the manifest, rename it into place,
   * fsync the directories, list it. A crash at any step leaves either no visible file (the temporary one is
   * deleted at the next open) or a whole one that the next open lists.
   */
  private publish(): LogFlush | null {
    const file = this.file as OpenFile;
    this.file = null;
    if (file.firstOffset === null || file.lastOffset === null) {
      file.writer.abort(); // every record of it was refused
      return null;
    }
    const started = performance.now();
    const table = file.writer.table;
    let renamed = false;
    try {
      const bytes = file.writer.finish();
      const entry: ManifestEntry = {
        file: join(partitionDir(table, file.date), dataFileName(this.partition, file.firstOffset, file.lastOffset)),
        topic: this.partition.topic,
        partition: this.partition.partition,
        firstOffset: file.firstOffset,
        lastOffset: file.lastOffset,
        rows: file.writer.rows,
        bytes,
        schemaId: file.schemaId,
        table: qualifiedName(table),
        date: file.date,
        created: new Date().toISOString(),
      };
      this.manifest.checkOwned();
      const target = join(this.settings.root, entry.file);
      ensureDir(this.settings.root, dirname(entry.file));
      this.manifest.append('renaming', entry);
      faultAt('renaming');
      renameSync(join(this.settings.root, file.temp), target);
      renamed = true;
      fsyncDir(dirname(target));
      fsyncDir(join(this.settings.root, TEMP_DIR));
      faultAt('renamed');
      this.manifest.append('published', entry);
      this.coveredThrough = BigInt(file.lastOffset);
      faultAt('published');
    } catch (error) {
      // Before the rename nothing is visible: the temporary file goes. After it, the next open() lists the file.
      if (!renamed) file.writer.abort();
      throw error;
    }
    return { table, records: file.writer.rows, ops: file.ops, seconds: (performance.now() - started) / 1000 };
  }
}

function pushIf<T>(list: T[], item: T | null): void {
  if (item !== null) list.push(item);
}
