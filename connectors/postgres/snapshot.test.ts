import { describe, expect, it } from 'vitest';
import type { TableSchema } from '#core/table-schema.ts';
import { chunkQuery } from './snapshot.ts';

const table: TableSchema = {
  namespace: 'Sales "EU"',
  table: 'order lines',
  columns: [
    { name: 'order', type: { kind: 'int64' }, nullable: false, sourceType: 'bigint' },
    { name: 'line"no', type: { kind: 'string', length: 10 }, nullable: false, sourceType: 'character varying(10)' },
    { name: 'amount', type: { kind: 'decimal', precision: 12, scale: 2 }, nullable: true, sourceType: 'numeric(12,2)' },
  ],
  primaryKey: ['order', 'line"no'],
};

describe('chunkQuery', () => {
  it('reads the first chunk in key order with every identifier quoted', () => {
    expect(chunkQuery(table, false, 500)).toBe(
      'SELECT "order", "line""no", "amount" FROM "Sales ""EU"""."order lines" ORDER BY "order", "line""no" LIMIT 500',
    );
  });

  it('continues after a key with a row comparison whose parameters are cast to the key types', () => {
    expect(chunkQuery(table, true, 500)).toBe(
      'SELECT "order", "line""no", "amount" FROM "Sales ""EU"""."order lines" WHERE ("order", "line""no") > ($1::bigint, $2::character varying(10)) ORDER BY "order", "line""no" LIMIT 500',
    );
  });
});
