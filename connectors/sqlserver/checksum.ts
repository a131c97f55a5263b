import { isoDateTime } from '#core/calendar.ts';
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
import { parameterName, qualify, quoteIdent } from './dialect.ts';

// The checksum SQL of a SQL Server target table: the canonical row text of connectors/core/checksum.ts, built by the
// server. Golden tests: checksum.test.ts; no SQL Server runs on the local stack, so these statements are checked
// against the T-SQL reference only. Needs SQL Server 2019 or later: the row text is hashed as UTF-8 through a _UTF8
// collation (HASHBYTES of an NVARCHAR would hash UTF-16), as every other engine hashes it.
//
// float32/float64 columns are not compared: SQL Server prints a float with 17 significant digits (CONVERT style 3),
// not the shortest digits the other engines print, and has no way to print those.

const UTF8 = 'Latin1_General_100_BIN2_UTF8';
const BIN2 = /_BIN2($|_)/i;

function table(t: ChecksumTable): string {
  return qualify({ schema: t.namespace, table: t.table });
}

function typeName(column: ChecksumColumn): string {
  return /^[a-z0-9]+/.exec(column.storedAs.toLowerCase())?.[0] ?? '';
}

function placeholders(): Bindings {
  return new Bindings((index) => `@${parameterName(index)}`);
}

export const sqlServerChecksum: ChecksumDialect = {
  unsupported(column) {
    const kind = column.type.kind;
    if (kind === 'float32' || kind === 'float64') return 'SQL Server cannot print a float\'s shortest digits, which the other side compares';
    if (kind === 'array') return 'arrays are compared nowhere yet (their JSON text differs between engines)';
    if (kind === 'bits' && column.type.length > 64) return 'bit strings longer than 64 bits have no canonical form';
    if (kind === 'decimal' && typeName(column) === 'decimal' && !column.storedAs.endsWith(`,${column.type.scale})`)) {
      return `a decimal(${column.type.precision},${column.type.scale}) column stored as ${column.storedAs} prints another scale`;
    }
    return undefined;
  },

  unorderable(column) {
    return unorderableKey(column, typeName(column) === 'decimal');
  },

  columns(namespace, name) {
    return {
      sql:
        "SELECT COLUMN_NAME AS name, DATA_TYPE + CASE WHEN DATA_TYPE IN ('decimal', 'numeric') " +
        "THEN '(' + CAST(NUMERIC_PRECISION AS VARCHAR(3)) + ',' + CAST(NUMERIC_SCALE AS VARCHAR(3)) + ')' ELSE '' END AS type, " +
        'COLLATION_NAME AS collation FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = @p1 AND TABLE_NAME = @p2 ORDER BY ORDINAL_POSITION',
      params: [namespace, name],
    };
  },

  summary(t, range) {
    const bindings = placeholders();
    const where = whereClause(t, range, bindings);
    return {
      sql:
        `SELECT CAST(COUNT_BIG(*) AS VARCHAR(20)) AS ${ROWS_ALIAS}, CAST(COALESCE(SUM(CAST(${rowHash(t)} AS DECIMAL(38,0))), 0) AS VARCHAR(40)) AS ${HASH_ALIAS} ` +
        `FROM ${table(t)}${where}`,
      params: bindings.values,
    };
  },

  rowHashes(t, range) {
    const bindings = placeholders();
    const where = whereClause(t, range, bindings);
    return { sql: `SELECT ${keyList(t)}, CAST(${rowHash(t)} AS VARCHAR(20)) AS ${HASH_ALIAS} FROM ${table(t)}${where}`, params: bindings.values };
  },

  keyAt(t, range, offset) {
    return ordered(t, range, `OFFSET ${rowCount(offset)} ROWS FETCH NEXT 1 ROWS ONLY`);
  },

  firstKeys(t, range, limit) {
    return ordered(t, range, `OFFSET 0 ROWS FETCH NEXT ${rowCount(limit)} ROWS ONLY`);
  },
};

function ordered(t: ChecksumTable, range: KeyRange, fetch: string): Statement {
  const bindings = placeholders();
  const where = whereClause(t, range, bindings);
  const order = keyOrder(t, operand);
  return { sql: `SELECT ${keyList(t)} FROM ${table(t)}${where} ORDER BY ${order} ${fetch}`, params: bindings.values };
}

function keyList(t: ChecksumTable): string {
  return keySelectList(t, canonical);
}

function whereClause(t: ChecksumTable, range: KeyRange, bindings: Bindings): string {
  const condition = keyRangeCondition(t, range, operand, (column, value) => literal(column, value, bindings));
  return condition === undefined ? '' : ` WHERE ${condition}`;
}

function utf8(text: string): string {
  return `CAST(${text} COLLATE ${UTF8} AS VARCHAR(MAX))`;
}

/** The first 56 bits of the MD5 of the row's UTF-8 canonical text, as a BIGINT. */
function rowHash(t: ChecksumTable): string {
  const fields = t.columns.flatMap((column, i) => (i === 0 ? [field(column)] : ["N'|'", field(column)]));
  // CONCAT needs two arguments at least.
  if (fields.length === 1) fields.push("N''");
  return `CAST(0x00 + SUBSTRING(HASHBYTES('MD5', ${utf8(`CONCAT(${fields.join(', ')})`)}), 1, 7) AS BIGINT)`;
}

