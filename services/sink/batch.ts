import type { SinkChange, TableChanges } from '#core/sink.ts';
import type { TableSchema } from '#core/table-schema.ts';
import type { DecodedChange } from './decoder.ts';

/**
 * Groups one partition's decoded changes, in order, into what a Sink applies: consecutive changes of one table
 * version form one TableChanges, in which only the last change of each key is kept (the position guard makes an
 * earlier one irrelevant), and a truncate stands alone between what came before and after it.
 */
export function groupChanges(changes: readonly DecodedChange[]): TableChanges[] {
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
    if (decoded.change.op === 'truncate') {
      close();
      groups.push({ table: decoded.table, changes: [decoded.change] });
      continue;
    }
    // Delete and re-insert so that the kept change sits where the key's last change was.
    byKey.delete(decoded.keyText);
    byKey.set(decoded.keyText, decoded.change);
  }
  close();
  return groups;
}
