// What the connected ClickHouse server can do, detected once at connect. Settings are detected by name in
// system.settings / system.merge_tree_settings (exact on every version); engine parameters and data types that
// no system table lists are gated on the version number. Each `false` selects a documented fallback (TYPES.md).

export interface ServerFeatures {
  /** `version()` as the server reports it, e.g. `18.16.1` or `24.8.4.13`. */
  version: string;
  /**
   * ReplacingMergeTree(ver, is_deleted) (23.2+): `SELECT … FINAL` leaves deleted rows out by itself.
   * Fallback: the flag is a plain column and readers filter `__tributary_deleted = 0` (the `<table>_current` view).
   */
  isDeletedEngine: boolean;
  /**
   * Date32, DateTime64 with the 1900–2299 range, Decimal up to 76 digits and CREATE OR REPLACE VIEW (22.8+).
   * Fallback: dates as Int32 days, timestamps as Int64 microseconds, decimals over 38 digits as String,
   * views dropped and created again.
   */
  extendedTypes: boolean;
  /** The `mutations_sync` setting. Fallback: poll system.mutations until the truncate's mutation is done. */
  mutationsSync: boolean;
  /**
   * `insert_deduplication_token` and the `non_replicated_deduplication_window` table setting. Fallback: a replayed
   * insert is written again; its rows carry the same key and version, so FINAL shows each once.
   */
  deduplicationToken: boolean;
  /**
   * The `fsync_after_insert` table setting: an insert is on disk, not only in the page cache, when it returns, which
   * is what apply() promises before the runner commits offsets. Fallback: the OS flushes later (a power loss can
   * lose the last inserts; a process crash cannot).
   */
  fsyncAfterInsert: boolean;
}

/** The major and minor number of a `version()` string; [0, 0] when it cannot be read (every feature off). */
export function parseServerVersion(version: string): [number, number] {
  const match = /^(\d+)\.(\d+)/.exec(version.trim());
  return match ? [Number(match[1]), Number(match[2])] : [0, 0];
}

function atLeast(version: string, major: number, minor: number): boolean {
  const [a, b] = parseServerVersion(version);
  return a > major || (a === major && b >= minor);
}

/** Features from the version and the names of the settings the server knows. */
export function serverFeatures(version: string, settings: ReadonlySet<string>): ServerFeatures {
  return {
    version,
    isDeletedEngine: atLeast(version, 23, 2),
    extendedTypes: atLeast(version, 22, 8),
    mutationsSync: settings.has('mutations_sync'),
    deduplicationToken: settings.has('insert_deduplication_token') && settings.has('non_replicated_deduplication_window'),
    fsyncAfterInsert: settings.has('fsync_after_insert'),
  };
}

/** Settings and table settings whose presence serverFeatures looks at. */
export const DETECTED_SETTINGS = [
  'mutations_sync',
  'insert_deduplication_token',
  'non_replicated_deduplication_window',
  'fsync_after_insert',
] as const;
