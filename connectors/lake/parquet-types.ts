import type { SchemaElement } from 'hyparquet-writer';
import type { ColumnType } from '#core/column-type.ts';
import { TributaryError } from '#core/errors.ts';
import type { TableSchema } from '#core/table-schema.ts';

// Column kind → Parquet type (TYPES.md has the table and the reasons). Every source column is OPTIONAL: a
// delete known by its key and a truncate leave the other columns null.

/** The change-log columns every file carries after the table's own, named so that they rarely clash. */
export const OP_COLUMN = '_op';
export const POSITION_COLUMN = '_source_position';
export const TS_COLUMN = '_ts_ms';
export const UNCHANGED_COLUMN = '_unchanged';
export const LOG_COLUMNS = [OP_COLUMN, POSITION_COLUMN, TS_COLUMN, UNCHANGED_COLUMN] as const;

/** Decimals up to this precision are Parquet DECIMAL (16 bytes hold 38 digits); wider ones are their exact text. */
export const MAX_DECIMAL_PRECISION = 38;

const utf8 = (name: string, repetition: 'OPTIONAL' | 'REQUIRED'): SchemaElement => ({
  name,
  type: 'BYTE_ARRAY',
  repetition_type: repetition,
  converted_type: 'UTF8',
  logical_type: { type: 'STRING' },
});

/**
 * The element of a JSON column as it is written: hyparquet-writer re-serialises the values of a column whose
 * converted type is JSON (through JSON.parse's numbers, which would round integers past 2^53), so the pages are
 * written with the logical type only and the footer gets the converted type too (see {@link footerSchema}):
 * DuckDB reads a column as JSON by its converted type.
 */
const json = (name: string): SchemaElement => ({ name, type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL', logical_type: { type: 'JSON' } });

/** The Parquet element of one source column. */
export function columnElement(name: string, type: ColumnType): SchemaElement {
  const optional = 'OPTIONAL' as const;
  switch (type.kind) {
    case 'boolean':
      return { name, type: 'BOOLEAN', repetition_type: optional };
    case 'int16':
      // The converted type only: hyparquet-writer writes the INTEGER logical type's bit width as a thrift i32 where
      // the format has an i8, and DuckDB refuses the whole footer for it ("TProtocolException: Invalid data").
      return { name, type: 'INT32', repetition_type: optional, converted_type: 'INT_16' };
    case 'int32':
    case 'year':
      return { name, type: 'INT32', repetition_type: optional };
    case 'int64':
      return { name, type: 'INT64', repetition_type: optional };
    case 'float32':
      return { name, type: 'FLOAT', repetition_type: optional };
    case 'float64':
      return { name, type: 'DOUBLE', repetition_type: optional };
    case 'decimal': {
      if (!isParquetDecimal(type)) return utf8(name, optional);
      const { precision, scale } = type;
      const decimal = { converted_type: 'DECIMAL', precision, scale, logical_type: { type: 'DECIMAL', precision, scale } } as const;
      // The physical type the format recommends for each precision: the narrowest that holds it.
      if (precision <= 9) return { name, type: 'INT32', repetition_type: optional, ...decimal };
      if (precision <= 18) return { name, type: 'INT64', repetition_type: optional, ...decimal };
      return { name, type: 'FIXED_LEN_BYTE_ARRAY', type_length: decimalBytes(precision), repetition_type: optional, ...decimal };
    }
    case 'numeric':
    case 'string':
    case 'enum':
    case 'set':
    case 'timetz':
    case 'interval':
      return utf8(name, optional);
    case 'uuid':
      return { name, type: 'FIXED_LEN_BYTE_ARRAY', type_length: 16, repetition_type: optional, logical_type: { type: 'UUID' } };
    case 'json':
    case 'array':
      return json(name);
    case 'bytes':
    case 'bits':
      return { name, type: 'BYTE_ARRAY', repetition_type: optional };
    case 'date':
      return { name, type: 'INT32', repetition_type: optional, converted_type: 'DATE', logical_type: { type: 'DATE' } };
    case 'time':
      // MySQL TIME reaches ±838 h, which Parquet TIME (a time of day) cannot hold: plain microseconds instead.
      return { name, type: 'INT64', repetition_type: optional };
    case 'timestamp':
      // A wall-clock date-time without zone: TIMESTAMP not adjusted to UTC (no converted type, which would say UTC).
      return { name, type: 'INT64', repetition_type: optional, logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: false, unit: 'MICROS' } };
    case 'timestamptz':
      return { name, type: 'INT64', repetition_type: optional, converted_type: 'TIMESTAMP_MICROS', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' } };
  }
}

/** Whether a decimal column is a Parquet DECIMAL; one too wide (or malformed) is its exact text instead. */
export function isParquetDecimal(type: Extract<ColumnType, { kind: 'decimal' }>): boolean {
  return type.precision >= 1 && type.precision <= MAX_DECIMAL_PRECISION && type.scale >= 0 && type.scale <= type.precision;
}

/** Bytes of the two's-complement big-endian unscaled value of a decimal of `precision` digits. */
export function decimalBytes(precision: number): number {
  // The smallest n with 2^(8n-1) > 10^precision - 1.
  const max = 10n ** BigInt(precision) - 1n;
  let bytes = 1;
  while (1n << BigInt(8 * bytes - 1) <= max) bytes++;
  return bytes;
}

/**
 * The schema one file of `table` is written with: its columns in source order, then the log columns. A source
 * column named like a log column is refused rather than renamed: a query must find the same names in every file.
 */
export function fileSchema(table: TableSchema): SchemaElement[] {
  const clash = table.columns.find((c) => (LOG_COLUMNS as readonly string[]).includes(c.name));
  if (clash) {
    throw new TributaryError(
      'SINK_SCHEMA_INCOMPATIBLE',
      `table ${table.namespace}.${table.table} has a column "${clash.name}", a name the lake sink uses for its own column; rename it or exclude the table`,
    );
  }
  return [
    { name: 'schema', num_children: table.columns.length + LOG_COLUMNS.length },
    ...table.columns.map((c) => columnElement(c.name, c.type)),
    utf8(OP_COLUMN, 'REQUIRED'),
    utf8(POSITION_COLUMN, 'REQUIRED'),
    { name: TS_COLUMN, type: 'INT64', repetition_type: 'REQUIRED' },
    // A JSON array of column names, the shape a query can test with json_contains or unnest.
    json(UNCHANGED_COLUMN),
  ];
}

/** The schema written in the footer: that of the pages, with JSON columns also carrying the converted type. */
export function footerSchema(schema: readonly SchemaElement[]): SchemaElement[] {
  return schema.map((element) => (element.logical_type?.type === 'JSON' ? { ...element, converted_type: 'JSON' } : element));
}
