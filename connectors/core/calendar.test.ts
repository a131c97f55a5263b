import { describe, expect, it } from 'vitest';
import { clockText, isoDate, isoDateTime, splitMicros } from './calendar.ts';

describe('calendar', () => {
  it('formats day counts across the whole range targets hold, as Date does where Date reaches', () => {
    expect(isoDate(0)).toBe('1970-01-01');
    expect(isoDate(-719_162)).toBe('0001-01-01');
    expect(isoDate(-719_528)).toBe('0000-01-01');
    expect(isoDate(2_932_896)).toBe('9999-12-31');
    for (let days = -719_162; days <= 2_932_896; days += 997) {
      expect(isoDate(days)).toBe(new Date(days * 86_400_000).toISOString().slice(0, 10));
    }
  });

  it('splits instants by floor division and prints every microsecond', () => {
    expect(splitMicros(-1n)).toEqual({ days: -1, microsOfDay: 86_399_999_999n });
    expect(isoDateTime(-1n, ' ')).toBe('1969-12-31 23:59:59.999999');
    expect(isoDateTime(253402300799999999n, 'T')).toBe('9999-12-31T23:59:59.999999');
    expect(isoDateTime(-62135596800000000n, ' ')).toBe('0001-01-01 00:00:00.000000');
  });

  it('prints clock times past 24 hours, as MySQL TIME holds them', () => {
    expect(clockText(0n)).toBe('00:00:00.000000');
    expect(clockText(3_020_399_999_999n)).toBe('838:59:59.999999');
  });
});
