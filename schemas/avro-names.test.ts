import { describe, expect, it } from 'vitest';
import { avroName, fieldNames, topicName } from './avro-names.ts';

describe('avro names', () => {
  it('adjusts characters Avro does not allow and leading digits', () => {
    expect(avroName('order-items')).toBe('order_items');
    expect(avroName('2fa')).toBe('_2fa');
    expect(avroName('a`b"c]d; DROP TABLE x')).toBe('a_b_c_d__DROP_TABLE_x');
    expect(avroName('prix €')).toBe('prix__');
  });

  it('keeps field names unique and stable when adjusted names clash', () => {
    const names = fieldNames(['a b', 'a_b', 'a-b', 'id']);
    expect([...names.values()]).toEqual(['a_b_2', 'a_b', 'a_b_3', 'id']);
  });

  it('builds topic names from prefix, database and table', () => {
    expect(topicName('shop', 'inventory', 'order items')).toBe('shop.inventory.order_items');
    expect(topicName('t', 'db', 'a.b')).toBe('t.db.a_b');
  });
});
