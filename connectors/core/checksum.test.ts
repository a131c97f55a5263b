import { describe, expect, it } from 'vitest';
import { Bindings, checkCanonical, INTEGER_TEXT, rangeCondition } from './checksum.ts';
import { TributaryError } from './errors.ts';

describe('rangeCondition', () => {
  const positional = () => {
    const bindings = new Bindings(() => '?');
    return { bindings, literal: (i: number, value: string) => `${bindings.bind(`${i}:${value}`)}` };
  };

  it('keeps a whole table unconditioned and bounds a one-column key plainly', () => {
    expect(rangeCondition(['a'], () => 'x', { after: null, upTo: null })).toBeUndefined();
    const { bindings, literal } = positional();
    expect(rangeCondition(['a'], literal, { after: ['1'], upTo: ['9'] })).toBe('a > ? AND a <= ?');
    expect(bindings.values).toEqual(['0:1', '0:9']);
  });

  it('spells a composite bound out column by column, binding values in the order their placeholders appear', () => {
    const { bindings, literal } = positional();
    expect(rangeCondition(['a', 'b', 'c'], literal, { after: ['1', '2', '3'], upTo: null })).toBe(
      'a >= ? AND (a > ? OR (a = ? AND (b > ? OR (b = ? AND c > ?))))',
    );
    expect(bindings.values).toEqual(['0:1', '0:1', '0:1', '1:2', '1:2', '2:3']);
    const upper = positional();
    expect(rangeCondition(['a', 'b'], upper.literal, { after: null, upTo: ['7', '8'] })).toBe('a <= ? AND (a < ? OR (a = ? AND b <= ?))');
    expect(upper.bindings.values).toEqual(['0:7', '0:7', '0:7', '1:8']);
  });

  it('numbers named placeholders by binding order', () => {
    const bindings = new Bindings((i) => `$${i + 1}`);
    expect(rangeCondition(['a', 'b'], (_i, v) => bindings.bind(v), { after: ['x', 'y'], upTo: null })).toBe('a >= $1 AND (a > $2 OR (a = $3 AND b > $4))');
  });

  it('refuses a bound with the wrong number of values, and a canonical value that is not one', () => {
    expect(() => rangeCondition(['a', 'b'], () => '?', { after: ['1'], upTo: null })).toThrow(TributaryError);
    expect(checkCanonical('-12', INTEGER_TEXT, 'id')).toBe('-12');
    expect(() => checkCanonical("1'; DROP", INTEGER_TEXT, 'id')).toThrow(/not in its canonical form/);
  });
});
