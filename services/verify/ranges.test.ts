import { describe, expect, it } from 'vitest';
import { compareKeys, comparePaths, cutRange, decide, diffRows, keyId, parseSummary, stillDiffering } from './ranges.ts';

const LIMITS = { leafRows: 100, fanout: 16 };
const summary = (rows: number, sum: bigint) => ({ rows, sum });

describe('decide', () => {
  it('lets equal counts and sums match, and lists small ranges', () => {
    expect(decide(summary(5_000, 7n), summary(5_000, 7n), LIMITS)).toEqual({ action: 'match' });
    expect(decide(summary(0, 0n), summary(0, 0n), LIMITS)).toEqual({ action: 'match' });
    expect(decide(summary(100, 7n), summary(100, 8n), LIMITS)).toEqual({ action: 'list' });
    expect(decide(summary(100, 7n), summary(0, 0n), LIMITS)).toEqual({ action: 'list' });
  });

  it('counts a range one side lacks entirely instead of listing it', () => {
    expect(decide(summary(101, 7n), summary(0, 0n), LIMITS)).toEqual({ action: 'one-sided', category: 'missing', rows: 101 });
    expect(decide(summary(0, 0n), summary(5_000, 1n), LIMITS)).toEqual({ action: 'one-sided', category: 'extra', rows: 5_000 });
  });

  it('cuts a large range along its larger side into fanout parts', () => {
    expect(decide(summary(1_600, 7n), summary(1_600, 8n), LIMITS)).toEqual({ action: 'split', by: 'source', step: 100 });
    expect(decide(summary(200, 7n), summary(1_601, 8n), LIMITS)).toEqual({ action: 'split', by: 'target', step: 101 });
    // Equal counts with different sums: the source's keys.
    expect(decide(summary(101, 1n), summary(101, 2n), LIMITS)).toEqual({ action: 'split', by: 'source', step: 7 });
  });
});

describe('cutRange', () => {
  it('makes consecutive ranges that cover the range exactly', () => {
    expect(cutRange({ after: ['1'], upTo: ['9'] }, [['3'], ['6']])).toEqual([
      { after: ['1'], upTo: ['3'] },
      { after: ['3'], upTo: ['6'] },
      { after: ['6'], upTo: ['9'] },
    ]);
    expect(cutRange({ after: null, upTo: null }, [['a', '1']])).toEqual([
      { after: null, upTo: ['a', '1'] },
      { after: ['a', '1'], upTo: null },
    ]);
    expect(cutRange({ after: null, upTo: null }, [])).toEqual([{ after: null, upTo: null }]);
  });
});

describe('diffRows', () => {
  it('sorts keys into missing, extra and different, counting every key once', () => {
    const source = [
      { key: ['1'], hash: '10' },
      { key: ['2'], hash: '20' },
      { key: ['3'], hash: '30' },
      { key: ['10'], hash: '100' },
    ];
    const target = [
      { key: ['10'], hash: '100' },
      { key: ['3'], hash: '31' },
      { key: ['1'], hash: '10' },
      { key: ['4'], hash: '40' },
    ];
    expect(diffRows(source, target)).toEqual({
      keys: 5,
      diffs: [
        { key: ['2'], category: 'missing' },
        { key: ['3'], category: 'different' },
        { key: ['4'], category: 'extra' },
      ],
    });
    expect(diffRows([], [])).toEqual({ keys: 0, diffs: [] });
  });

  it('tells composite keys apart however their parts would join', () => {
    const diff = diffRows([{ key: ['a', 'bc'], hash: '1' }], [{ key: ['ab', 'c'], hash: '1' }]);
    expect(diff.diffs.map((d) => d.category).sort()).toEqual(['extra', 'missing']);
    expect(keyId(['a', 'bc'])).not.toBe(keyId(['ab', 'c']));
  });
});

describe('ordering for display', () => {
  it('orders integer keys by value and other keys by code point, column by column', () => {
    const keys = [['10'], ['-3'], ['9'], ['b'], ['B'], ['a']];
    expect([...keys].sort(compareKeys)).toEqual([['-3'], ['9'], ['10'], ['B'], ['a'], ['b']]);
    expect(compareKeys(['1', 'x'], ['1', 'y'])).toBeLessThan(0);
    expect(compareKeys(['99999999999999999999'], ['100000000000000000000'])).toBeLessThan(0);
  });

  it('orders ranges by their path of cuts', () => {
    expect([[1, 2], [0], [1], [1, 0, 5]].sort(comparePaths)).toEqual([[0], [1], [1, 0, 5], [1, 2]]);
  });
});

describe('stillDiffering', () => {
  it('keeps the keys that differed before, or everything when nothing was kept', () => {
    const now = [
      { key: ['1'], category: 'different' as const },
      { key: ['2'], category: 'missing' as const },
    ];
    expect(stillDiffering(new Set([keyId(['2']), keyId(['3'])]), now)).toEqual([{ key: ['2'], category: 'missing' }]);
    expect(stillDiffering(null, now)).toEqual(now);
  });
});

describe('parseSummary', () => {
  it('reads counts and brings exact sums to the modulo-2^64 sums ClickHouse gives', () => {
    expect(parseSummary('3', '18446744073709551621')).toEqual({ rows: 3, sum: 5n });
    expect(parseSummary('3', '5')).toEqual({ rows: 3, sum: 5n });
    expect(parseSummary(undefined, null)).toEqual({ rows: 0, sum: 0n });
    expect(parseSummary(7, 12)).toEqual({ rows: 7, sum: 12n });
  });
});
