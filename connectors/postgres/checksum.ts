import { clockText, isoDateTime } from '#core/calendar.ts';
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
import { quoteIdent } from './connection.ts';
import { TIMESTAMP_INFINITY, TIMESTAMP_MINUS_INFINITY } from './values.ts';

// The checksum SQL of a PostgreSQL source: the canonical row text of connectors/core/checksum.ts, built by the
// server. Golden tests: checksum.test.ts. Run on a session with connection.ts's SESSION_SETTINGS (IntervalStyle
// iso_8601 and extra_float_digits > 0, so that intervals and floats print as the capture reads them) and a UTF8
// database (md5() and octet_length() see the database encoding's bytes). Needs PostgreSQL 14 or later, where
// EXTRACT(EPOCH …) is an exact numeric rather than a double.

const DATE_INFINITY = '2147483647';
const DATE_MINUS_INFINITY = '-2147483648';
/** Collations that compare by code point (the byte order of UTF-8), the order every side cuts ranges in. */
const CODE_POINT_ORDER = /^(C|POSIX|ucs_basic|C\.utf-?8)$/i;

function table(t: ChecksumTable): string {
  return `${quoteIdent(t.namespace)}.${quoteIdent(t.table)}`;
}

function isBpchar(column: ChecksumColumn): boolean {
  return /^(character|bpchar)(\(|$)/.test(column.storedAs);
}

/** n of a `bit(n)` column, or undefined. */
function bitLength(column: ChecksumColumn): number | undefined {
  const match = /^bit\((\d+)\)$/.exec(column.storedAs);
  return match ? Number(match[1]) : undefined;
}

export const postgresChecksum: ChecksumDialect = {
  unsupported(column) {
    const kind = column.type.kind;
    if (kind === 'array') return 'arrays are compared nowhere yet (their JSON text differs between engines)';
    if (kind === 'bits' && (bitLength(column) ?? 65) > 64) return 'bit strings longer than 64 bits have no canonical form';
    return undefined;
  },

  unorderable(column) {
    return unorderableKey(column, true);
  },

  columns(namespace, name) {
    return {
      sql:
        'SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, ' +
        "CASE WHEN a.attcollation = 0 THEN NULL WHEN co.collname = 'default' " +
        'THEN (SELECT datcollate FROM pg_catalog.pg_database WHERE datname = current_database()) ELSE co.collname END AS collation ' +
        'FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid ' +
        'JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_catalog.pg_collation co ON co.oid = a.attcollation ' +
        'WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum',
      params: [namespace, name],
    };
  },

  summary(t, range) {
    const bindings = placeholders();
    const where = whereClause(t, range, bindings);
    return {
      sql: `SELECT count(*)::text AS ${ROWS_ALIAS}, coalesce(sum(${rowHash(t)}), 0)::text AS ${HASH_ALIAS} FROM ${table(t)}${where}`,
      params: bindings.values,
    };
  },

  rowHashes(t, range) {
    const bindings = placeholders();
    const where = whereClause(t, range, bindings);
    return { sql: `SELECT ${keyList(t)}, ${rowHash(t)}::text AS ${HASH_ALIAS} FROM ${table(t)}${where}`, params: bindings.values };
  },

  keyAt(t, range, offset) {
    return ordered(t, range, `LIMIT 1 OFFSET ${rowCount(offset)}`);
  },

  firstKeys(t, range, limit) {
    return ordered(t, range, `LIMIT ${rowCount(limit)}`);
  },
};

function placeholders(): Bindings {
  return new Bindings((index) => `$${index + 1}`);
}

function ordered(t: ChecksumTable, range: KeyRange, limit: string): Statement {
  const bindings = placeholders();
  const where = whereClause(t, range, bindings);
  const order = keyOrder(t, operand);
  return { sql: `SELECT ${keyList(t)} FROM ${table(t)}${where} ORDER BY ${order} ${limit}`, params: bindings.values };
}

/** The rows of `keys` (canonical values) for an ad-hoc snapshot by keys: their canonical keys and the condition. */
export function keyLookup(t: ChecksumTable, keys: readonly (readonly string[])[]): KeyLookup {
  const bindings = placeholders();
  const where = keysCondition(t, keys, equalityOperand, (column, value) => literal(column, value, bindings));
  return { select: keyList(t), where, params: bindings.values };
}

function equalityOperand(column: ChecksumColumn): string {
  // An enum compares with the text literal as text; every other key column as itself (equality does not depend on
  // a deterministic collation), which its index serves.
  return column.type.kind === 'enum' ? `${quoteIdent(column.name)}::text` : quoteIdent(column.name);
}

function keyList(t: ChecksumTable): string {
  return keySelectList(t, canonical);
}

function whereClause(t: ChecksumTable, range: KeyRange, bindings: Bindings): string {
  const condition = keyRangeCondition(t, range, operand, (column, value) => literal(column, value, bindings));
  return condition === undefined ? '' : ` WHERE ${condition}`;
}

/** The first 56 bits of the MD5 of the row's canonical text, as a bigint. */
function rowHash(t: ChecksumTable): string {
  const fields = t.columns.map(field).join(" || '|' || ");
  return `('x' || substr(md5(${fields}), 1, 14))::bit(56)::bigint`;
}

function field(column: ChecksumColumn): string {
  const name = quoteIdent(column.name);
  const text = canonical(column);
  const value = isFreeText(column.type) ? `octet_length(${text}) || ':' || ${text}` : text;
  return `(CASE WHEN ${name} IS NULL THEN '~' ELSE ${value} END)`;
}

/** The canonical text of a non-null value (connectors/core/checksum.ts). */
export function canonical(column: ChecksumColumn): string {
  const name = quoteIdent(column.name);
  switch (column.type.kind) {
    case 'boolean':
      return column.storedAs === 'bit(1)' ? `(CASE WHEN ${name} = B'1' THEN '1' ELSE '0' END)` : `(CASE WHEN ${name} THEN '1' ELSE '0' END)`;
    case 'int16':
    case 'int32':
    case 'int64':
    case 'year':
    case 'numeric':
    case 'json':
    case 'enum':
    case 'set':
    case 'uuid':
    case 'interval':
      return `${name}::text`;
    case 'decimal':
      // money prints with a currency sign; NaN in a numeric(p,s) is captured as null, so it is null here too.
      return column.storedAs === 'money' ? `${name}::numeric::text` : `NULLIF(${name}, 'NaN')::text`;
    case 'string':
      // char(n) keeps its padding, as the capture reads it; a cast to text would strip it.
      return isBpchar(column) ? `concat(${name})` : `${name}::text`;
    case 'float32':
    case 'float64':
      return floatText(`${name}::float8::text`);
    case 'bytes':
      return `encode(${name}, 'hex')`;
    case 'bits': {
      // The bits as an unsigned 64-bit number: bit(64)::bigint is signed, so the top bit adds 2^64.
      const signed = `lpad(${name}::text, 64, '0')::bit(64)::bigint`;
      return `(CASE WHEN ${signed} < 0 THEN ${signed}::numeric + 18446744073709551616 ELSE ${signed}::numeric END)::text`;
    }
    case 'date':
      return (
        `(CASE WHEN ${name} = 'infinity' THEN '${DATE_INFINITY}' WHEN ${name} = '-infinity' THEN '${DATE_MINUS_INFINITY}' ` +
        `ELSE (${name} - DATE '1970-01-01')::text END)`
      );
    case 'time':
      return `(EXTRACT(EPOCH FROM ${name}) * 1000000)::bigint::text`;
    case 'timetz':
      // In UTC, wrapped into the day, except 24:00:00 at UTC, which stays the end of the day (values.ts).
      return (
        `(CASE WHEN ${name}::time = '24:00:00' AND EXTRACT(TIMEZONE FROM ${name}) = 0 THEN '24:00:00.000000Z' ` +
        `ELSE to_char((${name} AT TIME ZONE 'UTC')::time, 'HH24:MI:SS.US') || 'Z' END)`
      );
    case 'timestamp':
    case 'timestamptz':
      return (
        `(CASE WHEN ${name} = 'infinity' THEN '${TIMESTAMP_INFINITY}' WHEN ${name} = '-infinity' THEN '${TIMESTAMP_MINUS_INFINITY}' ` +
        `ELSE (EXTRACT(EPOCH FROM ${name}) * 1000000)::bigint::text END)`
      );
    case 'array':
      throw new TributaryError('INTERNAL', `column "${column.name}": arrays have no canonical form (see unsupported)`);
  }
}

/** A double's shortest text ('1e-07', '1.5e+20', '-0', 'NaN') as '[-]De<E>' with value = 0.D × 10^E. */
function floatText(t: string): string {
  const mantissa = `ltrim(split_part(${t}, 'e', 1), '-')`;
  const exponent = `(CASE WHEN strpos(${t}, 'e') = 0 THEN 0 ELSE split_part(${t}, 'e', 2)::int END)`;
  const integer = `split_part(${mantissa}, '.', 1)`;
  const digits = `replace(${mantissa}, '.', '')`;
  const significant = `ltrim(${digits}, '0')`;
  const power = `${exponent} + length(${integer}) - length(${digits}) + length(${significant})`;
  return (
    `(CASE ${t} WHEN 'NaN' THEN 'nan' WHEN 'Infinity' THEN 'inf' WHEN '-Infinity' THEN '-inf' ELSE ` +
    `(CASE WHEN ${significant} = '' THEN '0' ELSE (CASE WHEN left(${t}, 1) = '-' THEN '-' ELSE '' END) || ` +
    `rtrim(${significant}, '0') || 'e' || (${power})::text END) END)`
  );
}

/**
 * A key column as ranges compare it. Text compares by code point on every side; a column in another collation is
 * compared in "C", which its index cannot serve (each range query reads the whole table), and an enum by its text.
 */
function operand(column: ChecksumColumn): string {
  const name = quoteIdent(column.name);
  if (column.type.kind === 'enum') return `${name}::text COLLATE "C"`;
  if (column.type.kind === 'string' && !CODE_POINT_ORDER.test(column.collation ?? '')) return `${name} COLLATE "C"`;
  return name;
}

/** A canonical key value as a constant of the column's type. */
function literal(column: ChecksumColumn, value: string, bindings: Bindings): string {
  switch (column.type.kind) {
    case 'boolean':
      return `${bindings.bind(checkCanonical(value, /^[01]$/, column.name))}::${column.storedAs === 'bit(1)' ? 'bit(1)' : 'boolean'}`;
    case 'int16':
    case 'int32':
    case 'int64':
      return `${bindings.bind(checkCanonical(value, INTEGER_TEXT, column.name))}::bigint`;
    case 'decimal':
      return `${bindings.bind(checkCanonical(value, DECIMAL_TEXT, column.name))}::numeric${column.storedAs === 'money' ? '::money' : ''}`;
    case 'date':
      return `(DATE '1970-01-01' + ${bindings.bind(checkCanonical(value, INTEGER_TEXT, column.name))}::integer)`;
    case 'time':
      return `${bindings.bind(clockText(BigInt(checkCanonical(value, INTEGER_TEXT, column.name))))}::time`;
    case 'timestamp':
    case 'timestamptz': {
      const micros = BigInt(checkCanonical(value, INTEGER_TEXT, column.name));
      // ISO text is exact; years before 1 or after 9999 would need PostgreSQL's BC and 5-digit forms.
      if (micros < -62_135_596_800_000_000n || micros > 253_402_300_799_999_999n) {
        throw new TributaryError('SOURCE_REJECTED', `key value ${value} µs of column "${column.name}" is outside years 1-9999, which verify cannot cut ranges at`);
      }
      return column.type.kind === 'timestamp'
        ? `${bindings.bind(isoDateTime(micros, ' '))}::timestamp`
        : `${bindings.bind(`${isoDateTime(micros, ' ')}+00`)}::timestamptz`;
    }
    case 'bytes':
      return `decode(${bindings.bind(checkCanonical(value, HEX_TEXT, column.name))}, 'hex')`;
    case 'uuid':
      return `${bindings.bind(value)}::uuid`;
    case 'string':
      return `${bindings.bind(value)}::${isBpchar(column) ? 'bpchar' : 'text'}`;
    default:
      return `${bindings.bind(value)}::text`;
  }
}
