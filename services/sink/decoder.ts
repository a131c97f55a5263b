import type avro from 'avsc';
import type { Op, Row } from '#core/change-event.ts';
import { TributaryError } from '#core/errors.ts';
import type { SinkChange } from '#core/sink.ts';
import { keyText as keyTextOf, type TableSchema } from '#core/table-schema.ts';
import { headerText, type ConsumedMessage } from '#kafka/consumer.ts';
import { POSITION_HEADER, UNCHANGED_HEADER } from '#kafka/event-codec.ts';
import type { AvroSerde } from '#kafka/serde.ts';
import { avroType } from '#schemas/avro-types.ts';
import { rowFromRecord } from '#schemas/envelope.ts';
import { envelopeTable, keyColumns, sinkReaderSchema, type EnvelopeTable } from '#schemas/table-from-avro.ts';

export interface DecodedChange {
  table: TableSchema;
  change: SinkChange;
  /** The key's values as text: equal keys, equal text. Empty for a truncate. */
  keyText: string;
  /** The message it came from: its offset is committed, or it goes to the dead letters. */
  message: ConsumedMessage;
  /** Only from a decoder made with `full` (log sinks): what the event says beyond the SinkChange. */
  event?: EventDetails;
}

/** The parts of an event that a log sink writes and a state sink does not need. */
export interface EventDetails {
  op: Op;
  /** `source.ts_ms`: the source's commit time. */
  tsMs: number;
  /** The registry id of the writer schema: the table version. */
  schemaId: number;
  /** Op `d`: the before image, or null when the event has none (the key is in the SinkChange). */
  before: Row | null;
}

export interface DecoderOptions {
  /**
   * Decode the whole envelope with the writer schema (the before image, `source.ts_ms`) and fill
   * DecodedChange.event. State sinks leave it off: their reader schema skips those bytes.
   */
  full?: boolean;
}

interface WriterSchema {
  id: number;
  /** The sink's reader schema (sinkReaderSchema) and its resolver from the writer schema; no resolver when `full`. */
  type: avro.Type;
  resolver: avro.Resolver | undefined;
  table: EnvelopeTable;
  /** Every Avro field is named as its column: the decoded record is the row as it is, no copy needed. */
  sameNames: boolean;
}

interface KeySchema {
  type: avro.Type;
  /** The schema as registered, for its field names. */
  schema: object;
}

/** Registered schemas by id, each fetched once: resolved ones are at hand for the synchronous path. */
class SchemaCache<T> {
  private readonly loading = new Map<number, Promise<T>>();
  private readonly known = new Map<number, T>();

  constructor(
    private readonly serde: AvroSerde,
    private readonly parse: (schema: object, id: number) => T,
  ) {}

  get(id: number): T | undefined {
    return this.known.get(id);
  }

  load(id: number): Promise<T> {
    let loading = this.loading.get(id);
    if (!loading) {
      loading = this.serde.schemaText(id).then((text) => {
        const parsed = this.parse(JSON.parse(text) as object, id);
        this.known.set(id, parsed);
        return parsed;
      });
      loading.catch(() => this.loading.delete(id)); // a failed fetch is tried again next time
      this.loading.set(id, loading);
    }
    return loading;
  }
}

/**
 * Change-topic messages to SinkChanges, through the writer schema each message names. Decoding is synchronous
 * once a schema id has been seen; TableSchema objects are shared per schema version so that sinks can cache by
 * identity.
 */
export class ChangeDecoder {
  private readonly writers: SchemaCache<WriterSchema>;
  private readonly keys: SchemaCache<KeySchema>;
  /** Per writer schema, the table versions it was read with: by key schema id and table name. */
  private readonly tables = new WeakMap<WriterSchema, Map<string, TableSchema>>();
  /** The table of the last message decoded: consecutive messages nearly always share it, and its lookup. */
  private last: { writer: WriterSchema; keyId: number; namespace: string; name: string; table: TableSchema } | null = null;
  /** The table each topic's last event had: a tombstone has only a key and is applied to it. */
  private readonly lastTable = new Map<string, TableSchema>();
  /** Key column → key field of each table version, for keys read from message keys. */
  private readonly keyFields = new WeakMap<TableSchema, Map<string, string>>();

  private readonly full: boolean;

