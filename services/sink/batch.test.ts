import { describe, expect, it } from 'vitest';
import type { SinkChange } from '#core/sink.ts';
import type { TableSchema } from '#core/table-schema.ts';
import { groupChanges, type KeyedChange } from './batch.ts';

const v1: TableSchema = { namespace: 'shop', table: 'items', columns: [{ name: 'id', type: { kind: 'int32' }, nullable: false, sourceType: 'int' }], primaryKey: ['id'] };
const v2: TableSchema = { ...v1, columns: [...v1.columns, { name: 'x', type: { kind: 'int32' }, nullable: true, sourceType: 'int' }] };

const upsert = (table: TableSchema, id: number, position: string): KeyedChange => ({
  table,
  change: { op: 'upsert', key: { id }, row: { id }, position },
  keyText: `[${id}]`,
});
const remove = (table: TableSchema, id: number, position: string): KeyedChange => ({ table, change: { op: 'delete', key: { id }, position }, keyText: `[${id}]` });
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

describe('groupChanges with unchanged columns', () => {
  const t: TableSchema = {
    namespace: 'shop',
    table: 'docs',
    columns: [
      { name: 'id', type: { kind: 'int32' }, nullable: false, sourceType: 'int4' },
      { name: 'title', type: { kind: 'string' }, nullable: true, sourceType: 'text' },
      { name: 'body', type: { kind: 'string' }, nullable: true, sourceType: 'text' },
      { name: 'blob', type: { kind: 'bytes' }, nullable: true, sourceType: 'bytea' },
    ],
    primaryKey: ['id'],
  };
  type Values = { title?: string | null; body?: string | null; blob?: Buffer | null };
  const up = (id: number, values: Values, position: string, unchanged?: string[]): KeyedChange => ({
    table: t,
    change: {
      op: 'upsert',
      key: { id },
      row: { id, title: null, body: null, blob: null, ...values },
      position,
      ...(unchanged ? { unchanged } : {}),
    },
    keyText: `[${id}]`,
  });
  const only = (groups: ReturnType<typeof groupChanges>) => {
    expect(groups).toHaveLength(1);
    return groups[0]!.changes;
  };

  it('keeps an update with unchanged columns as it is when it is the only change of its key', () => {
    const change = up(1, { title: 't' }, 'b', ['body']);
    expect(only(groupChanges([up(2, { title: 'x' }, 'a'), change]))[1]).toBe(change.change);
  });

  it('takes the unchanged columns from an earlier upsert of the key in the batch, at the later position', () => {
    const changes = only(
      groupChanges([up(1, { title: 'old', body: 'long text', blob: Buffer.from([1]) }, 'a'), up(2, {}, 'b'), up(1, { title: 'new' }, 'c', ['body', 'blob'])]),
    );
    expect(changes).toEqual([
      { op: 'upsert', key: { id: 2 }, row: { id: 2, title: null, body: null, blob: null }, position: 'b' },
      { op: 'upsert', key: { id: 1 }, row: { id: 1, title: 'new', body: 'long text', blob: Buffer.from([1]) }, position: 'c' },
    ]);
    expect('unchanged' in (changes[1] as object)).toBe(false);
  });

  it('keeps as unchanged only what no earlier upsert supplied, through a chain of updates', () => {
    const changes = only(
      groupChanges([up(1, { title: 'a', blob: Buffer.from([7]) }, 'a', ['body']), up(1, { title: 'b' }, 'b', ['body', 'blob']), up(1, { title: 'c' }, 'c', ['body', 'blob'])]),
    );
    // 'b' took blob from 'a'; 'c' takes blob from that, and body is known to no change of the batch.
    expect(changes).toEqual([{ op: 'upsert', key: { id: 1 }, row: { id: 1, title: 'c', body: null, blob: Buffer.from([7]) }, position: 'c', unchanged: ['body'] }]);
  });

  it('writes NULL, not "unchanged", for columns of an update that follows a delete of its key in the batch', () => {
    const changes = only(groupChanges([up(1, { title: 'x', body: 'y' }, 'a'), { table: t, change: { op: 'delete', key: { id: 1 }, position: 'b' }, keyText: '[1]' }, up(1, { title: 'z' }, 'c', ['body'])]));
    expect(changes).toEqual([{ op: 'upsert', key: { id: 1 }, row: { id: 1, title: 'z', body: null, blob: null }, position: 'c' }]);
  });

  it('leaves the columns unchanged when the earlier change is in another group (before a truncate or another table version)', () => {
    const truncate: KeyedChange = { table: t, change: { op: 'truncate', position: 'b' }, keyText: '' };
    const groups = groupChanges([up(1, { body: 'kept' }, 'a'), truncate, up(1, { title: 'z' }, 'c', ['body'])]);
    expect(groups.map((g) => g.changes)).toEqual([
      [{ op: 'upsert', key: { id: 1 }, row: { id: 1, title: null, body: 'kept', blob: null }, position: 'a' }],
      [{ op: 'truncate', position: 'b' }],
      [{ op: 'upsert', key: { id: 1 }, row: { id: 1, title: 'z', body: null, blob: null }, position: 'c', unchanged: ['body'] }],
    ]);
  });

  it('does not modify the decoded changes it collapses', () => {
    const first = up(1, { body: 'b1' }, 'a');
    const second = up(1, { title: 't2' }, 'b', ['body']);
    const before = structuredClone(second.change);
    groupChanges([first, second]);
    expect(second.change).toEqual(before);
  });
});
