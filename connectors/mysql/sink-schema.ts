import { TributaryError } from '#core/errors.ts';
import { POSITION_COLUMN } from '#core/sink.ts';
import type { TableSchema } from '#core/table-schema.ts';
import { parseMySqlType } from './column-types.ts';
import { addColumns, addPositionColumn, checkTable, columnSqlType, modifyColumns, quoteIdent, tableSqlTypes } from './sink-dialect.ts';

// Schema evolution of a target table: what information_schema says it is, against what a new schema version
// needs. Widening is applied (ALTER … ADD / MODIFY); narrowing, a changed type or a changed key is refused as a
// whole before anything is altered, with the fix in the message.

/** A target column as information_schema.COLUMNS describes it. */
export interface ExistingColumn {
  name: string;
  /** COLUMN_TYPE, e.g. `bigint(20)`, `varchar(100)`, `decimal(65,30)`. */
  columnType: string;
  nullable: boolean;
}

export interface ExistingTable {
  columns: ExistingColumn[];
  /** The primary key's columns in key order; empty when it has none. */
  primaryKey: string[];
}

/** The table's columns; TABLE_NAME is returned so that a case-insensitive match can be told from the exact one. */
export const EXISTING_COLUMNS_SQL =
  'SELECT TABLE_NAME AS tableName, COLUMN_NAME AS name, COLUMN_TYPE AS columnType, IS_NULLABLE AS nullable ' +
  'FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION';

export const EXISTING_KEY_SQL =
  'SELECT TABLE_NAME AS tableName, COLUMN_NAME AS name FROM information_schema.STATISTICS ' +
  "WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX";

/** How an existing column's type relates to the one a schema needs. */
export type TypeVerdict = 'same' | 'wider' | 'narrower' | 'changed';

type Shape =
  // Integers and decimals: their range in units of 10^-30 (DECIMAL's finest scale), and their scale.
  | { family: 'exact'; min: bigint; max: bigint; scale: number }
  | { family: 'float'; size: number }
  // Length in characters (bytes for binary); undefined when unbounded (LONGTEXT, LONGBLOB).
  | { family: 'text' | 'binary'; base: string; length: number | undefined }
  | { family: 'json' }
  | { family: 'bit'; length: number }
  | { family: 'temporal'; base: string; fsp: number }
  | { family: 'other'; text: string };

const UNIT = 10n ** 30n;
const INTEGER_BITS: Record<string, number> = { tinyint: 8, bool: 8, boolean: 8, smallint: 16, mediumint: 24, int: 32, integer: 32, bigint: 64 };
const TEXT_LENGTH: Record<string, number | undefined> = { char: 0, varchar: 0, tinytext: 255, text: 65_535, mediumtext: 16_777_215, longtext: undefined };
const BINARY_LENGTH: Record<string, number | undefined> = { binary: 0, varbinary: 0, tinyblob: 255, blob: 65_535, mediumblob: 16_777_215, longblob: undefined };

function shapeOf(sqlType: string): Shape {
  const { base, args, unsigned } = parseMySqlType(sqlType);
  const bits = INTEGER_BITS[base];
  if (bits !== undefined) {
    const half = 1n << BigInt(bits - 1);
    return unsigned
      ? { family: 'exact', min: 0n, max: (2n * half - 1n) * UNIT, scale: 0 }
      : { family: 'exact', min: -half * UNIT, max: (half - 1n) * UNIT, scale: 0 };
  }
  if (base in TEXT_LENGTH || base in BINARY_LENGTH) {
    const family = base in TEXT_LENGTH ? 'text' : 'binary';
    const bound = family === 'text' ? TEXT_LENGTH[base] : BINARY_LENGTH[base];
    return { family, base, length: bound === 0 ? Number(args[0] ?? 1) : bound };
  }
  switch (base) {
    case 'decimal':
    case 'numeric':
    case 'dec':
    case 'fixed': {
      const precision = Number(args[0] ?? 10);
      const scale = Number(args[1] ?? 0);
      const max = (10n ** BigInt(precision) - 1n) * 10n ** BigInt(30 - scale);
      return { family: 'exact', min: unsigned ? 0n : -max, max, scale };
    }
    case 'float':
      return { family: 'float', size: 4 };
    case 'double':
    case 'double precision':
    case 'real':
      return { family: 'float', size: 8 };
    case 'json':
      return { family: 'json' };
    case 'bit':
      return { family: 'bit', length: Number(args[0] ?? 1) };
    case 'date':
    case 'year':
      return { family: 'temporal', base, fsp: 0 };
    case 'time':
    case 'datetime':
    case 'timestamp':
      return { family: 'temporal', base, fsp: Number(args[0] ?? 0) };
    default:
      return { family: 'other', text: sqlType.toLowerCase() };
  }
}

