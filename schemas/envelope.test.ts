import { describe, expect, it } from 'vitest';
import type { ChangeEvent, Row } from '#core/change-event.ts';
import { mysqlEvent } from '#test/fixtures/events.ts';
import { GOLDEN_MAX_ROW, GOLDEN_NULL_ROW, goldenTable } from '#test/fixtures/golden-mysql.ts';
import { avroType } from './avro-types.ts';
import { EnvelopeRecords, envelopeRecord, keyRecord } from './envelope.ts';
import { buildTableAvro } from './table-avro.ts';

// The golden table has a column (`order key`) whose Avro field name differs; without it, every name is its own.
const renamed = buildTableAvro(goldenTable('inventory'), { topicPrefix: 'shop', connector: 'mysql' });
const golden = goldenTable('inventory');
const same = buildTableAvro({ ...golden, columns: golden.columns.filter((c) => c.name !== 'order key') }, { topicPrefix: 'shop', connector: 'mysql' });
const without = (row: Row, column: string): Row => Object.fromEntries(Object.entries(row).filter(([name]) => name !== column));

describe('EnvelopeRecords', () => {
  it('encodes to exactly the bytes of envelopeRecord, call after call, whether rows are used as they are or copied', () => {
    const records = new EnvelopeRecords();
    const events: Array<[ChangeEvent, typeof same]> = [
      [mysqlEvent('u', GOLDEN_NULL_ROW, GOLDEN_MAX_ROW, 1), renamed],
      [mysqlEvent('c', null, without(GOLDEN_MAX_ROW, 'order key'), 2), same],
      [mysqlEvent('d', without(GOLDEN_NULL_ROW, 'order key'), null, 3), same],
      // A column missing from the row is null in the record: the row cannot be used as it is.
      [mysqlEvent('c', null, without(without(GOLDEN_MAX_ROW, 'order key'), 'price'), 4), same],
      [{ ...mysqlEvent('t', null, null, 5), transaction: undefined } as ChangeEvent, same],
      [mysqlEvent('u', without(GOLDEN_NULL_ROW, 'order key'), without(GOLDEN_MAX_ROW, 'order key'), 6), same],
    ];
    for (const [event, avro] of events) {
      const type = avroType(avro.valueSchema);
      expect(type.toBuffer(records.record(event, avro)).equals(type.toBuffer(envelopeRecord(event, avro))), event.op).toBe(true);
    }
  });
});

describe('a delete that knows only its key', () => {
  it('is published without a before image, its key in the message key', () => {
    const key = { id: GOLDEN_MAX_ROW.id ?? null };
    const event = { ...mysqlEvent('d', key, null, 7), keyOnly: true } as ChangeEvent;
    const type = avroType(same.valueSchema);
    const records = new EnvelopeRecords();
    for (const record of [records.record(event, same), envelopeRecord(event, same)]) {
      expect(type.fromBuffer(type.toBuffer(record))).toMatchObject({ before: null, after: null, op: 'd' });
    }
    expect(keyRecord(event, same)).toEqual({ id: GOLDEN_MAX_ROW.id });
  });
});
