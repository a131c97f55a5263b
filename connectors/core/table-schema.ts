import type { Row } from './change-event.ts';
import type { ColumnType } from './column-type.ts';
import { stringifyExact } from './json.ts';

/** One column as the source describes it. */
export interface ColumnSchema {
  /** The column name exactly as in the source, any characters included. */
  name: string;
  type: ColumnType;
  nullable: boolean;
  /** The native type text (`decimal(38,10) unsigned`, `timestamp with time zone`), for messages and docs. */
  sourceType: string;
}

/**
 * A table's shape at one point of the source's history. Events are always encoded with the schema that was
 * current when the change was written, so a `TableSchema` is a value, never mutated in place.
 */
export interface TableSchema {
  /** The database (MySQL) or schema (PostgreSQL) that holds the table: the middle part of the topic name. */
  namespace: string;
  table: string;
  /** Columns in source order. */
  columns: ColumnSchema[];
  /** Names of the primary-key columns in key order; empty when the table has none. */
  primaryKey: string[];
}

export function qualifiedName(table: Pick<TableSchema, 'namespace' | 'table'>): string {
  return `${table.namespace}.${table.table}`;
}

/** A row's primary key as text: equal keys, equal text (one value as itself, several as an array). */
export function keyText(table: TableSchema, row: Row): string {
  return table.primaryKey.length === 1 ? stringifyExact(row[table.primaryKey[0] as string]) : stringifyExact(table.primaryKey.map((c) => row[c]));
}