function bySize(have: number, need: number): TypeVerdict {
  return have === need ? 'same' : have < need ? 'wider' : 'narrower';
}

/** Compares an existing COLUMN_TYPE with the SQL type a schema needs ('wider': the need is wider). */
export function compareTypes(existing: string, needed: string): TypeVerdict {
  const have = shapeOf(existing);
  const need = shapeOf(needed);
  // MariaDB's JSON is LONGTEXT with a json_valid() check; information_schema reports `longtext`.
  if (need.family === 'json' && have.family === 'text' && have.length === undefined) return 'same';
  if (have.family !== need.family) return 'changed';
  switch (have.family) {
    case 'exact': {
      const n = need as typeof have;
      if (n.min === have.min && n.max === have.max && n.scale === have.scale) return 'same';
      return n.min <= have.min && n.max >= have.max && n.scale >= have.scale ? 'wider' : 'narrower';
    }
    case 'float':
      return bySize(have.size, (need as typeof have).size);
    case 'text':
    case 'binary': {
      const n = need as typeof have;
      // An unbounded column holds any value: the sink's own choice when a row is too wide for VARCHARs.
      if (have.length === undefined) return 'same';
      if (n.length === undefined) return 'wider';
      if (have.base === n.base) return bySize(have.length, n.length);
      return have.length >= n.length ? 'same' : 'wider';
    }
    case 'json':
      return 'same';
    case 'bit':
      return bySize(have.length, (need as typeof have).length);
    case 'temporal': {
      const n = need as typeof have;
      return have.base === n.base ? bySize(have.fsp, n.fsp) : 'changed';
    }
    case 'other':
      return have.text === (need as typeof have).text ? 'same' : 'changed';
  }
}

/**
 * The ALTER statements that make an existing target table fit `table`, in order; none when it already does.
 * Throws SINK_SCHEMA_INCOMPATIBLE, before any change, when a column would have to narrow or change type or when
 * the primary key differs, listing every such column with its old and new type and the fix.
 */
export function planSchemaChanges(database: string, table: TableSchema, existing: ExistingTable): string[] {
  checkTable(table);
  const target = `${database}.${table.table}`;
  const alter = `ALTER TABLE ${quoteIdent(database)}.${quoteIdent(table.table)}`;
  const problems: string[] = [];
  // MySQL column names ignore case.
  const fold = (names: readonly string[]) => names.map((n) => n.toLowerCase()).join('\u0000');
  if (fold(existing.primaryKey) !== fold(table.primaryKey)) {
    problems.push(
      `its primary key is (${existing.primaryKey.join(', ')}) but the new schema's is (${table.primaryKey.join(', ')}); ` +
        'the sink never changes a key: drop the target table and replay its topic from the start, or change the key yourself',
    );
  }
  const byName = new Map(existing.columns.map((c) => [c.name.toLowerCase(), c]));
  const keys = new Set(table.primaryKey);
  const types = tableSqlTypes(table);
  const added: string[] = [];
  const modified: Array<{ name: string; sqlType: string }> = [];
  for (const column of table.columns) {
    const have = byName.get(column.name.toLowerCase());
    if (have === undefined) {
      added.push(column.name);
      continue;
    }
    const key = keys.has(column.name);
    const needed = columnSqlType(column, key);
    const verdict = compareTypes(have.columnType, needed);
    if (verdict === 'wider') {
      modified.push({ name: column.name, sqlType: types.get(column.name) as string });
    } else if (verdict === 'same') {
      // A NOT NULL non-key column (in a table the sink did not make) would block rows once the source drops it.
      if (!key && !have.nullable) modified.push({ name: column.name, sqlType: have.columnType });
    } else {
      problems.push(
        `column "${column.name}" is ${have.columnType} but the new schema (${column.sourceType}) needs ${needed}, ` +
          `${verdict === 'narrower' ? 'a narrower type' : 'a different type'} that could lose stored values; ` +
          `once the stored values fit, alter it yourself (${alter} MODIFY COLUMN ${quoteIdent(column.name)} ${needed}` +
          `${key ? ' NOT NULL' : ' NULL'}), or drop the target table and replay its topic from the start`,
      );
    }
  }
  if (problems.length > 0) {
    throw new TributaryError('SINK_SCHEMA_INCOMPATIBLE', `target table ${target} cannot take the new schema: ${problems.join('; ')}`);
  }
  const statements: string[] = [];
  if (!byName.has(POSITION_COLUMN)) statements.push(addPositionColumn(database, table));
  if (added.length > 0) statements.push(addColumns(database, table, added));
  if (modified.length > 0) statements.push(modifyColumns(database, table, modified));
  return statements;
}
