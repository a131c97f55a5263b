import type { Row } from './change-event.ts';
import { DECIMAL_TEXT, HEX_TEXT, INTEGER_TEXT, UUID_TEXT } from './checksum.ts';
import type { ColumnType, ColumnValue } from './column-type.ts';
import { TributaryError } from './errors.ts';
import { qualifiedName, type TableSchema } from './table-schema.ts';

// A key in canonical form (connectors/core/checksum.ts), as `verify` finds it and `verify --repair` sends it to a
// capture, back to the values a source's events carry for it (ColumnValue, per kind in column-type.ts). A capture
// needs them for a key it did not find: the delete it emits names the key in the message key, and a streamed change
// of the same key must be recognised as such.

/** The key columns of `table` with the values of `key` (canonical text per key column, in key order). */
export function keyRowFromCanonical(table: TableSchema, key: readonly string[]): Row {
  if (key.length !== table.primaryKey.length) {
    throw new TributaryError('SOURCE_REJECTED', `a key of ${qualifiedName(table)} has ${table.primaryKey.length} values, got ${key.length}`);
  }
  const row: Row = {};
  table.primaryKey.forEach((name, i) => {
    const column = table.columns.find((c) => c.name === name);
    if (!column) throw new TributaryError('INTERNAL', `primary key column ${name} is not a column of ${qualifiedName(table)}`);
    row[name] = valueFromCanonical(column.type, key[i] as string, name);
  });
  return row;
}

/** One canonical key value as its ColumnValue. */
export function valueFromCanonical(type: ColumnType, text: string, column: string): ColumnValue {
  const bad = () => new TributaryError('SOURCE_REJECTED', `key value "${text.slice(0, 40)}" of column "${column}" is not a canonical ${type.kind}`);
  const integer = () => {
    if (!INTEGER_TEXT.test(text)) throw bad();
    return BigInt(text);
  };
  switch (type.kind) {
    case 'boolean':
      if (text !== '0' && text !== '1') throw bad();
      return text === '1';
    case 'int16':
    case 'int32':
    case 'year':
    case 'date':
      return Number(integer());
    case 'int64':
    case 'time':
    case 'timestamp':
    case 'timestamptz':
      return integer();
    case 'float32':
    case 'float64':
      return floatFromCanonical(text, bad);
    case 'bytes':
      if (!HEX_TEXT.test(text)) throw bad();
      return Buffer.from(text, 'hex');
    case 'bits': {
      // The unsigned integer the bits spell, as Debezium's little-endian bytes.
      let value = integer();
      const bytes = Buffer.alloc(Math.ceil(type.length / 8));
      for (let i = 0; i < bytes.length; i++, value >>= 8n) bytes[i] = Number(value & 0xffn);
      return bytes;
    }
    case 'decimal':
      if (!DECIMAL_TEXT.test(text)) throw bad();
      return text;
    case 'uuid':
      if (!UUID_TEXT.test(text)) throw bad();
      return text;
    case 'array':
      throw new TributaryError('SOURCE_REJECTED', `column "${column}" is an array, which cannot be a key`);
    default:
      // numeric, the text kinds, timetz, interval: the text itself.
      return text;
  }
}

/** `[-]De<E>` (value 0.D × 10^E), '0', 'nan', 'inf', '-inf' back to the double. */
function floatFromCanonical(text: string, bad: () => Error): number {
  if (text === '0') return 0;
  if (text === 'nan') return Number.NaN;
  if (text === 'inf') return Number.POSITIVE_INFINITY;
  if (text === '-inf') return Number.NEGATIVE_INFINITY;
  const match = /^(-?)(\d+)e(-?\d+)$/.exec(text);
  if (!match) throw bad();
  return Number(`${match[1]}0.${match[2]}e${match[3]}`);
}

/** Why `keys` cannot be read from `table` (a key of the wrong width or not in canonical form); undefined when they can. */
export function badKeys(table: TableSchema, keys: readonly (readonly string[])[]): string | undefined {
  try {
    for (const key of keys) keyRowFromCanonical(table, key);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}
