import { TributaryError } from '#core/errors.ts';
import { POSITION_COLUMN, type Statement } from '#core/sink.ts';
import type { ColumnSchema, TableSchema } from '#core/table-schema.ts';
import { fromStage, renderType, stageType, targetType, type ColumnDefinition, type SqlServerType } from './column-types.ts';

// T-SQL for the SQL Server sink, pure: identifiers quoted here, values always bound (@p1… parameters, or rows
// bulk-loaded into #stage), never inlined. The driver (sink.ts) only runs these. Golden tests: dialect.test.ts.

/** Where a target table lives. */
export interface TargetTable {
  schema: string;
  table: string;
}

/** Position strings compare ordinally (comparePositions): a binary collation makes `<` on the server agree. */
export const BINARY_COLLATION = 'Latin1_General_BIN2';
export const POSITION_TYPE = `VARCHAR(64) COLLATE ${BINARY_COLLATION}`;
/** `upsert` or `delete`, per staged row. */
export const OP_COLUMN = '__tributary_op';
/** Session-scoped temp table: invisible to other connections, dropped with the session at the latest. */
export const STAGE_TABLE = '#stage';

const MAX_IDENTIFIER = 128;

/** `[name]` with `]` doubled: the only character a bracketed identifier escapes. */
export function quoteIdent(name: string): string {
  if (name.length === 0 || name.length > MAX_IDENTIFIER || name.includes('\u0000')) {
    throw new TributaryError(
      'SINK_SCHEMA_INCOMPATIBLE',
      `"${name.slice(0, 40)}${name.length > 40 ? '…' : ''}" (${name.length} characters) cannot be a SQL Server identifier: ` +
        `names are 1 to ${MAX_IDENTIFIER} characters without NUL. Fix: rename it at the source or exclude it.`,
    );
  }
  return `[${name.replace(/]/g, ']]')}]`;
}

export function qualify(target: TargetTable): string {
  return `${quoteIdent(target.schema)}.${quoteIdent(target.table)}`;
}

/** Positional parameters of a Statement are bound as @p1, @p2, … in order. */
export function parameterName(index: number): string {
  return `p${index + 1}`;
}

/** One source column as staged: its place in #stage, its target type and the type it travels as. */
export interface StageColumn {
  /** `c1`, `c2`…: positional, so that no source name (any 128 characters) reaches the bulk-load column list. */
  stageName: string;
  column: ColumnSchema;
  isKey: boolean;
  target: SqlServerType;
  stage: SqlServerType;
}

export function stageColumns(table: TableSchema): StageColumn[] {
  return table.columns.map((column, index) => {
    const isKey = table.primaryKey.includes(column.name);
    const target = targetType(column, isKey);
    return { stageName: `c${index + 1}`, column, isKey, target, stage: stageType(target) };
  });
}

function isText(type: SqlServerType): boolean {
  return type.name === 'nvarchar' || type.name === 'varchar';
}

/**
 * Key text compares in a binary collation: a case-insensitive default would merge keys `A` and `a` that the
 * source (PostgreSQL, a binary MySQL collation) keeps apart. Non-key columns are NULL-able whatever the source
 * says, so that a column later dropped at the source never blocks an insert.
 */
function columnDefinition(name: string, type: SqlServerType, isKey: boolean): string {
  const collation = isKey && isText(type) ? ` COLLATE ${BINARY_COLLATION}` : '';
  return `${quoteIdent(name)} ${renderType(type)}${collation} ${isKey ? 'NOT NULL' : 'NULL'}`;
}

function requireKey(table: TableSchema): void {
  if (table.primaryKey.length === 0) {
    throw new TributaryError(
      'SINK_SCHEMA_INCOMPATIBLE',
      `table ${table.namespace}.${table.table} has no primary key, and the SQL Server sink matches rows by key. ` +
        'Fix: add a primary key at the source, or exclude the table from this sink.',
    );
  }
}

/** `IF SCHEMA_ID(@p1) IS NULL` create it: CREATE SCHEMA must be alone in its batch, hence sp_executesql. */
export function ensureSchema(schema: string): Statement {
  return {
    sql: 'IF SCHEMA_ID(@p1) IS NULL EXEC sys.sp_executesql @p2;',
    params: [schema, `CREATE SCHEMA ${quoteIdent(schema)};`],
  };
}

export function selectColumns(target: TargetTable): Statement {
  return {
    sql: [
      'SELECT COLUMN_NAME, DATA_TYPE, CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION',
      'FROM INFORMATION_SCHEMA.COLUMNS',
      'WHERE TABLE_SCHEMA = @p1 AND TABLE_NAME = @p2',
      'ORDER BY ORDINAL_POSITION;',
    ].join('\n'),
    params: [target.schema, target.table],
  };
}

export function selectPrimaryKey(target: TargetTable): Statement {
  return {
    sql: [
      'SELECT k.COLUMN_NAME',
      'FROM INFORMATION_SCHEMA.TABLE_CONSTRAINTS AS c',
      'JOIN INFORMATION_SCHEMA.KEY_COLUMN_USAGE AS k',
      '  ON k.CONSTRAINT_SCHEMA = c.CONSTRAINT_SCHEMA AND k.CONSTRAINT_NAME = c.CONSTRAINT_NAME',
      "WHERE c.CONSTRAINT_TYPE = 'PRIMARY KEY' AND c.TABLE_SCHEMA = @p1 AND c.TABLE_NAME = @p2",
      'ORDER BY k.ORDINAL_POSITION;',
    ].join('\n'),
    params: [target.schema, target.table],
  };
}

