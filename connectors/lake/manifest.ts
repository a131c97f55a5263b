import { existsSync, readFileSync, statSync, truncateSync } from 'node:fs';
import { TributaryError } from '#core/errors.ts';
import { appendDurably, fsyncDir } from './durable-fs.ts';
import { dirname } from 'node:path';

/** One data file as the manifest lists it. Paths are relative to the lake's root. */
export interface ManifestEntry {
  file: string;
  topic: string;
  partition: number;
  /** Offsets of the file's first and last row; rows sit at offsets in between, never elsewhere. */
  firstOffset: string;
  lastOffset: string;
  rows: number;
  bytes: number;
  /** The registry id of the writer schema of every row of the file. */
  schemaId: number;
  table: string;
  date: string;
  created: string;
}

/**
 * A manifest line. `renaming` is written (durably) before a temporary file is renamed into place, `published`
 * after the rename is durable: a crash between the two leaves a `renaming` line that recovery resolves by
 * looking for the file (see recover()), so a file that is visible is always listed after recovery.
 */
export type ManifestLine = ManifestEntry & { event: 'renaming' | 'published' };

/** What recovery found in a manifest, and the lines it may have to add. */
export interface ManifestState {
  /** Published files, in the order they were published. */
  files: ManifestEntry[];
  /** `renaming` lines that no `published` line follows: files a crash left between intent and listing. */
  pending: ManifestEntry[];
  /** The last offset any published file holds: the partition is durable through here. */
  coveredThrough: bigint | null;
}

/** Reads manifest text; a torn last line (a crash while appending) is reported by `validBytes` short of the length. */
export function parseManifest(text: string, where: string): ManifestState & { validBytes: number } {
  const files: ManifestEntry[] = [];
  const pending = new Map<string, ManifestEntry>();
  let coveredThrough: bigint | null = null;
  const end = text.lastIndexOf('\n') + 1;
  const lines = text.slice(0, end).split('\n');
  lines.forEach((raw, index) => {
    if (raw.trim() === '') return;
    let line: ManifestLine;
    try {
      line = JSON.parse(raw) as ManifestLine;
    } catch {
      throw new TributaryError('TARGET_REJECTED', `${where} line ${index + 1} is not JSON: the manifest was changed by hand; restore it or move the partition's files away`);
    }
    const { event, ...entry } = line;
    if (event === 'renaming') {
      pending.set(entry.file, entry);
    } else if (event === 'published') {
      pending.delete(entry.file);
      files.push(entry);
      const last = BigInt(entry.lastOffset);
      if (coveredThrough === null || last > coveredThrough) coveredThrough = last;
    }
  });
  return { files, pending: [...pending.values()], coveredThrough, validBytes: Buffer.byteLength(text.slice(0, end), 'utf8') };
}

/**
 * The manifest of one partition: `_tributary/manifest/<topic>+<partition>.jsonl`, one JSON line per event, each
 * appended and fsynced before the step it announces. It is the lake's record of which offsets it holds.
 *
 * It also fences a stale owner: this process remembers the manifest's size after its own last append, and
 * refuses to publish when the file has grown since (another process took the partition over and published).
 */
export class Manifest {
  private size = 0;

  constructor(private readonly path: string) {}

  /** Reads the manifest, cutting a torn last line away (durably) so that the next append starts a line of its own. */
  load(): ManifestState {
    if (!existsSync(this.path)) {
      this.size = 0;
      return { files: [], pending: [], coveredThrough: null };
    }
    const buffer = readFileSync(this.path);
    const { validBytes, ...state } = parseManifest(buffer.toString('utf8'), this.path);
    if (validBytes < buffer.length) {
      truncateSync(this.path, validBytes);
      appendDurably(this.path, ''); // fsyncs the truncation
    }
    this.size = validBytes;
    return state;
  }

  /** Throws when another process appended to the manifest since this one last read or wrote it. */
  checkOwned(): void {
    const now = existsSync(this.path) ? statSync(this.path).size : 0;
    if (now !== this.size) {
      throw new TributaryError(
        'TARGET_UNAVAILABLE',
        `${this.path} changed under this process: another sink instance wrote the partition; its file is dropped and the partition read again`,
        { retriable: true },
      );
    }
  }

  append(event: ManifestLine['event'], entry: ManifestEntry): void {
    const created = !existsSync(this.path);
    const line = `${JSON.stringify({ event, ...entry })}\n`;
    appendDurably(this.path, line);
    if (created) fsyncDir(dirname(this.path));
    this.size += Buffer.byteLength(line, 'utf8');
  }
}