  constructor(serde: AvroSerde, options: DecoderOptions = {}) {
    this.full = options.full ?? false;
    this.writers = new SchemaCache(serde, (schema, id) => {
      const table = envelopeTable(schema);
      const sameNames = [...table.fields].every(([column, field]) => column === field);
      if (this.full) return { id, type: avroType(schema), resolver: undefined, table, sameNames };
      const reader = avroType(sinkReaderSchema(schema));
      return { id, type: reader, resolver: reader.createResolver(avroType(schema)), table, sameNames };
    });
    this.keys = new SchemaCache(serde, (schema) => ({ type: avroType(schema), schema }));
  }

  /**
   * The change a message carries, or null for a message that changes nothing (a tombstone after its delete).
   * Synchronous once the message's schemas are known (every message but a schema version's first); a promise
   * while they are fetched from the registry.
   */
  decode(topic: string, message: ConsumedMessage): DecodedChange | null | Promise<DecodedChange | null> {
    if (message.value === null) return this.tombstone(topic, message);
    const writer = this.writers.get(schemaIdOf(message.value));
    const keyId = message.key ? schemaIdOf(message.key) : -1;
    const keySchema = keyId === -1 ? null : this.keys.get(keyId)?.schema;
    if (writer && keySchema !== undefined) return this.change(topic, message, writer, keyId, keySchema);
    return this.load(message).then(() => this.decode(topic, message));
  }

  private async load(message: ConsumedMessage): Promise<void> {
    await this.writers.load(schemaIdOf(message.value as Buffer));
    if (message.key) await this.keys.load(schemaIdOf(message.key));
  }

  private change(topic: string, message: ConsumedMessage, writer: WriterSchema, keyId: number, keySchema: object | null): DecodedChange {
    let record: Record<string, unknown>;
    try {
      record = writer.type.decode(message.value as Buffer, 5, writer.resolver).value as Record<string, unknown>;
    } catch (error) {
      throw new TributaryError('DECODE_FAILED', `decoding the value at offset ${message.offset}: ${(error as Error).message}`);
    }
    if (record === undefined) throw new TributaryError('DECODE_FAILED', `the value at offset ${message.offset} is truncated`);
    const source = record.source as Record<string, unknown>;
    const position = source?.position;
    if (typeof position !== 'string') {
      throw new TributaryError('DECODE_FAILED', 'the event has no source.position: it was not written by a Tributary capture');
    }
    const schema = this.tableOf(writer, keyId, keySchema, String(source.schema ?? source.db), String(source.table));
    this.lastTable.set(topic, schema);
    const op = record.op as string;
    const event: EventDetails | undefined = this.full ? { op: op as Op, tsMs: Number(source.ts_ms ?? message.timestamp), schemaId: writer.id, before: null } : undefined;
    if (op === 't') return decodedChange(schema, { op: 'truncate', position }, '', message, event);
    if (op === 'd') {
      const beforeImage = event ? (record.before as Record<string, unknown> | null) : null;
      if (event && beforeImage) {
        // A full decode has the before image: the key comes from it, so a keyless table's delete decodes too.
        event.before = writer.sameNames ? (beforeImage as Row) : rowFromRecord(beforeImage, writer.table.fields);
        const key: Row = {};
        for (const column of schema.primaryKey) key[column] = event.before[column] ?? null;
        return decodedChange(schema, { op: 'delete', key, position }, keyTextOf(schema, key), message, event);
      }
      // The reader schema skips the before image: the message key holds the deleted row's key.
      const key = this.messageKey(message, schema);
      return decodedChange(schema, { op: 'delete', key, position }, keyTextOf(schema, key), message, event);
    }
    const image = record.after as Record<string, unknown> | null;
    if (!image) throw new TributaryError('DECODE_FAILED', `an event with op "${op}" has no after image`);
    const row = writer.sameNames ? (image as Row) : rowFromRecord(image, writer.table.fields);
    const key: Row = {};
    for (const column of schema.primaryKey) key[column] = row[column] ?? null;
    const keyText = keyTextOf(schema, key);
    if (op === 'u') {
      const header = headerText(message, UNCHANGED_HEADER);
      const unchanged = header === undefined ? undefined : unchangedColumns(header, schema, message.offset);
      const change: SinkChange = unchanged === undefined ? { op: 'upsert', key, row, position } : { op: 'upsert', key, row, position, unchanged };
      return decodedChange(schema, change, keyText, message, event);
    }
    if (op === 'c' || op === 'r') return decodedChange(schema, { op: 'upsert', key, row, position }, keyText, message, event);
    throw new TributaryError('DECODE_FAILED', `unknown op "${op}"`);
  }

