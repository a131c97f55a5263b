import { describe, expect, it } from 'vitest';
import type { KeyRange } from '#core/checksum.ts';
import { HASH_SUM_MODULUS, type KeyedHash, type RangeSummary } from './ranges.ts';
import type { RangeReader } from './side.ts';
import { DEFAULT_OPTIONS, matches, verifyTable, type VerifyOptions } from './verify.ts';

/** A side held in memory: integer keys → row hash, answering as a server would, and counting what it was asked. */
class MemorySide implements RangeReader {
  readonly rows = new Map<number, bigint>();
  listed = 0;
  largestListing = 0;
  /** The most keys one firstKeys call asked for. */
  largestKeyRead = 0;

  constructor(ids: Iterable<number>) {
    for (const id of ids) this.rows.set(id, hash(id));
  }

  private inRange(range: KeyRange): number[] {
    const after = range.after === null ? -Infinity : Number(range.after[0]);
    const upTo = range.upTo === null ? Infinity : Number(range.upTo[0]);
    return [...this.rows.keys()].filter((id) => id > after && id <= upTo).sort((a, b) => a - b);
  }

  async summary(range: KeyRange): Promise<RangeSummary> {
    const ids = this.inRange(range);
    return { rows: ids.length, sum: ids.reduce((sum, id) => (sum + (this.rows.get(id) as bigint)) % HASH_SUM_MODULUS, 0n) };
  }

  async rowHashes(range: KeyRange): Promise<KeyedHash[]> {
    const ids = this.inRange(range);
    this.listed++;
    this.largestListing = Math.max(this.largestListing, ids.length);
    return ids.map((id) => ({ key: [String(id)], hash: String(this.rows.get(id)) }));
  }

  async keyAt(range: KeyRange, offset: number): Promise<string[] | null> {
    const id = this.inRange(range)[offset];
    return id === undefined ? null : [String(id)];
  }

  async firstKeys(range: KeyRange, limit: number): Promise<string[][]> {
    this.largestKeyRead = Math.max(this.largestKeyRead, limit);
    return this.inRange(range)
      .slice(0, limit)
      .map((id) => [String(id)]);
  }
}

/** A 56-bit pseudo-random hash of a key, as the dialects' MD5 gives. */
function hash(id: number): bigint {
  return (BigInt(id) * 0x9e3779b97f4a7cn + 0x1234567n) & ((1n << 56n) - 1n);
}

