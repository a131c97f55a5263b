/**
 * The logical type of a column, independent of the database it came from.
 *
 * Each source connector maps its native types onto these (see connectors/<source>/TYPES.md), the Avro
 * builder maps these onto Avro (schemas/avro-builder.ts), and each sink maps them onto its target.
 * Every kind has one exact in-memory value form, {@link ColumnValue}, documented beside it.
 */
export type ColumnType =
  | { kind: 'boolean' } //                                    boolean
  | { kind: 'int16' } //                                      number
  | { kind: 'int32' } //                                      number
  | { kind: 'int64' } //                                      bigint
  | { kind: 'float32' } //                                    number
  | { kind: 'float64' } //                                    number
  | { kind: 'decimal'; precision: number; scale: number } //  string, plain notation with exactly `scale` fraction digits
  | { kind: 'numeric' } //                                    string, a decimal of any precision and scale in plain notation as the source wrote it, or NaN, Infinity, -Infinity
  | { kind: 'string'; length?: number } //                    string
  | { kind: 'json' } //                                       string holding the JSON text
  | { kind: 'enum'; values: string[] } //                     string
  | { kind: 'set'; values: string[] } //                      string, members joined by ','
  | { kind: 'uuid' } //                                       string, canonical lower-case form
  | { kind: 'bytes'; length?: number } //                     Buffer
  | { kind: 'bits'; length: number } //                       Buffer, little-endian as Debezium writes it, ceil(length / 8) bytes
  | { kind: 'date' } //                                       number, days since 1970-01-01
  | { kind: 'timetz' } //                                     string, time of day with offset converted to UTC: `HH:MM:SS.ffffffZ`
  | { kind: 'interval' } //                                   string, ISO 8601 duration as PostgreSQL's iso_8601 style writes it (`P1Y2M3DT4H5M6.000007S`)
  | { kind: 'array'; items: ColumnType } //                   ColumnValue[], one dimension, elements in `items`' form or null
  | { kind: 'time' } //                                       bigint, microseconds since midnight (may be negative or ≥ 24 h: MySQL TIME)
  | { kind: 'timestamp' } //                                  bigint, microseconds since 1970-01-01T00:00:00 of a wall-clock date-time without zone
  | { kind: 'timestamptz' } //                                bigint, microseconds since the Unix epoch, an instant in UTC
  | { kind: 'year' }; //                                      number

export type ColumnKind = ColumnType['kind'];

/** The value of one column in a row, exactly as {@link ColumnType} describes per kind. */
export type ColumnValue = null | boolean | number | bigint | string | Buffer | ColumnValue[];

export function describeColumnType(type: ColumnType): string {
  switch (type.kind) {
    case 'decimal':
      return `decimal(${type.precision},${type.scale})`;
    case 'enum':
    case 'set':
      return `${type.kind}(${type.values.join(',')})`;
    case 'bits':
      return `bits(${type.length})`;
    case 'array':
      return `array(${describeColumnType(type.items)})`;
    default:
      return type.kind;
  }
}
