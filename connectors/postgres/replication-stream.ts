import type { Duplex } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import pg from 'pg';
import type { PostgresConnection } from '#config/connection.ts';
import { BoundedQueue } from '#core/bounded-queue.ts';
import { TributaryError, withAction } from '#core/errors.ts';
import { classifyPostgresError, pgOptions, quoteIdent, quoteLiteral } from './connection.ts';
import { formatLsn, parseLsn } from './lsn.ts';
import { decodePgOutput, type PgOutputMessage } from './pgoutput.ts';

// A walsender connection (replication=database) driven by hand over pg's wire connection, so that we decide
// what is acknowledged: the server may only recycle WAL and advance the slot's confirmed_flush_lsn up to what
// the caller has confirmed durable, never up to what was merely received.
//
// pg 8.x has no CopyBoth API, but its pieces suffice: pg-protocol parses CopyBothResponse (emitted on
// client.connection as 'replicationStart') and CopyData ('copyData', with `chunk`), the START_REPLICATION
// query stays the client's active query for the whole stream (its promise settles when copy mode ends, or
// rejects on an ErrorResponse or a lost socket), and connection.sendCopyFromChunk / endCopyFrom write
// CopyData and CopyDone.

/** One XLogData message of the stream, its pgoutput payload decoded. */
export interface WalMessage {
  /** WAL position the message's data starts at, as the server reports it. */
  walStart: bigint;
  /** The end of WAL on the server when it sent this message. */
  walEnd: bigint;
  message: PgOutputMessage;
}

/** The messages of a started stream, one by one or in runs. */
export interface WalStream extends AsyncIterable<WalMessage> {
  /**
   * The same messages, each run everything received and not yet taken (up to `max`): a consumer that keeps up
   * awaits once per run instead of once per message. Either way of iterating ends the same way.
   */
  runs(max?: number): AsyncIterable<WalMessage[]>;
}

/** Messages per run: enough that awaiting costs nothing per row, few enough to stay well within the queue's bound. */
const DEFAULT_RUN = 1_024;

export interface SystemIdentity {
  /** The cluster's system identifier: a 64-bit decimal, kept as text. */
  systemId: string;
  timeline: number;
  /** Current WAL flush position. */
  xlogPos: bigint;
  dbName: string | null;
}

export interface CreatedSlot {
  slotName: string;
  /** The LSN from which the slot streams: changes committed after it are streamed, the snapshot sees the rest. */
  consistentPoint: bigint;
  /** The exported snapshot's name, for SET TRANSACTION SNAPSHOT; null unless asked for. */
  snapshotName: string | null;
}

export interface StartReplicationOptions {
  slot: string;
  /** Where to stream from; the server starts at the slot's confirmed_flush_lsn if that is later. */
  startLsn: bigint;
  publications: readonly string[];
  /** Also stream pg_logical_emit_message records (PostgreSQL 14 and later). */
  messages?: boolean;
}

export interface ReplicationConnectionOptions {
  /** Bytes of decoded messages buffered before the socket is paused. Default 4 MiB. */
  maxQueueBytes?: number;
  /** Standby status updates are sent at least this often (wal_sender_timeout is 60 s by default). Default 10 s. */
  statusIntervalMs?: number;
  applicationName?: string;
}

const DEFAULT_MAX_QUEUE_BYTES = 4 * 1024 * 1024;
const DEFAULT_STATUS_INTERVAL_MS = 10_000;
/** Acknowledgements are reported to the server at most this often. */
const ACK_INTERVAL_MS = 1_000;
/** How long close() waits for the server to leave copy mode before it drops the socket. */
const CLOSE_WAIT_MS = 5_000;
const POSTGRES_EPOCH_MS = 946_684_800_000;

/** The parts of pg's (untyped) wire connection that CopyBoth needs. */
interface WireConnection {
  stream: Duplex;
  on(event: 'copyData', listener: (message: { chunk: Buffer }) => void): void;
  once(event: 'replicationStart', listener: () => void): void;
  removeListener(event: 'copyData' | 'replicationStart', listener: (...args: never[]) => void): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

export class ReplicationConnection {
  private readonly wire: WireConnection;
  private readonly maxQueueBytes: number;
  private readonly statusIntervalMs: number;
  private serverVersionNum: number | null = null;

