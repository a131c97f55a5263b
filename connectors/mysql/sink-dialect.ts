import type { ColumnType, ColumnValue } from '#core/column-type.ts';
import { TributaryError } from '#core/errors.ts';
import { POSITION_COLUMN, type SinkChange, type Statement, type TableChanges } from '#core/sink.ts';
import type { ColumnSchema, TableSchema } from '#core/table-schema.ts';
import { toMySqlParam } from './sink-values.ts';

// The SQL of the MySQL/MariaDB sink: pure functions pinned by golden strings in sink-dialect.test.ts. Every
// identifier goes through quoteIdent; every value is a `?` bound by the driver, never part of the text.
// The target table is `database`.`table.table`; TYPES.md ("Sink target") documents the type choices.

const MAX_IDENTIFIER = 64;
const POSITION = '`__tributary_position`';
const POSITION_TYPE = 'VARCHAR(64)';

/** Backtick-quotes a name, doubling backticks in it; refuses names MySQL cannot hold, naming them and why. */
export function quoteIdent(name: string, role = 'name'): string {
  const problem = identifierProblem(name);
  if (problem !== undefined) {
    throw new TributaryError(
      'SINK_SCHEMA_INCOMPATIBLE',
      `${role} "${name}" cannot be used in MySQL/MariaDB: ${problem}; rename it at the source or exclude it`,
    );
  }
  return `\`${name.replaceAll('`', '``')}\``;
}

function identifierProblem(name: string): string | undefined {
  if (name === '') return 'it is empty';
  if (name.endsWith(' ')) return 'it ends with a space';
  let length = 0;
  for (const char of name) {
    const code = char.codePointAt(0) as number;
    if (code === 0) return 'it contains the NUL character';
    // Identifiers are utf8mb3 in the data dictionary: the Basic Multilingual Plane only, so no emoji.
    if (code > 0xffff) return 'it contains a character outside the Basic Multilingual Plane (such as an emoji)';
    if (code >= 0xd800 && code <= 0xdfff) return 'it contains an unpaired UTF-16 surrogate';
    length++;
  }
  if (length > MAX_IDENTIFIER) return `it is ${length} characters long, more than the ${MAX_IDENTIFIER} MySQL allows`;
  return undefined;
}

function quoteTable(database: string, table: TableSchema): string {
  return `${quoteIdent(database, 'database')}.${quoteIdent(table.table, 'table')}`;
}

function quoteColumn(name: string): string {
  return quoteIdent(name, 'column');
}

// --- column types -----------------------------------------------------------------------------------------

// utf8mb4 takes up to 4 bytes a character. InnoDB indexes at most 3072 bytes per key: 768 characters.
const MAX_KEY_BYTES = 3072;
const MAX_KEY_CHARS = MAX_KEY_BYTES / 4;
// The longest VARCHAR a utf8mb4 row can hold (65,535 bytes) and the longest VARBINARY; longer ones are LONG*.
const MAX_VARCHAR = 16_383;
const MAX_VARBINARY = 65_532;

/** A column's target type and what it costs against the row-size limits (see tableSqlTypes). */
interface TypeChoice {
  sql: string;
  /** Bytes toward the server's 65,535-byte row limit. */
  rowBytes: number;
  /** Worst-case bytes InnoDB keeps in the row itself (columns over 255 bytes may move off-page). */
  inlineBytes: number;
  /** The unbounded type this one may become when the row is too wide; absent for keys and fixed types. */
  spill?: string;
  /** Bytes in the primary-key index; absent when the type cannot be a key. */
  keyBytes?: number;
}

const fixed = (sql: string, bytes: number): TypeChoice => ({ sql, rowBytes: bytes, inlineBytes: bytes, keyBytes: bytes });
const LOB_ROW_BYTES = 12;
const OFF_PAGE_BYTES = 42; // a 20-byte pointer plus a 20-byte local prefix and the length bytes, InnoDB's worst case

function varying(sql: string, maxBytes: number, key: boolean, spill: string): TypeChoice {
  const lengthBytes = maxBytes > 255 ? 2 : 1;
  return {
    sql,
    rowBytes: maxBytes + lengthBytes,
    inlineBytes: maxBytes > 255 ? OFF_PAGE_BYTES : maxBytes + lengthBytes,
    keyBytes: maxBytes,
    ...(key ? {} : { spill }),
  };
}

