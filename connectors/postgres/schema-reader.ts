import type pg from 'pg';
import { TributaryError } from '#core/errors.ts';
import type { TableFilter } from '#core/table-filter.ts';
import type { ColumnSchema, TableSchema } from '#core/table-schema.ts';
import { PgTypeCatalog } from './catalog.ts';
import { classifyPostgresError } from './connection.ts';

// Table schemas from pg_catalog, in a fixed number of queries whatever the number of tables (information_schema's
// views are slow on databases with thousands of tables, and hide what pgoutput needs: type OIDs, replica identity).

/**
 * pg_class.relreplident: what the old image of an UPDATE or DELETE carries. 'd' the primary key (nothing when there
 * is none), 'n' nothing, 'f' every column, 'i' the columns of one unique index.
 */
export type ReplicaIdentity = 'd' | 'n' | 'f' | 'i';

/** A table as the PostgreSQL source needs it: the TableSchema every source gives, plus what only PostgreSQL has. */
export interface PostgresTable {
  schema: TableSchema;
  replicaIdentity: ReplicaIdentity;
  /** The columns an UPDATE's or DELETE's old image holds, in column order: key, index or all columns, or none. */
  identityColumns: string[];
  /** One message per column whose type has no exact mapping and is captured as text; the source logs each once. */
  warnings: string[];
}

const SYSTEM_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'`;

/**
 * The tables a capture can see and `included` accepts, sorted by schema and name: ordinary and partitioned tables
 * the user may SELECT (the snapshot reads them), outside the system schemas. `catalog` is the source's shared
 * type cache (the stream resolves Relation messages with it); by default a fresh one.
 *
 * Left out, because pgoutput never sends their rows as their own: partitions (their changes are published as the
 * root's with `publish_via_partition_root`), unlogged and temporary tables (not WAL-logged, so not decoded).
 * Generated columns are left out of each table too: pgoutput does not send them, and a snapshot must give the same
 * columns as the stream. Needs PostgreSQL 12 or later (pg_attribute.attgenerated).
 */
export async function readTableSchemas(
  client: pg.ClientBase,
  included: TableFilter,
  catalog: PgTypeCatalog = new PgTypeCatalog(client),
): Promise<PostgresTable[]> {
  try {
    const { rows } = await client.query<Record<string, string>>(
      `SELECT c.oid, n.nspname, c.relname, c.relreplident
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relpersistence = 'p' AND ${SYSTEM_SCHEMAS}
          AND has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT')`,
    );
    return await readTables(
      client,
      catalog,
      rows.map(tableRow).filter((t) => included(t.namespace, t.table)),
    );
  } catch (error) {
    throw classifyPostgresError('reading table schemas', error);
  }
}

/** One table's schema, or null when no such table (ordinary or partitioned, readable by the user) exists. */
export async function readTableSchema(
  client: pg.ClientBase,
  schema: string,
  table: string,
  catalog: PgTypeCatalog = new PgTypeCatalog(client),
): Promise<PostgresTable | null> {
  try {
    const { rows } = await client.query<Record<string, string>>(
      `SELECT c.oid, n.nspname, c.relname, c.relreplident
         FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind IN ('r', 'p') AND n.nspname = $1 AND c.relname = $2 AND has_table_privilege(c.oid, 'SELECT')`,
      [schema, table],
    );
    return (await readTables(client, catalog, rows.map(tableRow)))[0] ?? null;
  } catch (error) {
    throw classifyPostgresError(`reading the schema of ${schema}.${table}`, error);
  }
}

interface TableRow {
  oid: number;
  namespace: string;
  table: string;
  replicaIdentity: ReplicaIdentity;
}

function tableRow(row: Record<string, string>): TableRow {
  return { oid: Number(row.oid), namespace: String(row.nspname), table: String(row.relname), replicaIdentity: String(row.relreplident) as ReplicaIdentity };
}

interface ColumnRow {
  name: string;
  oid: number;
  typmod: number;
  notNull: boolean;
}

/** Columns, primary keys and replica identity indexes of `tables`, and their types through `catalog`. */
async function readTables(client: pg.ClientBase, catalog: PgTypeCatalog, tables: TableRow[]): Promise<PostgresTable[]> {
  if (tables.length === 0) return [];
  const oids = tables.map((t) => t.oid);
  const { rows: columnRows } = await client.query<Record<string, string>>(
    `SELECT a.attrelid, a.attname, a.atttypid, a.atttypmod, a.attnotnull
       FROM pg_catalog.pg_attribute a
      WHERE a.attrelid = ANY($1::oid[]) AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
      ORDER BY a.attrelid, a.attnum`,
    [oids],
  );
  // indkey is an int2vector in key order; unnest with ordinality keeps that order.
  const { rows: keyRows } = await client.query<Record<string, string>>(
    `SELECT i.indrelid, i.indisprimary, i.indisreplident, a.attname
       FROM pg_catalog.pg_index i
            CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
            JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = ANY($1::oid[]) AND (i.indisprimary OR i.indisreplident)
      ORDER BY i.indrelid, i.indexrelid, k.ord`,
    [oids],
  );

  const columns = new Map<number, ColumnRow[]>(oids.map((oid) => [oid, []]));
  for (const row of columnRows) {
    columns.get(Number(row.attrelid))?.push({ name: String(row.attname), oid: Number(row.atttypid), typmod: Number(row.atttypmod), notNull: row.attnotnull === 't' });
  }
  const primaryKeys = new Map<number, string[]>();
  const identityIndexes = new Map<number, Set<string>>();
  for (const row of keyRows) {
    const relation = Number(row.indrelid);
    const name = String(row.attname);
    if (row.indisprimary === 't') primaryKeys.set(relation, [...(primaryKeys.get(relation) ?? []), name]);
    if (row.indisreplident === 't') identityIndexes.set(relation, (identityIndexes.get(relation) ?? new Set()).add(name));
  }

  const allColumns = tables.flatMap((t) => columns.get(t.oid) ?? []);
  const types = await catalog.resolveMany(allColumns.map((c) => ({ oid: c.oid, typmod: c.typmod })));
  let next = 0;
  const result = tables.map((t): PostgresTable => {
    const warnings: string[] = [];
    const schemaColumns = (columns.get(t.oid) ?? []).map((column): ColumnSchema => {
      const type = types[next++];
      if (!type) throw new TributaryError('INTERNAL', 'column types out of step with columns'); // resolveMany answers every ref
      if (type.warning) warnings.push(`column ${t.namespace}.${t.table}.${column.name}: ${type.warning}`);
      return { name: column.name, type: type.type, nullable: !column.notNull, sourceType: type.sourceType };
    });
    const primaryKey = primaryKeys.get(t.oid) ?? [];
    const names = schemaColumns.map((c) => c.name);
    const identityIndex = identityIndexes.get(t.oid);
    const identityColumns =
      t.replicaIdentity === 'f'
        ? names
        : t.replicaIdentity === 'd'
          ? names.filter((n) => primaryKey.includes(n))
          : t.replicaIdentity === 'i' && identityIndex
            ? names.filter((n) => identityIndex.has(n))
            : [];
    return {
      schema: { namespace: t.namespace, table: t.table, columns: schemaColumns, primaryKey },
      replicaIdentity: t.replicaIdentity,
      identityColumns,
      warnings,
    };
  });
  return result.sort((a, b) => compare(a.schema.namespace, b.schema.namespace) || compare(a.schema.table, b.schema.table));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
