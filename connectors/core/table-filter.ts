/** Decides whether a table is captured, from its namespace (database or schema) and name. */
export type TableFilter = (namespace: string, table: string) => boolean;

interface CompiledPattern {
  namespace: RegExp;
  table: RegExp;
}

/**
 * Compiles the `include` / `exclude` lists of a source into one predicate. Patterns are `db.table` globs where
 * `*` matches any run of characters and `?` exactly one; a pattern without a dot names a whole database.
 * A table is captured when some include pattern matches it and no exclude pattern does: exclude wins.
 *
 * Matching is case-sensitive, as MySQL on Linux treats database and table names (lower_case_table_names=0).
 * Servers that fold names to lower case report them folded, so patterns for them should be written in lower case.
 * An empty include list matches nothing; the config schema never produces one.
 */
export function tableFilter(include: readonly string[], exclude: readonly string[]): TableFilter {
  const included = include.map(compilePattern);
  const excluded = exclude.map(compilePattern);
  return (namespace, table) => {
    const matches = (pattern: CompiledPattern) => pattern.namespace.test(namespace) && pattern.table.test(table);
    return included.some(matches) && !excluded.some(matches);
  };
}

function compilePattern(pattern: string): CompiledPattern {
  // Split at the first dot only: the config refuses a second one, and a database glob never needs one.
  const dot = pattern.indexOf('.');
  const namespace = dot === -1 ? pattern : pattern.slice(0, dot);
  const table = dot === -1 ? '*' : pattern.slice(dot + 1);
  return { namespace: globRegExp(namespace), table: globRegExp(table) };
}

/** A `*` / `?` glob as an anchored RegExp; used for table patterns here and column patterns in column-policy.ts. */
export function globRegExp(glob: string): RegExp {
  // The `u` flag makes `?` one code point, so an emoji in a table name is one character as MySQL counts it.
  const body = Array.from(glob, (char) => {
    if (char === '*') return '.*';
    if (char === '?') return '.';
    return char.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
  }).join('');
  return new RegExp(`^${body}$`, 'su');
}