const unbounded = (sql: string): TypeChoice => ({ sql, rowBytes: LOB_ROW_BYTES, inlineBytes: OFF_PAGE_BYTES });

function text(column: ColumnSchema, length: number | undefined, key: boolean): TypeChoice {
  if (key) {
    if (length === undefined || length > MAX_KEY_CHARS) {
      throw new TributaryError(
        'SINK_SCHEMA_INCOMPATIBLE',
        `key column "${column.name}" (${column.sourceType}) needs an indexable type: VARCHAR of at most ` +
          `${MAX_KEY_CHARS} characters (InnoDB keys hold ${MAX_KEY_BYTES} bytes, 4 per utf8mb4 character); ` +
          `give the source column a length of at most ${MAX_KEY_CHARS} or exclude the table`,
      );
    }
    return varying(`VARCHAR(${length})`, length * 4, key, 'LONGTEXT');
  }
  if (length === undefined || length > MAX_VARCHAR) return unbounded('LONGTEXT');
  return varying(`VARCHAR(${length})`, length * 4, key, 'LONGTEXT');
}

function binary(column: ColumnSchema, length: number | undefined, key: boolean): TypeChoice {
  if (key) {
    if (length === undefined || length > MAX_KEY_BYTES) {
      throw new TributaryError(
        'SINK_SCHEMA_INCOMPATIBLE',
        `key column "${column.name}" (${column.sourceType}) needs an indexable type: VARBINARY of at most ` +
          `${MAX_KEY_BYTES} bytes; give the source column such a length or exclude the table`,
      );
    }
    return varying(`VARBINARY(${length})`, length, key, 'LONGBLOB');
  }
  if (length === undefined || length > MAX_VARBINARY) return unbounded('LONGBLOB');
  return varying(`VARBINARY(${length})`, length, key, 'LONGBLOB');
}

/**
 * Characters a decimal's plain text needs: sign, integer digits (at least one), point and `scale` digits. Used
 * past DECIMAL(65,30), where a VARCHAR keeps the exact text rather than letting MySQL round it.
 */
function decimalTextLength(precision: number, scale: number): number {
  return Math.max(precision - scale, 1) + Math.max(scale, 0) + 2;
}

function choose(column: ColumnSchema, key: boolean): TypeChoice {
  const type: ColumnType = column.type;
  switch (type.kind) {
    case 'boolean':
      return fixed('TINYINT(1)', 1);
    case 'int16':
      return fixed('SMALLINT', 2);
    case 'int32':
      return fixed('INT', 4);
    case 'int64':
      return fixed('BIGINT', 8);
    case 'float32':
      return fixed('FLOAT', 4);
    case 'float64':
      return fixed('DOUBLE', 8);
    case 'decimal': {
      const { precision: p, scale: s } = type;
      if (p >= 1 && p <= 65 && s >= 0 && s <= 30 && s <= p) return fixed(`DECIMAL(${p},${s})`, 30);
      return text(column, decimalTextLength(p, s), key);
    }
    case 'string':
      return text(column, type.length, key);
    case 'json':
      if (key) throw unindexable(column, 'JSON');
      return unbounded('JSON');
    case 'enum':
      // VARCHAR rather than ENUM: members added at the source would need an ALTER each, and MySQL's '' for an
      // invalid ENUM value would be refused by a strict ENUM column. MySQL members are at most 255 characters.
      return text(column, Math.max(255, ...type.values.map((v) => v.length)), key);
    case 'set':
      return text(column, Math.max(255, type.values.join(',').length), key);
    case 'uuid':
      return { ...varying('CHAR(36)', 144, key, 'LONGTEXT'), keyBytes: 144 };
    case 'bytes':
      return binary(column, type.length, key);
    case 'bits':
      // BIT holds 64 bits at most; longer bit strings (PostgreSQL's) keep their big-endian bytes in a VARBINARY.
      if (type.length <= 64) return fixed(`BIT(${type.length})`, Math.ceil(type.length / 8));
      return binary(column, Math.ceil(type.length / 8), key);
    case 'date':
      return fixed('DATE', 3);
    case 'time':
      return fixed('TIME(6)', 6);
    case 'timestamp':
    case 'timestamptz':
      // DATETIME, not TIMESTAMP: TIMESTAMP ends in 2038 and converts through the session time zone.
      // timestamptz values are written as UTC wall-clock time.
      return fixed('DATETIME(6)', 8);
    case 'year':
      return fixed('YEAR', 1);
    case 'numeric':
      // Text, not DECIMAL: an unconstrained PostgreSQL numeric has up to 131,072 integer and 16,383 fraction
      // digits and NaN / ±Infinity, none of which DECIMAL(65,30) holds without rounding or refusing. A key keeps
      // VARCHAR(255) (longer key values are refused by the server in strict mode).
      return key ? text(column, NUMERIC_KEY_CHARS, key) : unbounded('LONGTEXT');
    case 'timetz':
      // 'HH:MM:SS.ffffffZ' (16 characters; 24:00:00 included, which TIME(6) would take but without the zone).
      return text(column, TIMETZ_CHARS, key);
    case 'interval':
      // ISO 8601 duration text; PostgreSQL's longest, every field negative and at its limit, is under 64.
      return text(column, INTERVAL_CHARS, key);
    case 'array':
      // A JSON array (connectors/core/array-json.ts has each element's form).
      if (key) throw unindexable(column, 'JSON');
      return unbounded('JSON');
  }
}

