import { describe, expect, it } from 'vitest';
import type { ColumnType } from '#core/column-type.ts';
import type { TableSchema } from '#core/table-schema.ts';
import { buildTableAvro } from './table-avro.ts';
import { mysqlEvent } from '#test/fixtures/events.ts';
import { avroType } from './avro-types.ts';
import { envelopeRecord } from './envelope.ts';
import { sinkReaderSchema, tableFromAvro } from './table-from-avro.ts';

const TYPES: Record<string, ColumnType> = {
  id: { kind: 'int64' },
  'odd name-ü': { kind: 'string', length: 40 },
  flag: { kind: 'boolean' },
  small: { kind: 'int16' },
  medium: { kind: 'int32' },
  real: { kind: 'float32' },
  dbl: { kind: 'float64' },
  price: { kind: 'decimal', precision: 65, scale: 30 },
  note: { kind: 'string' },
  doc: { kind: 'json' },
  mood: { kind: 'enum', values: ['happy', 'sad'] },
  tags: { kind: 'set', values: ['a', 'b', 'c'] },
  uid: { kind: 'uuid' },
  blob: { kind: 'bytes' },
  bin: { kind: 'bytes', length: 16 },
  mask: { kind: 'bits', length: 64 },
  born: { kind: 'date' },
  at: { kind: 'time' },
  stamp: { kind: 'timestamp' },
  instant: { kind: 'timestamptz' },
  yr: { kind: 'year' },
  amount: { kind: 'numeric' },
  local: { kind: 'timetz' },
  span: { kind: 'interval' },
  ids: { kind: 'array', items: { kind: 'int64' } },
  labels: { kind: 'array', items: { kind: 'string', length: 10 } },
  prices: { kind: 'array', items: { kind: 'decimal', precision: 10, scale: 2 } },
  moods: { kind: 'array', items: { kind: 'enum', values: ['happy', 'sad'] } },
  spans: { kind: 'array', items: { kind: 'interval' } },
  amounts: { kind: 'array', items: { kind: 'numeric' } },
  stamps: { kind: 'array', items: { kind: 'timestamptz' } },
  flags: { kind: 'array', items: { kind: 'boolean' } },
};

const table: TableSchema = {
  namespace: 'shop',
  table: 'everything',
  columns: Object.entries(TYPES).map(([name, type]) => ({ name, type, nullable: name !== 'id' && name !== 'odd name-ü', sourceType: '' })),
  primaryKey: ['id', 'odd name-ü'],
};

describe('tableFromAvro', () => {
  it('reads back every column type, nullability, original names and the key from the writer schemas', () => {
    const avro = buildTableAvro(table, { topicPrefix: 'p', connector: 'mysql' });
    // As a sink gets them: the registered schema text, parsed (avsc's own export drops the attributes read here).
    const envelope = JSON.parse(JSON.stringify(avro.valueSchema)) as object;
    const key = JSON.parse(JSON.stringify(avro.keySchema)) as object;
    const read = tableFromAvro('shop', 'everything', envelope, key);
    expect(read.columns.map(({ name, type, nullable }) => ({ name, type, nullable }))).toEqual(
      table.columns.map(({ name, type, nullable }) => ({ name, type, nullable })),
    );
    expect(read.primaryKey).toEqual(['id', 'odd name-ü']);
    expect(read.fields).toEqual(avro.fields);
  });

  it("reads Debezium's own spellings of the PostgreSQL types", () => {
    const envelope = {
      type: 'record',
      name: 'Envelope',
      fields: [
        {
          name: 'after',
          type: [
            'null',
            {
              type: 'record',
              name: 'Value',
              fields: [
                { name: 'n', type: { type: 'string', 'connect.parameters': { '__debezium.source.column.type': 'numeric' } } },
                { name: 'z', type: { type: 'string', 'connect.version': 1, 'connect.name': 'io.debezium.time.ZonedTime' } },
                { name: 'a', type: ['null', { type: 'array', items: ['null', { type: 'int', 'connect.type': 'int16' }] }], default: null },
                { name: 's', type: { type: 'string', 'connect.parameters': { '__debezium.source.column.type': 'TEXT' } } },
              ],
            },
          ],
        },
      ],
    };
    expect(tableFromAvro('public', 't', envelope, null).columns.map(({ name, type, nullable }) => ({ name, type, nullable }))).toEqual([
      { name: 'n', type: { kind: 'numeric' }, nullable: false },
      { name: 'z', type: { kind: 'timetz' }, nullable: false },
      { name: 'a', type: { kind: 'array', items: { kind: 'int16' } }, nullable: true },
      { name: 's', type: { kind: 'string' }, nullable: false },
    ]);
  });

  it('reads a table without a key and refuses a schema that is not an envelope', () => {
    const avro = buildTableAvro({ ...table, primaryKey: [] }, { topicPrefix: 'p', connector: 'mysql' });
    expect(tableFromAvro('shop', 'everything', avro.valueSchema, null).primaryKey).toEqual([]);
    expect(() => tableFromAvro('shop', 'x', { type: 'record', name: 'X', fields: [] }, null)).toThrow(/not a Debezium envelope/);
  });
});

describe('sinkReaderSchema', () => {
  const schema: TableSchema = {
    namespace: 'shop',
    table: 'items',
    columns: [
      { name: 'id', type: { kind: 'int64' }, nullable: false, sourceType: 'bigint' },
      { name: 'price', type: { kind: 'decimal', precision: 12, scale: 2 }, nullable: true, sourceType: 'decimal(12,2)' },
      { name: 'note', type: { kind: 'string' }, nullable: true, sourceType: 'text' },
    ],
    primaryKey: ['id'],
  };

  it.each(['mysql', 'postgresql'] as const)('reads after, op and the position of a %s envelope and skips the rest', (connector) => {
    const avro = buildTableAvro(schema, { topicPrefix: 'p', connector });
    const event = mysqlEvent('u', { id: 1n, price: '1.00', note: 'old' }, { id: 1n, price: '2.50', note: 'new' }, 3, 'items');
    if (connector === 'postgresql') Object.assign(event.source, { connector: 'postgresql', schema: 'shop', lsn: 0x16b3748n, txId: 7n });
    const writer = avroType(avro.valueSchema);
    const bytes = writer.toBuffer(envelopeRecord(event, avro));
    const reader = avroType(sinkReaderSchema(avro.valueSchema));
    const decoded = reader.decode(bytes, 0, reader.createResolver(writer)).value as Record<string, unknown>;
    expect(Object.keys(decoded)).toEqual(['after', 'source', 'op']);
    expect(decoded.after).toEqual({ id: 1n, price: '2.50', note: 'new' });
    expect(decoded.op).toBe('u');
    expect(decoded.source).toEqual({
      ...(connector === 'postgresql' ? { db: event.source.db, schema: 'shop' } : { db: event.source.db }),
      table: event.source.table,
      position: event.source.position,
    });
  });
});
