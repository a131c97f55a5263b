import type { SinkConfig, SourceConfig } from '#config/schema.ts';
import type { ChecksumColumn, ChecksumDialect, ChecksumTable } from '#core/checksum.ts';
import { ColumnPolicy } from '#core/column-policy.ts';
import { TributaryError } from '#core/errors.ts';
import { DELETED_COLUMN } from '#core/sink.ts';
import { qualifiedName, type TableSchema } from '#core/table-schema.ts';
import { topicName } from '#schemas/avro-names.ts';

// Which tables verify compares and how: the source's captured tables that the sink consumes, where the sink keeps
// each, and the columns both servers can bring to the canonical form. Pure; the engines read the catalogs.

/** A column as a catalog query of a checksum dialect returns it. */
export interface CatalogColumn {
  name: string;
  type: string;
  collation: string | null;
}

export interface TableLocation {
  namespace: string;
  table: string;
}

/**
 * Where a sink keeps a source table: every sink writes `<ns>.<table>` as the table's own name in its one database
 * (MySqlSink and ClickHouseSink in `connection.database`, SqlServerSink in schema `dbo` of it); the source namespace
 * is not part of the name.
 */
export function targetTableOf(sink: SinkConfig, table: Pick<TableSchema, 'table'>): TableLocation {
  switch (sink.type) {
    case 'mysql':
    case 'mariadb':
    case 'clickhouse': {
      const database = sink.connection.database;
      if (database === undefined) throw new TributaryError('CONFIG_INVALID', `sink "${sink.name}": connection.database is required`);
      return { namespace: database, table: table.table };
    }
    case 'sqlserver':
      return { namespace: 'dbo', table: table.table };
    case 'lake':
      throw new TributaryError('CONFIG_INVALID', `sink "${sink.name}" writes files (type lake): verify compares database targets only`);
  }
}

/** Whether the sink consumes the change topic of `table` from a source with this topic prefix. */
export function sinkConsumes(sink: SinkConfig, topicPrefix: string, table: Pick<TableSchema, 'namespace' | 'table'>): boolean {
  const topic = topicName(topicPrefix, table.namespace, table.table);
  return Array.isArray(sink.topics) ? sink.topics.includes(topic) : new RegExp(sink.topics.pattern).test(topic);
}

/**
 * The tables to verify: `requested` (`db.table` names) or, when none is given, every captured table whose topic
 * the sink consumes. A requested table that is not captured, or not consumed by the sink, is an error.
 */
export function selectTables(captured: readonly TableSchema[], requested: readonly string[], sink: SinkConfig, topicPrefix: string): TableSchema[] {
  const consumed = captured.filter((table) => sinkConsumes(sink, topicPrefix, table));
  if (requested.length === 0) return consumed;
  return requested.map((name) => {
    const table = captured.find((t) => qualifiedName(t) === name);
    if (!table) {
      const known = captured.map(qualifiedName).slice(0, 20).join(', ') || 'none';
      throw new TributaryError('CONFIG_INVALID', `table ${name} is not captured by the source (captured: ${known})`);
    }
    if (!consumed.includes(table)) {
      throw new TributaryError('CONFIG_INVALID', `sink "${sink.name}" does not consume the topic of ${name} (${topicName(topicPrefix, table.namespace, table.table)})`);
    }
    return table;
  });
}

export type TablePlan =
  | { ok: true; source: ChecksumTable; target: ChecksumTable; notes: string[] }
  /** Why the table cannot be compared at all. */
  | { ok: false; problem: string; notes: string[] };

/**
 * The columns both sides compare, in source order, with each server's own type; and notes on those left out: excluded
 * or masked at the source (the target holds no copy of their values), missing in the target, or without a canonical
 * form on one of the servers. A key column that cannot be compared or ordered makes the table impossible to verify.
 */
