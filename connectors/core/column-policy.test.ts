import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ChangeEvent } from './change-event.ts';
import { ColumnPolicy } from './column-policy.ts';
import { globRegExp } from './table-filter.ts';
import type { TableSchema } from './table-schema.ts';

const table: TableSchema = {
  namespace: 'shop',
  table: 'customers',
  primaryKey: ['id'],
  columns: [
    { name: 'id', type: { kind: 'int64' }, nullable: false, sourceType: 'bigint' },
    { name: 'email', type: { kind: 'string' }, nullable: true, sourceType: 'varchar(255)' },
    { name: 'card', type: { kind: 'string' }, nullable: true, sourceType: 'varchar(20)' },
    { name: 'born', type: { kind: 'date' }, nullable: true, sourceType: 'date' },
  ],
};
const event = {
  op: 'u',
  before: { id: 1n, email: 'a@x', card: null, born: 10 },
  after: { id: 1n, email: 'b@x', card: '4111', born: 11 },
  source: { connector: 'mysql', name: 's', db: 'shop', table: 'customers', tsMs: 0, snapshot: 'false', position: 'p' },
  tsMs: 0,
} as ChangeEvent;

describe('ColumnPolicy', () => {
  it('drops excluded columns and hashes masked ones in schema and rows alike', () => {
    const policy = new ColumnPolicy({ exclude: ['shop.*.born'], mask: ['shop.customers.card', '*.*.email'], maskSalt: 'pepper' });
    expect(policy.schema(table).columns.map((c) => [c.name, c.type.kind])).toEqual([
      ['id', 'int64'],
      ['email', 'string'],
      ['card', 'string'],
    ]);
    const out = policy.event(table, event);
    const sha = (text: string) => createHash('sha256').update(text).digest('hex');
    expect(out.after).toEqual({ id: 1n, email: sha('pepperb@x'), card: sha('pepper4111') });
    expect(out.after?.email).not.toBe(new ColumnPolicy({ exclude: [], mask: ['*.*.email'], maskSalt: 'salt2' }).event(table, event).after?.email);
    expect(out.before?.card).toBeNull();
    expect(out.before).not.toHaveProperty('born');
  });

  it('never touches key columns and leaves everything alone without rules', () => {
    const policy = new ColumnPolicy({ exclude: ['*.*.id'], mask: [], maskSalt: '' });
    expect(policy.schema(table).columns.map((c) => c.name)).toContain('id');
    const none = new ColumnPolicy({ exclude: [], mask: [], maskSalt: '' });
    expect(none.event(table, event)).toBe(event);
  });

  it('matches globs on whole dotted names', () => {
    expect(globRegExp('shop.*').test('shop.orders')).toBe(true);
    expect(globRegExp('shop.*').test('shopx.orders')).toBe(false);
    expect(globRegExp('a?c.t').test('abc.t')).toBe(true);
  });
});
