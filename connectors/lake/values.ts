import { arrayJson } from '#core/array-json.ts';
import type { ColumnType, ColumnValue } from '#core/column-type.ts';
import { toUnscaled } from '#core/decimal.ts';
import { TributaryError } from '#core/errors.ts';
import { isParquetDecimal } from './parquet-types.ts';

// ColumnValue (connectors/core/column-type.ts) → the value hyparquet-writer takes for the column's Parquet type.
// Text goes in as UTF-8 bytes rather than JS strings: the writer then orders min/max statistics by bytes, as
// Parquet readers compare them (JS compares UTF-16 units, which orders some characters differently).

/** What hyparquet-writer accepts for one cell. */
export type ParquetValue = null | boolean | number | bigint | Uint8Array;

export type Converter = (value: ColumnValue, column: string) => ParquetValue;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function text(value: string): Uint8Array {
  return Buffer.from(value, 'utf8');
}

/** The converter of a column of `type`; each checks the value's form and throws VALUE_INVALID when it is not. */
export function converter(type: ColumnType): Converter {
  switch (type.kind) {
    case 'boolean':
      return (v, c) => (v === null ? null : typeof v === 'boolean' ? v : invalid(c, v, 'a boolean'));
    case 'int16':
    case 'int32':
    case 'year':
      return (v, c) => (v === null ? null : typeof v === 'number' && Number.isInteger(v) ? v : invalid(c, v, 'an integer'));
    case 'int64':
      return (v, c) => (v === null ? null : typeof v === 'bigint' ? v : typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : invalid(c, v, 'a 64-bit integer'));
    case 'float32':
    case 'float64':
      return (v, c) => (v === null ? null : typeof v === 'number' ? v : invalid(c, v, 'a number'));
    case 'decimal': {
      if (!isParquetDecimal(type)) return textOf;
      const { precision, scale } = type;
      return (v, c) => {
        if (v === null) return null;
        if (typeof v !== 'string' && typeof v !== 'bigint') return invalid(c, v, 'a decimal');
        try {
          const unscaled = toUnscaled(v, precision, scale);
          // INT32-backed decimals (precision ≤ 9) take a number; the others the unscaled bigint.
          return precision <= 9 ? Number(unscaled) : unscaled;
        } catch (error) {
          throw new TributaryError('VALUE_INVALID', `column "${c}": ${(error as Error).message}`);
        }
      };
    }
    case 'numeric':
    case 'string':
    case 'enum':
    case 'set':
    case 'timetz':
    case 'interval':
    case 'json':
      return textOf;
    case 'uuid':
      return (v, c) => {
        if (v === null) return null;
        if (typeof v !== 'string' || !UUID.test(v)) return invalid(c, v, 'a UUID');
        return Buffer.from(v.replaceAll('-', ''), 'hex');
      };
    case 'bytes':
    case 'bits':
      return (v, c) => (v === null ? null : v instanceof Uint8Array ? v : invalid(c, v, 'bytes'));
    case 'date':
      return (v, c) => (v === null ? null : typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < 2 ** 31 ? v : invalid(c, v, 'a day count'));
    case 'time':
    case 'timestamp':
    case 'timestamptz':
      return (v, c) => (v === null ? null : typeof v === 'bigint' ? v : invalid(c, v, 'microseconds as a bigint'));
    case 'array': {
      const items = type.items;
      return (v, c) => (v === null ? null : Array.isArray(v) ? text(arrayJson(items, v, c)) : invalid(c, v, 'an array'));
    }
  }
}

function textOf(value: ColumnValue, column: string): ParquetValue {
  if (value === null) return null;
  return typeof value === 'string' ? text(value) : invalid(column, value, 'text');
}

function invalid(column: string, value: ColumnValue, expected: string): never {
  const shown = typeof value === 'bigint' ? `${value}n` : value instanceof Uint8Array ? `${value.length} bytes` : JSON.stringify(value);
  throw new TributaryError('VALUE_INVALID', `column "${column}": expected ${expected}, got ${String(shown).slice(0, 100)}`);
}