export function planTable(options: {
  table: TableSchema;
  columnPolicy: SourceConfig['columns'];
  source: { location: TableLocation; catalog: readonly CatalogColumn[]; dialect: ChecksumDialect };
  target: { location: TableLocation; catalog: readonly CatalogColumn[]; dialect: ChecksumDialect; clickHouse: boolean };
}): TablePlan {
  const { table, source, target } = options;
  const notes: string[] = [];
  const fail = (problem: string): TablePlan => ({ ok: false, problem, notes });
  const targetName = `${target.location.namespace}.${target.location.table}`;
  if (table.primaryKey.length === 0) return fail('it has no primary key (no sink can copy it either)');
  if (target.catalog.length === 0) return fail(`the target table ${targetName} does not exist`);
  if (target.clickHouse && !target.catalog.some((c) => c.name === DELETED_COLUMN)) {
    return fail(`the target table ${targetName} has no ${DELETED_COLUMN} column: it was not made by the sink`);
  }

  const policy = new ColumnPolicy({ exclude: options.columnPolicy.exclude, mask: options.columnPolicy.mask, maskSalt: options.columnPolicy.maskSalt });
  const published = new Map(policy.schema(table).columns.map((c) => [c.name, c]));
  const keys = new Set(table.primaryKey);
  const sourceColumns: ChecksumColumn[] = [];
  const targetColumns: ChecksumColumn[] = [];
  for (const column of table.columns) {
    const isKey = keys.has(column.name);
    const after = published.get(column.name);
    if (!after) {
      notes.push(`column ${column.name} is excluded at the source: not compared`);
      continue;
    }
    // ColumnPolicy marks a masked column in its source type; its events carry a hash, not the value.
    if (after.sourceType === `${column.sourceType} (masked)`) {
      notes.push(`column ${column.name} is masked at the source: not compared`);
      continue;
    }
    const inSource = find(source.catalog, column.name, false);
    const inTarget = find(target.catalog, column.name, true);
    if (!inSource) return fail(`column ${column.name} is gone from the source table since its schema was read`);
    if (!inTarget) {
      if (isKey) return fail(`key column ${column.name} is missing from the target table ${targetName}`);
      notes.push(`column ${column.name} is missing from the target table: not compared`);
      continue;
    }
    const pair = {
      source: { name: column.name, type: column.type, storedAs: inSource.type, collation: inSource.collation },
      target: { name: inTarget.name, type: column.type, storedAs: inTarget.type, collation: inTarget.collation },
    };
    const why = source.dialect.unsupported(pair.source) ?? target.dialect.unsupported(pair.target);
    if (why) {
      if (isKey) return fail(`key column ${column.name} cannot be compared: ${why}`);
      notes.push(`column ${column.name} is not compared: ${why}`);
      continue;
    }
    if (isKey) {
      const unordered = source.dialect.unorderable(pair.source) ?? target.dialect.unorderable(pair.target);
      if (unordered) return fail(`key column ${column.name} cannot be cut into ranges: ${unordered}`);
    }
    sourceColumns.push(pair.source);
    targetColumns.push(pair.target);
  }
  const targetKey = table.primaryKey.map((name) => (targetColumns.find((c) => c.name.toLowerCase() === name.toLowerCase()) as ChecksumColumn).name);
  return {
    ok: true,
    source: { namespace: source.location.namespace, table: source.location.table, columns: sourceColumns, key: [...table.primaryKey] },
    target: { namespace: target.location.namespace, table: target.location.table, columns: targetColumns, key: targetKey },
    notes,
  };
}

/** A column by exact name, or (MySQL targets, whose column names ignore case) by name in any case. */
function find(catalog: readonly CatalogColumn[], name: string, anyCase: boolean): CatalogColumn | undefined {
  return catalog.find((c) => c.name === name) ?? (anyCase ? catalog.find((c) => c.name.toLowerCase() === name.toLowerCase()) : undefined);
}

/**
 * Catalog rows from a dialect's `columns` statement. MySQL's information_schema matches table names in any case, so
 * its rows name their table (`tableName`): those of exactly `table` are kept, unless the server folds names and
 * none matches exactly.
 */
export function catalogColumns(rows: ReadonlyArray<Record<string, unknown>>, table: string): CatalogColumn[] {
  const exact = rows.filter((row) => row.tableName === undefined || String(row.tableName) === table);
  return (exact.length > 0 ? exact : rows).map((row) => ({
    name: String(row.name),
    type: String(row.type),
    collation: row.collation == null ? null : String(row.collation),
  }));
}
