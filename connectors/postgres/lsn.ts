// Log sequence numbers: 64-bit byte offsets in the WAL. Postgres prints them as two hexadecimal halves
// ('16/B374D848'); we carry them as bigint in code and as strings in positions and config, never as JS numbers
// (a busy server passes 2^53 bytes of WAL in a few years).

const LSN_TEXT = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;
const MAX_LSN = 0xffff_ffff_ffff_ffffn;

/** '16/B374D848' → 0x16B374D848n. Throws on anything that is not an LSN as Postgres prints one. */
export function parseLsn(text: string): bigint {
  const match = LSN_TEXT.exec(text);
  if (!match) throw new Error(`"${text}" is not a PostgreSQL LSN (expected two hexadecimal halves such as 16/B374D848)`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

/** 0x16B374D848n → '16/B374D848': upper-case halves without leading zeros, as pg_current_wal_lsn() prints it. */
export function formatLsn(lsn: bigint): string {
  checkRange(lsn);
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffff_ffffn).toString(16).toUpperCase()}`;
}

// Lookup tables of zeros by digit count instead of padStart: positions are built once per captured row.
const ORDER_PADDING = Array.from({ length: 11 }, (_, digits) => '0'.repeat(10 - digits));
const LSN_PADDING = Array.from({ length: 17 }, (_, digits) => '0'.repeat(16 - digits));

/**
 * The position string of one event: the 16 hex digits of its transaction's commit LSN, ':', its 1-based order
 * inside the transaction in 10 decimal digits, ':', and the 16 hex digits of the LSN of its own WAL record. Fixed
 * width, so comparing two strings compares the positions: commit order first, then order inside the transaction.
 *
 * The record LSN never decides a comparison (order inside one transaction already follows it); it is there for
 * sinks that need a number per change, such as ClickHouse's row version: for one primary key, record LSNs grow in
 * commit order too, because a row is locked by the transaction that changed it until that one commits.
 *
 * Snapshot rows have order 0 and record LSN 0, at the position they were read: they sort before every change
 * committed after that point.
 */
export function lsnPosition(commitLsn: bigint, order: number, recordLsn = 0n): string {
  return orderPosition(lsnPositionPrefix(commitLsn), order, recordLsn);
}

/** The part of a position that a transaction's events share: computed once per commit, not once per row. */
export function lsnPositionPrefix(commitLsn: bigint): string {
  return `${lsnDigits(commitLsn)}:`;
}

/** The position of the event with `order` and WAL record `recordLsn` in the transaction whose prefix is `prefix`. */
export function orderPosition(prefix: string, order: number, recordLsn: bigint): string {
  return `${prefix}${orderDigits(order)}:${lsnDigits(recordLsn)}`;
}

function lsnDigits(lsn: bigint): string {
  checkRange(lsn);
  const hex = lsn.toString(16).toUpperCase();
  return (LSN_PADDING[hex.length] ?? '') + hex;
}

function orderDigits(order: number): string {
  if (!Number.isInteger(order) || order < 0 || order > 9_999_999_999) {
    throw new RangeError(`event order ${order} is not an integer between 0 and 9999999999`);
  }
  const digits = String(order);
  return (ORDER_PADDING[digits.length] ?? '') + digits;
}

function checkRange(lsn: bigint): void {
  if (lsn < 0n || lsn > MAX_LSN) throw new RangeError(`LSN ${lsn} is outside 0 .. 2^64-1`);
}
