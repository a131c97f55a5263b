import { describe, expect, it } from 'vitest';
import { tableFilter } from './table-filter.ts';

describe('tableFilter', () => {
  it('matches every table with the default *.*', () => {
    const filter = tableFilter(['*.*'], []);
    expect(filter('shop', 'orders')).toBe(true);
    expect(filter('x', 'y')).toBe(true);
  });

  it('matches exact names and nothing else', () => {
    const filter = tableFilter(['shop.orders'], []);
    expect(filter('shop', 'orders')).toBe(true);
    expect(filter('shop', 'orders2')).toBe(false);
    expect(filter('shop', 'order')).toBe(false);
    expect(filter('shop2', 'orders')).toBe(false);
    expect(filter('xshop', 'orders')).toBe(false);
  });

  it('treats * as any run of characters, the empty run included', () => {
    const filter = tableFilter(['shop.order*', '*_archive.*'], []);
    expect(filter('shop', 'order')).toBe(true);
    expect(filter('shop', 'orders_2024')).toBe(true);
    expect(filter('shop', 'customers')).toBe(false);
    expect(filter('sales_archive', 'anything')).toBe(true);
    expect(filter('_archive', 'anything')).toBe(true);
    expect(filter('sales_archived', 'anything')).toBe(false);
  });

  it('treats ? as exactly one character, a multi-byte one too', () => {
    const filter = tableFilter(['shop.t?'], []);
    expect(filter('shop', 't1')).toBe(true);
    expect(filter('shop', 't😀')).toBe(true);
    expect(filter('shop', 't')).toBe(false);
    expect(filter('shop', 't12')).toBe(false);
  });

  it('reads a pattern without a dot as a whole database', () => {
    const filter = tableFilter(['shop', 'crm*'], []);
    expect(filter('shop', 'orders')).toBe(true);
    expect(filter('crm_eu', 'leads')).toBe(true);
    expect(filter('shopping', 'orders')).toBe(false);
  });

  it('lets exclude win over include', () => {
    const filter = tableFilter(['shop.*'], ['shop.tmp_*', 'shop.audit']);
    expect(filter('shop', 'orders')).toBe(true);
    expect(filter('shop', 'tmp_import')).toBe(false);
    expect(filter('shop', 'audit')).toBe(false);
    expect(filter('shop', 'audit_log')).toBe(true);
    expect(tableFilter(['*.*'], ['shop'])('shop', 'orders')).toBe(false);
  });

  it('is case-sensitive, as table names are on Linux', () => {
    const filter = tableFilter(['Shop.Orders'], []);
    expect(filter('Shop', 'Orders')).toBe(true);
    expect(filter('shop', 'orders')).toBe(false);
    expect(filter('Shop', 'orders')).toBe(false);
  });

  it('takes regular-expression characters in names literally', () => {
    const filter = tableFilter(['my$db.t+(1)|[x]'], []);
    expect(filter('my$db', 't+(1)|[x]')).toBe(true);
    expect(filter('mydb', 't1')).toBe(false);
    expect(tableFilter(['a-b.c\\d'], [])('a-b', 'c\\d')).toBe(true);
  });

  it('matches nothing with an empty include list', () => {
    expect(tableFilter([], [])('shop', 'orders')).toBe(false);
  });
});
