import { describeColumnType } from '#core/column-type.ts';
import { TributaryError } from '#core/errors.ts';
import { DELETED_COLUMN, VERSION_COLUMN } from '#core/sink.ts';
import { qualifiedName as sourceName, type TableSchema } from '#core/table-schema.ts';
import { clickHouseType, formatType, META_COLUMNS, parseType, qualifiedName, quoteIdent, sameType, targetNullable, type ClickHouseType } from './dialect.ts';
import type { ServerFeatures } from './features.ts';
import { canWrite, type TargetColumn } from './values.ts';

// How a source table maps onto its target table, as pure functions of the source schema and what system.tables and
// system.columns say: which columns to add, which type each column is written as, and every reason the change
// cannot be applied safely, each with its fix.

/** A target table as the server describes it. */
export interface ExistingTable {
  engine: string;
  engineFull: string;
  createQuery: string;
  columns: ReadonlyArray<{ name: string; type: string; inSortingKey: boolean }>;
}

export interface TablePlan {
  /** Columns to add with ALTER TABLE … ADD COLUMN, in source order. */
  add: Array<{ name: string; type: ClickHouseType }>;
  /** Every source column with the type of its target column, in source order: what inserts write. */
  columns: TargetColumn[];
  /** The engine is ReplacingMergeTree(ver, is_deleted): FINAL itself leaves deleted rows out. */
  isDeletedEngine: boolean;
  /** Inserts carry insert_deduplication_token and the table keeps their hashes. */
  deduplication: boolean;
}

/** Refuses source tables the sink cannot key or whose column names clash with Tributary's own. */
export function checkSourceTable(table: TableSchema): void {
  const name = sourceName(table);
  if (table.primaryKey.length === 0) {
    throw incompatible(
      `table ${name} has no primary key: ReplacingMergeTree rows are replaced by key, so the ClickHouse sink needs one; ` +
        'add a primary key at the source or exclude the table from this sink',
    );
  }
  const names = new Set(table.columns.map((column) => column.name));
  const missing = table.primaryKey.filter((key) => !names.has(key));
  if (missing.length > 0) throw incompatible(`table ${name}: primary-key column(s) ${missing.join(', ')} are not among its columns`);
  const clash = META_COLUMNS.find((meta) => names.has(meta.name));
  if (clash) throw incompatible(`table ${name} has a column named ${clash.name}, which the ClickHouse sink reserves for itself; exclude the column`);
  for (const column of table.columns) {
    if (column.type.kind !== 'array') continue;
    if (table.primaryKey.includes(column.name)) {
      throw incompatible(
        `table ${name}: key column ${column.name} is an array (${column.sourceType}); the ClickHouse sink keys rows by scalar values only: ` +
          'exclude the table from this sink',
      );
    }
    if (column.type.items.kind === 'array') {
      throw incompatible(`table ${name}: column ${column.name} is an array of arrays, which ClickHouse cannot hold with NULL elements; exclude the column`);
    }
  }
}

/** The plan of a table the sink has just created from `table`. */
export function newTablePlan(table: TableSchema, features: ServerFeatures): TablePlan {
  const keys = new Set(table.primaryKey);
  return {
    add: [],
    columns: table.columns.map((column) => ({ column, type: clickHouseType(column, keys.has(column.name), features) })),
    isDeletedEngine: features.isDeletedEngine,
    deduplication: features.deduplicationToken,
  };
}

/**
 * The plan for an existing target table: columns the source added are added (Nullable, so existing rows read
 * NULL); a column whose target type still holds every value of the new source type is written as it is (a
 * widened target is fine, a narrowed one is not); anything else is refused with a fatal error that names the
 * table, each column, both types and the fix.
 */
