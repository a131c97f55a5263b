import type { ChangeEvent } from '#core/change-event.ts';
import type { TableSchema } from '#core/table-schema.ts';

type Update = Extract<ChangeEvent, { op: 'u' }>;

/**
 * An update that moves a row to another primary key, as Debezium emits it: a delete of the old key then a create
 * of the new one. The change topic is keyed by primary key, so a single update event would leave the old key's
 * row behind in every sink and in the compacted topic. Null when the key did not change, or the source did not
 * send the old key (then it did not change: PostgreSQL sends it whenever it does).
 */
export function splitKeyChange(event: Update, table: TableSchema): [ChangeEvent, ChangeEvent] | null {
  const before = event.before;
  if (before === null || table.primaryKey.length === 0) return null;
  if (table.primaryKey.every((column) => sameValue(before[column] ?? null, event.after[column] ?? null))) return null;
  const { op: _, unchanged, before: __, after, ...common } = event;
  const deleted = { ...common, op: 'd' as const, before, after: null };
  // The create stands alone: a value the source did not send cannot be kept from a row that moved to a new key.
  const created = { ...common, op: 'c' as const, before: null, after: unchanged ? withNulls(after, unchanged) : after };
  return [deleted, created];
}

function sameValue(a: unknown, b: unknown): boolean {
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  return a === b;
}

function withNulls(row: Extract<ChangeEvent, { op: 'u' }>['after'], columns: string[]) {
  const copy = { ...row };
  for (const column of columns) copy[column] = null;
  return copy;
}
