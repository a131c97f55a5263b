import { clockText } from '#core/calendar.ts';
import {
  Bindings,
  checkCanonical,
  DECIMAL_TEXT,
  HASH_ALIAS,
  HEX_TEXT,
  INTEGER_TEXT,
  isFreeText,
  keyOrder,
  keyRangeCondition,
  keysCondition,
  type KeyLookup,
  keySelectList,
  rowCount,
  unorderableKey,
  ROWS_ALIAS,
  type ChecksumColumn,
  type ChecksumDialect,
  type ChecksumTable,
  type KeyRange,
} from '#core/checksum.ts';
import { TributaryError } from '#core/errors.ts';
import type { Statement } from '#core/sink.ts';
import { quoteIdent, type SqlLiteral } from './snapshot-sql.ts';

// The checksum SQL of MySQL and MariaDB, as a source (native types) and as a target (the sink's types): the
// canonical row text of connectors/core/checksum.ts, built by the server. Golden tests: checksum.test.ts.
//
// Run the statements with `query` (mysql2 binds client-side: bigints and decimal literals go in unquoted, so integer
// keys are compared as integers, never as doubles) on a session in time zone UTC, where TIMESTAMP reads as UTC.

/** 1970-01-01 as MySQL's day number (TO_DAYS), and the first day MySQL and the proleptic calendar agree on again. */
const EPOCH_DAYNR = 719_528;
/**
 * MySQL's calendar has no 29 February in year 0, so TO_DAYS and TIMESTAMPDIFF count the days of 0000-01-01 to
 * 0000-02-28 one higher than the proleptic Gregorian calendar the capture uses; from 0000-03-01 on they agree.
 */
const YEAR_ZERO_MARCH = "'0000-03-01'";
const YEAR_ZERO_MARCH_DAYS = -719_468;
const MICROS_PER_DAY = 86_400_000_000n;

/** Collations that compare text by code point, which is the order every side cuts ranges in. */
const CODE_POINT_ORDER = /^(utf8mb4_bin|utf8mb4_0900_bin|utf8mb3_bin|utf8_bin|ascii_bin)$/;

function table(t: ChecksumTable): string {
  return `${quoteIdent(t.namespace)}.${quoteIdent(t.table)}`;
}

/** The base type of a COLUMN_TYPE text: `decimal(20,6) unsigned` → `decimal`. */
function base(column: ChecksumColumn): string {
  return /^[a-z0-9]+/.exec(column.storedAs.toLowerCase())?.[0] ?? '';
}

export const mySqlChecksum: ChecksumDialect = {
  unsupported(column) {
    const kind = column.type.kind;
    if (kind === 'array') return 'arrays are compared nowhere yet (their JSON text differs between engines)';
    if (kind === 'bits' && base(column) !== 'bit') return `bits stored as ${column.storedAs} have no canonical form here`;
    const scale = /^decimal\(\d+,(\d+)\)/.exec(column.storedAs)?.[1];
    if (column.type.kind === 'decimal' && scale !== undefined && Number(scale) !== column.type.scale) {
      return `a decimal(${column.type.precision},${column.type.scale}) column stored as ${column.storedAs} prints another scale`;
    }
    return undefined;
  },

  unorderable(column) {
    return unorderableKey(column, base(column) === 'decimal' || base(column) === 'bigint');
  },

  columns(namespace, name) {
    return {
      sql:
        'SELECT TABLE_NAME AS tableName, COLUMN_NAME AS name, COLUMN_TYPE AS type, COLLATION_NAME AS collation FROM information_schema.COLUMNS ' +
        'WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION',
      params: [namespace, name],
    };
  },

  summary(t, range) {
    const bindings = new Bindings(() => '?');
    const where = whereClause(t, range, bindings);
    return {
      sql: `SELECT COUNT(*) AS ${ROWS_ALIAS}, CAST(COALESCE(SUM(CAST(${rowHash(t)} AS UNSIGNED)), 0) AS CHAR) AS ${HASH_ALIAS} FROM ${table(t)}${where}`,
      params: bindings.values,
    };
  },

  rowHashes(t, range) {
    const bindings = new Bindings(() => '?');
    const where = whereClause(t, range, bindings);
    return { sql: `SELECT ${keyList(t)}, ${rowHash(t)} AS ${HASH_ALIAS} FROM ${table(t)}${where}`, params: bindings.values };
  },

  keyAt(t, range, offset) {
    return ordered(t, range, `LIMIT 1 OFFSET ${rowCount(offset)}`);
  },

  firstKeys(t, range, limit) {
    return ordered(t, range, `LIMIT ${rowCount(limit)}`);
  },
};

