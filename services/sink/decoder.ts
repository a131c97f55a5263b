import type avro from 'avsc';
import type { Row } from '#core/change-event.ts';
import { TributaryError } from '#core/errors.ts';
import { stringifyExact } from '#core/json.ts';
import type { SinkChange } from '#core/sink.ts';
import type { TableSchema } from '#core/table-schema.ts';
import type { ConsumedMessage } from '#kafka/consumer.ts';
import { POSITION_HEADER } from '#kafka/event-codec.ts';
import type { AvroSerde } from '#kafka/serde.ts';
import { avroType } from '#schemas/avro-types.ts';
import { envelopeTable, keyColumns, type EnvelopeTable } from '#schemas/table-from-avro.ts';

export interface DecodedChange {
  table: TableSchema;
  change: SinkChange;
  /** The key's values as text: equal keys, equal text. Empty for a truncate. */
  keyText: string;
}

interface WriterSchema {
  type: avro.Type;
  table: EnvelopeTable;
}

/**
 * Change-topic messages to SinkChanges, through the writer schema each message names. Decoding is synchronous
 * once a schema id has been seen; TableSchema objects are shared per schema version so that sinks can cache by
 * identity.
 */
export class ChangeDecoder {
  private readonly writers = new Map<number, Promise<WriterSchema>>();
  private readonly keys = new Map<number, Promise<object>>();
  private readonly tables = new Map<string, TableSchema>();
  /** The table each topic's last event had: a tombstone has only a key and is applied to it. */
  private readonly lastTable = new Map<string, TableSchema>();

  constructor(private readonly serde: AvroSerde) {}

  /** The change a message carries, or null for a message that changes nothing (a tombstone after its delete). */
  async decode(topic: string, message: ConsumedMessage): Promise<DecodedChange | null> {
    if (message.value === null) return this.tombstone(topic, message);
    const writer = await this.writer(message.value);
    let record: Record<string, unknown>;
    try {
      record = writer.type.decode(message.value, 5).value as Record<string, unknown>;
    } catch (error) {
      throw new TributaryError('DECODE_FAILED', `decoding the value at offset ${message.offset}: ${(error as Error).message}`);
    }
    if (record === undefined) throw new TributaryError('DECODE_FAILED', `the value at offset ${message.offset} is truncated`);
    const source = record.source as Record<string, unknown>;
    const position = source?.position;
    if (typeof position !== 'string') {
      throw new TributaryError('DECODE_FAILED', 'the event has no source.position: it was not written by a Tributary capture');
    }
    const table = await this.table(message, writer, String(source.schema ?? source.db), String(source.table));
    this.lastTable.set(topic, table);
    const op = record.op as string;
    if (op === 't') return { table, change: { op: 'truncate', position }, keyText: '' };
    const image = (op === 'd' ? record.before : record.after) as Record<string, unknown> | null;
    if (!image) throw new TributaryError('DECODE_FAILED', `an event with op "${op}" has no ${op === 'd' ? 'before' : 'after'} image`);
    const row = toRow(image, writer.table.fields);
    const key: Row = {};
    for (const column of table.primaryKey) key[column] = row[column] ?? null;
    const keyText = stringifyExact(table.primaryKey.map((c) => key[c]));
    if (op === 'd') return { table, change: { op: 'delete', key, position }, keyText };
    if (op === 'c' || op === 'r' || op === 'u') return { table, change: { op: 'upsert', key, row, position }, keyText };
    throw new TributaryError('DECODE_FAILED', `unknown op "${op}"`);
  }

  /**
   * A tombstone follows the delete event of its key, which did the deleting; it is applied again (harmlessly)
   * when it names the delete's position, and otherwise skipped.
   */
  private async tombstone(topic: string, message: ConsumedMessage): Promise<DecodedChange | null> {
    const table = this.lastTable.get(topic);
    const position = message.headers[POSITION_HEADER];
    if (!table || position === undefined || message.key === null) return null;
    const keySchema = await this.keySchema(message.key);
    const record = avroType(keySchema).decode(message.key, 5).value as Record<string, unknown>;
    const fields = new Map(table.primaryKey.map((c) => [c, keyField(keySchema, table, c)]));
    const key = toRow(record, fields);
    return { table, change: { op: 'delete', key, position }, keyText: stringifyExact(table.primaryKey.map((c) => key[c])) };
  }

  private writer(value: Buffer): Promise<WriterSchema> {
    const id = schemaIdOf(value);
    let writer = this.writers.get(id);
    if (!writer) {
      writer = this.serde.schemaText(id).then((text) => {
        const schema = JSON.parse(text) as object;
        return { type: avroType(schema), table: envelopeTable(schema) };
      });
      writer.catch(() => this.writers.delete(id));
      this.writers.set(id, writer);
    }
    return writer;
  }

  private keySchema(key: Buffer): Promise<object> {
    const id = schemaIdOf(key);
    let schema = this.keys.get(id);
    if (!schema) {
      schema = this.serde.schemaText(id).then((text) => JSON.parse(text) as object);
      schema.catch(() => this.keys.delete(id));
      this.keys.set(id, schema);
    }
    return schema;
  }

  private async table(message: ConsumedMessage, writer: WriterSchema, namespace: string, name: string): Promise<TableSchema> {
    const keyId = message.key ? schemaIdOf(message.key) : -1;
    const cacheKey = `${schemaIdOf(message.value as Buffer)}\n${keyId}\n${namespace}\n${name}`;
    let table = this.tables.get(cacheKey);
    if (!table) {
      const keySchema = message.key ? await this.keySchema(message.key) : null;
      table = { namespace, table: name, columns: writer.table.columns, primaryKey: keyColumns(keySchema, writer.table.fields) };
      this.tables.set(cacheKey, table);
    }
    return table;
  }
}

function schemaIdOf(buffer: Buffer): number {
  if (buffer.length < 5 || buffer[0] !== 0) {
    throw new TributaryError('DECODE_FAILED', 'the message is not in the Confluent wire format (magic byte 0 and a schema id)');
  }
  return buffer.readUInt32BE(1);
}

function toRow(record: Record<string, unknown>, fields: ReadonlyMap<string, string>): Row {
  const row: Row = {};
  for (const [column, field] of fields) row[column] = (record[field] ?? null) as Row[string];
  return row;
}

function keyField(keySchema: object, table: TableSchema, column: string): string {
  const index = table.primaryKey.indexOf(column);
  const field = ((keySchema as { fields?: Array<{ name: string }> }).fields ?? [])[index];
  if (!field) throw new TributaryError('DECODE_FAILED', `the key schema has no field for key column "${column}"`);
  return field.name;
}
