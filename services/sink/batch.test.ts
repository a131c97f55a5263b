import { describe, expect, it } from 'vitest';
import type { SinkChange } from '#core/sink.ts';
import type { TableSchema } from '#core/table-schema.ts';
import { groupChanges } from './batch.ts';
import type { DecodedChange } from './decoder.ts';

const v1: TableSchema = { namespace: 'shop', table: 'items', columns: [{ name: 'id', type: { kind: 'int32' }, nullable: false, sourceType: 'int' }], primaryKey: ['id'] };
const v2: TableSchema = { ...v1, columns: [...v1.columns, { name: 'x', type: { kind: 'int32' }, nullable: true, sourceType: 'int' }] };

const upsert = (table: TableSchema, id: number, position: string): DecodedChange => ({
  table,
  change: { op: 'upsert', key: { id }, row: { id }, position },
  keyText: `[${id}]`,
});
const remove = (table: TableSchema, id: number, position: string): DecodedChange => ({ table, change: { op: 'delete', key: { id }, position }, keyText: `[${id}]` });
const positions = (changes: SinkChange[]) => changes.map((c) => c.position);

describe('groupChanges', () => {
  it('keeps the last change of each key', () => {
    const groups = groupChanges([upsert(v1, 1, 'a'), upsert(v1, 2, 'b'), upsert(v1, 1, 'c'), remove(v1, 2, 'd')]);
    expect(groups).toHaveLength(1);
    expect(positions(groups[0]!.changes)).toEqual(['c', 'd']);
  });

  it('starts a new group when the table version changes, in order', () => {
    const groups = groupChanges([upsert(v1, 1, 'a'), upsert(v2, 1, 'b'), upsert(v2, 2, 'c')]);
    expect(groups.map((g) => [g.table, positions(g.changes)])).toEqual([
      [v1, ['a']],
      [v2, ['b', 'c']],
    ]);
  });

  it('puts a truncate alone between the changes before and after it', () => {
    const groups = groupChanges([upsert(v1, 1, 'a'), { table: v1, change: { op: 'truncate', position: 'b' }, keyText: '' }, upsert(v1, 1, 'c')]);
    expect(groups.map((g) => positions(g.changes))).toEqual([['a'], ['b'], ['c']]);
  });

  it('returns nothing for nothing', () => {
    expect(groupChanges([])).toEqual([]);
  });
});