/** A target missing 1001-2999 (ranges it has no row in), with 3001-3100 extra and 5 and 3000 different: 2,101 keys. */
function damaged(): { source: MemorySide; target: MemorySide } {
  const source = new MemorySide(range(1, 3_000));
  const target = new MemorySide([...range(1, 1_000), 3_000, ...range(3_001, 3_100)]);
  target.rows.set(5, 1n);
  target.rows.set(3_000, 2n);
  return { source, target };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const OPTIONS: VerifyOptions = { ...DEFAULT_OPTIONS, chunkRows: 1_000, limits: { leafRows: 50, fanout: 4 }, recheckMs: 0, examples: 3 };

describe('verifyTable', () => {
  it('finds equal tables equal from the summaries alone', async () => {
    const source = new MemorySide(range(1, 10_000));
    const target = new MemorySide(range(1, 10_000));
    const counts = await verifyTable(source, target, OPTIONS);
    expect(counts).toEqual({
      sourceRows: 10_000,
      targetRows: 10_000,
      compared: 10_000,
      missing: 0,
      extra: 0,
      different: 0,
      examples: { missing: [], extra: [], different: [] },
    });
    expect(matches(counts)).toBe(true);
    expect(source.listed + target.listed).toBe(0);
  });

  it('narrows differences down to their keys, listing small ranges only, keys before and after the source\'s included', async () => {
    const evens = range(1, 10_000).map((i) => i * 2);
    const source = new MemorySide(evens);
    const target = new MemorySide(evens);
    for (const id of [18, 4_000, 19_998]) target.rows.delete(id);
    for (const id of [-5, 5_001, 30_000, 30_002]) target.rows.set(id, hash(id));
    for (const id of [2, 2_500, 7_778, 20_000]) target.rows.set(id, 42n);
    const counts = await verifyTable(source, target, OPTIONS);
    expect(counts).toMatchObject({ sourceRows: 10_000, targetRows: 10_001, compared: 10_004, missing: 3, extra: 4, different: 4 });
    expect(counts.examples).toEqual({
      missing: [['18'], ['4000'], ['19998']],
      extra: [['-5'], ['5001'], ['30000']],
      different: [['2'], ['2500'], ['7778']],
    });
    expect(Math.max(source.largestListing, target.largestListing)).toBeLessThanOrEqual(OPTIONS.limits.leafRows);
  });

  it('counts a whole range missing from the target without listing it', async () => {
    const source = new MemorySide(range(1, 5_000));
    const target = new MemorySide(range(1, 1_000));
    const counts = await verifyTable(source, target, OPTIONS);
    expect(counts).toMatchObject({ compared: 5_000, missing: 4_000, extra: 0, different: 0 });
    expect(counts.examples.missing).toEqual([['1001'], ['1002'], ['1003']]);
    expect(target.largestListing).toBeLessThanOrEqual(OPTIONS.limits.leafRows);
  });

  it('finds an empty target missing everything, and an empty source with extras only', async () => {
    expect(await verifyTable(new MemorySide(range(1, 3_000)), new MemorySide([]), OPTIONS)).toMatchObject({ missing: 3_000, extra: 0, compared: 3_000 });
    expect(await verifyTable(new MemorySide([]), new MemorySide(range(1, 3_000)), OPTIONS)).toMatchObject({ missing: 0, extra: 3_000, compared: 3_000 });
    expect(await verifyTable(new MemorySide([]), new MemorySide([]), OPTIONS)).toMatchObject({ compared: 0, missing: 0, extra: 0 });
  });

  it('re-checks what differs and reports only keys that differed every time', async () => {
    const source = new MemorySide(range(1, 3_000));
    const target = new MemorySide(range(1, 3_000));
    target.rows.set(5, 1n); // the sink applies this one while verify waits
    target.rows.set(9, 1n); // this one stays different
    target.rows.delete(2_000); // and this one missing
    let differing = -1;
    const counts = await verifyTable(source, target, { ...OPTIONS, recheckMs: 400 }, {
      onRecheck: (ranges) => {
        differing = ranges;
        target.rows.set(5, hash(5));
        target.rows.set(11, 1n); // changed after the first look: not blamed on this run
      },
    });
    expect(differing).toBeGreaterThan(0);
    expect(counts).toMatchObject({ compared: 3_000, missing: 1, extra: 0, different: 1 });
    expect(counts.examples).toEqual({ missing: [['2000']], extra: [], different: [['9']] });
  });

  it('collects the keys that differed every time for a repair, and only those', async () => {
    const source = new MemorySide(range(1, 3_000));
    const target = new MemorySide(range(1, 3_000));
    target.rows.set(5, 1n);
    target.rows.set(9, 1n);
    target.rows.delete(2_000);
    const counts = await verifyTable(source, target, { ...OPTIONS, recheckMs: 400, repairKeys: 10 }, {
      onRecheck: () => {
        target.rows.set(5, hash(5));
        target.rows.set(11, 1n);
      },
    });
    expect(counts.differingKeys).toEqual([['9'], ['2000']]);
  });

  it('collects every differing key for a repair: listed ones, and the keys of ranges one side has no row in', async () => {
    const { source, target } = damaged();
    const counts = await verifyTable(source, target, { ...OPTIONS, repairKeys: 3_000 });
    expect(counts).toMatchObject({ missing: 1_999, extra: 100, different: 2 });
    expect(counts.examples).toEqual({ missing: [['1001'], ['1002'], ['1003']], extra: [['3001'], ['3002'], ['3003']], different: [['5'], ['3000']] });
    expect(counts.differingKeys).toEqual([['5'], ...range(1_001, 3_100).map((id) => [String(id)])]);
  });

  it('collects no key past the repair budget: too many to repair by key', async () => {
    const { source, target } = damaged();
    const counts = await verifyTable(source, target, { ...OPTIONS, repairKeys: 2_100 });
    expect(counts).toMatchObject({ missing: 1_999, extra: 100, different: 2 });
    expect(counts.differingKeys).toBeNull();
    // Only example keys were read from the ranges counted whole.
    expect(Math.max(source.largestKeyRead, target.largestKeyRead)).toBe(OPTIONS.examples);
    expect('differingKeys' in (await verifyTable(source, target, OPTIONS))).toBe(false);
  });

  it('stops re-checking as soon as everything matches', async () => {
    const source = new MemorySide(range(1, 100));
    const target = new MemorySide(range(1, 100));
    target.rows.set(50, 1n);
    const started = Date.now();
    const counts = await verifyTable(source, target, { ...OPTIONS, recheckMs: 60_000 }, { onRecheck: () => target.rows.set(50, hash(50)) });
    expect(matches(counts)).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
