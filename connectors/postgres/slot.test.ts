import { describe, expect, it } from 'vitest';
import { formatBytes, retainedWalWarning, slotProblem, type SlotInfo } from './slot.ts';

const SLOT: SlotInfo = {
  name: 'tributary_shop',
  slotType: 'logical',
  database: 'shop',
  plugin: 'pgoutput',
  active: false,
  activePid: null,
  confirmedFlushLsn: 0x16_b374_d848n,
  restartLsn: 0x16_b374_d000n,
  walStatus: 'reserved',
  retainedBytes: 0n,
  reservedBytes: 0n,
  safeWalBytes: null,
};

describe('slotProblem', () => {
  it('accepts a pgoutput slot of this database in every WAL state but lost', () => {
    for (const walStatus of ['reserved', 'extended', 'unreserved', null] as const) {
      expect(slotProblem({ ...SLOT, walStatus }, 'shop')).toBeNull();
    }
    expect(slotProblem({ ...SLOT, active: true, activePid: 12 }, 'shop')).toBeNull();
  });

  it('refuses a slot of another database, plugin or kind with the fix', () => {
    const other = slotProblem({ ...SLOT, database: 'billing' }, 'shop');
    expect(other?.code).toBe('PREFLIGHT_FAILED');
    expect(other?.message).toBe(
      'replication slot "tributary_shop" belongs to database "billing", not "shop"; set slotName to another name for this source, ' +
        "or drop the slot if nothing reads it (SELECT pg_drop_replication_slot('tributary_shop'))",
    );
    expect(slotProblem({ ...SLOT, plugin: 'test_decoding' }, 'shop')?.message).toContain('uses the output plugin test_decoding, not pgoutput;');
    const physical = slotProblem({ ...SLOT, slotType: 'physical', plugin: null, database: null }, 'shop');
    expect(physical?.code).toBe('PREFLIGHT_FAILED');
    expect(physical?.message).toContain('is a physical slot, not a logical one;');
  });

  it('quotes the slot name in the drop statement', () => {
    expect(slotProblem({ ...SLOT, name: "it's", database: 'x' }, 'shop')?.message).toContain("pg_drop_replication_slot('it''s')");
  });

  it('says POSITION_LOST for an invalidated slot, naming both ways out', () => {
    const lost = slotProblem({ ...SLOT, walStatus: 'lost' }, 'shop', { sourceName: 'shop' });
    expect(lost?.code).toBe('POSITION_LOST');
    expect(lost?.retriable).toBe(false);
    expect(lost?.message).toBe(
      'replication slot "tributary_shop" was invalidated: it retained more WAL than max_slot_wal_keep_size allows, so the changes ' +
        'it kept are gone and the snapshot must be redone; set snapshot: when_needed, or run tributary capture shop --drop-slot',
    );
    expect(slotProblem({ ...SLOT, walStatus: 'lost' }, 'shop')?.message).toContain('tributary capture <source> --drop-slot');
  });
});

describe('retainedWalWarning', () => {
  it('warns above the threshold only, and never when it is 0 or the size unknown', () => {
    const GiB = 1024n ** 3n;
    expect(retainedWalWarning(2n * GiB, GiB, 'tributary_shop')).toBe(
      'replication slot "tributary_shop" is 2.0 GiB of WAL behind the server (warning threshold 1.0 GiB); the server keeps that WAL ' +
        'on disk until capture catches up: check that capture is running and keeping up, and set max_slot_wal_keep_size so a ' +
        'stalled slot cannot fill the disk',
    );
    expect(retainedWalWarning(GiB, GiB)).toBeNull();
    expect(retainedWalWarning(GiB + 1n, 1024 ** 3)).toMatch(/^the replication slot is 1\.0 GiB/);
    expect(retainedWalWarning(10n * GiB, 0)).toBeNull();
    expect(retainedWalWarning(null, 1)).toBeNull();
  });
});

describe('formatBytes', () => {
  it('uses binary units with one decimal, exactly beyond 2^53', () => {
    expect(formatBytes(0n)).toBe('0 bytes');
    expect(formatBytes(1023n)).toBe('1023 bytes');
    expect(formatBytes(1536n)).toBe('1.5 KiB');
    expect(formatBytes(5n * 1024n ** 2n + 1024n ** 2n / 4n)).toBe('5.2 MiB');
    expect(formatBytes(2n ** 60n)).toBe('1024.0 PiB');
    expect(formatBytes(2n ** 64n - 1n)).toBe('16383.9 PiB');
  });
});
