import { describe, expect, it } from 'vitest';
import { defaultPublicationName, defaultSlotName, publicationNameOf, quoteTable, slotNameOf } from './names.ts';

const SLOT_NAME = /^[a-z0-9_]{1,63}$/;
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

describe('defaultSlotName', () => {
  it('prefixes the source name', () => {
    expect(defaultSlotName('shop')).toBe('tributary_shop');
    expect(defaultSlotName('shop_2')).toBe('tributary_shop_2');
  });

  it('lower-cases and turns other characters into _', () => {
    expect(defaultSlotName('Shop-EU')).toBe('tributary_shop_eu');
    expect(defaultSlotName('a.b c')).toBe('tributary_a_b_c');
    expect(defaultSlotName('café')).toBe('tributary_caf_');
  });

  it('keeps names of exactly 63 characters whole', () => {
    const source = 'x'.repeat(63 - 'tributary_'.length);
    expect(defaultSlotName(source)).toBe(`tributary_${source}`);
    expect(defaultSlotName(source)).toHaveLength(63);
  });

  it('cuts long names to 63 characters with a stable hash of the whole name', () => {
    const long = 'orders_'.repeat(12);
    const slot = defaultSlotName(long);
    expect(slot).toHaveLength(63);
    expect(slot).toMatch(SLOT_NAME);
    expect(slot).toMatch(/^tributary_orders_orders_.*_[0-9a-f]{8}$/);
    expect(defaultSlotName(long)).toBe(slot);
    expect(defaultSlotName(`${long}x`)).not.toBe(slot);
    expect(defaultSlotName(`${long}x`).slice(0, 54)).toBe(slot.slice(0, 54));
  });

  it('always gives a valid slot name and a valid publication name', () => {
    for (const source of ['a', 'A-B', '9lives', '-', '_', 'Ünïcödé-source', 'z'.repeat(200)]) {
      expect(defaultSlotName(source)).toMatch(SLOT_NAME);
      expect(defaultPublicationName(source)).toMatch(IDENTIFIER);
    }
  });
});

describe('slotNameOf and publicationNameOf', () => {
  it('take the configured name, else the default', () => {
    expect(slotNameOf({ name: 'shop' })).toBe('tributary_shop');
    expect(slotNameOf({ name: 'shop', slotName: 'my_slot' })).toBe('my_slot');
    expect(publicationNameOf({ name: 'Shop' })).toBe('tributary_shop');
    expect(publicationNameOf({ name: 'shop', publicationName: 'MyPub' })).toBe('MyPub');
  });
});

describe('quoteTable', () => {
  it('quotes each part, doubling inner quotes', () => {
    expect(quoteTable({ schema: 'public', table: 'orders' })).toBe('"public"."orders"');
    expect(quoteTable({ schema: 'My Schema', table: 'a.b"c' })).toBe('"My Schema"."a.b""c"');
  });
});
