import { isoDate, isoDateTime } from '#core/calendar.ts';
import {
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
  UUID_TEXT,
  type ChecksumColumn,
  type ChecksumDialect,
  type ChecksumTable,
  type KeyRange,
} from '#core/checksum.ts';
import { TributaryError } from '#core/errors.ts';
import { DELETED_COLUMN } from '#core/sink.ts';
import type { Statement } from '#core/sink.ts';
import { columnsQuery, parseType, qualifiedName, quoteIdent, quoteString, type BaseType, type ClickHouseType } from './dialect.ts';

// The checksum SQL of a ClickHouse target table: the canonical row text of connectors/core/checksum.ts, built by the
// server over the rows a user sees — `FINAL` (the latest version of each key) without the rows flagged deleted.
// Golden tests: checksum.test.ts. Every function used exists in ClickHouse 18.16, which has no query parameters:
// key values are typed literals built here from checked canonical text (strings as unhex() of their bytes).

const MAX_EXACT_DECIMAL_INTEGER_DIGITS = 21;
const DECIMAL_SPLIT = '1000000000000000000000'; // 10^21
const ZEROS = '0'.repeat(40);

function typeOf(column: ChecksumColumn): ClickHouseType | undefined {
  return parseType(column.storedAs);
}

function source(t: ChecksumTable): string {
  return `${qualifiedName(t.namespace, t.table)} FINAL`;
}

export const clickHouseChecksum: ChecksumDialect = {
  unsupported(column) {
    const type = typeOf(column);
    if (!type) return `ClickHouse type ${column.storedAs} is not one the sink writes`;
    if (column.type.kind === 'array') return 'arrays are compared nowhere yet (their JSON text differs between engines)';
    if (!fits(column.type.kind, type.base)) return `a ${column.type.kind} column stored as ${column.storedAs} has no canonical form here`;
    if (column.type.kind === 'decimal' && type.base.name === 'Decimal' && type.base.scale !== column.type.scale) {
      return `a decimal(${column.type.precision},${column.type.scale}) column stored as ${column.storedAs} prints another scale`;
    }
    return undefined;
  },

  unorderable(column) {
    return unorderableKey(column, typeOf(column)?.base?.name === 'Decimal');
  },

  columns(namespace, name) {
    return { sql: columnsQuery(namespace, name), params: [] };
  },

  summary(t, range) {
    return { sql: `SELECT toString(count()) AS ${ROWS_ALIAS}, toString(sum(${rowHash(t)})) AS ${HASH_ALIAS} FROM ${source(t)}${whereClause(t, range)}`, params: [] };
  },

  rowHashes(t, range) {
    return { sql: `SELECT ${keyList(t)}, toString(${rowHash(t)}) AS ${HASH_ALIAS} FROM ${source(t)}${whereClause(t, range)}`, params: [] };
  },

  keyAt(t, range, offset) {
    return ordered(t, range, `LIMIT 1 OFFSET ${rowCount(offset)}`);
  },

  firstKeys(t, range, limit) {
    return ordered(t, range, `LIMIT ${rowCount(limit)}`);
  },
};

/** Whether values of `kind` are stored in a column of `base` the way the sink writes them (TYPES.md). */
function fits(kind: ChecksumColumn['type']['kind'], base: BaseType): boolean {
  switch (kind) {
    case 'boolean':
      return base.name === 'UInt8';
    case 'int16':
    case 'int32':
    case 'int64':
    case 'year':
      return base.name === 'Int16' || base.name === 'Int32' || base.name === 'Int64';
    case 'bits':
      return base.name === 'UInt64';
    case 'decimal':
      return base.name === 'Decimal' || base.name === 'String';
    case 'float32':
    case 'float64':
      return base.name === 'Float32' || base.name === 'Float64';
    case 'uuid':
      return base.name === 'UUID' || base.name === 'String';
    case 'date':
      return base.name === 'Int32' || base.name === 'Date32';
    case 'time':
      return base.name === 'Int64';
    case 'timestamp':
    case 'timestamptz':
      return base.name === 'Int64' || (base.name === 'DateTime64' && base.precision === 6 && base.timezone === 'UTC');
    case 'string':
    case 'json':
    case 'enum':
    case 'set':
    case 'bytes':
    case 'numeric':
    case 'timetz':
    case 'interval':
      return base.name === 'String';
    case 'array':
      return false;
  }
}

