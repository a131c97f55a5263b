import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { avroType } from './avro-types.ts';

describe('exact Avro longs', () => {
  const type = avroType({ type: 'record', name: 'R', fields: [{ name: 'n', type: 'long' }, { name: 'm', type: ['null', 'long'] }] });
  const plain = avro.Type.forSchema({ type: 'record', name: 'R', fields: [{ name: 'n', type: 'long' }, { name: 'm', type: ['null', 'long'] }] });

  it.each([0n, 1n, -1n, 63n, -64n, 2n ** 31n, -(2n ** 31n) - 1n, 2n ** 48n, 2n ** 49n, 2n ** 53n - 1n, 2n ** 53n + 1n, 2n ** 63n - 1n, -(2n ** 63n), -(2n ** 53n) - 3n])(
    'round-trips %s exactly, in the same bytes as any Avro writer',
    (n) => {
      const encoded = type.toBuffer({ n, m: n });
      expect(type.fromBuffer(encoded)).toEqual({ n, m: n });
      if (n >= -(2n ** 52n) && n <= 2n ** 52n) {
        expect(encoded).toEqual(plain.toBuffer({ n: Number(n), m: Number(n) }));
      }
    },
  );

  it('takes safe numbers too and refuses values past 64 bits', () => {
    expect(type.fromBuffer(type.toBuffer({ n: 42, m: null }))).toEqual({ n: 42n, m: null });
    expect(() => type.toBuffer({ n: 2n ** 63n, m: null })).toThrow();
  });
});