/** Creates the table unless it exists; the primary-key constraint is left for the server to name. */
export function createTable(target: TargetTable, table: TableSchema): Statement {
  requireKey(table);
  const columns = stageColumns(table).map((c) => `  ${columnDefinition(c.column.name, c.target, c.isKey)},`);
  return {
    sql: [
      `IF OBJECT_ID(@p1, N'U') IS NULL`,
      `CREATE TABLE ${qualify(target)} (`,
      ...columns,
      `  ${quoteIdent(POSITION_COLUMN)} ${POSITION_TYPE} NOT NULL,`,
      `  PRIMARY KEY (${table.primaryKey.map(quoteIdent).join(', ')})`,
      ');',
    ].join('\n'),
    params: [qualify(target)],
  };
}

/** New columns are never key columns (a key change is refused), so always NULL-able. */
export function addColumns(target: TargetTable, columns: ColumnDefinition[]): Statement {
  return {
    sql: `ALTER TABLE ${qualify(target)} ADD ${columns.map((c) => columnDefinition(c.name, c.type, false)).join(', ')};`,
    params: [],
  };
}

/** ALTER COLUMN takes one column per statement; only non-key columns are ever widened. */
export function widenColumn(target: TargetTable, column: ColumnDefinition): Statement {
  return {
    sql: `ALTER TABLE ${qualify(target)} ALTER COLUMN ${columnDefinition(column.name, column.type, false)};`,
    params: [],
  };
}

/**
 * The #stage table for one table's changes. Run as a plain batch (mssql `request.batch`), never through
 * sp_executesql: a temp table created inside sp_executesql is dropped when that call returns. A leftover
 * #stage of an earlier failed apply on this pooled session is dropped first.
 */
export function createStage(table: TableSchema): Statement {
  requireKey(table);
  const columns = stageColumns(table);
  const definitions = columns.map((c) => {
    const collation = isText(c.stage) ? ` COLLATE ${c.isKey ? BINARY_COLLATION : 'DATABASE_DEFAULT'}` : '';
    return `  ${quoteIdent(c.stageName)} ${renderType(c.stage)}${collation} ${c.isKey ? 'NOT NULL' : 'NULL'},`;
  });
  const keys = columns.filter((c) => c.isKey).map((c) => quoteIdent(c.stageName));
  return {
    sql: [
      `IF OBJECT_ID(N'tempdb..${STAGE_TABLE}') IS NOT NULL DROP TABLE ${STAGE_TABLE};`,
      `CREATE TABLE ${STAGE_TABLE} (`,
      `  ${quoteIdent(OP_COLUMN)} VARCHAR(6) COLLATE ${BINARY_COLLATION} NOT NULL,`,
      `  ${quoteIdent(POSITION_COLUMN)} ${POSITION_TYPE} NOT NULL,`,
      ...definitions,
      // At most one change per key per batch (the runner's guarantee); the key makes the MERGE join cheap.
      `  PRIMARY KEY (${keys.join(', ')})`,
      ');',
    ].join('\n'),
    params: [],
  };
}

/**
 * Applies #stage to the target. The position guard `t.position < s.position` makes it idempotent: replaying a
 * batch, or an older change arriving after a newer one, never moves a row backwards. HOLDLOCK keeps the
 * matched / not-matched decision and the write atomic against concurrent writers.
 *
 * `unchanged` names non-key columns the staged upserts leave as they are (their source did not send the value):
 * the UPDATE does not assign them, and an INSERT writes what #stage holds for them, NULL.
 */
export function merge(target: TargetTable, table: TableSchema, unchanged: ReadonlySet<string> = new Set()): Statement {
  requireKey(table);
  const columns = stageColumns(table);
  const op = quoteIdent(OP_COLUMN);
  const pos = quoteIdent(POSITION_COLUMN);
  const selected = columns.map((c) => {
    const converted = fromStage(c.target, quoteIdent(c.stageName));
    return converted === quoteIdent(c.stageName) ? converted : `${converted} AS ${quoteIdent(c.stageName)}`;
  });
  const on = columns.filter((c) => c.isKey).map((c) => `t.${quoteIdent(c.column.name)} = s.${quoteIdent(c.stageName)}`);
  const updates = columns
    .filter((c) => !c.isKey && !unchanged.has(c.column.name))
    .map((c) => `t.${quoteIdent(c.column.name)} = s.${quoteIdent(c.stageName)}`)
    .concat(`t.${pos} = s.${pos}`);
  const insertColumns = columns.map((c) => quoteIdent(c.column.name)).concat(pos);
  const insertValues = columns.map((c) => `s.${quoteIdent(c.stageName)}`).concat(`s.${pos}`);
  return {
    sql: [
      `MERGE ${qualify(target)} WITH (HOLDLOCK) AS t`,
      `USING (SELECT ${[op, pos, ...selected].join(', ')} FROM ${STAGE_TABLE}) AS s`,
      `ON ${on.join(' AND ')}`,
      `WHEN MATCHED AND s.${op} = 'delete' AND t.${pos} < s.${pos} THEN DELETE`,
      `WHEN MATCHED AND s.${op} = 'upsert' AND t.${pos} < s.${pos} THEN`,
      `  UPDATE SET ${updates.join(', ')}`,
      `WHEN NOT MATCHED BY TARGET AND s.${op} = 'upsert' THEN`,
      `  INSERT (${insertColumns.join(', ')}) VALUES (${insertValues.join(', ')});`,
    ].join('\n'),
    params: [],
  };
}

export function dropStage(): Statement {
  return { sql: `DROP TABLE ${STAGE_TABLE};`, params: [] };
}

/**
 * A truncate at position P removes only rows written before P: replaying an old truncate after newer
 * changes must not remove them.
 */
export function truncateBefore(target: TargetTable, position: string): Statement {
  return {
    sql: `DELETE FROM ${qualify(target)} WHERE ${quoteIdent(POSITION_COLUMN)} < @p1;`,
    params: [position],
  };
}