function field(column: ChecksumColumn): string {
  const name = quoteIdent(column.name);
  const text = canonical(column);
  // The length in UTF-8 bytes, as the other engines count it.
  const value = isFreeText(column.type) ? `CONCAT(DATALENGTH(${utf8(text)}), N':', ${text})` : text;
  return `CASE WHEN ${name} IS NULL THEN N'~' ELSE ${value} END`;
}

/** The canonical text of a non-null value (connectors/core/checksum.ts). */
export function canonical(column: ChecksumColumn): string {
  const name = quoteIdent(column.name);
  const type = typeName(column);
  switch (column.type.kind) {
    case 'boolean':
    case 'int16':
    case 'int32':
    case 'int64':
    case 'year':
    case 'time':
      return `CAST(${name} AS VARCHAR(20))`;
    case 'decimal':
      // DECIMAL prints exactly its scale; past 38 digits the sink keeps the text.
      return type === 'decimal' ? `CAST(${name} AS VARCHAR(42))` : name;
    case 'string':
    case 'json':
    case 'enum':
    case 'set':
    case 'numeric':
    case 'timetz':
    case 'interval':
      return name;
    case 'uuid':
      return type === 'uniqueidentifier' ? `LOWER(CONVERT(CHAR(36), ${name}))` : `LOWER(${name})`;
    case 'bytes':
      return `LOWER(CONVERT(VARCHAR(MAX), ${name}, 2))`;
    case 'bits': {
      // Debezium's little-endian bytes as the unsigned number they spell: byte i weighs 256^i.
      const terms = Array.from({ length: Math.ceil(column.type.length / 8) }, (_, i) =>
        `CAST(CAST(SUBSTRING(${name}, ${i + 1}, 1) AS INT) AS DECIMAL(20,0)) * ${(256n ** BigInt(i)).toString()}`,
      );
      return `CAST(${terms.join(' + ')} AS VARCHAR(20))`;
    }
    case 'date':
      return `CAST(DATEDIFF(DAY, CAST('19700101' AS DATE), ${name}) AS VARCHAR(11))`;
    case 'timestamp':
      return `CAST(DATEDIFF_BIG(MICROSECOND, CAST('1970-01-01T00:00:00' AS DATETIME2(6)), ${name}) AS VARCHAR(20))`;
    case 'timestamptz':
      return `CAST(DATEDIFF_BIG(MICROSECOND, CAST('1970-01-01T00:00:00+00:00' AS DATETIMEOFFSET(6)), ${name}) AS VARCHAR(20))`;
    case 'float32':
    case 'float64':
    case 'array':
      throw new TributaryError('INTERNAL', `column "${column.name}": ${column.type.kind} has no canonical form here (see unsupported)`);
  }
}

/**
 * A key column as ranges compare it. Key text is NVARCHAR in a BIN2 collation (code unit order, which is code point
 * order but for characters past U+FFFF against U+E000–U+FFFF); a UNIQUEIDENTIFIER sorts by its last bytes first, so
 * it is compared as its text, which the index cannot serve.
 */
function operand(column: ChecksumColumn): string {
  const name = quoteIdent(column.name);
  if (typeName(column) === 'uniqueidentifier') return `LOWER(CONVERT(CHAR(36), ${name}))`;
  const text = column.type.kind === 'string' || column.type.kind === 'enum' || column.type.kind === 'set' || column.type.kind === 'uuid';
  if (text && !BIN2.test(column.collation ?? '')) return `${name} COLLATE Latin1_General_100_BIN2`;
  return name;
}

/** A canonical key value as a constant of the column's type, bound as a string. */
function literal(column: ChecksumColumn, value: string, bindings: Bindings): string {
  const type = column.type;
  switch (type.kind) {
    case 'boolean':
      return `CAST(${bindings.bind(checkCanonical(value, /^[01]$/, column.name))} AS BIT)`;
    case 'int16':
    case 'int32':
    case 'int64':
    case 'year':
    case 'time':
      return `CAST(${bindings.bind(checkCanonical(value, INTEGER_TEXT, column.name))} AS BIGINT)`;
    case 'decimal':
      return `CAST(${bindings.bind(checkCanonical(value, DECIMAL_TEXT, column.name))} AS DECIMAL(${Math.min(type.precision, 38)},${type.scale}))`;
    case 'date':
      return `DATEADD(DAY, CAST(${bindings.bind(checkCanonical(value, INTEGER_TEXT, column.name))} AS INT), CAST('19700101' AS DATE))`;
    case 'timestamp':
      return `CAST(${bindings.bind(isoDateTime(BigInt(checkCanonical(value, INTEGER_TEXT, column.name)), 'T'))} AS DATETIME2(6))`;
    case 'timestamptz':
      return `CAST(${bindings.bind(`${isoDateTime(BigInt(checkCanonical(value, INTEGER_TEXT, column.name)), 'T')}+00:00`)} AS DATETIMEOFFSET(6))`;
    case 'bytes':
      return `CONVERT(VARBINARY(MAX), ${bindings.bind(checkCanonical(value, HEX_TEXT, column.name))}, 2)`;
    default:
      return bindings.bind(value);
  }
}