function ordered(t: ChecksumTable, range: KeyRange, limit: string): Statement {
  const order = keyOrder(t, operand);
  return { sql: `SELECT ${keyList(t)} FROM ${source(t)}${whereClause(t, range)} ORDER BY ${order} ${limit}`, params: [] };
}

function keyList(t: ChecksumTable): string {
  return keySelectList(t, (column) => canonical(column, quoteIdent(column.name)));
}

/**
 * After FINAL, without the deleted rows (servers before 23.2 keep the delete as the latest version). The condition
 * is a WHERE, never a PREWHERE: a PREWHERE is applied before FINAL collapses the versions (TYPES.md).
 */
function whereClause(t: ChecksumTable, range: KeyRange): string {
  const condition = keyRangeCondition(t, range, operand, literal);
  return ` WHERE ${quoteIdent(DELETED_COLUMN)} = 0${condition === undefined ? '' : ` AND ${condition}`}`;
}

/** The first 56 bits of the MD5 of the row's canonical text (MD5's first 7 bytes read big-endian), a UInt64. */
function rowHash(t: ChecksumTable): string {
  const fields = t.columns.flatMap((column, i) => (i === 0 ? [field(column)] : ["'|'", field(column)]));
  // concat() needs two arguments at least.
  if (fields.length === 1) fields.push("''");
  return `reinterpretAsUInt64(reverse(substring(MD5(concat(${fields.join(', ')})), 1, 7)))`;
}

function field(column: ChecksumColumn): string {
  const name = quoteIdent(column.name);
  const nullable = typeOf(column)?.nullable ?? false;
  // if() computes both branches for every row: the value side reads the column's default where it is NULL.
  const value = nullable ? `assumeNotNull(${name})` : name;
  const text = canonical(column, value);
  const out = isFreeText(column.type) ? `concat(toString(length(${text})), ':', ${text})` : text;
  return nullable ? `if(isNull(${name}), '~', ${out})` : out;
}

/** The canonical text of `value`, a non-null value of `column` (connectors/core/checksum.ts). */
export function canonical(column: ChecksumColumn, value: string): string {
  const base = typeOf(column)?.base;
  if (!base) throw new TributaryError('INTERNAL', `column "${column.name}": ClickHouse type ${column.storedAs} is not one the sink writes`);
  switch (column.type.kind) {
    case 'boolean':
    case 'int16':
    case 'int32':
    case 'int64':
    case 'year':
    case 'bits':
    case 'time':
      return `toString(${value})`;
    case 'decimal':
      if (base.name === 'String') return value;
      return base.name === 'Decimal' && base.precision - base.scale > MAX_EXACT_DECIMAL_INTEGER_DIGITS
        ? wideDecimalText(value, base.scale)
        : `toString(${value})`;
    case 'float32':
    case 'float64':
      return floatText(`toString(toFloat64(${value}))`);
    case 'uuid':
      return base.name === 'UUID' ? `toString(${value})` : `lower(${value})`;
    case 'bytes':
      return `lower(hex(${value}))`;
    case 'date':
      return base.name === 'Date32' ? `toString(toInt32(${value}))` : `toString(${value})`;
    case 'timestamp':
    case 'timestamptz':
      return base.name === 'DateTime64' ? `toString(toUnixTimestamp64Micro(${value}))` : `toString(${value})`;
    case 'string':
    case 'json':
    case 'enum':
    case 'set':
    case 'numeric':
    case 'timetz':
    case 'interval':
      return value;
    case 'array':
      throw new TributaryError('INTERNAL', `column "${column.name}": arrays have no canonical form (see unsupported)`);
  }
}

/**
 * toString() of a Decimal whose integer part has more than 21 digits prints NUL bytes among them on 18.16 (TYPES.md);
 * below that it is exact. So the magnitude is cut at 10^21: the high part as a UInt64, the rest as a Decimal that
 * toString() prints right, zero-padded to 21 integer digits when a high part goes before it.
 */
