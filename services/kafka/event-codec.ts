import type { IHeaders, Message } from 'kafkajs';
import type { ChangeEvent } from '#core/change-event.ts';
import { EnvelopeRecords, envelopeRecord, keyRecord } from '#schemas/envelope.ts';
import type { TableAvro } from '#schemas/table-avro.ts';
import type { MessageBatch } from './message-batch.ts';
import type { AvroSerde } from './serde.ts';

/** The header a tombstone carries: the source position of the delete it follows. */
export const POSITION_HEADER = 'tributary.position';
/**
 * The header an update carries when the source did not send some columns' new values (ChangeEvent `unchanged`,
 * PostgreSQL's unchanged TOASTed values): a JSON array of their names. The envelope holds null for them, which a
 * consumer reading only the Avro value cannot tell from a real NULL; Tributary's sinks leave those columns as they are.
 */
export const UNCHANGED_HEADER = 'tributary.unchanged';

/** The headers of an event's message, or undefined for the usual event that needs none (checked per event). */
function eventHeaders(event: ChangeEvent): IHeaders | undefined {
  if (event.op !== 'u' || event.unchanged === undefined || event.unchanged.length === 0) return undefined;
  return { [UNCHANGED_HEADER]: JSON.stringify(event.unchanged) };
}

/** Turns ChangeEvents into Kafka messages: Avro key and envelope, in Confluent's wire format. */
export class EventEncoder {
  constructor(private readonly serde: AvroSerde) {}

  private readonly records = new EnvelopeRecords();

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
    const headers = eventHeaders(event);
    return headers === undefined ? { key, value, timestamp: String(event.source.tsMs) } : { key, value, timestamp: String(event.source.tsMs), headers };
  }

  /**
   * Appends the event's message to `batch`, encoded in place. Synchronous (returns undefined) once the table's
   * schemas are registered, which is every event but a table version's first: the capture's hot path.
   */
  append(batch: MessageBatch, event: ChangeEvent, avro: TableAvro): Promise<void> | undefined {
    const ids = this.ids.get(avro);
    if (ids && this.appendKnown(batch, event, avro, ids)) return undefined;
    return this.appendAfterRegistering(batch, event, avro);
  }

  private async appendAfterRegistering(batch: MessageBatch, event: ChangeEvent, avro: TableAvro): Promise<void> {
    const ids = this.ids.get(avro) ?? (await this.register(avro));
    if (this.appendKnown(batch, event, avro, ids)) return;
    const message = await this.encode(event, avro);
    batch.add(avro.topic, message);
  }

  /** False when the serde does not hold the schemas yet (registered by another process, not read back). */
  private appendKnown(batch: MessageBatch, event: ChangeEvent, avro: TableAvro, ids: { key: number | null; value: number }): boolean {
    // The value first, then the key, as `encode` does: the same error is reported for an event that fits neither.
    const valueStart = batch.used;
    const valueEnd = this.writeAvro(batch, ids.value, this.records.record(event, avro));
    if (valueEnd === undefined) return false;
    const keyValue = ids.key === null ? null : keyRecord(event, avro);
    const keyStart = batch.used;
    const keyEnd = ids.key === null || keyValue === null ? -1 : this.writeAvro(batch, ids.key, keyValue);
    if (keyEnd === undefined) {
      batch.used = valueStart;
      return false;
    }
    batch.addRanges(avro.topic, keyStart, keyEnd, valueStart, valueEnd, event.source.tsMs, eventHeaders(event));
    return true;
  }

  /** Writes one Avro message at the end of the batch and returns its end, growing the batch as avsc asks. */
  private writeAvro(batch: MessageBatch, schemaId: number, value: unknown): number | undefined {
    for (;;) {
      const end = this.serde.encodeKnownInto(schemaId, value, batch.data, batch.used);
      if (end === undefined) return undefined;
      if (end >= 0) {
        batch.used = end;
        return end;
      }
      batch.reserve(batch.data.length - batch.used - end); // avsc returns minus the bytes missing
    }
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
    // The position lets a sink apply the tombstone with the same guard as the delete, when it meets it alone.
    return { key, value: null, timestamp: String(event.source.tsMs), headers: { [POSITION_HEADER]: event.source.position } };
  }
}
