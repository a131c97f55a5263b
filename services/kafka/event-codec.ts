import type { Message } from 'kafkajs';
import type { ChangeEvent } from '#core/change-event.ts';
import { envelopeRecord, keyRecord } from '#schemas/envelope.ts';
import type { TableAvro } from '#schemas/table-avro.ts';
import type { AvroSerde } from './serde.ts';

/** Turns ChangeEvents into Kafka messages: Avro key and envelope, in Confluent's wire format. */
export class EventEncoder {
  constructor(private readonly serde: AvroSerde) {}

  async encode(event: ChangeEvent, avro: TableAvro): Promise<Message> {
    const valueId = await this.serde.schemaId(`${avro.topic}-value`, avro.valueSchema);
    const value = await this.serde.encode(valueId, envelopeRecord(event, avro));
    const keyValue = keyRecord(event, avro);
    const key =
      avro.keySchema && keyValue
        ? await this.serde.encode(await this.serde.schemaId(`${avro.topic}-key`, avro.keySchema), keyValue)
        : null;
    return { key, value, timestamp: String(event.source.tsMs) };
  }

  /** The tombstone that follows a delete so that log compaction can drop the key. */
  async tombstone(event: ChangeEvent, avro: TableAvro): Promise<Message | null> {
    const keyValue = keyRecord(event, avro);
    if (!avro.keySchema || !keyValue) return null;
    const key = await this.serde.encode(await this.serde.schemaId(`${avro.topic}-key`, avro.keySchema), keyValue);
    return { key, value: null, timestamp: String(event.source.tsMs) };
  }
}
