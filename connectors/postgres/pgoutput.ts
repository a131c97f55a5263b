import { TributaryError } from '#core/errors.ts';

// A decoder of pgoutput protocol version 1: the payload of each XLogData message of a logical replication
// stream (PostgreSQL docs, "Logical Replication Message Formats"). It is pure and synchronous, and on the
// capture's hot path: it reads with Buffer methods from a cursor kept in module state (no reader object per
// message), builds one plain object per message, and one array per tuple.
//
// Values stay in pgoutput's text form: values.ts is the one parser of Postgres values, for the snapshot and
// the stream alike.

/** A column that an UPDATE left unchanged and that is TOASTed: pgoutput sends no value for it ('u'). */
export const UNCHANGED: unique symbol = Symbol('pgoutput.unchanged-toast');

/** One column of a tuple: text, SQL NULL, an unchanged TOASTed value, or a binary value (never sent in text mode). */
export type TupleValue = string | null | typeof UNCHANGED | Buffer;

/** A row image: one value per column of the relation, in the relation's column order. */
export type Tuple = TupleValue[];

/** A tuple value as the text the value parsers take: null for SQL NULL and for an unchanged TOASTed value. */
export function tupleText(value: TupleValue): string | null {
  if (value === null || value === UNCHANGED) return null;
  return typeof value === 'string' ? value : value.toString('utf8');
}

export function tupleTexts(tuple: Tuple): (string | null)[] {
  return tuple.map(tupleText);
}

export interface BeginMessage {
  tag: 'begin';
  /** LSN of the transaction's commit record: the `commitLsn` of its Commit message. */
  finalLsn: bigint;
  /** Commit time in epoch milliseconds. */
  commitTime: number;
  /** Commit time in microseconds since 2000-01-01 UTC, as sent (the exact value, for the µs in the envelope). */
  commitTimeMicros: bigint;
  xid: number;
}

export interface CommitMessage {
  tag: 'commit';
  flags: number;
  /** LSN of the commit record. */
  commitLsn: bigint;
  /** LSN just past the commit record: the position to confirm once the transaction is durable downstream. */
  endLsn: bigint;
  commitTime: number;
  commitTimeMicros: bigint;
}

export interface OriginMessage {
  tag: 'origin';
  /** LSN of the commit on the origin server. */
  commitLsn: bigint;
  name: string;
}

export interface RelationColumn {
  /** Part of the replica identity (flag 1): the key pgoutput sends in 'K' tuples. */
  isKey: boolean;
  name: string;
  typeOid: number;
  /** atttypmod: -1 when the type has none; else type specific (varchar(n) → n + 4, numeric(p,s) → ((p << 16) | s) + 4). */
  typeModifier: number;
}

export interface RelationMessage {
  tag: 'relation';
  relationId: number;
  /** Schema name; pgoutput sends '' for pg_catalog. */
  namespace: string;
  name: string;
  /** pg_class.relreplident: 'd' default (primary key), 'n' nothing, 'f' full, 'i' index. */
  replicaIdentity: string;
  columns: RelationColumn[];
}

export interface TypeMessage {
  tag: 'type';
  typeOid: number;
  namespace: string;
  name: string;
}

export interface InsertMessage {
  tag: 'insert';
  relationId: number;
  newTuple: Tuple;
}

export interface UpdateMessage {
  tag: 'update';
  relationId: number;
  /** The old key ('K'): only when the update changed a replica identity column of a non-FULL identity. */
  keyTuple: Tuple | null;
  /** The whole old row ('O'): only with REPLICA IDENTITY FULL. */
  oldTuple: Tuple | null;
  newTuple: Tuple;
}

export interface DeleteMessage {
  tag: 'delete';
  relationId: number;
  /** The key of the deleted row ('K'), non-key columns null. */
  keyTuple: Tuple | null;
  /** The whole deleted row ('O'): only with REPLICA IDENTITY FULL. */
  oldTuple: Tuple | null;
}

export interface TruncateMessage {
  tag: 'truncate';
  relationIds: number[];
  cascade: boolean;
  restartIdentity: boolean;
}

/** A pg_logical_emit_message record (we emit them as heartbeats). */
export interface LogicalMessage {
  tag: 'message';
  /** Emitted inside a transaction (decoded at its commit) rather than on its own at once. */
  transactional: boolean;
  lsn: bigint;
  prefix: string;
  content: Buffer;
}

export type PgOutputMessage =
  | BeginMessage
  | CommitMessage
  | OriginMessage
  | RelationMessage
  | TypeMessage
  | InsertMessage
  | UpdateMessage
  | DeleteMessage
  | TruncateMessage
  | LogicalMessage;