  /** The key of a delete, from the message key (a table without a key has no deletes a sink can apply). */
  private messageKey(message: ConsumedMessage, table: TableSchema): Row {
    if (message.key === null) throw new TributaryError('DECODE_FAILED', `the delete at offset ${message.offset} has no message key`);
    const keySchema = this.keys.get(schemaIdOf(message.key)) as KeySchema;
    const record = keySchema.type.decode(message.key, 5).value as Record<string, unknown>;
    let fields = this.keyFields.get(table);
    if (!fields) {
      fields = new Map(table.primaryKey.map((c) => [c, keyField(keySchema.schema, table, c)]));
      this.keyFields.set(table, fields);
    }
    return rowFromRecord(record, fields);
  }

  /**
   * A tombstone follows the delete event of its key, which did the deleting; it is applied again (harmlessly)
   * when it names the delete's position, and otherwise skipped.
   */
  private async tombstone(topic: string, message: ConsumedMessage): Promise<DecodedChange | null> {
    const table = this.lastTable.get(topic);
    const position = headerText(message, POSITION_HEADER);
    if (!table || position === undefined || message.key === null) return null;
    await this.keys.load(schemaIdOf(message.key));
    const key = this.messageKey(message, table);
    return { table, change: { op: 'delete', key, position }, keyText: keyTextOf(table, key), message };
  }

  /** The TableSchema of a table version: one object per writer schema, key schema and table name. */
  private tableOf(writer: WriterSchema, keyId: number, keySchema: object | null, namespace: string, name: string): TableSchema {
    const last = this.last;
    if (last && last.writer === writer && last.keyId === keyId && last.namespace === namespace && last.name === name) return last.table;
    let tables = this.tables.get(writer);
    if (!tables) {
      tables = new Map();
      this.tables.set(writer, tables);
    }
    const cacheKey = `${keyId}\n${namespace}\n${name}`;
    let table = tables.get(cacheKey);
    if (!table) {
      table = { namespace, table: name, columns: writer.table.columns, primaryKey: keyColumns(keySchema, writer.table.fields) };
      tables.set(cacheKey, table);
    }
    this.last = { writer, keyId, namespace, name, table };
    return table;
  }
}

/**
 * The UNCHANGED_HEADER of an update: the names of non-key columns whose value the source did not send, as far as
 * they are columns of the table (a key column is always sent; a name the writer schema lacks has nothing to keep).
 * Undefined when none remains.
 */
function unchangedColumns(header: string, table: TableSchema, offset: string): string[] | undefined {
  let names: unknown;
  try {
    names = JSON.parse(header);
  } catch {
    names = undefined;
  }
  if (!Array.isArray(names) || !names.every((name) => typeof name === 'string')) {
    throw new TributaryError('DECODE_FAILED', `the ${UNCHANGED_HEADER} header at offset ${offset} is not a JSON array of column names`);
  }
  const keys = new Set(table.primaryKey);
  const columns = new Set(table.columns.map((c) => c.name));
  const kept = [...new Set(names as string[])].filter((name) => columns.has(name) && !keys.has(name));
  return kept.length > 0 ? kept : undefined;
}

function schemaIdOf(buffer: Buffer): number {
  if (buffer.length < 5 || buffer[0] !== 0) {
    throw new TributaryError('DECODE_FAILED', 'the message is not in the Confluent wire format (magic byte 0 and a schema id)');
  }
  return buffer.readUInt32BE(1);
}

function keyField(keySchema: object, table: TableSchema, column: string): string {
  const index = table.primaryKey.indexOf(column);
  const field = ((keySchema as { fields?: Array<{ name: string }> }).fields ?? [])[index];
  if (!field) throw new TributaryError('DECODE_FAILED', `the key schema has no field for key column "${column}"`);
  return field.name;
}

/** A state sink's changes carry no `event`: the same object shape on the hot path as before log sinks existed. */
function decodedChange(table: TableSchema, change: SinkChange, keyText: string, message: ConsumedMessage, event: EventDetails | undefined): DecodedChange {
  return event ? { table, change, keyText, message, event } : { table, change, keyText, message };
}
