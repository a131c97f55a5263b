import { describe, expect, it } from 'vitest';
import type { ChangeEvent } from '#core/change-event.ts';
import type { TableSchema } from '#core/table-schema.ts';
import { splitKeyChange } from './key-change.ts';

const table: TableSchema = {
  namespace: 'shop',
  table: 'items',
  columns: [
    { name: 'id', type: { kind: 'int64' }, nullable: false, sourceType: 'bigint' },
    { name: 'code', type: { kind: 'bytes' }, nullable: false, sourceType: 'bytea' },
    { name: 'note', type: { kind: 'string' }, nullable: true, sourceType: 'text' },
  ],
  primaryKey: ['id', 'code'],
};

const source = { connector: 'postgresql', name: 'pg', db: 'shop', table: 'items', tsMs: 1, snapshot: 'false', position: 'p' } as const;

function update(before: ChangeEvent['before'], after: Record<string, unknown>, unchanged?: string[]): Extract<ChangeEvent, { op: 'u' }> {
  return { op: 'u', before, after: after as never, source: { ...source }, tsMs: 2, ...(unchanged ? { unchanged } : {}) };
}

describe('splitKeyChange', () => {
  it('leaves an update of the same key alone, comparing binary keys by content', () => {
    const event = update({ id: 1n, code: Buffer.from('a'), note: 'x' }, { id: 1n, code: Buffer.from('a'), note: 'y' });
    expect(splitKeyChange(event, table)).toBeNull();
  });

  it('leaves an update without an old image alone', () => {
    expect(splitKeyChange(update(null, { id: 1n, code: Buffer.from('a'), note: 'y' }), table)).toBeNull();
  });

  it('turns a key change into a delete of the old key and a create of the new one, at the same position', () => {
    const event = update({ id: 1n, code: Buffer.from('a'), note: null }, { id: 2n, code: Buffer.from('a'), note: null }, ['note']);
    const [deleted, created] = splitKeyChange(event, table) ?? [];
    expect(deleted).toMatchObject({ op: 'd', before: { id: 1n }, after: null, source: { position: 'p' } });
    expect(created).toMatchObject({ op: 'c', before: null, after: { id: 2n, note: null }, source: { position: 'p' } });
    expect(created).not.toHaveProperty('unchanged');
  });
});