/** Milliseconds from 1970-01-01 to 2000-01-01, the Postgres epoch. */
const POSTGRES_EPOCH_MS = 946_684_800_000;

// The cursor. The decoder is synchronous and never re-entered, so module state is safe and saves allocating a
// reader per message.
const EMPTY = Buffer.alloc(0);
let buf: Buffer = EMPTY;
let pos = 0;

/**
 * Decodes one pgoutput message starting at `offset` of `buffer` and running to its end.
 *
 * Strings are decoded into JS strings and binary values are copied, so the result never refers to `buffer`:
 * the pg protocol parser reuses its buffer for later socket reads.
 */
export function decodePgOutput(buffer: Buffer, offset = 0): PgOutputMessage {
  buf = buffer;
  pos = offset + 1;
  const tag = buffer[offset];
  try {
    switch (tag) {
      case 0x42 /* B */:
        return decodeBegin();
      case 0x43 /* C */:
        return decodeCommit();
      case 0x4f /* O */:
        return { tag: 'origin', commitLsn: u64(), name: cstring() };
      case 0x52 /* R */:
        return decodeRelation();
      case 0x59 /* Y */:
        return { tag: 'type', typeOid: u32(), namespace: cstring(), name: cstring() };
      case 0x49 /* I */:
        return decodeInsert();
      case 0x55 /* U */:
        return decodeUpdate();
      case 0x44 /* D */:
        return decodeDelete();
      case 0x54 /* T */:
        return decodeTruncate();
      case 0x4d /* M */:
        return decodeMessage();
      default:
        throw malformed(tag === undefined ? 'empty message' : `unknown message type 0x${tag.toString(16)} ('${String.fromCharCode(tag)}')`);
    }
  } catch (error) {
    if (error instanceof TributaryError) throw error;
    // Buffer reads past the end throw RangeError: a truncated message.
    throw malformed(`message type '${tag === undefined ? '' : String.fromCharCode(tag)}' is truncated`, error);
  } finally {
    // Do not keep the last socket buffer alive between messages.
    buf = EMPTY;
  }
}

function decodeBegin(): BeginMessage {
  const finalLsn = u64();
  const commitTimeMicros = buf.readBigInt64BE(pos);
  const commitTime = timestampMs();
  return { tag: 'begin', finalLsn, commitTime, commitTimeMicros, xid: u32() };
}

function decodeCommit(): CommitMessage {
  const flags = buf.readUInt8(pos++);
  const commitLsn = u64();
  const endLsn = u64();
  const commitTimeMicros = buf.readBigInt64BE(pos);
  const commitTime = timestampMs();
  return { tag: 'commit', flags, commitLsn, endLsn, commitTime, commitTimeMicros };
}

function decodeRelation(): RelationMessage {
  const relationId = u32();
  const namespace = cstring();
  const name = cstring();
  const replicaIdentity = String.fromCharCode(buf.readUInt8(pos++));
  const count = buf.readUInt16BE(pos);
  pos += 2;
  const columns: RelationColumn[] = [];
  for (let i = 0; i < count; i++) {
    const isKey = (buf.readUInt8(pos++) & 1) === 1;
    const columnName = cstring();
    const typeOid = u32();
    const typeModifier = buf.readInt32BE(pos);
    pos += 4;
    columns.push({ isKey, name: columnName, typeOid, typeModifier });
  }
  return { tag: 'relation', relationId, namespace, name, replicaIdentity, columns };
}

function decodeInsert(): InsertMessage {
  const relationId = u32();
  expectByte(0x4e /* N */, 'insert');
  return { tag: 'insert', relationId, newTuple: tuple() };
}

function decodeUpdate(): UpdateMessage {
  const relationId = u32();
  let keyTuple: Tuple | null = null;
  let oldTuple: Tuple | null = null;
  const kind = buf.readUInt8(pos++);
  if (kind === 0x4b /* K */) keyTuple = tuple();
  else if (kind === 0x4f /* O */) oldTuple = tuple();
  else pos--;
  expectByte(0x4e /* N */, 'update');
  return { tag: 'update', relationId, keyTuple, oldTuple, newTuple: tuple() };
}

function decodeDelete(): DeleteMessage {
  const relationId = u32();
  const kind = buf.readUInt8(pos++);
  if (kind === 0x4b /* K */) return { tag: 'delete', relationId, keyTuple: tuple(), oldTuple: null };
  if (kind === 0x4f /* O */) return { tag: 'delete', relationId, keyTuple: null, oldTuple: tuple() };
  throw malformed(`delete of relation ${relationId} has tuple type 0x${kind.toString(16)} instead of 'K' or 'O'`);
}

