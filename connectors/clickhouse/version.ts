import { TributaryError } from '#core/errors.ts';

// ReplacingMergeTree keeps, per key, the row with the highest version, so the version must order rows exactly as
// their source positions do. Positions are strings; the version column is a UInt64, so each position shape is
// packed into 64 bits here. Wall-clock time is never used: two changes in one millisecond, or a replay, would
// then be ordered by when Tributary saw them instead of by where they are in the source.

// MySQL/MariaDB (connectors/mysql/position.ts): `ffffffffff:pppppppppppppppppppp:rrrrrr` = binlog file sequence,
// byte offset of the transaction in that file, index of the row among the transaction's changes. Packed as
//   file sequence (20 bits) | byte offset + row index (44 bits).
// Adding the row index to the offset keeps the order: every row of a transaction takes at least one byte of
// binlog, so the next transaction starts beyond offset + row count of this one, and within a transaction the
// offset is shared and the row index grows. A snapshot's rows all carry row index 0 at the snapshot's position.
const MYSQL_POSITION = /^\d{10}:\d{20}:\d{6}$/;
const COLON = 0x3a;
const FILE_BITS = 20n;
const OFFSET_BITS = 44n;

/** The largest value of each MySQL version field; a position beyond one is refused. */
export const MYSQL_VERSION_LIMITS = {
  fileSequence: (1n << FILE_BITS) - 1n,
  /** Byte offset plus row index: 16 TiB into one binlog file. */
  offsetPlusRow: (1n << OFFSET_BITS) - 1n,
} as const;

// PostgreSQL (connectors/postgres/lsn.ts): `cccccccccccccccc:oooooooooo:rrrrrrrrrrrrrrrr` = commit LSN, order in the
// transaction, LSN of the change's own WAL record, hex/decimal/hex. The version is the record LSN: for one primary
// key it grows in commit order (the transaction that changed a row holds its lock until it commits, so the next
// change of that row is written after that commit), and it fits 64 bits with no limit. Snapshot rows carry record
// LSN 0: a snapshot row is older than every streamed change of its key, including one written before the slot's
// consistent point but committed after it, which the snapshot did not see.
const POSTGRES_POSITION = /^[0-9A-F]{16}:\d{10}:([0-9A-F]{16})$/;

/**
 * The `__tributary_version` of a change at `position`: a UInt64 whose numeric order is the positions' string
 * order (comparePositions). A position that does not fit is refused with a fatal error naming the limit, never
 * truncated, because a wrapped version would let an older change win over a newer one.
 */
export function positionVersion(position: string): bigint {
  // The common shape first, without a regular expression or a match array: this runs for every row.
  if (position.length === 38 && position.charCodeAt(10) === COLON && position.charCodeAt(31) === COLON && MYSQL_POSITION.test(position)) {
    return mySqlVersion(position, BigInt(position.slice(0, 10)), BigInt(position.slice(11, 31)) + BigInt(position.slice(32)));
  }
  const postgres = POSTGRES_POSITION.exec(position);
  if (postgres) return BigInt(`0x${postgres[1] as string}`);
  throw new TributaryError(
    'SINK_SCHEMA_INCOMPATIBLE',
    `position "${position}" has no known shape; the ClickHouse sink derives row versions from MySQL/MariaDB positions ` +
      '(file:offset:row, 10:20:6 digits) and PostgreSQL positions (commit LSN:order:record LSN, 16:10:16 digits)',
  );
}

function mySqlVersion(position: string, file: bigint, offsetPlusRow: bigint): bigint {
  if (file > MYSQL_VERSION_LIMITS.fileSequence) {
    throw overLimit(position, 'binlog file sequence', file, MYSQL_VERSION_LIMITS.fileSequence, 'the binlog numbering must be reset (RESET MASTER) and the table re-snapshotted');
  }
  if (offsetPlusRow > MYSQL_VERSION_LIMITS.offsetPlusRow) {
    throw overLimit(position, 'byte offset + row index', offsetPlusRow, MYSQL_VERSION_LIMITS.offsetPlusRow, 'keep binlog files under 16 TiB');
  }
  return (file << OFFSET_BITS) | offsetPlusRow;
}

function overLimit(position: string, part: string, value: bigint, limit: bigint, why: string): TributaryError {
  return new TributaryError(
    'SINK_SCHEMA_INCOMPATIBLE',
    `position "${position}": ${part} ${value} exceeds ${limit}, the most a ClickHouse row version holds ` +
      `(file sequence 20 bits | byte offset + row index 44 bits); ${why}`,
  );
}