const NUMERIC_KEY_CHARS = 255;
const TIMETZ_CHARS = 32;
const INTERVAL_CHARS = 64;

function unindexable(column: ColumnSchema, sql: string): TributaryError {
  return new TributaryError(
    'SINK_SCHEMA_INCOMPATIBLE',
    `key column "${column.name}" (${column.sourceType}) would be ${sql}, which MySQL cannot index; exclude the table`,
  );
}

/** The target type of one column on its own, e.g. `DECIMAL(65,30)` or `VARCHAR(100)`. */
export function columnSqlType(column: ColumnSchema, key: boolean): string {
  return choose(column, key).sql;
}

// MySQL refuses a table whose row could pass 65,535 bytes (every VARCHAR counted at its longest), and InnoDB in
// strict mode one whose worst-case in-page row passes ~8,126 bytes (VARCHARs of at most 255 bytes never go
// off-page). The margins cover the record header, transaction fields and the NULL bitmap.
const ROW_LIMIT = 65_000;
const INLINE_LIMIT = 8_000;

/**
 * The target type of every column of `table` by name: columnSqlType, except that while the row would pass
 * MySQL's or InnoDB's row-size limit, the non-key VARCHAR/VARBINARY/CHAR columns that cost most become
 * LONGTEXT/LONGBLOB (which hold the same values), in a fixed order so that the result is deterministic.
 */
export function tableSqlTypes(table: TableSchema): Map<string, string> {
  const keys = new Set(table.primaryKey);
  const choices = table.columns.map((column) => ({ name: column.name, ...choose(column, keys.has(column.name)) }));
  let rowBytes = 258; // the position column
  let inlineBytes = OFF_PAGE_BYTES;
  for (const choice of choices) {
    rowBytes += choice.rowBytes;
    inlineBytes += choice.inlineBytes;
  }
  // Largest saving first; a column that already costs no more than a LONG* one would not help.
  const spill = (cost: 'rowBytes' | 'inlineBytes', floor: number, over: () => boolean) => {
    const candidates = choices.filter((c) => c.spill !== undefined).sort((a, b) => b[cost] - a[cost]);
    for (const choice of candidates) {
      if (!over() || choice[cost] <= floor) break;
      rowBytes += LOB_ROW_BYTES - choice.rowBytes;
      inlineBytes += OFF_PAGE_BYTES - choice.inlineBytes;
      Object.assign(choice, { sql: choice.spill, rowBytes: LOB_ROW_BYTES, inlineBytes: OFF_PAGE_BYTES, spill: undefined });
    }
  };
  spill('rowBytes', LOB_ROW_BYTES, () => rowBytes > ROW_LIMIT);
  spill('inlineBytes', OFF_PAGE_BYTES, () => inlineBytes > INLINE_LIMIT);
  return new Map(choices.map((c) => [c.name, c.sql]));
}

