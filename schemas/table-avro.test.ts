import { describe, expect, it } from 'vitest';
import type { ChangeEvent, Row } from '#core/change-event.ts';
import type { ColumnType } from '#core/column-type.ts';
import type { TableSchema } from '#core/table-schema.ts';
import { mysqlEvent } from '#test/fixtures/events.ts';
import { GOLDEN_MAX_ROW, GOLDEN_NULL_ROW, goldenTable } from '#test/fixtures/golden-mysql.ts';
import { avroType, explainInvalid } from './avro-types.ts';
import { envelopeRecord, keyRecord, rowsFromEnvelope } from './envelope.ts';
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

  it('round-trips the PostgreSQL kinds exactly: numeric, timetz, interval and arrays of any element', () => {
    const types: Record<string, ColumnType> = {
      id: { kind: 'int64' },
      amount: { kind: 'numeric' },
      local: { kind: 'timetz' },
      span: { kind: 'interval' },
      ids: { kind: 'array', items: { kind: 'int64' } },
      prices: { kind: 'array', items: { kind: 'decimal', precision: 38, scale: 10 } },
      blobs: { kind: 'array', items: { kind: 'bytes' } },
      floats: { kind: 'array', items: { kind: 'float64' } },
      stamps: { kind: 'array', items: { kind: 'timestamptz' } },
      labels: { kind: 'array', items: { kind: 'string' } },
    };
    const table: TableSchema = {
      namespace: 'public',
      table: 'kinds',
      columns: Object.entries(types).map(([name, type]) => ({ name, type, nullable: name !== 'id', sourceType: '' })),
      primaryKey: ['id'],
    };
    const pgAvro = buildTableAvro(table, { topicPrefix: 'shop', connector: 'postgresql' });
    const full: Row = {
      id: 2n ** 63n - 1n,
      amount: `-${'1234567890'.repeat(4)}.${'9'.repeat(30)}`,
      local: '24:00:00.000000Z',
      span: 'P-1Y2M-3DT-4H-5M-6.000007S',
      ids: [-(2n ** 63n), null, 2n ** 53n + 1n, 0n],
      prices: [`-${'9'.repeat(28)}.${'9'.repeat(10)}`, null, '0.0000000001'],
      blobs: [Buffer.from([0, 255, 0]), Buffer.alloc(0), null],
      floats: [Number.NaN, -Infinity, -0, 1.5, null],
      stamps: [9223372036825200000n, -9223372036832400000n],
      labels: [],
    };
    const nulls: Row = Object.fromEntries(Object.keys(types).map((name) => [name, name === 'id' ? 1n : null]));
    const type = avroType(pgAvro.valueSchema);
    const base = event('u', nulls, full);
    const original = { ...base, source: { ...base.source, connector: 'postgresql', schema: 'public', lsn: 0x16b3748n, txId: 7n } } as ChangeEvent;
    const rows = rowsFromEnvelope(type.fromBuffer(type.toBuffer(envelopeRecord(original, pgAvro))) as Record<string, unknown>, pgAvro);
    expect(rows.after).toEqual(full);
    expect(Object.is((rows.after?.floats as unknown[])[2], -0)).toBe(true);
    expect(rows.before).toEqual(nulls);
    const value = (pgAvro.valueSchema.fields[0]?.type as unknown[])[1] as { fields: Array<{ name: string; type: unknown }> };
    expect(value.fields.find((f) => f.name === 'amount')?.type).toEqual([
      'null',
      { type: 'string', 'connect.parameters': { '__debezium.source.column.type': 'NUMERIC' } },
    ]);
    expect(value.fields.find((f) => f.name === 'ids')?.type).toEqual(['null', { type: 'array', items: ['null', 'long'] }]);
  });
});
