import type { Connection as CoreConnection } from 'mysql2';
import type { Connection, RowDataPacket } from 'mysql2/promise';
import type { Row } from '#core/change-event.ts';
import type { ColumnType, ColumnValue } from '#core/column-type.ts';
import { TributaryError } from '#core/errors.ts';
import { qualifiedName, type TableSchema } from '#core/table-schema.ts';
import { classifyMySqlError } from './connection.ts';
import type { BinlogCoordinates } from './position.ts';
import type { MySqlFlavor } from './preflight.ts';
import { keyTableOf } from '#core/checksum.ts';
import { keyLookup } from './checksum.ts';
import { chunkParams, chunkQuery, countEstimateQuery, fullScanQuery, keyedRowsQuery, keyParam, keysetReadable } from './snapshot-sql.ts';
import { rowFromMySql } from './values.ts';

// A snapshot reads every table inside one REPEATABLE READ transaction whose start matches a binlog position
// exactly: rows committed before the position are in the snapshot, changes after it come from the binlog.

/**
 * Starts the snapshot transaction on `conn` and returns the binlog coordinates it corresponds to. The connection
 * then belongs to the snapshot until COMMIT; its time zone is UTC, which TIMESTAMP text and key parameters rely on.
 */
export async function openConsistentSnapshot(conn: Connection, flavor: MySqlFlavor): Promise<BinlogCoordinates> {
  try {
    await conn.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    await conn.query("SET time_zone = '+00:00'");
    return flavor === 'mariadb' ? await mariaDbSnapshot(conn) : await mySqlSnapshot(conn);
  } catch (error) {
    // A half-started snapshot must not leave a transaction (or, on MySQL, a global read lock) behind.
    await conn.query('ROLLBACK').catch(() => undefined);
    throw classifyMySqlError('opening a consistent snapshot', error);
  }
}

/**
 * MariaDB needs no lock at all: the binlog takes part in the snapshot, and the session status variables
 * Binlog_snapshot_file / _position give the exact binlog position of the transaction's read view.
 */
async function mariaDbSnapshot(conn: Connection): Promise<BinlogCoordinates> {
  await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
  const [status] = await conn.query<RowDataPacket[]>(
    "SHOW SESSION STATUS WHERE Variable_name IN ('Binlog_snapshot_file', 'Binlog_snapshot_position')",
  );
  const values = new Map(status.map((row) => [String(row.Variable_name).toLowerCase(), String(row.Value)]));
  const file = values.get('binlog_snapshot_file') ?? '';
  const pos = values.get('binlog_snapshot_position') ?? '';
  if (file === '') throw binlogOff();
  const [gtidRows] = await conn.query<RowDataPacket[]>('SELECT BINLOG_GTID_POS(?, ?) AS gtids', [file, BigInt(pos)]);
  const gtids = gtidRows[0]?.gtids;
  if (gtids === null || gtids === undefined) {
    throw new TributaryError('SOURCE_REJECTED', `BINLOG_GTID_POS('${file}', ${pos}) gave no GTID position for the snapshot`);
  }
  return { file, pos, gtids: String(gtids) };
}

/**
 * MySQL's snapshot does not report its binlog position, so commits are stopped for the instant between starting
 * the transaction and reading the position, as mysqldump --single-transaction --source-data does.
 *
 * NOT exercised by the integration tests: the local stack runs MariaDB only.
 *
 * LOCK INSTANCE FOR BACKUP is not used: it blocks DDL but lets transactions commit, so the position read under it
 * need not match the snapshot's read view. FLUSH TABLES WITH READ LOCK waits for running statements, and while it
 * waits it already blocks every writer, so that wait is capped by a short lock_wait_timeout.
 */
async function mySqlSnapshot(conn: Connection): Promise<BinlogCoordinates> {
  const [timeoutRows] = await conn.query<RowDataPacket[]>('SELECT @@SESSION.lock_wait_timeout AS timeout');
  const previousTimeout = Number(timeoutRows[0]?.timeout ?? 31_536_000);
  await conn.query('SET SESSION lock_wait_timeout = 10');
  try {
    await conn.query('FLUSH TABLES WITH READ LOCK');
    try {
      await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
      return await binaryLogStatus(conn);
    } finally {
      // Releases the global read lock only: UNLOCK TABLES commits nothing unless LOCK TABLES was used.
      await conn.query('UNLOCK TABLES');
    }
  } finally {
    await conn.query('SET SESSION lock_wait_timeout = ?', [previousTimeout]);
  }
}