/** The checks every table passes before its DDL: a primary key, no clashing names, a key InnoDB can index. */
export function checkTable(table: TableSchema): void {
  const where = `table "${table.namespace}.${table.table}"`;
  if (table.primaryKey.length === 0) {
    throw new TributaryError(
      'SINK_SCHEMA_INCOMPATIBLE',
      `${where} has no primary key: the MySQL sink applies changes by key, idempotently; ` +
        'add a primary key at the source or exclude the table',
    );
  }
  // MySQL column names ignore case: `Id` and `id` are one column.
  const seen = new Set<string>([POSITION_COLUMN]);
  for (const column of table.columns) {
    const folded = column.name.toLowerCase();
    if (seen.has(folded)) {
      throw new TributaryError(
        'SINK_SCHEMA_INCOMPATIBLE',
        `${where}: column "${column.name}" clashes with another column of the target table (MySQL column names ` +
          `ignore case, and ${POSITION_COLUMN} is the sink's own); rename or exclude it`,
      );
    }
    seen.add(folded);
  }
  let keyBytes = 0;
  for (const name of table.primaryKey) {
    const column = table.columns.find((c) => c.name === name);
    if (!column) throw new TributaryError('SINK_SCHEMA_INCOMPATIBLE', `${where}: key column "${name}" is not among its columns`);
    const choice = choose(column, true);
    if (choice.keyBytes === undefined) throw unindexable(column, choice.sql);
    keyBytes += choice.keyBytes;
  }
  if (keyBytes > MAX_KEY_BYTES) {
    throw new TributaryError(
      'SINK_SCHEMA_INCOMPATIBLE',
      `${where}: its primary key takes up to ${keyBytes} bytes in utf8mb4 and InnoDB indexes at most ${MAX_KEY_BYTES}; ` +
        'shorten the key columns at the source or exclude the table',
    );
  }
}

function columnDefinition(name: string, sqlType: string, key: boolean): string {
  // Non-key columns are always NULL-able, so that a column dropped at the source never blocks inserts.
  return `${quoteColumn(name)} ${sqlType} ${key ? 'NOT NULL' : 'NULL'}`;
}

// --- DDL --------------------------------------------------------------------------------------------------

/**
 * CREATE TABLE IF NOT EXISTS: the source's columns, the position column and the source's primary key, InnoDB
 * (transactions) in utf8mb4 with a binary collation, so that keys compare as the source's bytes do.
 */
export function createTable(database: string, table: TableSchema): string {
  checkTable(table);
  const keys = new Set(table.primaryKey);
  const types = tableSqlTypes(table);
  const columns = table.columns.map((c) => columnDefinition(c.name, types.get(c.name) as string, keys.has(c.name)));
  columns.push(`${POSITION} ${POSITION_TYPE} NOT NULL`);
  columns.push(`PRIMARY KEY (${table.primaryKey.map(quoteColumn).join(', ')})`);
  return (
    `CREATE TABLE IF NOT EXISTS ${quoteTable(database, table)} (${columns.join(', ')}) ` +
    'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin'
  );
}

/** ALTER TABLE … ADD COLUMN for columns a newer schema version brings; they are never key columns. */
export function addColumns(database: string, table: TableSchema, names: readonly string[]): string {
  checkTable(table);
  const types = tableSqlTypes(table);
  const clauses = names.map((name) => {
    const type = types.get(name);
    if (type === undefined) throw new TributaryError('INTERNAL', `column "${name}" is not in table "${table.table}"`);
    return `ADD COLUMN ${columnDefinition(name, type, false)}`;
  });
  return `ALTER TABLE ${quoteTable(database, table)} ${clauses.join(', ')}`;
}

/** ALTER TABLE … MODIFY COLUMN to the given types: widenings, and NOT NULL made NULL on non-key columns. */
export function modifyColumns(database: string, table: TableSchema, columns: ReadonlyArray<{ name: string; sqlType: string }>): string {
  const keys = new Set(table.primaryKey);
  const clauses = columns.map((c) => `MODIFY COLUMN ${columnDefinition(c.name, c.sqlType, keys.has(c.name))}`);
  return `ALTER TABLE ${quoteTable(database, table)} ${clauses.join(', ')}`;
}

/**
 * Adopts a table the sink did not create: its rows get position '', which sorts before every real position, so
 * that any change replayed onto them wins.
 */
export function addPositionColumn(database: string, table: TableSchema): string {
  return `ALTER TABLE ${quoteTable(database, table)} ADD COLUMN ${POSITION} ${POSITION_TYPE} NOT NULL DEFAULT ''`;
}

// --- changes ----------------------------------------------------------------------------------------------