  private queue: BoundedQueue<WalMessage> | null = null;
  /** Settles when the START_REPLICATION command ends (copy mode over, error, or socket lost). */
  private streamEnded: Promise<void> | null = null;
  /** In copy mode and not yet told the server to stop: status updates may be written. */
  private streaming = false;
  private closed = false;
  private closing: Promise<void> | null = null;
  private startLsn = 0n;
  private acknowledged: bigint | null = null;
  private lastStatusAt = 0;
  private statusTimer: NodeJS.Timeout | null = null;
  private ackTimer: NodeJS.Timeout | null = null;
  // Our listeners on pg's connection, removed by reference: pg listens to 'copyData' too.
  private onCopyData: ((message: { chunk: Buffer }) => void) | null = null;
  private onReplicationStart: (() => void) | null = null;

  private constructor(
    private readonly client: pg.Client,
    options: ReplicationConnectionOptions,
  ) {
    this.wire = client.connection as unknown as WireConnection;
    this.maxQueueBytes = options.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES;
    this.statusIntervalMs = options.statusIntervalMs ?? DEFAULT_STATUS_INTERVAL_MS;
    // A socket error also rejects the active command, which is where it is reported; this listener only keeps
    // pg's 'error' event from crashing the process.
    client.on('error', () => undefined);
  }

