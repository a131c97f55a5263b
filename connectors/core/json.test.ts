import { describe, expect, it } from 'vitest';
import { stringifyExact } from './json.ts';

describe('stringifyExact', () => {
  it('writes 64-bit integers as exact digits and buffers as base64', () => {
    const text = stringifyExact({ big: 18446744073709551615n, neg: -9223372036854775808n, b: Buffer.from([1, 2, 255]) });
    expect(text).toBe('{"big":18446744073709551615,"neg":-9223372036854775808,"b":"AQL/"}');
  });

  it('matches JSON.stringify for plain values and skips undefined members', () => {
    const plain = { a: [1, 'x', true, null], s: 'quote " and \u00e9 \ud83d\ude00', n: -1.5 };
    expect(stringifyExact({ ...plain, gone: undefined })).toBe(JSON.stringify(plain));
  });
});