function decodeTruncate(): TruncateMessage {
  const count = u32();
  const options = buf.readUInt8(pos++);
  const relationIds: number[] = [];
  for (let i = 0; i < count; i++) relationIds.push(u32());
  return { tag: 'truncate', relationIds, cascade: (options & 1) !== 0, restartIdentity: (options & 2) !== 0 };
}

function decodeMessage(): LogicalMessage {
  const transactional = (buf.readUInt8(pos++) & 1) === 1;
  const lsn = u64();
  const prefix = cstring();
  const length = u32();
  return { tag: 'message', transactional, lsn, prefix, content: copyBytes(length) };
}

// Where each text value of the tuple being decoded lies (-1: not text), filled by tuple()'s first pass.
let textStarts = new Int32Array(64);
let textEnds = new Int32Array(64);

/**
 * TupleData: Int16 column count, then per column a kind byte and, for 't' and 'b', an Int32 length and bytes.
 *
 * Text values are decoded together: one UTF-8 decode of the bytes from the first to the last (kind and length
 * bytes included), then a substring per value. A decode costs about as much per call as per byte on values this
 * short, so this is two to three times faster on a typical row. It is exact when the decoded string has as many
 * characters as the span has bytes: every byte then decoded to one character on its own (ASCII, or an invalid
 * byte as U+FFFD, which it also is when decoded alone), so offsets match. Otherwise (multi-byte characters, or
 * a length byte that happens to start a valid sequence) each value is decoded by itself.
 */
function tuple(): Tuple {
  const count = buf.readUInt16BE(pos);
  pos += 2;
  if (textStarts.length < count) {
    textStarts = new Int32Array(count);
    textEnds = new Int32Array(count);
  }
  const values: Tuple = new Array(count);
  let first = -1;
  let last = -1;
  for (let i = 0; i < count; i++) {
    const kind = buf[pos++];
    textStarts[i] = -1;
    if (kind === 0x74 /* t */) {
      const length = buf.readUInt32BE(pos);
      const start = pos + 4;
      pos = start + length;
      if (pos > buf.length) throw malformed(`a text value of ${length} bytes runs past the end of the message`);
      textStarts[i] = start;
      textEnds[i] = pos;
      if (first < 0) first = start;
      last = pos;
    } else if (kind === 0x6e /* n */) {
      values[i] = null;
    } else if (kind === 0x75 /* u */) {
      values[i] = UNCHANGED;
    } else if (kind === 0x62 /* b */) {
      const length = u32();
      values[i] = copyBytes(length);
    } else {
      throw malformed(kind === undefined ? 'a tuple is truncated' : `column ${i + 1} of a tuple has kind 0x${kind.toString(16)}`);
    }
  }
  if (first < 0) return values;
  const span = buf.toString('utf8', first, last);
  const oneToOne = span.length === last - first;
  for (let i = 0; i < count; i++) {
    const start = textStarts[i] as number;
    if (start < 0) continue;
    const end = textEnds[i] as number;
    values[i] = oneToOne ? span.substring(start - first, end - first) : buf.toString('utf8', start, end);
  }
  return values;
}

function u32(): number {
  const value = buf.readUInt32BE(pos);
  pos += 4;
  return value;
}

function u64(): bigint {
  const value = buf.readBigUInt64BE(pos);
  pos += 8;
  return value;
}

/** The Int64 timestamp at the cursor as epoch ms, read as two halves: exact as a double for ±285 years. */
function timestampMs(): number {
  const micros = buf.readInt32BE(pos) * 4_294_967_296 + buf.readUInt32BE(pos + 4);
  pos += 8;
  return Math.floor(micros / 1000) + POSTGRES_EPOCH_MS;
}

/** A NUL-terminated UTF-8 string. */
function cstring(): string {
  const nul = buf.indexOf(0, pos);
  if (nul < 0) throw malformed('a string has no terminating NUL');
  const value = buf.toString('utf8', pos, nul);
  pos = nul + 1;
  return value;
}

function copyBytes(length: number): Buffer {
  const end = pos + length;
  if (end > buf.length) throw malformed(`a value of ${length} bytes runs past the end of the message`);
  const copy = Buffer.allocUnsafe(length);
  buf.copy(copy, 0, pos, end);
  pos = end;
  return copy;
}

function expectByte(expected: number, what: string): void {
  const actual = buf.readUInt8(pos++);
  if (actual !== expected) {
    throw malformed(`${what} has tuple type 0x${actual.toString(16)} where '${String.fromCharCode(expected)}' was expected`);
  }
}

function malformed(detail: string, cause?: unknown): TributaryError {
  // A message we cannot read is a protocol mismatch or a bug: retrying would read the same bytes again.
  return new TributaryError('INTERNAL', `decoding a pgoutput message: ${detail}`, cause === undefined ? {} : { cause });
}
