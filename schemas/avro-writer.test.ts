import { describe, expect, it } from 'vitest';
import type { ChangeEvent, Row } from '#core/change-event.ts';
import type { TableSchema } from '#core/table-schema.ts';
import { mysqlEvent } from '#test/fixtures/events.ts';
import { GOLDEN_MAX_ROW, GOLDEN_NULL_ROW, goldenTable } from '#test/fixtures/golden-mysql.ts';
import { PG_GOLDEN_COLUMNS, PG_SNAPSHOT_ROWS } from '#test/fixtures/golden-postgres.ts';
import { avroType } from './avro-types.ts';
import { compileWriter } from './avro-writer.ts';
import { EnvelopeRecords, keyRecord } from './envelope.ts';
import { buildTableAvro, type TableAvro } from './table-avro.ts';

/** avsc's bytes for `value`, or its answer (minus the bytes missing) in a buffer of `size`. */
function avsc(type: ReturnType<typeof avroType>, value: unknown, size?: number): Buffer | number {
  if (size === undefined) return type.toBuffer(value);
  return type.encode(value, Buffer.alloc(size), 0);
}

/** The compiled writer's bytes for `value`, or its answer in a buffer of `size`. */
function compiled(type: ReturnType<typeof avroType>, value: unknown, size?: number): Buffer | number {
  const write = compileWriter(type);
  if (size !== undefined) return write(value, Buffer.alloc(size), 0);
  const buf = Buffer.alloc(1 << 20);
  const end = write(value, buf, 0);
  return buf.subarray(0, end);
}

/** The same bytes as avsc, and the same answer in every buffer too small for them. */
function expectSame(type: ReturnType<typeof avroType>, value: unknown): void {
  const expected = avsc(type, value) as Buffer;
  expect((compiled(type, value) as Buffer).equals(expected)).toBe(true);
  const sizes = expected.length < 400 ? [...Array(expected.length).keys()] : [0, 1, 7, expected.length >> 1, expected.length - 1];
  for (const size of sizes) expect(compiled(type, value, size), `buffer of ${size} bytes`).toBe(avsc(type, value, size));
}

const pgTable: TableSchema = {
  namespace: 'public',
  table: 'golden',
  columns: PG_GOLDEN_COLUMNS.map((c) => ({ name: c.name, type: c.type, nullable: c.name !== 'id', sourceType: c.sqlType })),
  primaryKey: ['id'],
};

function pgEvent(op: ChangeEvent['op'], before: Row | null, after: Row | null, n: number, snapshot = 'false'): ChangeEvent {
  return {
    op,
    before,
    after,
    source: {
      connector: 'postgresql',
      name: 'shop',
      db: 'shop',
      schema: 'public',
      table: 'golden',
      tsMs: 1_763_000_000_000 + n,
      snapshot,
      position: `00000000016B3748:${n}`,
      lsn: 23_803_720n + BigInt(n),
      txId: BigInt(700 + n),
    },
    transaction: n % 2 ? { id: `${700 + n}:23803720`, totalOrder: n, dataCollectionOrder: n } : undefined,
    tsMs: 1_763_000_000_500 + n,
  } as ChangeEvent;
}

describe('compileWriter', () => {
  it('writes every MySQL golden column kind as avsc does, in envelopes and keys', () => {
    const avro = buildTableAvro(goldenTable('inventory'), { topicPrefix: 'shop', connector: 'mysql' });
    const value = avroType(avro.valueSchema);
    const key = avroType(avro.keySchema as object);
    const records = new EnvelopeRecords();
    const events = [
      mysqlEvent('c', null, GOLDEN_MAX_ROW, 1),
      mysqlEvent('u', GOLDEN_NULL_ROW, GOLDEN_MAX_ROW, 2),
      mysqlEvent('d', GOLDEN_MAX_ROW, null, 3),
      { ...mysqlEvent('r', null, GOLDEN_NULL_ROW, 4), transaction: undefined } as ChangeEvent,
    ];
    for (const event of events) {
      expectSame(value, records.record(event, avro));
      expectSame(key, keyRecord(event, avro));
    }
  });

  it('writes every PostgreSQL golden row as avsc does, arrays, decimals beyond 64 bits and special values included', () => {
    const avro: TableAvro = buildTableAvro(pgTable, { topicPrefix: 'shop', connector: 'postgresql' });
    const value = avroType(avro.valueSchema);
    const records = new EnvelopeRecords();
    let n = 0;
    for (const row of PG_SNAPSHOT_ROWS) {
      expectSame(value, records.record(pgEvent('r', null, row.expected, ++n, 'true'), avro));
      expectSame(value, records.record(pgEvent('u', row.expected, row.expected, ++n), avro));
    }
  });

  it('writes strings of every length and script as avsc does, around each boundary of its fast paths', () => {
    const type = avroType({
      type: 'record',
      name: 'Texts',
      fields: [
        { name: 'text', type: 'string' },
        { name: 'optional', type: ['null', 'string'], default: null },
        { name: 'after', type: ['string', 'null'] },
      ],
    });
    const ascii = (length: number) => 'abcdefghij'.repeat(Math.ceil(length / 10)).slice(0, length);
    const texts = [
      '',
      'a',
      ascii(63),
      ascii(64),
      `${ascii(62)}é`,
      'é'.repeat(64),
      `${ascii(40)}😀`,
      `😀${ascii(100)}`,
      // Lone surrogates: avsc's short-string loop and UTF-8 disagree on them; the fallback keeps avsc's bytes.
      '\ud800',
      `${ascii(70)}\udc00`,
      // Where a length's varint grows: 63/64 bytes, 8191/8192 bytes, and texts whose UTF-8 length may fall either side.
      ascii(2730),
      ascii(2731),
      'é'.repeat(2731),
      ascii(8191),
      ascii(8192),
      'ü'.repeat(5000),
    ];
    for (const text of texts) {
      expectSame(type, { text, optional: text, after: text });
      expectSame(type, { text, optional: null, after: null });
    }
  });

  it('takes a field default for a missing field and refuses what avsc refuses', () => {
    const type = avroType({
      type: 'record',
      name: 'Row',
      fields: [
        { name: 'id', type: 'long' },
        { name: 'name', type: 'string' },
        { name: 'note', type: ['null', 'string'], default: null },
        { name: 'price', type: ['null', { type: 'bytes', logicalType: 'decimal', precision: 10, scale: 2 }], default: null },
      ],
    });
    expectSame(type, { id: 1n, name: 'x' });
    expectSame(type, { id: 2n ** 62n, name: 'x', note: 'y', price: '12345678.90' });
    const write = compileWriter(type);
    const refused = [
      { id: 1n, name: undefined },
      { id: 1n, name: 5 },
      { id: 'one', name: 'x' },
      { id: 1n, name: 'x', note: 7 },
      { id: 1n, name: 'x', price: '1.234' },
    ];
    for (const value of refused) {
      expect(() => type.toBuffer(value), JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? String(v) : v))).toThrow();
      expect(() => write(value, Buffer.alloc(256), 0)).toThrow();
    }
  });
});
