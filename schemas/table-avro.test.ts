import { describe, expect, it } from 'vitest';
import type { ChangeEvent } from '#core/change-event.ts';
import { mysqlEvent } from '#test/fixtures/events.ts';
import { GOLDEN_MAX_ROW, GOLDEN_NULL_ROW, goldenTable } from '#test/fixtures/golden-mysql.ts';
import { avroType, explainInvalid } from './avro-types.ts';
import { envelopeRecord, keyRecord, lsnToBigint, rowsFromEnvelope } from './envelope.ts';
import { buildTableAvro } from './table-avro.ts';

const avro = buildTableAvro(goldenTable('inventory'), { topicPrefix: 'shop', connector: 'mysql' });

const event = (op: ChangeEvent['op'], before: ChangeEvent['before'], after: ChangeEvent['after']) =>
  mysqlEvent(op, before, after, 42, 'shop');

describe('table Avro schemas', () => {
  it("uses Debezium's names for topic, records and envelope fields", () => {
    expect(avro.topic).toBe('shop.inventory.golden');
    expect(avro.valueSchema.name).toBe('Envelope');
    expect(avro.valueSchema.namespace).toBe('shop.inventory.golden');
    expect(avro.valueSchema['connect.name']).toBe('shop.inventory.golden.Envelope');
    expect(avro.valueSchema.fields.map((f) => f.name)).toEqual(['before', 'after', 'source', 'transaction', 'op', 'ts_ms']);
    expect(avro.keySchema?.fields.map((f) => f.name)).toEqual(['id']);
    const value = (avro.valueSchema.fields[0]?.type as unknown[])[1] as { name: string; fields: Array<{ name: string }> };
    expect(value.name).toBe('Value');
    expect(value.fields.find((f) => f.name === 'order_key')).toMatchObject({ 'tributary.column': 'order key' });
  });

  it('maps decimals to the decimal logical type and nullable columns to null unions', () => {
    const value = (avro.valueSchema.fields[0]?.type as unknown[])[1] as { fields: Array<{ name: string; type: unknown }> };
    const price = value.fields.find((f) => f.name === 'price');
    expect(price?.type).toEqual([
      'null',
      expect.objectContaining({ type: 'bytes', logicalType: 'decimal', precision: 38, scale: 10 }),
    ]);
    expect(value.fields.find((f) => f.name === 'id')?.type).toBe('long');
  });

  it('round-trips every golden value exactly through Avro binary', () => {
    const type = avroType(avro.valueSchema);
    const original = event('u', GOLDEN_NULL_ROW, GOLDEN_MAX_ROW);
    const decoded = type.fromBuffer(type.toBuffer(envelopeRecord(original, avro))) as Record<string, unknown>;
    const rows = rowsFromEnvelope(decoded, avro);
    expect(rows.after).toEqual(GOLDEN_MAX_ROW);
    expect(rows.before).toEqual(GOLDEN_NULL_ROW);
    expect(decoded.op).toBe('u');
    expect(decoded.transaction).toEqual({ id: '0-1-42', total_order: 1n, data_collection_order: 1n });
    expect((decoded.source as Record<string, unknown>).position).toBe('0000000001:000000000000001042:000000');
  });

  it('encodes the key from the before image of a delete', () => {
    const deleted = event('d', GOLDEN_MAX_ROW, null);
    const key = avroType(avro.keySchema as object);
    expect(key.fromBuffer(key.toBuffer(keyRecord(deleted, avro)))).toEqual({ id: 9223372036854775807n });
  });

  it('refuses a decimal that would need rounding instead of rounding it', () => {
    const type = avroType(avro.valueSchema);
    const bad = event('c', null, { ...GOLDEN_MAX_ROW, price: '1.00000000001' });
    const record = envelopeRecord(bad, avro);
    expect(() => type.toBuffer(record)).toThrow();
    expect(explainInvalid(type, record)).toMatch(/^after\.price "1\.00000000001" has more fraction digits than decimal\(38,10\) holds/);
  });

  it("writes PostgreSQL LSNs as Debezium's 64-bit integer", () => {
    expect(lsnToBigint('16/B374D848')).toBe(0x16b374d848n);
  });
});