  /** Opens a walsender connection (replication=database) with the source's session settings. */
  static async connect(config: PostgresConnection, options: ReplicationConnectionOptions = {}): Promise<ReplicationConnection> {
    const client = new pg.Client(
      pgOptions(config, { replication: true, ...(options.applicationName === undefined ? {} : { applicationName: options.applicationName }) }),
    );
    const connection = new ReplicationConnection(client, options);
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => undefined);
      throw classifyPostgresError(`opening a replication connection to ${config.host}:${config.port}/${config.database}`, error);
    }
    return connection;
  }

  /** IDENTIFY_SYSTEM: the cluster, its timeline, the current WAL position and the connection's database. */
  async identify(): Promise<SystemIdentity> {
    const row = (await this.command('identifying the system', 'IDENTIFY_SYSTEM'))[0] ?? {};
    return {
      systemId: String(row.systemid),
      timeline: Number(row.timeline),
      xlogPos: parseLsn(String(row.xlogpos)),
      dbName: row.dbname == null ? null : String(row.dbname),
    };
  }

  /**
   * Creates a logical slot with the pgoutput plugin.
   *
   * With `exportSnapshot`, the returned snapshot shows exactly the transactions committed before the slot's
   * consistent point, so a snapshot read in it plus the stream from the slot miss and repeat nothing. That
   * snapshot lives only until the next command on this connection: the caller must import it (BEGIN ISOLATION
   * LEVEL REPEATABLE READ; SET TRANSACTION SNAPSHOT '…' on another connection) before using this connection
   * again — including start() — or closing it. The importing transaction keeps it alive from then on.
   */
  async createSlot(name: string, options: { exportSnapshot: boolean; temporary?: boolean }): Promise<CreatedSlot> {
    const version = await this.serverVersion();
    const row = (await this.command(`creating replication slot "${name}"`, createSlotCommand(name, options, version)))[0] ?? {};
    return {
      slotName: String(row.slot_name),
      consistentPoint: parseLsn(String(row.consistent_point)),
      snapshotName: row.snapshot_name == null ? null : String(row.snapshot_name),
    };
  }

  /** Drops a slot, waiting for another process using it to let go instead of failing at once. */
  async dropSlot(name: string): Promise<void> {
    // Plain classification: for a drop, a missing slot is a refused statement, not a lost position.
    await this.command(`dropping replication slot "${name}"`, `DROP_REPLICATION_SLOT ${quoteIdent(name)} WAIT`, classifyPostgresError);
  }

  /**
   * START_REPLICATION: resolves once the server is streaming (CopyBoth), or rejects with a classified error
   * (see classifyReplicationError: a missing or invalidated slot is POSITION_LOST). The returned stream can
   * be iterated once, by message or by runs; it ends after close() and fails with a classified TributaryError when the connection
   * or the server fails. Breaking out of it closes the connection.
   */
  async start(options: StartReplicationOptions): Promise<WalStream> {
    if (this.queue || this.closed) throw new TributaryError('INTERNAL', 'a replication connection streams once; open another one');
    const action = `streaming replication slot "${options.slot}" from ${formatLsn(options.startLsn)}`;
    const version = await this.serverVersion();
    if (options.messages && version < 140_000) {
      throw new TributaryError('SOURCE_REJECTED', `${action}: logical decoding messages need PostgreSQL 14 or later (server_version_num ${version})`);
    }
    this.startLsn = options.startLsn;
    const queue = new BoundedQueue<WalMessage>(this.maxQueueBytes, {
      pause: () => this.wire.stream.pause(),
      resume: () => this.wire.stream.resume(),
    });
    this.queue = queue;
    this.onCopyData = (message) => this.receive(message.chunk, queue, action);
    this.wire.on('copyData', this.onCopyData);

    let entered = false;
    await new Promise<void>((resolve, reject) => {
      this.onReplicationStart = () => {
        entered = true;
        this.streaming = true;
        this.lastStatusAt = Date.now();
        this.statusTimer = setInterval(() => this.sendStatusUpdate(), this.statusIntervalMs);
        this.statusTimer.unref();
        resolve();
      };
      this.wire.once('replicationStart', this.onReplicationStart);
      this.streamEnded = this.client.query(startReplicationCommand(options)).then(
        () => {
          const error = new TributaryError('SOURCE_UNAVAILABLE', `${action}: the server ended the replication stream`, { retriable: true });
          if (entered) this.stop(this.closed ? null : error);
          else reject(error);
        },
        (error: unknown) => {
          const classified = classifyReplicationError(action, error, options.slot);
          if (entered) this.stop(this.closed ? null : classified);
          else reject(classified);
        },
      );
    }).catch((error: unknown) => {
      // The server refused START_REPLICATION and is ready for commands again (to drop the slot, say).
      this.stop(error);
      this.queue = null;
      throw error;
    });

    const iterator = <T>(next: () => Promise<IteratorResult<T>>): AsyncIterator<T> => ({
      next: () => (this.closed ? Promise.resolve({ value: undefined, done: true as const }) : next()),
      return: async () => {
        await this.close();
        return { value: undefined, done: true as const };
      },
    });
    return {
      [Symbol.asyncIterator]: () => iterator(() => queue.next()),
      runs: (max = DEFAULT_RUN) => ({ [Symbol.asyncIterator]: () => iterator(() => queue.nextBatch(max)) }),
    };
  }

  /**
   * Confirms that everything up to `lsn` is durable downstream. The slot's confirmed_flush_lsn becomes exactly
   * this (the server keeps the WAL after it and resumes there on reconnection), reported within a second. To
   * confirm a whole transaction pass its Commit's endLsn: the server skips, on restart, the transactions whose
   * commit record starts before the confirmed position, so confirming commitLsn would have it sent again.
   * A smaller LSN than already acknowledged is ignored.
   */
  acknowledge(lsn: bigint): void {
    if (this.acknowledged !== null && lsn <= this.acknowledged) return;
    this.acknowledged = lsn;
    if (!this.streaming || this.ackTimer) return;
    const wait = Math.max(0, this.lastStatusAt + ACK_INTERVAL_MS - Date.now());
    this.ackTimer = setTimeout(() => {
      this.ackTimer = null;
      this.sendStatusUpdate();
    }, wait);
    this.ackTimer.unref();
  }

  /** The LSN reported to the server as written, flushed and applied: the last acknowledged, else the start LSN. */
  get confirmedLsn(): bigint {
    return this.acknowledged !== null && this.acknowledged > this.startLsn ? this.acknowledged : this.startLsn;
  }

  /** Sends a standby status update now. It never reports more than what was acknowledged. */
  sendStatusUpdate(): void {
    if (!this.streaming || !this.wire.stream.writable) return;
    this.lastStatusAt = Date.now();
    this.wire.sendCopyFromChunk(standbyStatusUpdate(this.confirmedLsn, this.lastStatusAt));
  }

  /**
   * Leaves copy mode with a final status update and closes the connection. Safe to call twice and while a
   * consumer is iterating: its iteration then ends.
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private async shutDown(): Promise<void> {
    this.closed = true;
    const wasStreaming = this.streaming;
    if (wasStreaming) this.sendStatusUpdate();
    this.stop(null);
    if (wasStreaming && this.wire.stream.writable) {
      this.wire.endCopyFrom();
      // Wait for the server's CopyDone and ReadyForQuery so that pg ends the session with a Terminate message:
      // dropping the socket under an active command could lose the final status update. The socket may have
      // been paused by back-pressure; what arrives now is discarded.
      this.wire.stream.resume();
      const timeout = new AbortController();
      await Promise.race([this.streamEnded, delay(CLOSE_WAIT_MS, undefined, { signal: timeout.signal }).catch(() => undefined)]);
      timeout.abort();
    }
    await this.client.end().catch(() => undefined);
  }

  /** Ends streaming: no more status updates; the consumer gets the queued messages, then `error` or the end. */
  private stop(error: unknown): void {
    this.streaming = false;
    if (this.statusTimer) clearInterval(this.statusTimer);
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.statusTimer = null;
    this.ackTimer = null;
    if (this.onCopyData) this.wire.removeListener('copyData', this.onCopyData);
    if (this.onReplicationStart) this.wire.removeListener('replicationStart', this.onReplicationStart);
    this.onCopyData = null;
    this.onReplicationStart = null;
    if (error === null) this.queue?.end();
    else this.queue?.fail(error);
  }

  private receive(chunk: Buffer, queue: BoundedQueue<WalMessage>, action: string): void {
    if (!this.streaming) return;
    try {
      const kind = chunk[0];
      if (kind === 0x77 /* w: XLogData */) {
        // Header: walStart Int64, walEnd Int64, send time Int64; the pgoutput message follows.
        const message = decodePgOutput(chunk, 25);
        // Decoded strings take about twice their UTF-8 size; the estimate only needs to be proportional.
        queue.push({ walStart: chunk.readBigUInt64BE(1), walEnd: chunk.readBigUInt64BE(9), message }, 96 + chunk.length * 2);
      } else if (kind === 0x6b /* k: primary keepalive */) {
        // walEnd Int64, send time Int64, reply requested Byte1. The reply reports the acknowledged position,
        // never walEnd: answering with what was received would confirm work not yet delivered.
        if (chunk[17] === 1) this.sendStatusUpdate();
      }
    } catch (error) {
      // A message we cannot decode: stop here rather than skip it.
      const at = chunk.length >= 9 ? ` at ${formatLsn(chunk.readBigUInt64BE(1))}` : '';
      this.stop(withAction(`${action}, message${at}`, error));
      void this.client.end().catch(() => undefined);
    }
  }

  /** server_version_num (150004 for 15.4), read once. */
  async serverVersion(): Promise<number> {
    if (this.serverVersionNum === null) {
      const row = (await this.command('reading the server version', 'SHOW server_version_num'))[0] ?? {};
      this.serverVersionNum = Number(row.server_version_num);
    }
    return this.serverVersionNum;
  }

  private async command(
    action: string,
    text: string,
    classify: (action: string, error: unknown) => TributaryError = classifyReplicationError,
  ): Promise<Array<Record<string, unknown>>> {
    if (this.queue || this.closed) throw new TributaryError('INTERNAL', `${action}: the replication connection is streaming or closed`);
    try {
      return (await this.client.query(text)).rows as Array<Record<string, unknown>>;
    } catch (error) {
      throw classify(action, error);
    }
  }
}

