import type { ColumnType } from '#core/column-type.ts';
import type { AvroSchema } from './avro-schema.ts';

// Column types to Avro, with Debezium's `connect.name` semantic names so Kafka Connect based consumers
// (Debezium JDBC sink, ClickHouse connector) and Flink's debezium-avro-confluent format read them as Debezium's.
// The full table with each source's native types is in TYPES.md.

const connect = (name: string, parameters?: Record<string, string>) => ({
  'connect.version': 1,
  ...(parameters ? { 'connect.parameters': parameters } : {}),
  'connect.name': name,
});

/**
 * The declared length of a string or binary column, under the parameter Debezium's `column.propagate.source.type`
 * uses, so that sinks (ours and Debezium's JDBC sink) can size the target column instead of guessing.
 */
export const LENGTH_PARAMETER = '__debezium.source.column.length';

const lengthOf = (length: number) => ({ 'connect.parameters': { [LENGTH_PARAMETER]: String(length) } });

/**
 * The source column type under the parameter Debezium's `column.propagate.source.type` writes. An unconstrained
 * PostgreSQL numeric travels as Debezium's `decimal.handling.mode=string` does, a plain string; this marker is what
 * tells it apart from text, so that a sink reads it back as `numeric` (a number column) and not as a string.
 */
export const SOURCE_TYPE_PARAMETER = '__debezium.source.column.type';
export const NUMERIC_SOURCE_TYPE = 'NUMERIC';

export function columnAvroType(type: ColumnType): AvroSchema {
  switch (type.kind) {
    case 'boolean':
      return 'boolean';
    case 'int16':
      return { type: 'int', 'connect.type': 'int16' };
    case 'int32':
      return 'int';
    case 'int64':
      return 'long';
    case 'float32':
      return 'float';
    case 'float64':
      return 'double';
    case 'decimal':
      return {
        type: 'bytes',
        scale: type.scale,
        precision: type.precision,
        ...connect('org.apache.kafka.connect.data.Decimal', {
          scale: String(type.scale),
          'connect.decimal.precision': String(type.precision),
        }),
        logicalType: 'decimal',
      };
    case 'string':
      return type.length === undefined ? 'string' : { type: 'string', ...lengthOf(type.length) };
    case 'json':
      return { type: 'string', ...connect('io.debezium.data.Json') };
    case 'enum':
      return { type: 'string', ...connect('io.debezium.data.Enum', { allowed: type.values.join(',') }) };
    case 'set':
      return { type: 'string', ...connect('io.debezium.data.EnumSet', { allowed: type.values.join(',') }) };
    case 'uuid':
      return { type: 'string', ...connect('io.debezium.data.Uuid'), logicalType: 'uuid' };
    case 'bytes':
      return type.length === undefined ? 'bytes' : { type: 'bytes', ...lengthOf(type.length) };
    case 'bits':
      return { type: 'bytes', ...connect('io.debezium.data.Bits', { length: String(type.length) }) };
    case 'date':
      return { type: 'int', ...connect('io.debezium.time.Date'), logicalType: 'date' };
    case 'time':
      return { type: 'long', ...connect('io.debezium.time.MicroTime'), logicalType: 'time-micros' };
    case 'timestamp':
      return { type: 'long', ...connect('io.debezium.time.MicroTimestamp'), logicalType: 'timestamp-micros' };
    case 'timestamptz':
      // An instant: Avro's own meaning of timestamp-micros. No Debezium name fits (its ZonedTimestamp is a string).
      return { type: 'long', logicalType: 'timestamp-micros' };
    case 'year':
      return { type: 'int', ...connect('io.debezium.time.Year') };
    case 'numeric':
      return { type: 'string', 'connect.parameters': { [SOURCE_TYPE_PARAMETER]: NUMERIC_SOURCE_TYPE } };
    case 'timetz':
      return { type: 'string', ...connect('io.debezium.time.ZonedTime') };
    case 'interval':
      // Debezium's interval.handling.mode=string.
      return { type: 'string', ...connect('io.debezium.time.Interval') };
    case 'array':
      // Debezium's arrays: elements are optional, so a null element is ["null", T].
      return { type: 'array', items: ['null', columnAvroType(type.items)] };
  }
}
