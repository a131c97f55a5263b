import type { ColumnType } from '#core/column-type.ts';
import { TributaryError } from '#core/errors.ts';

// MySQL/MariaDB native types → ColumnType, from information_schema.COLUMNS.COLUMN_TYPE text such as
// `bigint(20) unsigned`, `decimal(65,30)`, `datetime(6)` or `enum('a','b''c')`. TYPES.md has the table.

const INTEGER: Record<string, [signed: ColumnType, unsigned: ColumnType]> = {
  tinyint: [{ kind: 'int16' }, { kind: 'int16' }],
  smallint: [{ kind: 'int16' }, { kind: 'int32' }],
  mediumint: [{ kind: 'int32' }, { kind: 'int32' }],
  int: [{ kind: 'int32' }, { kind: 'int64' }],
  integer: [{ kind: 'int32' }, { kind: 'int64' }],
  // BIGINT UNSIGNED reaches 2^64-1, past Avro's long: like Debezium's `bigint.unsigned.handling.mode=precise`.
  bigint: [{ kind: 'int64' }, { kind: 'decimal', precision: 20, scale: 0 }],
};

const STRING = new Set(['char', 'varchar', 'tinytext', 'text', 'mediumtext', 'longtext', 'inet4', 'inet6']);
const BYTES = new Set(['binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob']);

export interface ParsedMySqlType {
  base: string;
  args: string[];
  unsigned: boolean;
}

/** Splits `decimal(10,2) unsigned zerofill` into its base name, arguments and flags. */
export function parseMySqlType(text: string): ParsedMySqlType {
  const match = /^\s*([a-z0-9_ ]+?)\s*(?:\((.*)\))?\s*((?:unsigned|signed|zerofill|\s)*)$/is.exec(text);
  if (!match) throw unsupported(text);
  const [, base = '', args = '', flags = ''] = match;
  return {
    base: base.toLowerCase().replace(/\s+/g, ' '),
    args: args === '' ? [] : splitArgs(args),
    unsigned: /unsigned/i.test(flags),
  };
}

/** Arguments of a type: numbers, or quoted ENUM/SET members where `''` stands for one quote. */
function splitArgs(text: string): string[] {
  const args: string[] = [];
  const member = /\s*'((?:[^']|'')*)'\s*(?:,|$)|\s*([^,']+)\s*(?:,|$)/gy;
  let match: RegExpExecArray | null;
  while (member.lastIndex < text.length && (match = member.exec(text)) !== null) {
    args.push(match[1] !== undefined ? match[1].replace(/''/g, "'") : (match[2] ?? '').trim());
  }
  return args;
}

export function mySqlColumnType(columnType: string): ColumnType {
  const { base, args, unsigned } = parseMySqlType(columnType);
  const integer = INTEGER[base];
  if (integer) return integer[unsigned ? 1 : 0];
  if (STRING.has(base)) return args[0] ? { kind: 'string', length: Number(args[0]) } : { kind: 'string' };
  if (BYTES.has(base)) return args[0] ? { kind: 'bytes', length: Number(args[0]) } : { kind: 'bytes' };
  switch (base) {
    case 'bool':
    case 'boolean':
      return { kind: 'boolean' };
    case 'float':
      return { kind: 'float32' };
    case 'double':
    case 'double precision':
    case 'real':
      return { kind: 'float64' };
    case 'decimal':
    case 'numeric':
    case 'dec':
    case 'fixed':
      return { kind: 'decimal', precision: Number(args[0] ?? 10), scale: Number(args[1] ?? 0) };
    case 'bit': {
      const length = Number(args[0] ?? 1);
      return length === 1 ? { kind: 'boolean' } : { kind: 'bits', length };
    }
    case 'date':
      return { kind: 'date' };
    case 'datetime':
      return { kind: 'timestamp' };
    case 'timestamp':
      return { kind: 'timestamptz' };
    case 'time':
      return { kind: 'time' };
    case 'year':
      return { kind: 'year' };
    case 'json':
      return { kind: 'json' };
    case 'uuid':
      return { kind: 'uuid' };
    case 'enum':
      return { kind: 'enum', values: args };
    case 'set':
      return { kind: 'set', values: args };
    default:
      throw unsupported(columnType);
  }
}

function unsupported(columnType: string): TributaryError {
  return new TributaryError(
    'SCHEMA_UNSUPPORTED',
    `MySQL column type "${columnType}" is not supported; exclude the column (sources[].columns.exclude) or the table`,
  );
}
