import { describe, expect, it } from 'vitest';
import { bigintToBytes, bytesToBigint, fromUnscaled, toUnscaled } from './decimal.ts';

describe('decimal', () => {
  it('keeps the largest decimal(38,10) exactly', () => {
    const max = '9999999999999999999999999999.9999999999';
    const unscaled = toUnscaled(max, 38, 10);
    expect(unscaled).toBe(99999999999999999999999999999999999999n);
    expect(fromUnscaled(bytesToBigint(bigintToBytes(unscaled)), 10)).toBe(max);
    expect(fromUnscaled(bytesToBigint(bigintToBytes(-unscaled)), 10)).toBe(`-${max}`);
  });

  it('pads short fractions to the scale and keeps small magnitudes', () => {
    expect(fromUnscaled(toUnscaled('1.5', 10, 3), 3)).toBe('1.500');
    expect(fromUnscaled(toUnscaled('-0.001', 10, 3), 3)).toBe('-0.001');
    expect(fromUnscaled(toUnscaled('0', 10, 3), 3)).toBe('0.000');
    expect(fromUnscaled(toUnscaled('7', 5, 0), 0)).toBe('7');
    expect(fromUnscaled(toUnscaled(18446744073709551615n, 20, 0), 0)).toBe('18446744073709551615');
  });

  it('accepts trailing zeros beyond the scale but refuses digits that need rounding', () => {
    expect(toUnscaled('1.2300', 5, 2)).toBe(123n);
    expect(() => toUnscaled('1.234', 5, 2)).toThrow(/rounding/);
  });

  it('refuses values over the precision and non-plain text', () => {
    expect(() => toUnscaled('123456', 5, 0)).toThrow(/precision 5/);
    expect(() => toUnscaled('1e5', 10, 0)).toThrow(/plain notation/);
    expect(() => toUnscaled('NaN', 10, 0)).toThrow(/plain notation/);
  });

  it('encodes two-complement bytes like Java BigInteger.toByteArray', () => {
    expect(bigintToBytes(0n)).toEqual(Buffer.from([0]));
    expect(bigintToBytes(127n)).toEqual(Buffer.from([0x7f]));
    expect(bigintToBytes(128n)).toEqual(Buffer.from([0x00, 0x80]));
    expect(bigintToBytes(-1n)).toEqual(Buffer.from([0xff]));
    expect(bigintToBytes(-128n)).toEqual(Buffer.from([0x80]));
    expect(bigintToBytes(-129n)).toEqual(Buffer.from([0xff, 0x7f]));
    for (const n of [0n, 1n, -1n, 255n, -256n, 2n ** 64n - 1n, -(2n ** 127n)]) {
      expect(bytesToBigint(bigintToBytes(n))).toBe(n);
    }
  });
});
