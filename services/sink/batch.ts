import type { SinkChange, TableChanges } from '#core/sink.ts';
import type { TableSchema } from '#core/table-schema.ts';
import type { DecodedChange } from './decoder.ts';

type Upsert = Extract<SinkChange, { op: 'upsert' }>;

/** What grouping needs of a decoded change. */
export type KeyedChange = Pick<DecodedChange, 'table' | 'change' | 'keyText'>;

/**
 * Groups one partition's decoded changes, in order, into what a Sink applies: consecutive changes of one table
 * version form one TableChanges, in which only the last change of each key is kept (the position guard makes an
 * earlier one irrelevant), and a truncate stands alone between what came before and after it.
 *
 * An upsert with `unchanged` columns does not stand alone: its missing values are those the row had before it.
 * When it replaces an earlier change of its key in the same group, that earlier change decides them (see
 * `collapse`), so that applying the kept change gives what applying both in order would have given. Changes of
 * other groups (before a truncate or a table version change) are applied before this group, so the sink finds
 * their result in the target.
 */
export function groupChanges(changes: readonly KeyedChange[]): TableChanges[] {
  const groups: TableChanges[] = [];
  let table: TableSchema | null = null;
  let byKey = new Map<string, SinkChange>();
  const close = () => {
    if (table && byKey.size > 0) groups.push({ table, changes: [...byKey.values()] });
    byKey = new Map();
  };
  for (const decoded of changes) {
    if (decoded.table !== table) {
      close();
      table = decoded.table;
    }
    const change = decoded.change;
    if (change.op === 'truncate') {
      close();
      groups.push({ table: decoded.table, changes: [change] });
      continue;
    }
    const earlier = byKey.get(decoded.keyText);
    if (earlier === undefined) {
      byKey.set(decoded.keyText, change);
      continue;
    }
    // Delete and re-insert so that the kept change sits where the key's last change was.
    byKey.delete(decoded.keyText);
    byKey.set(decoded.keyText, change.op === 'upsert' && change.unchanged ? collapse(earlier, change) : change);
  }
  close();
  return groups;
}

/**
 * The one change that has the effect of `earlier` then `later`, an upsert of the same key with unchanged columns:
 * - after an upsert, each unchanged column takes the earlier row's value, unless the earlier upsert did not know
 *   it either; only such columns stay unchanged (left as the target has them);
 * - after a delete, the row did not exist when `later` came (a source cannot update a deleted row without an
 *   insert between, which would be the earlier change instead), so no value is there to keep: the columns are
 *   written NULL, as a sink writes them for a row it does not have, rather than left unchanged, which would bring
 *   back the values the dropped delete removed.
 */
export function collapse(earlier: SinkChange, later: Upsert): Upsert {
  const unchanged = later.unchanged ?? [];
  if (earlier.op === 'truncate') return later; // never within one group; kept for exhaustiveness
  const row = { ...later.row };
  const still: string[] = [];
  for (const column of unchanged) {
    if (earlier.op === 'delete') {
      row[column] = null;
    } else if (earlier.unchanged?.includes(column)) {
      row[column] = null;
      still.push(column);
    } else {
      row[column] = earlier.row[column] ?? null;
    }
  }
  const { unchanged: _, ...rest } = later;
  return still.length > 0 ? { ...rest, row, unchanged: still } : { ...rest, row };
}