export function existingTablePlan(database: string, table: TableSchema, existing: ExistingTable, features: ServerFeatures): TablePlan {
  const target = qualifiedName(database, table.table);
  const problems: string[] = [];
  const engine = readEngine(existing);
  if (!engine) {
    throw incompatible(
      `ClickHouse table ${target} exists but is ${existing.engineFull || existing.engine}, not a ReplacingMergeTree versioned by ` +
        `${VERSION_COLUMN}; it was not created by Tributary: drop or rename it, or point the sink at another database`,
    );
  }
  const found = new Map(existing.columns.map((column) => [column.name, column]));
  for (const meta of META_COLUMNS) {
    const column = found.get(meta.name);
    const type = column && parseType(column.type);
    if (!type || !sameType(type, meta.type)) {
      problems.push(`column ${quoteIdent(meta.name)} must be ${formatType(meta.type)} but is ${column?.type ?? 'missing'}`);
    }
  }
  const keys = new Set(table.primaryKey);
  const sortingKey = existing.columns.filter((column) => column.inSortingKey).map((column) => column.name);
  if (sortingKey.length !== keys.size || sortingKey.some((name) => !keys.has(name))) {
    problems.push(
      `the source's primary key is (${table.primaryKey.join(', ')}) but the table is ordered by (${sortingKey.join(', ')}); ` +
        `ClickHouse cannot change a table's key in place: drop ${target} and its _current view, then replay the topic from a new snapshot`,
    );
  }
  const add: TablePlan['add'] = [];
  const columns: TargetColumn[] = [];
  for (const column of table.columns) {
    const key = keys.has(column.name);
    const wanted = clickHouseType(column, key, features);
    const current = found.get(column.name);
    if (!current) {
      if (!key) add.push({ name: column.name, type: wanted });
      columns.push({ column, type: wanted });
      continue;
    }
    const type = parseType(current.type);
    if (type && type.nullable === targetNullable(type.base, key) && canWrite(column.type, type.base)) {
      columns.push({ column, type });
      continue;
    }
    problems.push(
      `column ${quoteIdent(column.name)} is ${current.type} in ClickHouse, which cannot hold ${describeColumnType(column.type)} ` +
        `(${column.sourceType} at the source); fix: ALTER TABLE ${target} MODIFY COLUMN ${quoteIdent(column.name)} ${formatType(wanted)}`,
    );
  }
  if (problems.length > 0) {
    throw incompatible(`schema of ${sourceName(table)} cannot be applied to ClickHouse table ${target}: ${problems.join('; ')}`);
  }
  const replicated = /^(Replicated|Shared)/.test(existing.engine);
  const window = /non_replicated_deduplication_window\s*=\s*[1-9]/.test(`${existing.engineFull} ${existing.createQuery}`);
  return {
    add,
    columns,
    isDeletedEngine: engine.isDeleted,
    deduplication: features.deduplicationToken && (replicated || window),
  };
}

/** The ReplacingMergeTree's parameters: the version must be ours; a second one is the deleted flag. */
function readEngine(existing: ExistingTable): { isDeleted: boolean } | undefined {
  if (!/ReplacingMergeTree$/.test(existing.engine)) return undefined;
  const args = engineArguments(existing.engineFull);
  const at = args.indexOf(VERSION_COLUMN);
  if (at < 0) return undefined;
  return { isDeleted: args[at + 1] === DELETED_COLUMN };
}

/** The arguments of `…ReplacingMergeTree(…)` in engine_full, unquoted, split at commas outside quotes. */
export function engineArguments(engineFull: string): string[] {
  const start = /ReplacingMergeTree\(/.exec(engineFull);
  if (!start) return [];
  const args: string[] = [];
  let current = '';
  let quote: string | null = null;
  for (let i = start.index + start[0].length; i < engineFull.length; i++) {
    const char = engineFull[i] as string;
    if (quote) {
      if (char === '\\') current += engineFull[++i] ?? '';
      else if (char === quote) quote = null;
      else current += char;
    } else if (char === '`' || char === "'" || char === '"') {
      quote = char;
    } else if (char === ',' || char === ')') {
      args.push(current.trim());
      current = '';
      if (char === ')') return args.filter((arg) => arg !== '');
    } else {
      current += char;
    }
  }
  return [];
}

function incompatible(message: string): TributaryError {
  return new TributaryError('SINK_SCHEMA_INCOMPATIBLE', message);
}