/** SHOW MASTER STATUS was renamed SHOW BINARY LOG STATUS in MySQL 8.2 and removed in 8.4. */
async function binaryLogStatus(conn: Connection): Promise<BinlogCoordinates> {
  let rows: RowDataPacket[];
  try {
    [rows] = await conn.query<RowDataPacket[]>('SHOW BINARY LOG STATUS');
  } catch (error) {
    if ((error as { code?: string }).code !== 'ER_PARSE_ERROR') throw error;
    [rows] = await conn.query<RowDataPacket[]>('SHOW MASTER STATUS');
  }
  const row = rows[0];
  if (!row || !row.File) throw binlogOff();
  // Executed_Gtid_Set wraps long sets over lines.
  return { file: String(row.File), pos: String(row.Position), gtids: String(row.Executed_Gtid_Set ?? '').replace(/\s+/g, '') };
}

function binlogOff(): TributaryError {
  return new TributaryError('PREFLIGHT_FAILED', 'the binary log is off, so a snapshot has no binlog position to continue from; enable log_bin');
}

export interface TableChunk {
  rows: Row[];
  /** The primary key of the chunk's last row, to resume after; empty for a table read without a key. */
  lastKey: ColumnValue[];
}

export interface ReadTableOptions {
  chunkSize: number;
  /** Read the rows after this primary key (a `lastKey` of an earlier chunk); null or absent: from the first row. */
  afterKey?: ColumnValue[] | null;
  signal?: AbortSignal;
}

/**
 * The rows of a table in chunks of at most `chunkSize`, inside the open snapshot transaction of `conn`; memory
 * holds one chunk at a time whatever the table's size.
 *
 * Tables with a primary key (see keysetReadable) are read in key order, one keyset query per chunk, and can
 * resume after any chunk's `lastKey`. Other tables are read by one streamed query in no particular order with
 * `lastKey` empty: such a read cannot resume mid-table and must start over from its first row. Stopping such a
 * read early (return, throw, abort) destroys `conn`, because the only other way to stop the server sending the
 * rest of a large table is to read it all.
 */
export async function* readTableChunks(conn: Connection, table: TableSchema, options: ReadTableOptions): AsyncGenerator<TableChunk> {
  const { chunkSize, signal } = options;
  const afterKey = options.afterKey ?? null;
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) {
    throw new TributaryError('INTERNAL', `chunkSize must be a positive integer, got ${chunkSize}`);
  }
  if (!keysetReadable(table)) {
    if (afterKey !== null) {
      throw new TributaryError(
        'INTERNAL',
        `${qualifiedName(table)} is read without a key and cannot resume mid-table; read it again from its first row`,
      );
    }
    yield* streamTable(conn, table, chunkSize, signal);
    return;
  }
  if (afterKey !== null && afterKey.length !== table.primaryKey.length) {
    throw new TributaryError('INTERNAL', `a key of ${qualifiedName(table)} has ${table.primaryKey.length} values, got ${afterKey.length}`);
  }
  const keyTypes = table.primaryKey.map((name) => columnTypeOf(table, name));
  let after = afterKey;
  for (;;) {
    signal?.throwIfAborted();
    const sql = chunkQuery(table, after !== null, chunkSize);
    const values = after === null ? [] : chunkParams(after.map((value, i) => keyParam(keyTypes[i] as ColumnType, value)));
    let raw: unknown[][];
    try {
      const [rows] = await conn.query<RowDataPacket[]>({ sql, values, rowsAsArray: true });
      raw = rows as unknown as unknown[][];
    } catch (error) {
      throw classifyMySqlError(`reading a snapshot chunk of ${qualifiedName(table)}`, error);
    }
    if (raw.length === 0) return;
    const rows = raw.map((values) => convertRow(table, values));
    const lastRow = rows[rows.length - 1] as Row;
    after = table.primaryKey.map((name) => lastRow[name] ?? null);
    yield { rows, lastKey: after };
    if (raw.length < chunkSize) return;
  }
}

