import { describe, expect, it } from 'vitest';
import { bigintToBytes, bytesToBigint, fromUnscaled, toUnscaled, unscaledBytes } from './decimal.ts';

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

  it('gives the same bytes, or the same error, through the fast path for short decimals as through BigInt', () => {
    const exact = (value: string, precision: number, scale: number) => {
      try {
        return bigintToBytes(toUnscaled(value, precision, scale));
      } catch (error) {
        return (error as Error).message;
      }
    };
    const fast = (value: string, precision: number, scale: number) => {
      try {
        return unscaledBytes(value, precision, scale);
      } catch (error) {
        return (error as Error).message;
      }
    };
    const cases = ['0', '-0', '-0.00', '+5', '5.', '.5', ' 1.5', '1.5 ', '1e5', '', '-', '1.2.3', '007.10', '-128', '-129', '127', '128',
      '999999999999999', '-999999999999999', '9999999999999999', '0.000000000000001', '1.2300', '1.234', '-32768', '32768',
      '9007199254740991', '-9007199254740992', '123456789012.345', '-0.001', '99999.99'];
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 3_000; i++) {
      const whole = String(Math.floor(random() * 10 ** Math.floor(random() * 17)));
      const fraction = String(Math.floor(random() * 10 ** Math.floor(random() * 8))).padStart(Math.floor(random() * 8), '0');
      cases.push(`${random() < 0.5 ? '-' : ''}${whole}${random() < 0.8 ? `.${fraction}` : ''}`);
    }
    const different: string[] = [];
    for (const value of cases) {
      for (const [precision, scale] of [[12, 2], [15, 0], [16, 6], [38, 10], [5, 5], [20, 0], [3, 1]] as const) {
        const a = fast(value, precision, scale);
        const b = exact(value, precision, scale);
        if (typeof a === 'string' || typeof b === 'string' ? a !== b : !a.equals(b)) different.push(`${value} as decimal(${precision},${scale})`);
      }
    }
    expect(different).toEqual([]);
    expect(unscaledBytes(18446744073709551615n, 20, 0)).toEqual(bigintToBytes(18446744073709551615n));
  });
});
