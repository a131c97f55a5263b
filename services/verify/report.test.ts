import { describe, expect, it } from 'vitest';
import { allMatch, formatJson, formatText, keyValue, showKey, tableStatus, type TableReport } from './report.ts';

const none = { missing: [], extra: [], different: [] };

const REPORTS: TableReport[] = [
  {
    source: 'shop.orders',
    target: 'analytics.orders',
    key: [{ name: 'id', type: { kind: 'int64' } }],
    seconds: 4.25,
    notes: [],
    counts: { sourceRows: 1_000_000, targetRows: 1_000_000, compared: 1_000_000, missing: 0, extra: 0, different: 0, examples: none },
  },
  {
    source: 'shop.lines',
    target: 'analytics.lines',
    key: [
      { name: 'order', type: { kind: 'int32' } },
      { name: 'sku', type: { kind: 'string' } },
      { name: 'day', type: { kind: 'date' } },
    ],
    seconds: 0.5,
    notes: ['column doc is not compared: arrays are compared nowhere yet'],
    counts: {
      sourceRows: 12_000,
      targetRows: 12_001,
      compared: 12_002,
      missing: 1,
      extra: 2,
      different: 12,
      examples: { missing: [['7', 'A "1"', '19000']], extra: [['8', 'b', '0'], ['9', 'c', '-1']], different: [['1', 'x', '0']] },
      // Collected for a repair (all 15 in a real run): never shown, in text or JSON.
      differingKeys: [['1', 'x', '0'], ['7', 'A "1"', '19000'], ['8', 'b', '0'], ['9', 'c', '-1'], ['424242', 'not shown', '0']],
    },
  },
  { source: 'shop.logs', target: 'analytics.logs', key: [], seconds: 0, notes: [], problem: 'not compared: it has no primary key (no sink can copy it either)' },
];

describe('formatText', () => {
  it('prints a block per table with counts and example keys, then a tally', () => {
    expect(formatText(REPORTS)).toBe(
      [
        'shop.orders → analytics.orders: match',
        '  rows: 1,000,000 in the source, 1,000,000 in the target, 1,000,000 compared in 4.3 s',
        '',
        'shop.lines → analytics.lines: DIFFERS',
        '  rows: 12,000 in the source, 12,001 in the target, 12,002 compared in 0.5 s',
        '  missing in the target: 1  e.g. (order=7, sku="A \\"1\\"", day=2022-01-08)',
        '  extra in the target: 2  e.g. (order=8, sku="b", day=1970-01-01), (order=9, sku="c", day=1969-12-31)',
        '  different: 12  e.g. (order=1, sku="x", day=1970-01-01), …',
        '  note: column doc is not compared: arrays are compared nowhere yet',
        '',
        'shop.logs → analytics.logs: NOT VERIFIED',
        '  not compared: it has no primary key (no sink can copy it either)',
        '',
        '3 tables: 1 match, 1 differ, 1 not verified',
      ].join('\n'),
    );
    expect(formatText([])).toBe("no table to verify: the sink consumes none of the source's captured tables");
  });
});

describe('formatJson', () => {
  it('gives every table its status, counts and example keys by column', () => {
    const json = JSON.parse(formatJson(REPORTS));
    expect(json.match).toBe(false);
    expect(json.tables.map((t: { status: string }) => t.status)).toEqual(['match', 'differs', 'not verified']);
    expect(json.tables[1]).toEqual({
      source: 'shop.lines',
      target: 'analytics.lines',
      status: 'differs',
      sourceRows: 12_000,
      targetRows: 12_001,
      compared: 12_002,
      missing: 1,
      extra: 2,
      different: 12,
      examples: {
        missing: [{ order: '7', sku: 'A "1"', day: '2022-01-08' }],
        extra: [
          { order: '8', sku: 'b', day: '1970-01-01' },
          { order: '9', sku: 'c', day: '1969-12-31' },
        ],
        different: [{ order: '1', sku: 'x', day: '1970-01-01' }],
      },
      notes: ['column doc is not compared: arrays are compared nowhere yet'],
      seconds: 0.5,
    });
    expect(json.tables[2]).toEqual({ source: 'shop.logs', target: 'analytics.logs', status: 'not verified', problem: REPORTS[2]?.problem, notes: [], seconds: 0 });
  });
});

describe('keys and status', () => {
  it('shows canonical key values as their columns do', () => {
    expect(keyValue({ kind: 'timestamp' }, '-1')).toBe('1969-12-31 23:59:59.999999');
    expect(keyValue({ kind: 'timestamptz' }, '1000000')).toBe('1970-01-01T00:00:01.000000Z');
    expect(keyValue({ kind: 'time' }, '-1500000')).toBe('-00:00:01.500000');
    expect(keyValue({ kind: 'bytes' }, '00ff')).toBe('0x00ff');
    expect(keyValue({ kind: 'decimal', precision: 20, scale: 2 }, '-1.50')).toBe('-1.50');
    expect(showKey([{ name: 'id', type: { kind: 'int64' } }], ['42'])).toBe('id=42');
    expect(showKey([{ name: 'code', type: { kind: 'string' } }], ['42 '])).toBe('code="42 "');
  });

  it('exits 0 only when every table was compared and matches', () => {
    expect(tableStatus(REPORTS[0] as TableReport)).toBe('match');
    expect(allMatch([REPORTS[0] as TableReport])).toBe(true);
    expect(allMatch(REPORTS)).toBe(false);
    expect(allMatch([REPORTS[2] as TableReport])).toBe(false);
    expect(allMatch([])).toBe(true);
  });
});
