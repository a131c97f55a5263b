import { TributaryError } from '#core/errors.ts';

/** A table that a DDL statement touched, and how. */
export interface TableChange {
  kind: 'create' | 'alter' | 'drop' | 'rename' | 'truncate';
  namespace: string;
  table: string;
  /** For a rename (or ALTER … RENAME TO), the new name. */
  to?: { namespace: string; table: string };
}

// Statements are only scanned for the tables they name, not parsed: the table's new shape is read from the
// server (schema-reader.ts) or from the binlog's own column metadata, never inferred from DDL text.

const IDENT = String.raw`(?:\x60(?:[^\x60]|\x60\x60)+\x60|[A-Za-z0-9_$\u0080-\uffff]+)`;
const NAME = String.raw`(${IDENT})(?:\s*\.\s*(${IDENT}))?`;
const NAME_RE = new RegExp(`^\\s*${NAME}`, 'u');

function unquote(identifier: string): string {
  return identifier.startsWith('`') ? identifier.slice(1, -1).replace(/``/g, '`') : identifier;
}

function stripComments(sql: string): string {
  return sql
    .replace(/\/\*(?!!)[\s\S]*?\*\//g, ' ')
    .replace(/\/\*!\d*\s?([\s\S]*?)\*\//g, ' $1 ')
    .replace(/(?:--\s|#)[^\n]*/g, ' ')
    .trim();
}

/** Reads `db.table` or `table` at the start of `text`; returns it and the rest of the text. */
function readName(text: string, defaultNamespace: string): { namespace: string; table: string; rest: string } | null {
  const match = NAME_RE.exec(text);
  if (!match) return null;
  const [whole, first = '', second] = match;
  return second === undefined
    ? { namespace: defaultNamespace, table: unquote(first), rest: text.slice(whole.length) }
    : { namespace: unquote(first), table: unquote(second), rest: text.slice(whole.length) };
}

function readNameList(text: string, defaultNamespace: string): Array<{ namespace: string; table: string; rest: string }> {
  const names = [];
  let rest = text;
  for (;;) {
    const name = readName(rest, defaultNamespace);
    if (!name) break;
    names.push(name);
    const comma = /^\s*,/.exec(name.rest);
    if (!comma) break;
    rest = name.rest.slice(comma[0].length);
  }
  return names;
}

/**
 * The tables a DDL statement changes, or `null` when it is not a table DDL (CREATE DATABASE, GRANT, …).
 * A statement that is a table DDL but whose table names cannot be read throws: guessing could mis-assign columns.
 */
export function tablesChangedBy(statement: string, defaultNamespace: string): TableChange[] | null {
  const sql = stripComments(statement);
  const head = /^(create|alter|drop|rename|truncate)\s+/i.exec(sql);
  if (!head) return null;
  const verb = (head[1] as string).toLowerCase();
  let rest = sql.slice(head[0].length);
  const fail = () =>
    new TributaryError('SCHEMA_UNSUPPORTED', `cannot read the table names of a DDL statement: ${statement.slice(0, 200)}`);

  if (verb === 'truncate') {
    rest = rest.replace(/^table\s+/i, '');
    const name = readName(rest, defaultNamespace);
    if (!name) throw fail();
    return [{ kind: 'truncate', namespace: name.namespace, table: name.table }];
  }
  const modifiers = /^(?:or\s+replace\s+|temporary\s+|online\s+|offline\s+|ignore\s+)*table(?:\s+|$)(?:if\s+(?:not\s+)?exists\s+)?/i.exec(rest);
  if (!modifiers) return null; // CREATE INDEX, DROP VIEW, CREATE DATABASE … are not table changes we track
  if (/temporary/i.test(modifiers[0])) return []; // temporary tables are not replicated as rows
  rest = rest.slice(modifiers[0].length);

  if (verb === 'drop') {
    const names = readNameList(rest, defaultNamespace);
    if (names.length === 0) throw fail();
    return names.map(({ namespace, table }) => ({ kind: 'drop', namespace, table }));
  }
  if (verb === 'rename') {
    const changes: TableChange[] = [];
    for (;;) {
      const from = readName(rest, defaultNamespace);
      const to = from && /^\s+to\s+/i.exec(from.rest);
      const target = from && to ? readName(from.rest.slice(to[0].length), defaultNamespace) : null;
      if (!from || !target) throw fail();
      changes.push({ kind: 'rename', namespace: from.namespace, table: from.table, to: { namespace: target.namespace, table: target.table } });
      const comma = /^\s*,\s*/.exec(target.rest);
      if (!comma) return changes;
      rest = target.rest.slice(comma[0].length);
    }
  }
  const name = readName(rest, defaultNamespace);
  if (!name) throw fail();
  if (verb === 'create') return [{ kind: 'create', namespace: name.namespace, table: name.table }];
  // ALTER TABLE t … RENAME [TO|AS] u
  const renamed = /\brename\s+(?:to\s+|as\s+)?(?!column\b|index\b|key\b)/i.exec(name.rest);
  const target = renamed ? readName(name.rest.slice(renamed.index + renamed[0].length), defaultNamespace) : null;
  return [
    {
      kind: 'alter',
      namespace: name.namespace,
      table: name.table,
      ...(target ? { to: { namespace: target.namespace, table: target.table } } : {}),
    },
  ];
}