function ordered(t: ChecksumTable, range: KeyRange, limit: string): Statement {
  const bindings = new Bindings(() => '?');
  const where = whereClause(t, range, bindings);
  const order = keyOrder(t, operand);
  return { sql: `SELECT ${keyList(t)} FROM ${table(t)}${where} ORDER BY ${order} ${limit}`, params: bindings.values };
}

/** The rows of `keys` (canonical values) for an ad-hoc snapshot by keys: their canonical keys and the condition. */
export function keyLookup(t: ChecksumTable, keys: readonly (readonly string[])[]): KeyLookup {
  const bindings = new Bindings(() => '?');
  const where = keysCondition(t, keys, equalityOperand, (column, value) => literal(column, value, bindings));
  return { select: keyList(t), where, params: bindings.values };
}

function equalityOperand(column: ChecksumColumn): string {
  // Equality in the column's own collation finds the stored text, and its index serves the lookup.
  return quoteIdent(column.name);
}

function keyList(t: ChecksumTable): string {
  return keySelectList(t, canonical);
}

function whereClause(t: ChecksumTable, range: KeyRange, bindings: Bindings): string {
  const condition = keyRangeCondition(t, range, operand, (column, value) => literal(column, value, bindings));
  return condition === undefined ? '' : ` WHERE ${condition}`;
}

/** The first 56 bits of the MD5 of the row's canonical text, as decimal text. */
function rowHash(t: ChecksumTable): string {
  const fields = t.columns.map(field).join(", '|', ");
  return `CONV(SUBSTRING(MD5(CONCAT(${fields})), 1, 14), 16, 10)`;
}

function field(column: ChecksumColumn): string {
  const name = quoteIdent(column.name);
  if (isFreeText(column.type)) {
    const text = canonical(column);
    return `IF(${name} IS NULL, '~', CONCAT(LENGTH(${text}), ':', ${text}))`;
  }
  return `IF(${name} IS NULL, '~', ${canonical(column)})`;
}

/** The canonical text of a non-null value (connectors/core/checksum.ts). */
export function canonical(column: ChecksumColumn): string {
  const name = quoteIdent(column.name);
  const stored = base(column);
  switch (column.type.kind) {
    case 'boolean':
    case 'year':
    case 'bits':
      // BIT and YEAR read as numbers only in arithmetic: `+ 0` gives 5 for b'101' and 0 for YEAR 0000.
      return `CAST(${name} + 0 AS CHAR)`;
    case 'int16':
    case 'int32':
    case 'int64':
    case 'decimal':
      // DECIMAL prints exactly its scale; a decimal wider than DECIMAL(65,30) is the sink's VARCHAR of that text.
      return `CAST(${name} AS CHAR)`;
    case 'float32':
    case 'float64':
      // FLOAT prints 6 significant digits; as DOUBLE it prints the float32 value's shortest exact digits.
      return floatText(stored === 'float' ? `CAST(CAST(${name} AS DOUBLE) AS CHAR)` : `CAST(${name} AS CHAR)`);
    case 'string':
    case 'json':
    case 'enum':
    case 'set':
    case 'numeric':
    case 'timetz':
    case 'interval':
      return `CONVERT(${name} USING utf8mb4)`;
    case 'uuid':
      return `LOWER(CONVERT(${name} USING utf8mb4))`;
    case 'bytes':
      return `LOWER(HEX(${name}))`;
    case 'date':
      return `CAST(TO_DAYS(${name}) - IF(${name} < ${YEAR_ZERO_MARCH}, ${EPOCH_DAYNR + 1}, ${EPOCH_DAYNR}) AS CHAR)`;
    case 'time':
      // HOUR() and the others give the magnitude of a negative TIME; TIME_TO_SEC would round in MySQL 8.
      return (
        `CAST(IF(${name} < TIME'00:00:00', -1, 1) * ` +
        `(((HOUR(${name}) * 60 + MINUTE(${name})) * 60 + SECOND(${name})) * 1000000 + MICROSECOND(${name})) AS CHAR)`
      );
    case 'timestamp':
    case 'timestamptz':
      return (
        `CAST(TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', ${name}) - ` +
        `IF(${name} < ${YEAR_ZERO_MARCH}, ${MICROS_PER_DAY}, 0) AS CHAR)`
      );
    case 'array':
      throw new TributaryError('INTERNAL', `column "${column.name}": arrays have no canonical form (see unsupported)`);
  }
}

