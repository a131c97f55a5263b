import { closeSync, fsyncSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

// The few file system steps whose order makes the lake crash-safe. A rename or a new directory entry survives a
// power loss only once the directory holding it is fsynced; file contents only once the file is.

/** fsyncs a directory, so that the entries created or renamed in it are durable. */
export function fsyncDir(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Creates `root/relativePath` and its missing parents, each made durable in its parent. */
export function ensureDir(root: string, relativePath: string): string {
  const path = join(root, relativePath);
  const created = mkdirSync(path, { recursive: true });
  if (created !== undefined) {
    // fsync the parent of the first directory created, then each directory created below it.
    let dir = dirname(created);
    fsyncDir(dir);
    for (const part of relative(dir, path).split(sep).filter(Boolean)) {
      dir = join(dir, part);
      fsyncDir(dir);
    }
  }
  return path;
}

/** Appends `text` to a file and fsyncs it before returning. */
export function appendDurably(path: string, text: string): void {
  const fd = openSync(path, 'a');
  try {
    const bytes = Buffer.from(text, 'utf8');
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
