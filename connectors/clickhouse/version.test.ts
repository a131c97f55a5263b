import { describe, expect, it } from 'vitest';
import { comparePositions } from '#core/change-event.ts';
import { TributaryError } from '#core/errors.ts';
import { eventPosition } from '#mysql/position.ts';
import { lsnPosition } from '#postgres/lsn.ts';
import { MYSQL_VERSION_LIMITS, positionVersion } from './version.ts';

const position = (file: number | bigint, offset: number | bigint, row: number | bigint) =>
  `${String(file).padStart(10, '0')}:${String(offset).padStart(20, '0')}:${String(row).padStart(6, '0')}`;

function codeOf(work: () => unknown): string | undefined {
  try {
    work();
  } catch (error) {
    return error instanceof TributaryError ? error.code : 'not a TributaryError';
  }
  return undefined;
}

describe('positionVersion (MySQL positions)', () => {
  it('packs file sequence | byte offset + row index into 20 | 44 bits', () => {
    expect(positionVersion(position(0, 0, 0))).toBe(0n);
    expect(positionVersion(position(1, 100, 1))).toBe((1n << 44n) | 101n);
    expect(positionVersion(eventPosition('mysql-bin.000003', 4n, 7))).toBe((3n << 44n) | 11n);
    const max = positionVersion(position(MYSQL_VERSION_LIMITS.fileSequence, MYSQL_VERSION_LIMITS.offsetPlusRow - 5n, 5));
    expect(max).toBe((1n << 64n) - 1n); // the whole UInt64, nothing beyond
  });

  it('orders versions as the positions of a binlog compare, across row, transaction and file boundaries', () => {
    // A transaction's rows take at least a byte each, so the next transaction starts beyond offset + rows.
    const ordered = [
      position(0, 0, 0),
      position(0, 0, 1),
      position(0, 0, 999_999), // a million-row transaction
      position(0, 1_000_000 + 300, 0),
      position(0, 1_000_000 + 300, 1),
      position(0, 4_294_967_295, 0),
      position(1, 0, 0),
      position(1, 4, 0),
      position(2, 0, 0),
      position(999_999, 1_073_741_824, 12),
      position(1_048_575, 0, 0),
    ];
    expect([...ordered].sort(comparePositions)).toEqual(ordered);
    const versions = ordered.map(positionVersion);
    for (let i = 1; i < versions.length; i++) expect(versions[i]! > versions[i - 1]!).toBe(true);
  });

  it('keeps string order for a random binlog of transactions of random sizes', () => {
    let seed = 42;
    const random = (limit: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return Math.floor((seed / 2 ** 31) * (limit + 1));
    };
    const positions: string[] = [];
    let file = 1;
    let offset = 4;
    for (let tx = 0; tx < 2_000; tx++) {
      const rows = 1 + random(5_000);
      for (let row = 1; row <= rows; row += 1 + random(500)) positions.push(position(file, offset, row));
      offset += rows * (1 + random(200)) + random(100); // at least a byte per row, plus headers
      if (random(50) === 0) [file, offset] = [file + 1, 4];
    }
    expect([...positions].sort(comparePositions)).toEqual(positions);
    for (let i = 1; i < positions.length; i++) expect(positionVersion(positions[i]!) > positionVersion(positions[i - 1]!)).toBe(true);
  });

  it('refuses a part beyond its field, naming the limit, rather than ordering wrongly', () => {
    expect(() => positionVersion(position(1_048_576, 0, 0))).toThrow(/binlog file sequence 1048576 exceeds 1048575/);
    expect(() => positionVersion(position(1, 2n ** 44n, 0))).toThrow(/byte offset \+ row index 17592186044416 exceeds 17592186044415/);
    expect(codeOf(() => positionVersion(position(1, 2n ** 44n - 1n, 1)))).toBe('SINK_SCHEMA_INCOMPATIBLE');
  });

  it('refuses positions of unknown shape with a clear error', () => {
    for (const bad of ['', 'abc', '0/16B3748', '1:2:3', `${position(1, 2, 3)}:9`, ' 0000000001:00000000000000000100:000001']) {
      expect(() => positionVersion(bad)).toThrow(/has no known shape/);
      expect(codeOf(() => positionVersion(bad))).toBe('SINK_SCHEMA_INCOMPATIBLE');
    }
  });
});

describe('positionVersion (PostgreSQL positions)', () => {
  it('is the record LSN of the change, and 0 for snapshot rows', () => {
    expect(positionVersion(lsnPosition(0x16b374d848n, 3, 0x16b374d000n))).toBe(0x16b374d000n);
    expect(positionVersion(lsnPosition(0x16b374d848n, 0))).toBe(0n);
    expect(positionVersion(lsnPosition(0xffff_ffff_ffff_fff8n, 1, 0xffff_ffff_ffff_fff0n))).toBe(0xffff_ffff_ffff_fff0n);
  });

  it('puts a change committed after the snapshot point above the snapshot row, even when its record is older', () => {
    const snapshotRow = lsnPosition(0x5000n, 0);
    const lateCommit = lsnPosition(0x6000n, 1, 0x4000n); // written before the slot's consistent point, committed after
    expect(comparePositions(snapshotRow, lateCommit)).toBe(-1);
    expect(positionVersion(snapshotRow) < positionVersion(lateCommit)).toBe(true);
  });
});
