import { describeColumnType } from '#core/column-type.ts';
import { TributaryError } from '#core/errors.ts';
import { POSITION_COLUMN } from '#core/sink.ts';
import type { ColumnSchema, TableSchema } from '#core/table-schema.ts';
import {
  MAX_DECIMAL_PRECISION,
  renderType,
  targetType,
  type ColumnDefinition,
  type SqlServerType,
} from './column-types.ts';
import { POSITION_TYPE, quoteIdent } from './dialect.ts';

// Schema evolution, pure: given what INFORMATION_SCHEMA says the target table is and the TableSchema a batch
// was written with, which columns to add and which to widen, or why the change cannot be applied safely.

/** One row of INFORMATION_SCHEMA.COLUMNS, as dialect.selectColumns reads it. */
export interface InformationSchemaColumn {
  COLUMN_NAME: string;
  DATA_TYPE: string;
  /** Characters for (n)char/(n)varchar, bytes for binary; -1 for MAX. */
  CHARACTER_MAXIMUM_LENGTH: number | null;
  NUMERIC_PRECISION: number | null;
  NUMERIC_SCALE: number | null;
  DATETIME_PRECISION: number | null;
}

export interface ExistingColumn {
  name: string;
  type: SqlServerType;
}

export interface ExistingTable {
  columns: ExistingColumn[];
  /** Primary-key column names in key order; empty when the table has none. */
  primaryKey: string[];
}

export interface Evolution {
  add: ColumnDefinition[];
  widen: ColumnDefinition[];
}

export function typeFromInformationSchema(row: InformationSchemaColumn): SqlServerType {
  const name = row.DATA_TYPE.toLowerCase();
  const length = row.CHARACTER_MAXIMUM_LENGTH === -1 ? 'max' : (row.CHARACTER_MAXIMUM_LENGTH ?? 0);
  switch (name) {
    case 'bit':
    case 'smallint':
    case 'int':
    case 'bigint':
    case 'real':
    case 'uniqueidentifier':
    case 'date':
      return { name };
    case 'float':
      // FLOAT(n ≤ 24) is REAL; INFORMATION_SCHEMA already reports it as `real`, but be exact.
      return row.NUMERIC_PRECISION !== null && row.NUMERIC_PRECISION <= 24 ? { name: 'real' } : { name: 'float' };
    case 'decimal':
    case 'numeric':
      return { name: 'decimal', precision: row.NUMERIC_PRECISION ?? 18, scale: row.NUMERIC_SCALE ?? 0 };
    case 'nvarchar':
    case 'varchar':
    case 'varbinary':
      return { name, length };
    case 'datetime2':
    case 'datetimeoffset':
      return { name, scale: row.DATETIME_PRECISION ?? 7 };
    default: {
      const size = row.CHARACTER_MAXIMUM_LENGTH === null ? '' : `(${length === 'max' ? 'MAX' : length})`;
      return { name: 'other', text: `${name.toUpperCase()}${size}` };
    }
  }
}

const INTEGER_RANK: Partial<Record<SqlServerType['name'], number>> = { smallint: 1, int: 2, bigint: 3 };
const FLOAT_RANK: Partial<Record<SqlServerType['name'], number>> = { real: 1, float: 2 };

/** Whether every value of `wanted` fits in a column of type `existing` unchanged. */
export function holds(existing: SqlServerType, wanted: SqlServerType): boolean {
  for (const ranks of [INTEGER_RANK, FLOAT_RANK]) {
    const have = ranks[existing.name];
    const need = ranks[wanted.name];
    if (have !== undefined && need !== undefined) return have >= need;
  }
  if (existing.name !== wanted.name) return false;
  switch (existing.name) {
    case 'decimal': {
      const want = wanted as Extract<SqlServerType, { name: 'decimal' }>;
      return existing.scale >= want.scale && existing.precision - existing.scale >= want.precision - want.scale;
    }
    case 'nvarchar':
    case 'varchar':
    case 'varbinary': {
      const want = wanted as Extract<SqlServerType, { length: number | 'max' }>;
      return existing.length === 'max' || (want.length !== 'max' && existing.length >= want.length);
    }
    case 'datetime2':
    case 'datetimeoffset':
      return existing.scale >= (wanted as Extract<SqlServerType, { scale: number }>).scale;
    case 'other':
      return existing.text.toUpperCase() === renderType(wanted).toUpperCase();
    default:
      return true;
  }
}

/**
 * The smallest type holding every value of both, when SQL Server can convert `existing` to it in place
 * without loss (ALTER COLUMN); undefined when no such type exists (a kind change, DECIMAL past 38 digits).
 */
