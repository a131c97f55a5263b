import type { Message } from 'kafkajs';
import type { ChangeEvent } from '#core/change-event.ts';
import { envelopeRecord, keyRecord } from '#schemas/envelope.ts';
import type { TableAvro } from '#schemas/table-avro.ts';
import type { AvroSerde } from './serde.ts';

/** Turns ChangeEvents into Kafka messages: Avro key and envelope, in Confluent's wire format. */
export class EventEncoder {
  constructor(private readonly serde: AvroSerde) {}

  /** Schema ids per table version, so that after the first event encoding is synchronous. */
  private readonly ids = new WeakMap<TableAvro, { key: number | null; value: number }>();

  async encode(event: ChangeEvent, avro: TableAvro): Promise<Message> {
    const ids = this.ids.get(avro) ?? (await this.register(avro));
    const record = envelopeRecord(event, avro);
    const value = this.serde.encodeKnown(ids.value, record) ?? (await this.serde.encode(ids.value, record));
    const keyValue = ids.key === null ? null : keyRecord(event, avro);
    const key =
      ids.key === null || keyValue === null
        ? null
        : (this.serde.encodeKnown(ids.key, keyValue) ?? (await this.serde.encode(ids.key, keyValue)));
    return { key, value, timestamp: String(event.source.tsMs) };
  }

  private async register(avro: TableAvro): Promise<{ key: number | null; value: number }> {
    const ids = {
      value: await this.serde.schemaId(`${avro.topic}-value`, avro.valueSchema),
      key: avro.keySchema ? await this.serde.schemaId(`${avro.topic}-key`, avro.keySchema) : null,
    };
    this.ids.set(avro, ids);
    return ids;
  }

  /** The tombstone that follows a delete so that log compaction can drop the key. */
  async tombstone(event: ChangeEvent, avro: TableAvro): Promise<Message | null> {
    const keyValue = keyRecord(event, avro);
    if (!avro.keySchema || !keyValue) return null;
    const key = await this.serde.encode(await this.serde.schemaId(`${avro.topic}-key`, avro.keySchema), keyValue);
    return { key, value: null, timestamp: String(event.source.tsMs) };
  }
}