/**
 * A double's text in MySQL's shortest form ('0.0000001', '1e20', '-1.5') rewritten as '[-]De<E>' with
 * value = 0.D × 10^E. MySQL cannot store NaN or infinities, and prints -0 as 0.
 */
function floatText(t: string): string {
  const mantissa = `TRIM(LEADING '-' FROM SUBSTRING_INDEX(${t}, 'e', 1))`;
  const exponent = `CAST(IF(LOCATE('e', ${t}) = 0, '0', SUBSTRING_INDEX(${t}, 'e', -1)) AS SIGNED)`;
  const integer = `SUBSTRING_INDEX(${mantissa}, '.', 1)`;
  const digits = `REPLACE(${mantissa}, '.', '')`;
  const significant = `TRIM(LEADING '0' FROM ${digits})`;
  const power = `${exponent} + CHAR_LENGTH(${integer}) - CHAR_LENGTH(${digits}) + CHAR_LENGTH(${significant})`;
  return (
    `IF(${significant} = '', '0', CONCAT(IF(LEFT(${t}, 1) = '-', '-', ''), ` +
    `TRIM(TRAILING '0' FROM ${significant}), 'e', ${power}))`
  );
}

/**
 * A key column as ranges compare it. Text compares by code point on every side; a column whose collation sorts
 * otherwise (utf8mb4_unicode_ci, ENUM by member number) is compared through utf8mb4_bin, which the index cannot
 * serve: each range query of such a table reads the whole table.
 */
function operand(column: ChecksumColumn): string {
  const name = quoteIdent(column.name);
  const kind = column.type.kind;
  if (kind === 'string' || kind === 'enum' || kind === 'set' || kind === 'uuid') {
    const native = (base(column) === 'char' || base(column) === 'varchar') && CODE_POINT_ORDER.test(column.collation ?? '');
    return native ? name : `CONVERT(${name} USING utf8mb4) COLLATE utf8mb4_bin`;
  }
  return name;
}

/** A canonical key value as a constant of the column's type. */
function literal(column: ChecksumColumn, value: string, bindings: Bindings): string {
  const type = column.type;
  switch (type.kind) {
    case 'boolean':
    case 'int16':
    case 'int32':
    case 'int64':
    case 'year':
      // An unquoted integer: a quoted one would be compared with the column as a double.
      return bindings.bind(BigInt(checkCanonical(value, INTEGER_TEXT, column.name)));
    case 'decimal':
      return bindings.bind(sqlLiteral(checkCanonical(value, DECIMAL_TEXT, column.name)));
    case 'date': {
      const days = Number(checkCanonical(value, INTEGER_TEXT, column.name));
      return `DATE_ADD('1970-01-01', INTERVAL ${bindings.bind(BigInt(days < YEAR_ZERO_MARCH_DAYS ? days + 1 : days))} DAY)`;
    }
    case 'time': {
      const micros = BigInt(checkCanonical(value, INTEGER_TEXT, column.name));
      return `CAST(${bindings.bind(micros < 0n ? `-${clockText(-micros)}` : clockText(micros))} AS TIME(6))`;
    }
    case 'timestamp':
    case 'timestamptz': {
      const micros = BigInt(checkCanonical(value, INTEGER_TEXT, column.name));
      const shifted = micros < BigInt(YEAR_ZERO_MARCH_DAYS) * MICROS_PER_DAY ? micros + MICROS_PER_DAY : micros;
      return `TIMESTAMPADD(MICROSECOND, ${bindings.bind(shifted)}, '1970-01-01 00:00:00')`;
    }
    case 'bytes':
      return bindings.bind(Buffer.from(checkCanonical(value, HEX_TEXT, column.name), 'hex'));
    default:
      return bindings.bind(value);
  }
}

function sqlLiteral(text: string): SqlLiteral {
  return { toSqlString: () => text };
}