function wideDecimalText(value: string, scale: number): string {
  const magnitude = `abs(${value})`;
  const split = `toDecimal128('${DECIMAL_SPLIT}', 0)`;
  const high = `toUInt64(${magnitude} / ${split})`;
  const low = `toString(${magnitude} - toDecimal128(${high}, 0) * ${split})`;
  const width = MAX_EXACT_DECIMAL_INTEGER_DIGITS + (scale > 0 ? scale + 1 : 0);
  const padded = `concat(substring('${ZEROS}', 1, ${width} - length(${low})), ${low})`;
  return `concat(if(${value} < 0, '-', ''), if(${high} = 0, ${low}, concat(toString(${high}), ${padded})))`;
}

/** A double's shortest text ('1e-7', '100000000000000000000', '-0', 'nan') as '[-]De<E>' with value = 0.D × 10^E. */
function floatText(t: string): string {
  const mantissa = `replaceRegexpOne(splitByChar('e', ${t})[1], '^-', '')`;
  const exponent = `if(position(${t}, 'e') = 0, 0, toInt64OrZero(splitByChar('e', ${t})[2]))`;
  const integer = `splitByChar('.', ${mantissa})[1]`;
  const digits = `replaceAll(${mantissa}, '.', '')`;
  const significant = `replaceRegexpOne(${digits}, '^0+', '')`;
  const power = `${exponent} + toInt64(length(${integer})) - toInt64(length(${digits})) + toInt64(length(${significant}))`;
  return (
    `multiIf(${t} IN ('nan', '-nan'), 'nan', ${t} = 'inf', 'inf', ${t} = '-inf', '-inf', ${significant} = '', '0', ` +
    `concat(if(substring(${t}, 1, 1) = '-', '-', ''), replaceRegexpOne(${significant}, '0+$', ''), 'e', toString(${power})))`
  );
}

/**
 * A key column as ranges compare it. Strings and bytes compare as bytes, which for UTF-8 is code point order. A UUID
 * does not sort as its text here (ClickHouse compares its second half first), so it is compared as text, which the
 * sorting key cannot serve: each range query of such a table reads the whole table.
 */
function operand(column: ChecksumColumn): string {
  const name = quoteIdent(column.name);
  return typeOf(column)?.base.name === 'UUID' ? `toString(${name})` : name;
}

/** A canonical key value as a typed ClickHouse constant. */
function literal(column: ChecksumColumn, value: string): string {
  const base = typeOf(column)?.base;
  switch (column.type.kind) {
    case 'boolean':
    case 'int16':
    case 'int32':
    case 'int64':
    case 'year':
    case 'time':
      return `toInt64(${quoteString(checkCanonical(value, INTEGER_TEXT, column.name))})`;
    case 'decimal':
      return base?.name === 'Decimal'
        ? `toDecimal128(${quoteString(checkCanonical(value, DECIMAL_TEXT, column.name))}, ${base.scale})`
        : quoteString(checkCanonical(value, DECIMAL_TEXT, column.name));
    case 'date': {
      const days = checkCanonical(value, INTEGER_TEXT, column.name);
      return base?.name === 'Date32' ? `toDate32(${quoteString(isoDate(Number(days)))})` : `toInt32(${quoteString(days)})`;
    }
    case 'timestamp':
    case 'timestamptz': {
      const micros = checkCanonical(value, INTEGER_TEXT, column.name);
      return base?.name === 'DateTime64'
        ? `toDateTime64(${quoteString(isoDateTime(BigInt(micros), ' '))}, 6, 'UTC')`
        : `toInt64(${quoteString(micros)})`;
    }
    case 'uuid':
      return base?.name === 'UUID' ? quoteString(checkCanonical(value, UUID_TEXT, column.name)) : `unhex('${Buffer.from(value, 'utf8').toString('hex')}')`;
    case 'bytes':
      return `unhex('${checkCanonical(value, HEX_TEXT, column.name)}')`;
    default:
      // Text as its UTF-8 bytes: no quote, backslash or NUL in it can change the statement.
      return `unhex('${Buffer.from(value, 'utf8').toString('hex')}')`;
  }
}
