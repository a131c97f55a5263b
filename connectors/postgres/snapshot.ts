import type pg from 'pg';
import { TributaryError } from '#core/errors.ts';
import { qualifiedName, type TableSchema } from '#core/table-schema.ts';
import { classifyPostgresError, quoteIdent, quoteLiteral } from './connection.ts';
import { quoteTable } from './names.ts';

// A snapshot reads every table inside one REPEATABLE READ transaction that imported the snapshot the replication
// slot exported when it was created: rows committed before the slot's consistent point are in it, and the slot
// streams every transaction that commits after that point.

/**
 * Starts the snapshot transaction on `client`. With `snapshotName` (exported by CREATE_REPLICATION_SLOT), it
 * sees exactly the slot's consistent point; without (a resumed snapshot: the export died with its connection),
 * it sees the present, which the stream from the slot's consistent point then brings up to date again.
 */
export async function openSnapshot(client: pg.Client, snapshotName: string | null): Promise<void> {
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
    if (snapshotName !== null) await client.query(`SET TRANSACTION SNAPSHOT ${quoteLiteral(snapshotName)}`);
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw classifyPostgresError(snapshotName ? `importing the exported snapshot ${snapshotName}` : 'opening the snapshot transaction', error);
  }
}

export interface TextChunk {
  /** Rows as the text of each column in table order (null for SQL NULL). */
  rows: (string | null)[][];
  /** The text of the primary key of the chunk's last row, to resume after; empty for a table read without a key. */
  lastKey: string[];
}

const tableName = (table: TableSchema) => quoteTable({ schema: table.namespace, table: table.table });

function columnOf(table: TableSchema, name: string) {
  const column = table.columns.find((c) => c.name === name);
  if (!column) throw new TributaryError('INTERNAL', `key column "${name}" is not a column of ${qualifiedName(table)}`);
  return column;
}

/**
 * One keyset chunk: the rows after the key `$1..$n` (a row comparison, which an index on the key serves) in key
 * order. Key parameters are the key's text cast back to the column's declared type, so that every type compares
 * exactly as it sorts in the index.
 */
export function chunkQuery(table: TableSchema, after: boolean, limit: number, options: { withXmax?: boolean } = {}): string {
  const columns = selectList(table, options.withXmax === true);
  const key = table.primaryKey.map((name) => quoteIdent(name));
  const params = table.primaryKey.map((name, i) => `$${i + 1}::${columnOf(table, name).sourceType}`);
  const where = after ? ` WHERE (${key.join(', ')}) > (${params.join(', ')})` : '';
  return `SELECT ${columns} FROM ${tableName(table)}${where} ORDER BY ${key.join(', ')} LIMIT ${limit}`;
}

/** The rows under some keys (an ad-hoc snapshot by keys): the columns and xmax, then `extra` (the canonical keys), `WHERE where`. */
export function keyedRowsQuery(table: TableSchema, extra: string, where: string): string {
  return `SELECT ${selectList(table, true)}, ${extra} FROM ${tableName(table)} WHERE ${where}`;
}

/**
 * The table's columns in order and, with `withXmax`, last the transaction deleting, updating or locking the row
 * version read, if any (an ad-hoc snapshot leaves out rows a transaction it cannot see is changing).
 */
function selectList(table: TableSchema, withXmax: boolean): string {
  return [...table.columns.map((c) => quoteIdent(c.name)), ...(withXmax ? ['xmax::text'] : [])].join(', ');
}

/** The planner's row estimate of a table (pg_class.reltuples; -1 before its first ANALYZE is taken as 0). */
export async function estimateRows(client: pg.Client, table: TableSchema): Promise<number> {
  const result = await client.query<{ n: string }>('SELECT greatest(reltuples, 0)::bigint AS n FROM pg_class WHERE oid = $1::regclass', [tableName(table)]);
  return Number(result.rows[0]?.n ?? 0);
}

/**
 * The rows of a table in chunks of at most `chunkSize` inside the open snapshot transaction; memory holds one
 * chunk whatever the table's size. A table with a primary key is read in key order, one keyset query per chunk,
 * and resumes after any chunk's `lastKey`; a table without one (REPLICA IDENTITY FULL) is read through a cursor
 * in no order and cannot resume mid-table.
 */
export async function* readTableChunks(
  client: pg.Client,
  table: TableSchema,
  options: { chunkSize: number; afterKey?: string[] | null; signal?: AbortSignal },
): AsyncGenerator<TextChunk> {
  const { chunkSize, signal } = options;
  let after = options.afterKey ?? null;
  if (table.primaryKey.length === 0) {
    if (after !== null) throw new TributaryError('INTERNAL', `${qualifiedName(table)} has no key and cannot resume mid-table`);
    yield* readThroughCursor(client, table, chunkSize, signal);
    return;
  }
  const keyIndexes = table.primaryKey.map((name) => table.columns.findIndex((c) => c.name === name));
  for (;;) {
    signal?.throwIfAborted();
    const result = await client.query<(string | null)[]>({ text: chunkQuery(table, after !== null, chunkSize), values: after ?? [], rowMode: 'array' });
    const rows = result.rows;
    if (rows.length === 0) return;
    const last = rows[rows.length - 1] as (string | null)[];
    after = keyIndexes.map((i) => last[i] as string);
    yield { rows, lastKey: after };
    if (rows.length < chunkSize) return;
  }
}

async function* readThroughCursor(client: pg.Client, table: TableSchema, chunkSize: number, signal?: AbortSignal): AsyncGenerator<TextChunk> {
  const columns = table.columns.map((c) => quoteIdent(c.name)).join(', ');
  await client.query(`DECLARE tributary_snapshot NO SCROLL CURSOR FOR SELECT ${columns} FROM ${tableName(table)}`);
  try {
    for (;;) {
      signal?.throwIfAborted();
      const result = await client.query<(string | null)[]>({ text: `FETCH ${chunkSize} FROM tributary_snapshot`, rowMode: 'array' });
      if (result.rows.length === 0) return;
      yield { rows: result.rows, lastKey: [] };
      if (result.rows.length < chunkSize) return;
    }
  } finally {
    await client.query('CLOSE tributary_snapshot').catch(() => undefined);
  }
}