export interface StatementLimits {
  /** Placeholders per statement: the binary protocol's limit is 65,535. */
  maxParams: number;
  /** Estimated bytes of the statement once its values are escaped into it; must stay under max_allowed_packet. */
  maxBytes: number;
  /** Keys per DELETE: a longer OR list can make MySQL's range optimizer give up and scan the table. */
  maxDeleteKeys: number;
}

export const DEFAULT_LIMITS: StatementLimits = { maxParams: 65_000, maxBytes: 4 * 1024 * 1024, maxDeleteKeys: 1_000 };

/** Upper bound of a parameter's escaped size: ≤ 3 UTF-8 bytes per UTF-16 unit, or 2 when escaped; hex for bytes. */
function paramBytes(param: unknown): number {
  if (typeof param === 'string') return param.length * 3 + 2;
  if (Buffer.isBuffer(param)) return param.length * 2 + 3;
  return 24;
}

/** Splits rows of `width` placeholders each into groups that stay within the limits (a row too big goes alone). */
function* groups<T>(rows: readonly T[], params: (row: T) => unknown[], width: number, maxRows: number, limits: StatementLimits) {
  const perStatement = Math.max(1, Math.min(maxRows, Math.floor(limits.maxParams / width)));
  let group: unknown[][] = [];
  let bytes = 0;
  for (const row of rows) {
    const values = params(row);
    const size = values.reduce((sum: number, v) => sum + paramBytes(v) + 2, 16);
    if (group.length > 0 && (group.length >= perStatement || bytes + size > limits.maxBytes)) {
      yield group;
      group = [];
      bytes = 0;
    }
    group.push(values);
    bytes += size;
  }
  if (group.length > 0) yield group;
}

type Upsert = Extract<SinkChange, { op: 'upsert' }>;

/**
 * Multi-row INSERT … ON DUPLICATE KEY UPDATE guarded by position: an existing row takes the change's values only
 * when the change's position is greater than the row's, so a replayed or older change never moves it back.
 *
 * VALUES(col) names the value the row would have inserted. MySQL 8.0.20+ deprecates it (with a warning) for a
 * row alias, `INSERT … AS new … UPDATE c = new.c`, which MariaDB (10.11 included) does not parse; VALUES() works
 * on both. The position is assigned LAST: assignments run left to right and each later IF() must compare with
 * the row's old position.
 *
 * Changes with `unchanged` columns go into statements of their own, one set of statements per distinct set of
 * such columns, which leave those columns out of both the INSERT column list and the UPDATE: an existing row
 * keeps its values there, and a row inserted new gets the column default, NULL (the value is unknown).
 */
export function upsertStatements(
  database: string,
  table: TableSchema,
  changes: ReadonlyArray<Upsert>,
  limits: StatementLimits = DEFAULT_LIMITS,
): Statement[] {
  const keys = new Set(table.primaryKey);
  const names = new Set(table.columns.map((c) => c.name));
  const bySet = new Map<string, { leave: Set<string>; changes: Upsert[] }>();
  for (const change of changes) {
    // Key columns and names the table does not have are never left out.
    const leave = (change.unchanged ?? []).filter((c) => names.has(c) && !keys.has(c));
    const id = [...new Set(leave)].sort().join('\u0000');
    let group = bySet.get(id);
    if (!group) bySet.set(id, (group = { leave: new Set(leave), changes: [] }));
    group.changes.push(change);
  }
  return [...bySet.values()].flatMap((group) =>
    upsertGroup(database, table, table.columns.filter((c) => !group.leave.has(c.name)), group.changes, limits),
  );
}

/** The statements of upsertStatements for changes that write the same `columns`. */
function upsertGroup(database: string, table: TableSchema, columns: readonly ColumnSchema[], changes: readonly Upsert[], limits: StatementLimits): Statement[] {
  if (changes.length === 0) return [];
  const keys = new Set(table.primaryKey);
  const names = columns.map((c) => quoteColumn(c.name));
  const updates = columns
    .filter((c) => !keys.has(c.name))
    .map((c) => {
      const name = quoteColumn(c.name);
      return `${name} = IF(VALUES(${POSITION}) > ${POSITION}, VALUES(${name}), ${name})`;
    });
  updates.push(`${POSITION} = GREATEST(${POSITION}, VALUES(${POSITION}))`);
  const head = `INSERT INTO ${quoteTable(database, table)} (${[...names, POSITION].join(', ')}) VALUES `;
  const tail = ` ON DUPLICATE KEY UPDATE ${updates.join(', ')}`;
  const tuple = `(${Array.from({ length: names.length + 1 }, () => '?').join(', ')})`;
  const params = (change: Upsert) => [...columns.map((c) => toMySqlParam(c.type, change.row[c.name], c.name)), change.position];
  return [...groups(changes, params, names.length + 1, Infinity, limits)].map((rows) => ({
    sql: head + rows.map(() => tuple).join(', ') + tail,
    params: rows.flat(),
  }));
}

