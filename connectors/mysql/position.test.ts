import { describe, expect, it } from 'vitest';
import { eventPosition, eventPositionPrefix, rowPosition } from './position.ts';

describe('binlog positions', () => {
  it('pads file sequence, offset and row so that comparing the strings compares the positions', () => {
    expect(eventPosition('mariadb-bin.000003', '4', 7)).toBe('0000000003:00000000000000000004:000007');
    expect(eventPosition('mysql-bin.123456', 18446744073709551615n, 0)).toBe('0000123456:18446744073709551615:000000');
  });

  it('builds a row position from its event prefix exactly as from scratch, for every number of row digits', () => {
    const prefix = eventPositionPrefix('mariadb-bin.000001', 123456789);
    for (const row of [0, 1, 9, 10, 99, 100, 12345, 999999, 1000000, 12345678]) {
      expect(rowPosition(prefix, row)).toBe(
        `0000000001:00000000000123456789:${String(row).padStart(6, '0')}`,
      );
    }
  });
});