/**
 * CREATE_REPLICATION_SLOT for a server version: the option list (SNAPSHOT 'export') from PostgreSQL 15 on,
 * the EXPORT_SNAPSHOT / NOEXPORT_SNAPSHOT keywords (deprecated since 15) on 10 to 14.
 */
export function createSlotCommand(name: string, options: { exportSnapshot: boolean; temporary?: boolean }, serverVersionNum: number): string {
  const head = `CREATE_REPLICATION_SLOT ${quoteIdent(name)}${options.temporary ? ' TEMPORARY' : ''} LOGICAL pgoutput`;
  if (serverVersionNum >= 150_000) return `${head} (SNAPSHOT '${options.exportSnapshot ? 'export' : 'nothing'}')`;
  return `${head} ${options.exportSnapshot ? 'EXPORT_SNAPSHOT' : 'NOEXPORT_SNAPSHOT'}`;
}

/** START_REPLICATION with pgoutput protocol 1; publication names are quoted identifiers inside one literal. */
export function startReplicationCommand(options: StartReplicationOptions): string {
  const pluginOptions = [`proto_version '1'`, `publication_names ${quoteLiteral(options.publications.map(quoteIdent).join(','))}`];
  if (options.messages) pluginOptions.push(`messages 'true'`);
  return `START_REPLICATION SLOT ${quoteIdent(options.slot)} LOGICAL ${formatLsn(options.startLsn)} (${pluginOptions.join(', ')})`;
}

