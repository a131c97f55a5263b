import { describe, expect, it } from 'vitest';
import type { TableSchema } from '#core/table-schema.ts';
import type { DecodedChange } from './decoder.ts';
import { logRecord } from './log-runner.ts';

const table: TableSchema = { namespace: 'db', table: 't', primaryKey: ['id'], columns: [] };
const message = { offset: '42', key: null, value: Buffer.alloc(0), timestamp: '0' };
const event = { op: 'd' as const, tsMs: 1_700_000_000_000, schemaId: 5, before: null };

describe('logRecord', () => {
  it('writes a delete as its before image, or as its key when the event has none', () => {
    const change = { op: 'delete' as const, key: { id: 1n }, position: 'p' };
    const withBefore: DecodedChange = { table, change, keyText: '1', message, event: { ...event, before: { id: 1n, name: 'gone' } } };
    expect(logRecord(withBefore)).toEqual({ table, schemaId: 5, op: 'd', row: { id: 1n, name: 'gone' }, position: 'p', tsMs: 1_700_000_000_000, offset: '42' });
    expect(logRecord({ ...withBefore, event }).row).toEqual({ id: 1n });
  });

  it('keeps the op of an upsert and its unchanged columns', () => {
    const change = { op: 'upsert' as const, key: { id: 1n }, row: { id: 1n, doc: null }, position: 'p', unchanged: ['doc'] };
    expect(logRecord({ table, change, keyText: '1', message, event: { ...event, op: 'u' } })).toMatchObject({ op: 'u', row: { id: 1n, doc: null }, unchanged: ['doc'] });
  });

  it('writes a truncate without a row, and needs a full decode', () => {
    const change = { op: 'truncate' as const, position: 'p' };
    expect(logRecord({ table, change, keyText: '', message, event: { ...event, op: 't' } }).row).toBeNull();
    expect(() => logRecord({ table, change, keyText: '', message })).toThrow(/full/);
  });
});
