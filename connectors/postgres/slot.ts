import { setTimeout as delay } from 'node:timers/promises';
import type pg from 'pg';
import { TributaryError } from '#core/errors.ts';
import { classifyPostgresError, quoteLiteral } from './connection.ts';
import { parseLsn } from './lsn.ts';

// A logical replication slot is the source's position on the server: it keeps every WAL segment from its
// restart_lsn on, and hands out changes after its confirmed_flush_lsn. This file reads, checks and drops slots
// with plain SQL; creating one and streaming from it belong to the replication connection.

/** pg_replication_slots.wal_status (PostgreSQL 13 and later): how safe the WAL the slot needs is. */
export type WalStatus = 'reserved' | 'extended' | 'unreserved' | 'lost';

export interface SlotInfo {
  name: string;
  slotType: 'logical' | 'physical';
  /** The database a logical slot decodes; null for a physical slot. */
  database: string | null;
  /** The output plugin of a logical slot; null for a physical slot. */
  plugin: string | null;
  active: boolean;
  /** The process streaming from the slot, while active. */
  activePid: number | null;
  /** Everything before it is acknowledged: streaming resumes here. Null until the slot is first used. */
  confirmedFlushLsn: bigint | null;
  /** The oldest WAL the slot keeps on the server's disk. */
  restartLsn: bigint | null;
  /** Null before PostgreSQL 13, which does not report it. */
  walStatus: WalStatus | null;
  /** WAL the slot is behind: the server's current LSN minus confirmed_flush_lsn (replay LSN on a standby). */
  retainedBytes: bigint | null;
  /** WAL the slot keeps on disk: the current LSN minus restart_lsn; max_slot_wal_keep_size is measured on it. */
  reservedBytes: bigint | null;
  /** WAL that may still be written before the slot is invalidated; null when max_slot_wal_keep_size is -1. */
  safeWalBytes: bigint | null;
}

// to_jsonb(s) reads columns that older servers lack (wal_status and safe_wal_size came in 13) as null instead
// of failing the query. Every column is cast to text so that the answer does not depend on the client's parsers.
const SLOT_QUERY = `
  SELECT s.slot_name::text AS name, s.slot_type::text AS slot_type, s.database::text AS database, s.plugin::text AS plugin,
         s.active::text AS active, s.active_pid::text AS active_pid,
         s.confirmed_flush_lsn::text AS confirmed_flush_lsn, s.restart_lsn::text AS restart_lsn,
         to_jsonb(s) ->> 'wal_status' AS wal_status, to_jsonb(s) ->> 'safe_wal_size' AS safe_wal_size,
         pg_wal_lsn_diff(w.lsn, s.confirmed_flush_lsn)::bigint::text AS retained_bytes,
         pg_wal_lsn_diff(w.lsn, s.restart_lsn)::bigint::text AS reserved_bytes
    FROM pg_replication_slots s,
         (SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END AS lsn) w
   WHERE s.slot_name = $1`;

type SlotRow = Record<
  | 'name'
  | 'slot_type'
  | 'database'
  | 'plugin'
  | 'active'
  | 'active_pid'
  | 'confirmed_flush_lsn'
  | 'restart_lsn'
  | 'wal_status'
  | 'safe_wal_size'
  | 'retained_bytes'
  | 'reserved_bytes',
  string | null
>;

/** The slot named `slotName`, or null when there is none. */
export async function slotInfo(client: pg.ClientBase, slotName: string): Promise<SlotInfo | null> {
  let rows: SlotRow[];
  try {
    ({ rows } = await client.query<SlotRow>(SLOT_QUERY, [slotName]));
  } catch (error) {
    throw classifyPostgresError(`reading replication slot "${slotName}"`, error);
  }
  const row = rows[0];
  return row ? slotFromRow(row) : null;
}

function slotFromRow(row: SlotRow): SlotInfo {
  const bigintOrNull = (text: string | null) => (text === null ? null : BigInt(text));
  const lsnOrNull = (text: string | null) => (text === null ? null : parseLsn(text));
  return {
    name: row.name ?? '',
    slotType: row.slot_type === 'physical' ? 'physical' : 'logical',
    database: row.database,
    plugin: row.plugin,
    active: row.active === 'true',
    activePid: row.active_pid === null ? null : Number(row.active_pid),
    confirmedFlushLsn: lsnOrNull(row.confirmed_flush_lsn),
    restartLsn: lsnOrNull(row.restart_lsn),
    walStatus: (row.wal_status as WalStatus | null) ?? null,
    retainedBytes: bigintOrNull(row.retained_bytes),
    reservedBytes: bigintOrNull(row.reserved_bytes),
    safeWalBytes: bigintOrNull(row.safe_wal_size),
  };
}

/**
 * What makes an existing slot unusable for a source in `database`, or null when it can be streamed from.
 * A slot of another kind, database or plugin is a setup problem (PREFLIGHT_FAILED) naming the fix; a slot the
 * server invalidated for holding too much WAL is POSITION_LOST: the changes it kept are gone.
 */
