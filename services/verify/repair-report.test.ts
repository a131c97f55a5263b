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

const first = [table('public.items', 1, 1), table('public.ok', 0)];
const items = table('public.items', 1, 0, [extraRowsNote(1)]);
const repaired: RepairResult = {
  plan: { resnapshot: ['public.items'], extraOnly: [], notVerified: [] },
  outcome: 'repaired',
  message: 're-snapshot done: 0 of 1 re-snapshotted table matches now',
  signal: 'sig',
  snapshot: [{ table: 'public.items', rows: 10 }],
  final: [items],
  tables: [items, first[1] as TableReport],
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
        '1 table: 0 match, 1 differ, 0 not verified',
        '',
        'repair: re-snapshot done: 0 of 1 re-snapshotted table matches now',
        "repair: rows extra in the target remain in public.items (1): a re-snapshot re-emits the source's rows and deletes nothing; delete them in the target by hand",
        'result: 2 tables: 1 match, 1 differ, 0 not verified',
      ].join('\n'),
    );
  });

  it('shows only the reason when nothing was repaired', () => {
    const refused: RepairResult = { ...repaired, outcome: 'not sent', message: 'not repaired: no endpoint', signal: null, snapshot: [], final: [], tables: first };
    expect(formatRepairText(refused)).toBe(
      [
        'repair: not repaired: no endpoint',
        "repair: rows extra in the target remain in public.items (1): a re-snapshot re-emits the source's rows and deletes nothing; delete them in the target by hand",
        'result: 2 tables: 1 match, 1 differ, 0 not verified',
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
      ['public.ok', 'match', 0],
    ]);
    expect(document.firstPass.tables[0]).toMatchObject({ source: 'public.items', missing: 1, extra: 1 });
    expect(document.repair).toEqual({
      outcome: 'repaired',
      message: 're-snapshot done: 0 of 1 re-snapshotted table matches now',
      signal: 'sig',
      resnapshotted: ['public.items'],
      extraOnly: [],
      notVerified: [],
      snapshot: [{ table: 'public.items', rows: 10 }],
      verifiedAgain: ['public.items'],
      seconds: 3.5,
    });
  });
});