/**
 * A key column compared with a bound value exactly. MySQL compares an integer or decimal column with a string as
 * two doubles (2^63 - 1 would equal 2^63 - 2), so those values are CAST to the column's type; a BIT column is
 * compared with the unsigned integer its bytes spell.
 */
function keyPredicate(column: ColumnSchema, sqlType: string): { sql: string; param: (value: ColumnValue | undefined) => unknown } {
  const name = quoteColumn(column.name);
  const param = (value: ColumnValue | undefined) => toMySqlParam(column.type, value, column.name);
  if (sqlType === 'BIGINT') return { sql: `${name} = CAST(? AS SIGNED)`, param };
  if (sqlType.startsWith('DECIMAL(')) return { sql: `${name} = CAST(? AS ${sqlType})`, param };
  if (sqlType.startsWith('BIT(')) {
    return {
      sql: `${name} = CAST(? AS UNSIGNED)`,
      param: (value) => {
        const bytes = param(value);
        return Buffer.isBuffer(bytes) ? BigInt(`0x0${bytes.toString('hex')}`).toString() : bytes;
      },
    };
  }
  return { sql: `${name} = ?`, param };
}

/**
 * DELETE of several keys, each guarded by its own position: a row goes only when it was last written before the
 * delete, so a replayed delete never removes a row that a later change wrote again.
 */
export function deleteStatements(
  database: string,
  table: TableSchema,
  changes: ReadonlyArray<Extract<SinkChange, { op: 'delete' }>>,
  limits: StatementLimits = DEFAULT_LIMITS,
): Statement[] {
  if (changes.length === 0) return [];
  const predicates = table.primaryKey.map((name) => {
    const column = table.columns.find((c) => c.name === name);
    if (!column) throw new TributaryError('SINK_SCHEMA_INCOMPATIBLE', `key column "${name}" is not a column of "${table.table}"`);
    return { name, ...keyPredicate(column, columnSqlType(column, true)) };
  });
  const match = `(${[...predicates.map((p) => p.sql), `${POSITION} < ?`].join(' AND ')})`;
  const params = (change: (typeof changes)[number]) => [...predicates.map((p) => p.param(change.key[p.name])), change.position];
  return [...groups(changes, params, predicates.length + 1, limits.maxDeleteKeys, limits)].map((rows) => ({
    sql: `DELETE FROM ${quoteTable(database, table)} WHERE ${rows.map(() => match).join(' OR ')}`,
    params: rows.flat(),
  }));
}

/**
 * A source TRUNCATE at `position`: every row written before it goes. Not TRUNCATE TABLE, which would also remove
 * rows that changes after the truncate wrote, when an old truncate is replayed, and which commits implicitly.
 */
export function truncateStatement(database: string, table: TableSchema, position: string): Statement {
  return { sql: `DELETE FROM ${quoteTable(database, table)} WHERE ${POSITION} < ?`, params: [position] };
}

/**
 * Every statement of one table's changes, in an order that gives the changes' result. The runner keeps at most
 * one change per key, so upserts and deletes of different keys commute; a truncate comes alone.
 */
export function changeStatements(database: string, changes: TableChanges, limits: StatementLimits = DEFAULT_LIMITS): Statement[] {
  const upserts: Upsert[] = [];
  const deletes: Array<Extract<SinkChange, { op: 'delete' }>> = [];
  const statements: Statement[] = [];
  const flush = () => {
    statements.push(...upsertStatements(database, changes.table, upserts, limits));
    statements.push(...deleteStatements(database, changes.table, deletes, limits));
    upserts.length = 0;
    deletes.length = 0;
  };
  for (const change of changes.changes) {
    if (change.op === 'upsert') upserts.push(change);
    else if (change.op === 'delete') deletes.push(change);
    else {
      // Should a truncate come with other changes after all, those before it are applied before it.
      flush();
      statements.push(truncateStatement(database, changes.table, change.position));
    }
  }
  flush();
  return statements;
}
