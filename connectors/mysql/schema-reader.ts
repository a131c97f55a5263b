import type { Connection, RowDataPacket } from 'mysql2/promise';
import type { ColumnType } from '#core/column-type.ts';
import { TributaryError } from '#core/errors.ts';
import type { TableFilter } from '#core/table-filter.ts';
import type { ColumnSchema, TableSchema } from '#core/table-schema.ts';
import { mySqlColumnType } from './column-types.ts';
import { classifyMySqlError } from './connection.ts';

// Table schemas from information_schema, in a fixed number of queries whatever the number of tables: sources
// with thousands of tables would otherwise spend minutes on round trips.

const SYSTEM_SCHEMAS = ['mysql', 'information_schema', 'performance_schema', 'sys'];

/** Every base table outside the system schemas that `filter` accepts, sorted by namespace and name. */
export async function readTableSchemas(conn: Connection, filter: TableFilter): Promise<TableSchema[]> {
  try {
    const [tables] = await conn.query<RowDataPacket[]>(
      `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name FROM information_schema.TABLES
        WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN (?)`,
      [SYSTEM_SCHEMAS],
    );
    return await readColumns(conn, tables.map(tableName).filter((t) => filter(t.namespace, t.table)));
  } catch (error) {
    throw classifyMySqlError('reading table schemas', error);
  }
}

/** One table's schema, or null when no such base table exists. */
export async function readTableSchema(conn: Connection, namespace: string, table: string): Promise<TableSchema | null> {
  try {
    const [tables] = await conn.query<RowDataPacket[]>(
      `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name FROM information_schema.TABLES
        WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA = ? AND TABLE_NAME = ?`,
      [namespace, table],
    );
    // information_schema may compare names case-insensitively; the caller asked for exactly this name.
    const found = tables.map(tableName).filter((t) => t.namespace === namespace && t.table === table);
    return (await readColumns(conn, found, table))[0] ?? null;
  } catch (error) {
    throw classifyMySqlError(`reading the schema of ${namespace}.${table}`, error);
  }
}

interface TableName {
  namespace: string;
  table: string;
}

function tableName(row: RowDataPacket): TableName {
  return { namespace: String(row.db), table: String(row.name) };
}

/**
 * Columns, primary keys and JSON checks of the given tables. The queries are narrowed to the tables' databases
 * (information_schema then opens only those), and to one table name when reading a single table.
 */
async function readColumns(conn: Connection, tables: TableName[], onlyTable?: string): Promise<TableSchema[]> {
  if (tables.length === 0) return [];
  const databases = [...new Set(tables.map((t) => t.namespace))];
  const narrow = onlyTable === undefined ? '' : ' AND TABLE_NAME = ?';
  const params = onlyTable === undefined ? [databases] : [databases, onlyTable];

  const [columnRows] = await conn.query<RowDataPacket[]>(
    `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name, COLUMN_NAME AS col, COLUMN_TYPE AS type, IS_NULLABLE AS nullable,
            ORDINAL_POSITION AS ord
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA IN (?)${narrow}`,
    params,
  );
  const [keyRows] = await conn.query<RowDataPacket[]>(
    `SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name, COLUMN_NAME AS col, SEQ_IN_INDEX AS ord
       FROM information_schema.STATISTICS WHERE INDEX_NAME = 'PRIMARY' AND TABLE_SCHEMA IN (?)${narrow}`,
    params,
  );
  const jsonColumns = await readJsonChecks(conn, narrow, params);

  const byTable = new Map<string, { name: TableName; columns: Array<[number, ColumnSchema]>; keys: Array<[number, string]> }>();
  for (const name of tables) byTable.set(key(name.namespace, name.table), { name, columns: [], keys: [] });

  for (const row of columnRows) {
    const entry = byTable.get(key(String(row.db), String(row.name)));
    if (!entry) continue;
    const column = String(row.col);
    const sourceType = String(row.type);
    const isJson = jsonColumns.has(key(entry.name.namespace, entry.name.table, column));
    entry.columns.push([
      Number(row.ord),
      { name: column, type: isJson ? { kind: 'json' } : columnType(entry.name, column, sourceType), nullable: row.nullable === 'YES', sourceType },
    ]);
  }
  for (const row of keyRows) byTable.get(key(String(row.db), String(row.name)))?.keys.push([Number(row.ord), String(row.col)]);

  const schemas = [...byTable.values()].map(
    ({ name, columns, keys }): TableSchema => ({
      namespace: name.namespace,
      table: name.table,
      columns: columns.sort((a, b) => a[0] - b[0]).map(([, column]) => column),
      primaryKey: keys.sort((a, b) => a[0] - b[0]).map(([, column]) => column),
    }),
  );
  return schemas.sort((a, b) => compare(a.namespace, b.namespace) || compare(a.table, b.table));
}

/**
 * MariaDB has no JSON type: `JSON` is an alias of LONGTEXT plus a `CHECK (json_valid(col))` constraint, and only
 * that constraint tells the column apart from text. Its CHECK_CONSTRAINTS (10.2+) names the table; MySQL's has
 * no TABLE_NAME column (and 5.7 no such view), but MySQL has a real JSON type, so there is nothing to find there.
 */
async function readJsonChecks(conn: Connection, narrow: string, params: unknown[]): Promise<Set<string>> {
  let rows: RowDataPacket[];
  try {
    [rows] = await conn.query<RowDataPacket[]>(
      `SELECT CONSTRAINT_SCHEMA AS db, TABLE_NAME AS name, CHECK_CLAUSE AS clause
         FROM information_schema.CHECK_CONSTRAINTS
        WHERE CONSTRAINT_SCHEMA IN (?)${narrow} AND CHECK_CLAUSE LIKE 'json_valid(%'`,
      params,
    );
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ER_BAD_FIELD_ERROR' || code === 'ER_UNKNOWN_TABLE') return new Set();
    throw error;
  }
  const columns = new Set<string>();
  for (const row of rows) {
    // Exactly `json_valid(`col`)`: a check that merely mentions json_valid among other conditions is not the alias.
    const match = /^json_valid\(`((?:[^`]|``)+)`\)$/i.exec(String(row.clause).trim());
    if (match?.[1]) columns.add(key(String(row.db), String(row.name), match[1].replaceAll('``', '`')));
  }
  return columns;
}

function columnType(table: TableName, column: string, sourceType: string): ColumnType {
  try {
    return mySqlColumnType(sourceType);
  } catch (error) {
    if (!(error instanceof TributaryError)) throw error;
    throw new TributaryError(error.code, `column ${table.namespace}.${table.table}.${column}: ${error.message}`, { cause: error });
  }
}

function key(...parts: string[]): string {
  return parts.join('\u0000');
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
