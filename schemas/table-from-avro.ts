import type { ColumnType } from '#core/column-type.ts';
import { TributaryError } from '#core/errors.ts';
import type { ColumnSchema, TableSchema } from '#core/table-schema.ts';
import { ORIGINAL_NAME_ATTRIBUTE } from './avro-names.ts';
import { LENGTH_PARAMETER, NUMERIC_SOURCE_TYPE, SOURCE_TYPE_PARAMETER } from './column-avro.ts';

// The reverse of table-avro.ts for sinks: a change topic's writer schemas back to the table shape they describe.
// Column types come from the Avro type and Debezium's `connect.name`, so topics written by Debezium read too.

type Json = Record<string, unknown>;

/** A table version read from an envelope schema: its columns and the Avro field name of each. */
export interface EnvelopeTable {
  columns: ColumnSchema[];
  /** Column name → Avro field name, in column order (as TableAvro.fields). */
  fields: Map<string, string>;
}

/** Columns of the `Value` record inside a Debezium envelope schema (the type of its `before` / `after`). */
export function envelopeTable(envelope: object): EnvelopeTable {
  const fields = (envelope as Json).fields as Json[] | undefined;
  const after = fields?.find((f) => f.name === 'after');
  // `after` usually refers by name to the record `before` defines.
  const value = after && resolveNamed(unwrapNullable(after.type).type, envelope as Json);
  if (!value || typeof value !== 'object' || (value as Json).type !== 'record') {
    throw new TributaryError('DECODE_FAILED', 'the value schema is not a Debezium envelope: it has no `after` record');
  }
  const result: EnvelopeTable = { columns: [], fields: new Map() };
  for (const field of (value as Json).fields as Json[]) {
    const name = typeof field[ORIGINAL_NAME_ATTRIBUTE] === 'string' ? (field[ORIGINAL_NAME_ATTRIBUTE] as string) : (field.name as string);
    const { type, nullable } = unwrapNullable(field.type);
    result.columns.push({ name, type: columnType(type, `${name}`), nullable, sourceType: describeAvro(type) });
    result.fields.set(name, field.name as string);
  }
  return result;
}

/** The source fields a sink reads: where the table is and the event's position. */
const SINK_SOURCE_FIELDS = new Set(['db', 'schema', 'table', 'position']);

/**
 * The envelope as a sink reads it: `after`, `op`, and of `source` only the fields above. Used as the reader
 * schema of Avro schema resolution, it makes decoding skip the before image, the transaction block and the rest
 * of the source block without building their strings and records, which is most of an update's bytes. A delete's
 * key comes from the message key instead of the before image.
 */
export function sinkReaderSchema(envelope: object): object {
  const root = envelope as Json;
  const fields = (root.fields as Json[] | undefined) ?? [];
  const field = (name: string) => {
    const found = fields.find((f) => f.name === name);
    if (!found) throw new TributaryError('DECODE_FAILED', `the value schema is not a Debezium envelope: it has no \`${name}\` field`);
    return found;
  };
  const after = field('after');
  // `after` names the record that `before` defines; the reader has no `before`, so the definition moves here.
  const value = resolveNamed(unwrapNullable(after.type).type, root);
  const afterType = Array.isArray(after.type) ? after.type.map((t: unknown) => (t === 'null' ? 'null' : value)) : value;
  const source = field('source');
  const sourceRecord = resolveNamed(unwrapNullable(source.type).type, root) as Json;
  const sourceFields = ((sourceRecord.fields as Json[] | undefined) ?? [])
    .filter((f) => SINK_SOURCE_FIELDS.has(f.name as string))
    // An envelope written by another tool may lack the position: decoding then says so rather than failing here.
    .map((f) => (f.name === 'position' ? { name: 'position', type: ['null', 'string'], default: null } : f));
  return {
    type: 'record',
    name: root.name,
    ...(root.namespace === undefined ? {} : { namespace: root.namespace }),
    fields: [
      { ...after, type: afterType },
      { ...source, type: { ...sourceRecord, fields: sourceFields } },
      field('op'),
    ],
  };
}

/** Primary-key column names from a key schema (null: the table has no key). */
export function keyColumns(key: object | null, fields: ReadonlyMap<string, string>): string[] {
  if (!key) return [];
  const byField = new Map([...fields].map(([column, field]) => [field, column]));
  return ((key as Json).fields as Json[]).map((f) => {
    const column = byField.get(f.name as string);
    if (!column) throw new TributaryError('DECODE_FAILED', `key field "${String(f.name)}" is not a column of the value schema`);
    return column;
  });
}

export function tableFromAvro(namespace: string, table: string, envelope: object, key: object | null): TableSchema & { fields: Map<string, string> } {
  const { columns, fields } = envelopeTable(envelope);
  return { namespace, table, columns, primaryKey: keyColumns(key, fields), fields };
}

