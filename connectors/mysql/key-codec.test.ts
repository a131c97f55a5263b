import { describe, expect, it } from 'vitest';
import { decodeKey, encodeKey } from './key-codec.ts';

describe('key codec', () => {
  it('round-trips key values exactly through JSON', () => {
    const key = [9223372036854775807n, Buffer.from([0, 255]), 'a"b', 42, '18446744073709551615', null];
    expect(decodeKey(JSON.parse(JSON.stringify(encodeKey(key))))).toEqual(key);
  });
});
