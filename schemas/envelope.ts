import type { ChangeEvent, Row, SourceInfo } from '#core/change-event.ts';
import { TRIBUTARY_VERSION } from '#core/version.ts';
import type { TableAvro } from './table-avro.ts';

// ChangeEvent ⇄ the Avro records of the envelope. Values pass through unchanged: ColumnValue already is the
// Avro form (bigint longs, decimal strings handled by the decimal logical type in avro-types.ts).

type AvroRecordValue = Record<string, unknown>;

function toRecord(row: Row, avro: TableAvro): AvroRecordValue {
  const record: AvroRecordValue = {};
  for (const [column, field] of avro.fields) record[field] = row[column] ?? null;
  return record;
}

/** A decoded Avro record back to a row: column name → value, for the columns of `fields` (column → field). */
export function rowFromRecord(record: AvroRecordValue, fields: ReadonlyMap<string, string>): Row {
  const row: Row = {};
  for (const [column, field] of fields) row[column] = (record[field] ?? null) as Row[string];
  return row;
}

// Written field by field, without spreads: this runs for every event. Into `into` when given (EnvelopeRecords reuses
// one per connector), with every field set, so that nothing of the previous event stays.
function sourceRecord(source: SourceInfo, into: AvroRecordValue = {}): AvroRecordValue {
  into.version = TRIBUTARY_VERSION;
  into.connector = source.connector;
  into.name = source.name;
  into.ts_ms = source.tsMs;
  into.snapshot = source.snapshot;
  into.db = source.db;
  into.sequence = null;
  if (source.connector === 'postgresql') {
    into.schema = source.schema ?? 'public';
    into.table = source.table;
    into.txId = source.txId ?? null;
    into.lsn = source.lsn ?? null;
    into.xmin = null;
  } else {
    into.table = source.table;
    into.server_id = source.serverId ?? 0;
    into.gtid = source.gtid ?? null;
    into.file = source.file ?? '';
    into.pos = source.pos ?? 0;
    into.row = source.row ?? 0;
    into.thread = null;
    into.query = null;
  }
  into.position = source.position;
  return into;
}

export function envelopeRecord(event: ChangeEvent, avro: TableAvro): AvroRecordValue {
  return {
    before: event.before === null || keyOnly(event) ? null : toRecord(event.before, avro),
    after: event.after === null ? null : toRecord(event.after, avro),
    source: sourceRecord(event.source),
    transaction: event.transaction
      ? {
          id: event.transaction.id,
          total_order: event.transaction.totalOrder,
          data_collection_order: event.transaction.dataCollectionOrder,
        }
      : null,
    op: event.op,
    ts_ms: event.tsMs,
  };
}

/**
 * envelopeRecord for a record that is encoded at once and then dropped, as the capture does for every event: a row
 * whose column names already are its Avro field names (the usual case) is used as it is instead of copied, and the
 * envelope, source and transaction objects of one call are reused by the next. What `record` returns is valid until
 * the next call.
 */
export class EnvelopeRecords {
  private readonly sameNames = new WeakMap<TableAvro, boolean>();
  private readonly envelope: AvroRecordValue = { before: null, after: null, source: null, transaction: null, op: '', ts_ms: 0 };
  private readonly transaction: AvroRecordValue = { id: '', total_order: 0, data_collection_order: 0 };
  private readonly sources: Record<SourceInfo['connector'], AvroRecordValue> = { mysql: {}, postgresql: {} };

  record(event: ChangeEvent, avro: TableAvro): AvroRecordValue {
    let same = this.sameNames.get(avro);
    if (same === undefined) {
      same = [...avro.fields].every(([column, field]) => column === field);
      this.sameNames.set(avro, same);
    }
    const envelope = this.envelope;
    envelope.before = event.before === null || keyOnly(event) ? null : same && complete(event.before, avro) ? event.before : toRecord(event.before, avro);
    envelope.after = event.after === null ? null : same && complete(event.after, avro) ? event.after : toRecord(event.after, avro);
    envelope.source = sourceRecord(event.source, this.sources[event.source.connector]);
    if (event.transaction) {
      const transaction = this.transaction;
      transaction.id = event.transaction.id;
      transaction.total_order = event.transaction.totalOrder;
      transaction.data_collection_order = event.transaction.dataCollectionOrder;
      envelope.transaction = transaction;
    } else {
      envelope.transaction = null;
    }
    envelope.op = event.op;
    envelope.ts_ms = event.tsMs;
    return envelope;
  }
}

/** A delete that knows only its key: published without a before image. */
function keyOnly(event: ChangeEvent): boolean {
  return event.op === 'd' && event.keyOnly === true;
}

/** Whether `row` has a value (null included) for every column: toRecord would only copy it. */
function complete(row: Row, avro: TableAvro): boolean {
  for (const column of avro.fields.keys()) if (row[column] === undefined) return false;
  return true;
}

/** The key record of an event: its primary-key values, from the after image or, for deletes, the before. */
export function keyRecord(event: ChangeEvent, avro: TableAvro): AvroRecordValue | null {
  if (!avro.keySchema) return null;
  const row = event.after ?? event.before;
  if (!row) return null;
  const record: AvroRecordValue = {};
  for (const column of avro.table.primaryKey) record[avro.fields.get(column) as string] = row[column] ?? null;
  return record;
}

/** Row images of a decoded envelope, with column names restored from the Avro field names. */
export function rowsFromEnvelope(value: AvroRecordValue, avro: TableAvro): { before: Row | null; after: Row | null } {
  const image = (r: unknown) => (r === null || r === undefined ? null : rowFromRecord(r as AvroRecordValue, avro.fields));
  return { before: image(value.before), after: image(value.after) };
}
