import { describe, expect, it } from 'vitest';
import { formatLsn, lsnPosition, lsnPositionPrefix, orderPosition, parseLsn } from './lsn.ts';

describe('LSN text', () => {
  it('parses both halves as hexadecimal, in either case', () => {
    expect(parseLsn('16/B374D848')).toBe(0x16b374d848n);
    expect(parseLsn('16/b374d848')).toBe(0x16b374d848n);
    expect(parseLsn('0/0')).toBe(0n);
    expect(parseLsn('0/1')).toBe(1n);
    expect(parseLsn('FFFFFFFF/FFFFFFFF')).toBe(0xffff_ffff_ffff_ffffn);
  });

  it('refuses text that is not an LSN', () => {
    for (const text of ['', '16', '16/', '/B3', '16/B374D848 ', 'G/0', '123456789/0', '0/123456789', '-1/0', '1.5/0']) {
      expect(() => parseLsn(text), text).toThrow(/not a PostgreSQL LSN/);
    }
  });

  it('formats as Postgres prints it: upper case, no leading zeros in either half', () => {
    expect(formatLsn(0x16b374d848n)).toBe('16/B374D848');
    expect(formatLsn(0n)).toBe('0/0');
    expect(formatLsn(0x1_0000_0000n)).toBe('1/0');
    expect(formatLsn(0x0000_0000_0000_00a0n)).toBe('0/A0');
    expect(formatLsn(0xffff_ffff_ffff_ffffn)).toBe('FFFFFFFF/FFFFFFFF');
    expect(() => formatLsn(-1n)).toThrow(RangeError);
    expect(() => formatLsn(1n << 64n)).toThrow(RangeError);
  });

  it('round-trips', () => {
    for (const lsn of [0n, 1n, 0xffff_ffffn, 0x1_0000_0000n, 0x16b374d848n, 0x7fff_ffff_ffff_ffffn, 0xffff_ffff_ffff_ffffn]) {
      expect(parseLsn(formatLsn(lsn))).toBe(lsn);
    }
  });
});

describe('lsnPosition', () => {
  it('is 16 hex digits of the commit LSN, 10 digits of the order and 16 hex digits of the record LSN', () => {
    expect(lsnPosition(0x16b374d848n, 1, 0x16b374d000n)).toBe('00000016B374D848:0000000001:00000016B374D000');
    expect(lsnPosition(0n, 0)).toBe('0000000000000000:0000000000:0000000000000000');
    expect(lsnPosition(0xffff_ffff_ffff_ffffn, 9_999_999_999, 0xffff_ffff_ffff_fff0n)).toBe('FFFFFFFFFFFFFFFF:9999999999:FFFFFFFFFFFFFFF0');
  });

  it('sorts as the positions do with plain string comparison', () => {
    const ordered: Array<[bigint, number]> = [
      [0x9n, 0],
      [0x9n, 1],
      [0x9n, 2],
      [0x9n, 10],
      [0xan, 0],
      [0xan, 1],
      [0xfn, 3],
      [0x10n, 1],
      [0xffff_ffffn, 1],
      [0x1_0000_0000n, 1],
      [0xa_0000_0000n, 1],
      [0xffff_ffff_ffff_fffen, 9_999_999_999],
    ];
    const positions = ordered.map(([lsn, order]) => lsnPosition(lsn, order));
    expect([...positions].reverse().sort()).toEqual(positions);
    for (const position of positions) expect(position).toHaveLength(44);
  });

  it('builds positions from a prefix exactly as from scratch, for every digit count', () => {
    for (const lsn of [0n, 0xan, 0x16b374d848n, 0xffff_ffff_ffff_ffffn]) {
      const prefix = lsnPositionPrefix(lsn);
      for (const order of [0, 1, 9, 10, 99, 100, 12345, 1_000_000_000, 9_999_999_999]) {
        expect(orderPosition(prefix, order, 0x2an)).toBe(`${lsn.toString(16).toUpperCase().padStart(16, '0')}:${String(order).padStart(10, '0')}:000000000000002A`);
      }
    }
  });

  it('refuses orders and LSNs that do not fit the width', () => {
    expect(() => lsnPosition(1n, -1)).toThrow(RangeError);
    expect(() => lsnPosition(1n, 1.5)).toThrow(RangeError);
    expect(() => lsnPosition(1n, 10_000_000_000)).toThrow(RangeError);
    expect(() => lsnPosition(-1n, 1)).toThrow(RangeError);
    expect(() => lsnPosition(1n << 64n, 1)).toThrow(RangeError);
    expect(() => lsnPosition(1n, 1, -1n)).toThrow(RangeError);
  });
});