/**
 * Standby Status Update ('r'): written, flushed and applied positions — all `lsn`, since for logical
 * replication the server reads the flushed one as the slot's confirmed_flush_lsn — the client's clock in µs
 * since 2000-01-01, and no reply requested.
 */
export function standbyStatusUpdate(lsn: bigint, nowMs: number): Buffer {
  const message = Buffer.allocUnsafe(34);
  message[0] = 0x72;
  message.writeBigUInt64BE(lsn, 1);
  message.writeBigUInt64BE(lsn, 9);
  message.writeBigUInt64BE(lsn, 17);
  message.writeBigInt64BE(BigInt(nowMs - POSTGRES_EPOCH_MS) * 1000n, 25);
  message[33] = 0;
  return message;
}

const SLOT_GONE =
  /replication slot "[^"]*" does not exist|can no longer get changes from replication slot|This slot has been invalidated|requested WAL segment \S+ has already been removed/i;
const SLOT_ACTIVE = /replication slot "([^"]*)" is active for PID (\d+)/i;

/**
 * Replication errors at the edge. A slot that is gone — dropped, never created, or invalidated because the
 * WAL it needed was removed (max_slot_wal_keep_size) — is POSITION_LOST: no retry brings it back, only a new
 * snapshot. A slot another process streams from is a retriable SOURCE_UNAVAILABLE (a previous capture's
 * walsender may not have noticed its client is gone yet). The rest is classified as any Postgres error.
 */
export function classifyReplicationError(action: string, error: unknown, slot?: string): TributaryError {
  if (error instanceof TributaryError) return error;
  const fields = error as { code?: string; detail?: string; routine?: string };
  const message = error instanceof Error ? error.message : String(error);
  const text = `${message} ${fields.detail ?? ''}`;
  // The server may word its messages in another language (lc_messages): SQLSTATE and routine decide too.
  const missing = fields.code === '42704' && fields.routine === 'ReplicationSlotAcquire';
  if (missing || SLOT_GONE.test(text) || (fields.code === '55000' && /invalidated/i.test(text))) {
    const named = slot === undefined ? 'the replication slot' : `replication slot "${slot}"`;
    return new TributaryError(
      'POSITION_LOST',
      `${action}: ${message}${fields.detail ? ` (${fields.detail})` : ''}; ${named} is gone, with the changes it kept, so a new snapshot must be taken: set snapshot: when_needed, or recreate the slot with \`tributary capture <name> --drop-slot\`, then start again`,
      { cause: error },
    );
  }
  const active = SLOT_ACTIVE.exec(message);
  if (active || fields.code === '55006') {
    const what = active ? `replication slot "${active[1]}" is in use by the process with PID ${active[2]}` : message;
    return new TributaryError(
      'SOURCE_UNAVAILABLE',
      `${action}: ${what}: another capture streams from it, or a previous one whose connection the server has not yet noticed is gone`,
      { retriable: true, cause: error },
    );
  }
  return classifyPostgresError(action, error);
}