export function slotProblem(info: SlotInfo, database: string, options: { sourceName?: string } = {}): TributaryError | null {
  const slot = `replication slot "${info.name}"`;
  const dropIt = `SELECT pg_drop_replication_slot(${quoteLiteral(info.name)})`;
  const elsewhere = `set slotName to another name for this source, or drop the slot if nothing reads it (${dropIt})`;
  if (info.slotType !== 'logical') {
    return new TributaryError('PREFLIGHT_FAILED', `${slot} is a physical slot, not a logical one; ${elsewhere}`);
  }
  if (info.database !== database) {
    return new TributaryError('PREFLIGHT_FAILED', `${slot} belongs to database "${info.database ?? ''}", not "${database}"; ${elsewhere}`);
  }
  if (info.plugin !== 'pgoutput') {
    return new TributaryError('PREFLIGHT_FAILED', `${slot} uses the output plugin ${info.plugin ?? 'none'}, not pgoutput; ${elsewhere}`);
  }
  if (info.walStatus === 'lost') {
    const source = options.sourceName ?? '<source>';
    return new TributaryError(
      'POSITION_LOST',
      `${slot} was invalidated: it retained more WAL than max_slot_wal_keep_size allows, so the changes it kept are gone ` +
        `and the snapshot must be redone; set snapshot: when_needed, or run tributary capture ${source} --drop-slot`,
    );
  }
  return null;
}

/**
 * Drops the slot; false when there was none. A slot something streams from cannot be dropped: that is an error
 * unless `terminateActive`, which ends the walsender holding it first (the capture of this source, which the
 * caller has stopped or is replacing) and waits for the server to release the slot.
 */
export async function dropSlot(
  client: pg.ClientBase,
  slotName: string,
  options: { terminateActive?: boolean; timeoutMs?: number } = {},
): Promise<boolean> {
  const action = `dropping replication slot "${slotName}"`;
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  try {
    for (let pause = 20; ; pause = Math.min(pause * 2, 500)) {
      const info = await slotInfo(client, slotName);
      if (info === null) return false;
      if (info.activePid === null) {
        try {
          await client.query('SELECT pg_drop_replication_slot($1)', [slotName]);
          return true;
        } catch (error) {
          // 42704: someone else dropped it between the two statements; 55006: someone started streaming from it.
          const code = (error as { code?: string }).code;
          if (code === '42704') return false;
          if (code !== '55006') throw error;
          continue;
        }
      }
      if (!options.terminateActive) {
        throw new TributaryError(
          'SOURCE_REJECTED',
          `${action}: the slot is in use by process ${info.activePid}; stop the capture that streams from it first`,
        );
      }
      // The walsender releases the slot while it exits, a moment after pg_terminate_backend returns; this
      // waits for that with a deadline, not a retry of a failure.
      if (Date.now() > deadline) {
        throw new TributaryError('SOURCE_UNAVAILABLE', `${action}: process ${info.activePid} still holds the slot after it was asked to end`, {
          retriable: true,
        });
      }
      await client.query('SELECT pg_terminate_backend($1)', [info.activePid]);
      await delay(pause);
    }
  } catch (error) {
    throw classifyPostgresError(action, error);
  }
}

/**
 * Writes a non-transactional logical decoding message and returns its LSN. pgoutput passes it to the
 * replication connection when started with messages 'true' (PostgreSQL 14 and later): a change to acknowledge
 * while the captured tables are idle, so the slot keeps advancing and the server can recycle WAL that other
 * tables' writes fill. The message commits nothing, so nothing flushes it: the walsender sends it once the WAL
 * writer has (within wal_writer_delay, 200 ms by default) or the next commit does.
 */
export async function emitHeartbeat(client: pg.ClientBase): Promise<bigint> {
  try {
    const { rows } = await client.query<{ lsn: string }>("SELECT pg_logical_emit_message(false, 'tributary.heartbeat', '')::text AS lsn");
    return parseLsn(rows[0]?.lsn ?? '');
  } catch (error) {
    throw classifyPostgresError('writing a heartbeat message to the WAL', error);
  }
}

/** A warning when the slot keeps more WAL than `thresholdBytes` (0 or less disables it), else null. */
export function retainedWalWarning(bytes: bigint | null, thresholdBytes: bigint | number, slotName?: string): string | null {
  const threshold = BigInt(thresholdBytes);
  if (bytes === null || threshold <= 0n || bytes <= threshold) return null;
  const slot = slotName === undefined ? 'the replication slot' : `replication slot "${slotName}"`;
  return (
    `${slot} is ${formatBytes(bytes)} of WAL behind the server (warning threshold ${formatBytes(threshold)}); ` +
    `the server keeps that WAL on disk until capture catches up: check that capture is running and keeping up, ` +
    `and set max_slot_wal_keep_size so a stalled slot cannot fill the disk`
  );
}

const UNITS = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536n → '1.5 KiB'. */
export function formatBytes(bytes: bigint): string {
  let unit = 0;
  while (unit < UNITS.length - 1 && bytes >= 1024n ** BigInt(unit + 1)) unit++;
  if (unit === 0) return `${bytes} bytes`;
  // One decimal: divide the bytes by 1024^unit in tenths, in bigint to stay exact beyond 2^53.
  const tenths = (bytes * 10n) / 1024n ** BigInt(unit);
  return `${tenths / 10n}.${tenths % 10n} ${UNITS[unit]}`;
}