/**
 * The rows of `keys` (canonical key values, connectors/core/checksum.ts) inside the open snapshot transaction, and
 * which of the keys they are, by the server's own canonical text of each row's key.
 */
export async function readRowsByKeys(conn: Connection, table: TableSchema, keys: readonly (readonly string[])[]): Promise<{ rows: Row[]; found: Set<string> }> {
  const lookup = keyLookup(keyTableOf(table), keys);
  let raw: unknown[][];
  try {
    const [rows] = await conn.query<RowDataPacket[]>({ sql: keyedRowsQuery(table, lookup.select, lookup.where), values: lookup.params, rowsAsArray: true });
    raw = rows as unknown as unknown[][];
  } catch (error) {
    throw classifyMySqlError(`reading rows of ${qualifiedName(table)} by key`, error);
  }
  const width = table.columns.length;
  const text = (value: unknown) => (Buffer.isBuffer(value) ? value.toString('utf8') : String(value));
  return {
    rows: raw.map((values) => convertRow(table, values.slice(0, width))),
    found: new Set(raw.map((values) => JSON.stringify(values.slice(width).map(text)))),
  };
}

async function* streamTable(conn: Connection, table: TableSchema, chunkSize: number, signal?: AbortSignal): AsyncGenerator<TableChunk> {
  // The promise wrapper has no streaming; its callback connection does, with back-pressure: when the stream's
  // buffer of `highWaterMark` rows is full, mysql2 stops reading the socket until the consumer catches up.
  const stream = coreConnection(conn).query({ sql: fullScanQuery(table), rowsAsArray: true }).stream({ highWaterMark: chunkSize });
  const iterator: AsyncIterator<unknown> = stream[Symbol.asyncIterator]();
  let finished = false;
  try {
    let rows: Row[] = [];
    for (;;) {
      signal?.throwIfAborted();
      let next: IteratorResult<unknown>;
      try {
        next = await iterator.next();
      } catch (error) {
        throw classifyMySqlError(`reading the snapshot of ${qualifiedName(table)}`, error);
      }
      if (next.done) break;
      rows.push(convertRow(table, next.value as unknown[]));
      if (rows.length === chunkSize) {
        yield { rows, lastKey: [] };
        rows = [];
      }
    }
    finished = true;
    if (rows.length > 0) yield { rows, lastKey: [] };
  } finally {
    if (!finished) {
      stream.destroy();
      conn.destroy();
    }
  }
}

function coreConnection(conn: Connection): CoreConnection {
  // mysql2's promise wrapper keeps its callback connection here; its typings leave the property out.
  return (conn as unknown as { connection: CoreConnection }).connection;
}

function convertRow(table: TableSchema, values: unknown[]): Row {
  // Rows come as arrays in column order, so a column named like an Object member (`__proto__`) is just a key.
  return rowFromMySql(table.columns, Object.fromEntries(table.columns.map((column, i) => [column.name, values[i]])));
}

function columnTypeOf(table: TableSchema, name: string): ColumnType {
  const column = table.columns.find((c) => c.name === name);
  if (!column) throw new TributaryError('INTERNAL', `primary key column ${name} is not a column of ${qualifiedName(table)}`);
  return column.type;
}

/** InnoDB's estimate of the table's rows, for progress only; 0 when unknown. */
export async function estimateRows(conn: Connection, table: Pick<TableSchema, 'namespace' | 'table'>): Promise<number> {
  const { sql, values } = countEstimateQuery(table);
  try {
    const [rows] = await conn.query<RowDataPacket[]>(sql, values);
    // information_schema may match names case-insensitively; take exactly this table.
    const row = rows.find((r) => String(r.name) === table.table);
    return Number(row?.estimate ?? 0);
  } catch (error) {
    throw classifyMySqlError(`estimating the rows of ${qualifiedName(table)}`, error);
  }
}
