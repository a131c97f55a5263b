import { describe, expect, it } from 'vitest';
import { TributaryError } from '#core/errors.ts';
import { converter } from './values.ts';

describe('lake values', () => {
  it('turns decimals into their exact unscaled integers', () => {
    expect(converter({ kind: 'decimal', precision: 30, scale: 10 })('-12345678901234567890.0123456789', 'd')).toBe(-123456789012345678900123456789n);
    expect(converter({ kind: 'decimal', precision: 20, scale: 0 })('18446744073709551615', 'u')).toBe(18446744073709551615n);
    expect(converter({ kind: 'decimal', precision: 9, scale: 2 })('-9999999.99', 'd')).toBe(-999999999);
    expect(converter({ kind: 'decimal', precision: 65, scale: 30 })('1.5', 'd')).toEqual(Buffer.from('1.5'));
  });

  it('keeps 64-bit integers and microseconds as bigints', () => {
    expect(converter({ kind: 'int64' })(-9223372036854775808n, 'i')).toBe(-9223372036854775808n);
    expect(converter({ kind: 'timestamp' })(253402300799999999n, 't')).toBe(253402300799999999n);
    expect(converter({ kind: 'time' })(-3020399000000n, 't')).toBe(-3020399000000n);
  });

  it('writes text, JSON and arrays as UTF-8 bytes, exactly as captured', () => {
    expect(converter({ kind: 'json' })('{"n": 18446744073709551615, "x": 2.50}', 'j')).toEqual(Buffer.from('{"n": 18446744073709551615, "x": 2.50}'));
    expect(converter({ kind: 'string' })('émoji 😀', 's')).toEqual(Buffer.from('émoji 😀'));
    expect(converter({ kind: 'array', items: { kind: 'int64' } })([1n, null, -9223372036854775808n], 'a')).toEqual(Buffer.from('[1,null,-9223372036854775808]'));
  });

  it('turns UUIDs into their 16 bytes', () => {
    expect(converter({ kind: 'uuid' })('ffffffff-ffff-4fff-bfff-ffffffffffff', 'u')).toEqual(Buffer.alloc(16, 0xff).fill(0x4f, 6, 7).fill(0xbf, 8, 9));
  });

  it('passes nulls and refuses a value of the wrong form or precision with VALUE_INVALID', () => {
    expect(converter({ kind: 'bytes' })(null, 'b')).toBeNull();
    const refused = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return error instanceof TributaryError ? error.code : 'other';
      }
      return 'accepted';
    };
    expect(refused(() => converter({ kind: 'decimal', precision: 5, scale: 2 })('1234.5', 'd'))).toBe('VALUE_INVALID');
    expect(refused(() => converter({ kind: 'decimal', precision: 5, scale: 2 })('1.234', 'd'))).toBe('VALUE_INVALID');
    expect(refused(() => converter({ kind: 'int64' })('12', 'i'))).toBe('VALUE_INVALID');
    expect(refused(() => converter({ kind: 'uuid' })('not-a-uuid', 'u'))).toBe('VALUE_INVALID');
  });
});
