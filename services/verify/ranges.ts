import type { KeyRange } from '#core/checksum.ts';

// The pure half of `tributary verify`: what to do with a key range once both sides have summarised it, where to cut
// a range that differs, and which keys differ in a range small enough to list. verify.ts runs the queries.

/** Count and hash sum of a range on one side. */
export interface RangeSummary {
  rows: number;
  /** Sum of the rows' 56-bit hashes modulo 2^64 (ClickHouse's UInt64 sum wraps; the others are brought to it). */
  sum: bigint;
}

export const HASH_SUM_MODULUS = 1n << 64n;

/** A summary from the count and hash sum texts a dialect returns. */
export function parseSummary(count: unknown, hashSum: unknown): RangeSummary {
  const rows = Number(count ?? 0);
  const sum = BigInt(String(hashSum ?? '0')) % HASH_SUM_MODULUS;
  return { rows, sum: sum < 0n ? sum + HASH_SUM_MODULUS : sum };
}

export interface RangeLimits {
  /** A range with at most this many rows on both sides is listed key by key instead of cut further. */
  leafRows: number;
  /** How many parts a differing range is cut into. */
  fanout: number;
}

export type RangeDecision =
  | { action: 'match' }
  /** Small enough on both sides: list (key, hash) from both and compare. */
  | { action: 'list' }
  /** One side has no row in the range and the other too many to list: all of them are missing or extra. */
  | { action: 'one-sided'; category: 'missing' | 'extra'; rows: number }
  /** Cut along the keys of `by`, every `step` rows of it. */
  | { action: 'split'; by: 'source' | 'target'; step: number };

export function decide(source: RangeSummary, target: RangeSummary, limits: RangeLimits): RangeDecision {
  if (source.rows === target.rows && source.sum === target.sum) return { action: 'match' };
  const most = Math.max(source.rows, target.rows);
  if (most <= limits.leafRows) return { action: 'list' };
  if (target.rows === 0) return { action: 'one-sided', category: 'missing', rows: source.rows };
  if (source.rows === 0) return { action: 'one-sided', category: 'extra', rows: target.rows };
  // Cut along the side with more rows, so that every part holds at most 1/fanout of them. Both sides' rows fall into
  // the parts by key, whichever side the cuts came from.
  const by = source.rows >= target.rows ? 'source' : 'target';
  return { action: 'split', by, step: Math.max(1, Math.ceil(most / limits.fanout)) };
}

/** The parts of `range` cut at `cuts` (keys in ascending order, each inside the range): cuts.length + 1 ranges. */
export function cutRange(range: KeyRange, cuts: ReadonlyArray<readonly string[]>): KeyRange[] {
  const parts: KeyRange[] = [];
  let after = range.after;
  for (const cut of cuts) {
    parts.push({ after, upTo: cut });
    after = cut;
  }
  parts.push({ after, upTo: range.upTo });
  return parts;
}

export type Category = 'missing' | 'extra' | 'different';

export interface KeyedHash {
  key: string[];
  hash: string;
}

export interface KeyDiff {
  key: string[];
  category: Category;
}

/** The identity of a key across servers: its canonical values, joined by a character no canonical text holds. */
export function keyId(key: readonly string[]): string {
  return key.join('\u0000');
}

/** Which keys of a listed range are missing from the target, extra in it, or different; and how many keys in all. */
export function diffRows(source: readonly KeyedHash[], target: readonly KeyedHash[]): { keys: number; diffs: KeyDiff[] } {
  const inSource = new Map(source.map((row) => [keyId(row.key), row]));
  const diffs: KeyDiff[] = [];
  let keys = inSource.size;
  for (const row of target) {
    const id = keyId(row.key);
    const match = inSource.get(id);
    if (!match) {
      diffs.push({ key: row.key, category: 'extra' });
      keys++;
      continue;
    }
    inSource.delete(id);
    if (match.hash !== row.hash) diffs.push({ key: row.key, category: 'different' });
  }
  for (const row of inSource.values()) diffs.push({ key: row.key, category: 'missing' });
  return { keys, diffs: diffs.sort((a, b) => compareKeys(a.key, b.key)) };
}

/**
 * Orders canonical keys for display: integers (keys, dates and instants are integers in canonical form) by value,
 * anything else by code point. Ranges are cut by the servers; this only sorts what a report shows.
 */
export function compareKeys(a: readonly string[], b: readonly string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i] as string;
    const y = b[i] as string;
    if (x === y) continue;
    if (INTEGER.test(x) && INTEGER.test(y)) return BigInt(x) < BigInt(y) ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

const INTEGER = /^-?\d+$/;

/** Orders ranges by their place in the table: `path` is the index of the range at each level of cutting. */
export function comparePaths(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  }
  return a.length - b.length;
}

/**
 * What a second look keeps of a first: a key is reported only when it differed both times (a row the sink had not
 * applied yet the first time is fine now; a row changed in between is not blamed on the sink). When the first look
 * kept no keys (a range too large to list, or past the memory bound), the second look stands alone.
 */
export function stillDiffering(previous: ReadonlySet<string> | null, now: readonly KeyDiff[]): KeyDiff[] {
  return previous === null ? [...now] : now.filter((diff) => previous.has(keyId(diff.key)));
}
