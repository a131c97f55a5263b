import { TributaryError } from '#core/errors.ts';

// File system errors at the edge. A full disk, an I/O error or a stale network mount may pass; a refused
// permission, a read-only file system or a path that is not a directory will not without someone fixing it.

const RETRIABLE = new Set(['ENOSPC', 'EDQUOT', 'EIO', 'EAGAIN', 'EBUSY', 'EMFILE', 'ENFILE', 'ETIMEDOUT', 'ESTALE', 'EINTR']);

/** Wraps a file system error with the action that failed, as TARGET_UNAVAILABLE (retriable) or TARGET_REJECTED. */
export function fsError(action: string, error: unknown): TributaryError {
  if (error instanceof TributaryError) return new TributaryError(error.code, `${action}: ${error.message}`, { retriable: error.retriable, cause: error.cause });
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return new TributaryError(code !== undefined && RETRIABLE.has(code) ? 'TARGET_UNAVAILABLE' : 'TARGET_REJECTED', `${action}: ${message}`, {
    retriable: code !== undefined && RETRIABLE.has(code),
    cause: error,
  });
}