export function widened(existing: SqlServerType, wanted: SqlServerType): SqlServerType | undefined {
  if (holds(existing, wanted)) return existing;
  for (const ranks of [INTEGER_RANK, FLOAT_RANK]) {
    if (ranks[existing.name] !== undefined && ranks[wanted.name] !== undefined) return wanted;
  }
  if (existing.name !== wanted.name) return undefined;
  switch (existing.name) {
    case 'decimal': {
      const want = wanted as Extract<SqlServerType, { name: 'decimal' }>;
      const scale = Math.max(existing.scale, want.scale);
      const precision = Math.max(existing.precision - existing.scale, want.precision - want.scale) + scale;
      return precision > MAX_DECIMAL_PRECISION ? undefined : { name: 'decimal', precision, scale };
    }
    case 'nvarchar':
    case 'varchar':
    case 'varbinary':
    case 'datetime2':
    case 'datetimeoffset':
      return wanted; // holds() said existing is the smaller one
    default:
      return undefined;
  }
}

/** Finds a column by name: exactly first, then ignoring case as SQL Server's default collations do. */
export function findColumn(columns: ExistingColumn[], name: string): ExistingColumn | undefined {
  const exact = columns.find((column) => column.name === name);
  if (exact) return exact;
  const folded = columns.filter((column) => column.name.toLowerCase() === name.toLowerCase());
  return folded.length === 1 ? folded[0] : undefined;
}

/**
 * What to change in `existing` so that batches written with `table` apply. Throws SINK_SCHEMA_INCOMPATIBLE
 * when the primary key differs or a column's type cannot be widened in place; never drops or narrows anything.
 */
export function planEvolution(table: TableSchema, qualified: string, existing: ExistingTable): Evolution {
  if (!findColumn(existing.columns, POSITION_COLUMN)) {
    throw incompatible(
      `table ${qualified} exists but has no ${POSITION_COLUMN} column, so it was not created by Tributary`,
      `add it with ALTER TABLE ${qualified} ADD ${quoteIdent(POSITION_COLUMN)} ${POSITION_TYPE} NOT NULL ` +
        `DEFAULT '' (every existing row then counts as older than any change), or write to another table`,
    );
  }
  const existingKey = existing.primaryKey.map((name) => name.toLowerCase());
  const wantedKey = table.primaryKey.map((name) => (findColumn(existing.columns, name)?.name ?? name).toLowerCase());
  if (existingKey.join('\0') !== wantedKey.join('\0')) {
    throw incompatible(
      `the primary key of ${qualified} is (${existing.primaryKey.join(', ')}) but the source's is now (${table.primaryKey.join(', ')})`,
      'drop the target table and replay the topic from the beginning (or re-create the key by hand if every row fits it)',
    );
  }
  const evolution: Evolution = { add: [], widen: [] };
  for (const column of table.columns) {
    const isKey = table.primaryKey.includes(column.name);
    const wanted = targetType(column, isKey);
    const found = findColumn(existing.columns, column.name);
    if (!found) {
      // A key column cannot be missing here: the key comparison above found every one of them.
      evolution.add.push({ name: column.name, type: wanted });
      continue;
    }
    if (holds(found.type, wanted)) continue;
    const wider = isKey ? undefined : widened(found.type, wanted);
    if (!wider) throw typeChangeRefused(qualified, found, column, wanted, isKey);
    evolution.widen.push({ name: found.name, type: wider });
  }
  return evolution;
}

function typeChangeRefused(
  qualified: string,
  found: ExistingColumn,
  column: ColumnSchema,
  wanted: SqlServerType,
  isKey: boolean,
): TributaryError {
  const what =
    `column "${found.name}" of ${qualified} is ${renderType(found.type)}, which cannot hold the new source type ` +
    `${column.sourceType} (${describeColumnType(column.type)} → ${renderType(wanted)})`;
  const fix = isKey
    ? `it is part of the primary key, which Tributary never alters: drop the key, ALTER COLUMN ${quoteIdent(found.name)} ${renderType(wanted)} NOT NULL and re-create the key by hand, or drop the table and replay the topic`
    : `ALTER TABLE ${qualified} ALTER COLUMN ${quoteIdent(found.name)} ${renderType(wanted)} NULL by hand if every existing value converts, or drop the table and replay the topic`;
  return incompatible(what, fix);
}

function incompatible(what: string, fix: string): TributaryError {
  return new TributaryError('SINK_SCHEMA_INCOMPATIBLE', `${what}. Fix: ${fix}.`);
}
