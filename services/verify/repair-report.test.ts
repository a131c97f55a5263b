import { describe, expect, it } from 'vitest';
import { extraRowsNote, type RepairResult } from './repair.ts';
import { formatRepairJson, formatRepairText } from './repair-report.ts';
import type { TableReport } from './report.ts';

const key = [{ name: 'id', type: { kind: 'int64' as const } }];

function table(source: string, extra: number, missing = 0, notes: string[] = []): TableReport {
  return {
    source,
    target: `copy.${source.split('.')[1]}`,
    key,
    notes,
    seconds: 0.2,
    counts: {
      sourceRows: 10,
      targetRows: 10 + extra - missing,
      compared: 10 + extra,
      missing,
      extra,
      different: 0,
      examples: { missing: missing > 0 ? [['3']] : [], extra: extra > 0 ? [['99']] : [], different: [] },
    },
  };
}

// items had too many differing keys (re-snapshotted whole: its extra row stays); lines was repaired by its 2 keys.
const first = [table('public.items', 1, 1), table('public.lines', 1, 1), table('public.ok', 0)];
const items = table('public.items', 1, 0, [extraRowsNote(1)]);
const lines = table('public.lines', 0, 0);
const repaired: RepairResult = {
  plan: { byKeys: [{ table: 'public.lines', keys: 2 }], whole: ['public.items'], extraOnly: [], notVerified: [], signalKeys: { 'public.lines': [['3'], ['99']] } },
  outcome: 'repaired',
  message: 'repair done: 1 of 2 repaired tables match now',
  signal: 'sig',
  snapshot: [
    { table: 'public.lines', keys: 2 },
    { table: 'public.items', rows: 10 },
  ],
  final: [items, lines],
  tables: [items, lines, first[2] as TableReport],
  seconds: 3.5,
};

describe('formatRepairText', () => {
  it('shows the tables verified again, what the repair did, the extra rows left and the result over every table', () => {
    expect(formatRepairText(repaired)).toBe(
      [
        'after the repair:',
        '',
        'public.items → copy.items: DIFFERS',
        '  rows: 10 in the source, 11 in the target, 11 compared in 0.2 s',
        '  extra in the target: 1  e.g. id=99',
        `  note: ${extraRowsNote(1)}`,
        '',
        'public.lines → copy.lines: match',
        '  rows: 10 in the source, 10 in the target, 10 compared in 0.2 s',
        '',
        '2 tables: 1 match, 1 differ, 0 not verified',
        '',
        'repair: repair done: 1 of 2 repaired tables match now',
        "repair: rows extra in the target remain in public.items (1): too many differing keys to repair by key (one signal carries 5,000), and a whole-table re-snapshot re-emits the source's rows and deletes nothing; delete them in the target by hand",
        'result: 3 tables: 2 match, 1 differ, 0 not verified',
      ].join('\n'),
    );
  });

  it('shows only the reason when nothing was repaired, and the extra rows no repair by key could remove', () => {
    const refused: RepairResult = { ...repaired, outcome: 'not sent', message: 'not repaired: no endpoint', signal: null, snapshot: [], final: [], tables: first };
    expect(formatRepairText(refused)).toBe(
      [
        'repair: not repaired: no endpoint',
        "repair: rows extra in the target remain in public.items (1): too many differing keys to repair by key (one signal carries 5,000), and a whole-table re-snapshot re-emits the source's rows and deletes nothing; delete them in the target by hand",
        'result: 3 tables: 1 match, 2 differ, 0 not verified',
      ].join('\n'),
    );
  });
});

describe('formatRepairJson', () => {
  it('holds each table as it is now, the first pass, and what the repair did', () => {
    const document = JSON.parse(formatRepairJson(first, repaired)) as Record<string, any>;
    expect(document.match).toBe(false);
    expect(document.tables.map((t: { source: string; status: string; missing: number }) => [t.source, t.status, t.missing])).toEqual([
      ['public.items', 'differs', 0],
      ['public.lines', 'match', 0],
      ['public.ok', 'match', 0],
    ]);
    expect(document.firstPass.tables[0]).toMatchObject({ source: 'public.items', missing: 1, extra: 1 });
    // The keys the signal carried are counted, not listed.
    expect(document.repair).toEqual({
      outcome: 'repaired',
      message: 'repair done: 1 of 2 repaired tables match now',
      signal: 'sig',
      byKeys: [{ table: 'public.lines', keys: 2 }],
      whole: ['public.items'],
      extraOnly: [],
      notVerified: [],
      snapshot: [
        { table: 'public.lines', keys: 2 },
        { table: 'public.items', rows: 10 },
      ],
      verifiedAgain: ['public.items', 'public.lines'],
      seconds: 3.5,
    });
  });
});
