import { describe, expect, it } from 'vitest';
import { formatTable } from './table.ts';

describe('formatTable', () => {
  it('pads each column to its widest cell, right-aligns numbers and trims line ends', () => {
    const text = formatTable(
      [{ header: 'topic' }, { header: 'partition', align: 'right' }, { header: 'note' }],
      [
        ['shop.orders', '0', ''],
        ['a', '12', 'x'],
      ],
    );
    expect(text.split('\n')).toEqual(['topic        partition  note', 'shop.orders          0', 'a                   12  x']);
  });

  it('prints only the header for no rows, and empty cells for short rows', () => {
    expect(formatTable([{ header: 'a' }, { header: 'b' }], [])).toBe('a  b');
    expect(formatTable([{ header: 'a' }, { header: 'b', align: 'right' }], [['xyz']])).toBe('a    b\nxyz');
  });

  it('counts characters, not UTF-16 units', () => {
    expect(formatTable([{ header: 'name' }, { header: 'n' }], [['😀', '1']]).split('\n')).toEqual(['name  n', '😀     1']);
  });
});