function resolveNamed(type: unknown, root: Json): unknown {
  if (typeof type !== 'string') return type;
  const wanted = type;
  const visit = (node: unknown, namespace: string): Json | undefined => {
    if (Array.isArray(node)) return node.map((n) => visit(n, namespace)).find(Boolean);
    if (!node || typeof node !== 'object') return undefined;
    const n = node as Json;
    const ns = typeof n.namespace === 'string' ? n.namespace : namespace;
    if (n.type === 'record' && typeof n.name === 'string') {
      const full = n.name.includes('.') ? n.name : ns ? `${ns}.${n.name}` : n.name;
      if (full === wanted || n.name === wanted || full.endsWith(`.${wanted}`)) return n;
      return ((n.fields as Json[]) ?? []).map((f) => visit(f.type, ns)).find(Boolean);
    }
    return visit(n.type, ns) ?? visit(n.items, ns) ?? visit(n.values, ns);
  };
  return visit(root, '') ?? type;
}

function unwrapNullable(type: unknown): { type: unknown; nullable: boolean } {
  if (!Array.isArray(type)) return { type, nullable: false };
  const rest = type.filter((t) => t !== 'null');
  if (rest.length !== 1) throw new TributaryError('SCHEMA_UNSUPPORTED', `a union of ${JSON.stringify(type)} is not a column type`);
  return { type: rest[0], nullable: rest.length < type.length };
}

function describeAvro(type: unknown): string {
  if (typeof type === 'string') return type;
  const t = type as Json;
  return [t.type, t.logicalType, t['connect.name']].filter((p) => typeof p === 'string').join(' ');
}

function columnType(type: unknown, column: string): ColumnType {
  const t: Json = typeof type === 'string' ? { type } : (type as Json);
  const connectName = t['connect.name'] as string | undefined;
  const parameters = (t['connect.parameters'] ?? {}) as Record<string, string>;
  const length = parameters[LENGTH_PARAMETER] === undefined ? undefined : Number(parameters[LENGTH_PARAMETER]);
  switch (t.type) {
    case 'boolean':
      return { kind: 'boolean' };
    case 'int':
      if (connectName === 'io.debezium.time.Date' || t.logicalType === 'date') return { kind: 'date' };
      if (connectName === 'io.debezium.time.Year') return { kind: 'year' };
      if (t['connect.type'] === 'int16' || t['connect.type'] === 'int8') return { kind: 'int16' };
      return { kind: 'int32' };
    case 'long':
      if (connectName === 'io.debezium.time.MicroTime' || t.logicalType === 'time-micros') return { kind: 'time' };
      if (connectName === 'io.debezium.time.MicroTimestamp') return { kind: 'timestamp' };
      if (t.logicalType === 'timestamp-micros') return { kind: 'timestamptz' };
      return { kind: 'int64' };
    case 'float':
      return { kind: 'float32' };
    case 'double':
      return { kind: 'float64' };
    case 'bytes':
      if (t.logicalType === 'decimal') return { kind: 'decimal', precision: Number(t.precision), scale: Number(t.scale ?? 0) };
      if (connectName === 'io.debezium.data.Bits') return { kind: 'bits', length: Number(parameters.length ?? 1) };
      return length === undefined ? { kind: 'bytes' } : { kind: 'bytes', length };
    case 'string':
      switch (connectName) {
        case 'io.debezium.data.Json':
          return { kind: 'json' };
        case 'io.debezium.data.Enum':
          return { kind: 'enum', values: splitAllowed(parameters.allowed) };
        case 'io.debezium.data.EnumSet':
          return { kind: 'set', values: splitAllowed(parameters.allowed) };
        case 'io.debezium.data.Uuid':
          return { kind: 'uuid' };
        case 'io.debezium.time.ZonedTime':
          return { kind: 'timetz' };
        case 'io.debezium.time.Interval':
          return { kind: 'interval' };
        default:
          if (t.logicalType === 'uuid') return { kind: 'uuid' };
          // Debezium writes the source's own spelling (`numeric` from PostgreSQL); ours is upper case.
          if (parameters[SOURCE_TYPE_PARAMETER]?.toUpperCase() === NUMERIC_SOURCE_TYPE) return { kind: 'numeric' };
          return length === undefined ? { kind: 'string' } : { kind: 'string', length };
      }
    case 'array': {
      const items = columnType(unwrapNullable(t.items).type, `${column}[]`);
      if (items.kind === 'array') {
        throw new TributaryError('SCHEMA_UNSUPPORTED', `column "${column}" is an array of arrays, which no target column type represents`);
      }
      return { kind: 'array', items };
    }
    default:
      throw new TributaryError('SCHEMA_UNSUPPORTED', `column "${column}" has Avro type ${JSON.stringify(type)}, which no target column type represents`);
  }
}

const splitAllowed = (allowed: string | undefined) => (allowed ? allowed.split(',') : []);
