import type { Kafka } from 'kafkajs';
import type { ChangeEvent } from '#core/change-event.ts';
import { ColumnPolicy, type ColumnPolicyConfig } from '#core/column-policy.ts';
import type { Logger } from '#core/log.ts';
import type { Source, SourceItem, SourceOffset } from '#core/source.ts';
import type { TableSchema } from '#core/table-schema.ts';
import { ensureTopics } from '#kafka/admin.ts';
import type { KafkaConnection } from '#kafka/client.ts';
import { EventEncoder } from '#kafka/event-codec.ts';
import type { AvroSerde } from '#kafka/serde.ts';
import { ThreadedProducer } from '#kafka/threaded-producer.ts';
import {
  HEARTBEAT_KEY_SCHEMA,
  HEARTBEAT_SCHEMA,
  SCHEMA_CHANGE_SCHEMA,
  TRANSACTION_METADATA_SCHEMA,
} from '#schemas/avro-schema.ts';
import { buildTableAvro, type Connector, type TableAvro } from '#schemas/table-avro.ts';
import {
  captureTopics,
  ensureCaptureTopics,
  historyMessage,
  loadOffsetRecord,
  loadSchemaHistory,
  offsetMessage,
  type CaptureTopics,
} from './bookkeeping.ts';
import { splitKeyChange } from './key-change.ts';
import { SignalInbox } from './signal-inbox.ts';
import { PendingCounts, type CaptureStatus } from './status.ts';
import { TransactionWriter } from './transaction-writer.ts';

export interface CaptureSettings {
  /** The source's name: transactional id, offsets key and `source.name` of its events. */
  name: string;
  connector: Connector;
  topicPrefix: string;
  partitions: number;
  replicationFactor: number;
  tombstones: boolean;
  transactionMetadata: boolean;
  /** Messages sent to the open Kafka transaction at once; bounds memory inside a large source transaction. */
  sendBatchMessages: number;
  /** Sends posted to the producer thread and not yet answered (see WriterLimits.inFlight). */
  sendsInFlight: number;
  /**
   * Bytes sent at once. Kafka refuses a partition's record batch above the broker's `message.max.bytes`
   * (1 MiB by default), so requests stay well under it.
   */
  sendBatchBytes: number;
  /** Source transactions arriving within this time share one Kafka transaction. */
  lingerMs: number;
  /** A heartbeat message every this many milliseconds while idle; 0 disables. */
  heartbeatIntervalMs: number;
  columns: ColumnPolicyConfig;
}

/**
 * Runs one source into Kafka with exactly-once publication: events, the schema history and the source offset
 * are written in one Kafka transaction per group of source transactions, so a read_committed consumer sees
 * each source transaction whole, once, and a restart resumes exactly after the last committed one.
 */
export class CaptureRunner {
  private readonly topics: CaptureTopics;
  private readonly encoder: EventEncoder;
  private readonly tables = new Map<string, TableAvro>();
  /** Sources hand the same TableSchema object for every event of a table version: look it up by identity first. */
  private readonly tablesByObject = new WeakMap<TableSchema, TableAvro>();
  private readonly knownTopics = new Set<string>();

  private boundary: SourceOffset | null = null;
  /** Tells the source what Kafka holds, after each commit (a PostgreSQL slot confirms that far). */
  private acknowledge: ((offset: SourceOffset) => void) | undefined;
  private eventsSinceBoundary = 0;
  private transactionStartedAt = 0;
  private txEvents = new Map<string, number>();
  private source: Source | null = null;
  private inbox: SignalInbox | null = null;
  /** The signal topic's offset stored with each offset: past the signals the source has taken. */
  private signalsStored: string | undefined;
  /**
   * Signals handed to the source, stored once a boundary comes from a pull requested after the hand-over (see
   * takeSignals): `after` is the number of the last pull requested when they were handed over.
   */
  private signalsAwaiting: { next: string; after: number } | null = null;
  /** Pulls of the source's iterator requested so far, and the number of the one whose items are being handled. */
  private pulls = 0;
  private handling = 0;
  /** Events since the last commit, reported to the status once the commit is durable. */
  private counts = new PendingCounts();
  private lastHeartbeat = Date.now();
  private readonly policy: ColumnPolicy;

  constructor(
    private readonly kafka: Kafka,
    /** The same cluster as `kafka`: the producer thread connects its own client with it. */
    private readonly connection: KafkaConnection,
    private readonly serde: AvroSerde,
    private readonly settings: CaptureSettings,
    private readonly log: Logger,
    private readonly status?: CaptureStatus,
  ) {
    this.topics = captureTopics(settings.topicPrefix);
    this.encoder = new EventEncoder(serde);
    this.policy = new ColumnPolicy(settings.columns);
  }

  async run(source: Source, signal: AbortSignal): Promise<void> {
    this.acknowledge = source.acknowledge?.bind(source);
    await ensureCaptureTopics(this.kafka, this.topics, this.settings.replicationFactor);
    // Connecting the transactional producer fences the previous incarnation and aborts its open transaction,
    // so the offsets read next are final.
    // The id names the deployment (topic prefix) and the source: two deployments sharing a cluster must not fence
    // each other's captures.
    const producer = await ThreadedProducer.start(this.connection, captureTransactionalId(this.settings.topicPrefix, this.settings.name));
    const writer = new TransactionWriter(producer, {
      messages: this.settings.sendBatchMessages,
      bytes: this.settings.sendBatchBytes,
      inFlight: this.settings.sendsInFlight,
    });
    try {
      const record = await loadOffsetRecord(this.kafka, this.topics, this.settings.name);
      const offset = record?.offset ?? null;
      this.signalsStored = record?.signals;
      source.restoreSchemas(await loadSchemaHistory(this.kafka, this.topics, this.settings.name));
      this.status?.running(source, offset);
      this.source = source;
      this.inbox = new SignalInbox(this.kafka, this.settings.topicPrefix, this.settings.name, record?.signals ?? null, this.log);
      this.inbox.start();
      this.log.info({ source: this.settings.name, offset }, offset ? 'resuming capture' : 'starting capture');
      // Snapshot progress per table (rows done / estimated, rows/s) every 10 s while a snapshot runs.
      const progress = setInterval(() => {
        for (const table of source.snapshotProgress().filter((p) => !p.done)) this.log.info({ snapshot: table }, 'snapshot progress');
      }, 10_000);
      try {
        await this.pump(writer, source.items(offset, signal)[Symbol.asyncIterator](), signal);
        await writer.drain();
      } finally {
        clearInterval(progress);
      }
    } catch (error) {
      await writer.abort();
      throw error;
    } finally {
      this.inbox?.stop();
      await producer.close();
    }
  }

  /**
   * At a boundary: signals read since the last one go to the source (an ad-hoc snapshot). The signal topic's offset
   * after them is stored only with an offset the source produced after taking them, so that a restart either finds
   * the request in the source's offset or reads the signal again. The source works on the next pull while this
   * one's items are handled, so only items of a pull requested after the hand-over are certain to come after it.
   */
  private takeSignals(): void {
    if (this.signalsAwaiting && this.handling > this.signalsAwaiting.after) {
      this.signalsStored = this.signalsAwaiting.next;
      this.signalsAwaiting = null;
    }
    const taken = this.inbox?.take();
    if (!taken || !this.source) {
      // Nothing pending: the position read so far can be stored as it is (first run: where reading began).
      const position = this.inbox?.position();
      if (!this.signalsAwaiting && position != null) this.signalsStored = position;
      return;
    }
    for (const signal of taken.signals) {
      const tables = signal.data['data-collections'];
      if (!this.source.snapshotTables) {
        this.log.warn({ signal: signal.id, tables }, `ad-hoc snapshots are not supported by ${this.settings.connector} sources yet; signal ignored`);
        continue;
      }
      const keys = signal.data.keys;
      const refused = this.source.snapshotTables(keys ? { id: signal.id, tables, keys } : { id: signal.id, tables });
      if (refused.length > 0) this.log.warn({ signal: signal.id, refused }, 'ad-hoc snapshot: these tables are not captured by this source; they are skipped');
      const byKeys = keys ? Object.fromEntries(Object.entries(keys).map(([table, list]) => [table, list.length])) : undefined;
      this.log.info({ signal: signal.id, tables: tables.filter((t) => !refused.includes(t)), ...(byKeys ? { keys: byKeys } : {}) }, 'ad-hoc snapshot requested');
    }
    this.signalsAwaiting = { next: taken.next, after: this.pulls };
  }

  private async pump(writer: TransactionWriter, items: AsyncIterator<SourceItem | SourceItem[]>, signal: AbortSignal): Promise<void> {
    let next = items.next();
    this.pulls = 1;
    try {
      for (;;) {
        // Inside a source transaction nothing interrupts the wait: a stop is only honoured at a boundary.
        const result = this.eventsSinceBoundary > 0 ? await next : await this.nextOrTimer(next, writer, signal);
        if (result === 'stop') break;
        if (result === 'linger') {
          await this.commit(writer);
          continue;
        }
        if (result === 'heartbeat') {
          // An idle source brings no boundary to take signals at: the heartbeat is one.
          this.takeSignals();
          await this.heartbeat(writer);
          continue;
        }
        if (result.done) break;
        // The next pull is requested before this one's items are handled: the source works on it meanwhile.
        this.handling = this.pulls;
        next = items.next();
        this.pulls++;
        const value = result.value;
        let stop = false;
        for (const item of Array.isArray(value) ? value : [value]) {
          const handling = item.kind === 'event' ? this.event(writer, item) : this.handle(writer, item);
          if (handling) await handling;
          // A stop is honoured at the first boundary, even inside an array: what follows it is read again on restart.
          stop = signal.aborted && this.eventsSinceBoundary === 0;
          if (stop) break;
        }
        if (stop) break;
      }
      if (this.boundary && this.eventsSinceBoundary === 0) await this.commit(writer);
    } finally {
      await items.return?.();
    }
  }

  /**
   * Waits for the next item; at a boundary, gives up waiting when the linger time is over (to commit what is
   * pending) or a heartbeat is due, whichever comes first.
   */
  private async nextOrTimer(
    next: Promise<IteratorResult<SourceItem | SourceItem[]>>,
    writer: TransactionWriter,
    signal: AbortSignal,
  ): Promise<IteratorResult<SourceItem | SourceItem[]> | 'linger' | 'heartbeat' | 'stop'> {
    if (signal.aborted) return 'stop';
    let onAbort = () => {};
    const stop = new Promise<'stop'>((resolve) => {
      onAbort = () => resolve('stop');
      signal.addEventListener('abort', onAbort, { once: true });
    });
    const now = Date.now();
    const lingerAt = this.boundary ? this.transactionStartedAt + this.settings.lingerMs : Infinity;
    const heartbeatAt = this.settings.heartbeatIntervalMs > 0 ? this.lastHeartbeat + this.settings.heartbeatIntervalMs : Infinity;
    const at = Math.min(lingerAt, heartbeatAt);
    let timer: NodeJS.Timeout | undefined;
    const fired = new Promise<'linger' | 'heartbeat'>((resolve) => {
      if (at !== Infinity) timer = setTimeout(() => resolve(at === lingerAt ? 'linger' : 'heartbeat'), Math.max(0, at - now));
    });
    try {
      // A failed send or commit ends the wait too: a quiet source must not hide it.
      return await Promise.race([next, fired, stop, writer.failed]);
    } finally {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
    }
  }

  /**
   * An event, without a promise in the common case (its table known, no tombstone to add, room in the batch): this
   * runs for every row, and an async call per row costs about as much as encoding it.
   */
  private event(writer: TransactionWriter, item: SourceItem & { kind: 'event' }): Promise<void> | undefined {
    if (item.event.op === 'u' && item.event.before !== null) {
      const split = splitKeyChange(item.event, item.table);
      if (split) return this.events(writer, item.table, split);
    }
    const avro = this.tablesByObject.get(this.policy.schema(item.table));
    if (!avro || (item.event.op === 'd' && this.settings.tombstones)) return this.handle(writer, item);
    const event = this.policy.event(item.table, item.event);
    const appending = this.encoder.append(writer.batch, event, avro);
    if (appending) return appending.then(() => this.added(writer, item.table, event));
    return this.added(writer, item.table, event);
  }

  /** Several events in order: an update that moved its row to another key, split into a delete and a create. */
  private async events(writer: TransactionWriter, table: TableSchema, events: ChangeEvent[]): Promise<void> {
    for (const event of events) await this.event(writer, { kind: 'event', table, event });
  }

  private added(writer: TransactionWriter, table: TableSchema, event: ChangeEvent): Promise<void> | undefined {
    this.eventsSinceBoundary++;
    this.counts.add(table, event.op, event.source.tsMs);
    this.countForTransaction(event);
    return writer.full ? writer.flush() : undefined;
  }

  private async handle(writer: TransactionWriter, item: SourceItem): Promise<void> {
    switch (item.kind) {
      case 'event': {
        const avro = await this.tableAvro(this.policy.schema(item.table));
        const event = this.policy.event(item.table, item.event);
        const appending = this.encoder.append(writer.batch, event, avro);
        if (appending) await appending;
        if (event.op === 'd' && this.settings.tombstones) {
          const tombstone = await this.encoder.tombstone(event, avro);
          if (tombstone) writer.batch.add(avro.topic, tombstone);
        }
        await this.added(writer, item.table, event);
        return;
      }
      case 'schema-change': {
        // Like an event, a history record belongs to the boundary that follows it: no commit or stop before it.
        this.eventsSinceBoundary++;
        if (item.table) await this.tableAvro(this.policy.schema(item.table));
        writer.batch.add(this.topics.schemaHistory, historyMessage(this.settings.name, item.namespace, item.tableName, item.table));
        const id = await this.serde.schemaId(`${this.topics.schemaChanges}-value`, SCHEMA_CHANGE_SCHEMA);
        const value = await this.serde.encode(id, {
          source: this.settings.name,
          databaseName: item.namespace,
          tableName: item.tableName,
          ddl: item.ddl,
          position: item.position,
          ts_ms: BigInt(item.tsMs),
          table: item.table ? JSON.stringify(item.table) : null,
        });
        writer.batch.add(this.topics.schemaChanges, { key: this.settings.name, value });
        return;
      }
      case 'commit': {
        this.boundary = item.offset;
        this.eventsSinceBoundary = 0;
        this.takeSignals();
        if (this.settings.transactionMetadata && item.transactionId && this.txEvents.size > 0) {
          await this.addTransactionMetadata(writer, item.transactionId);
        }
        this.txEvents.clear();
        // Sending and committing are apart: a full buffer is sent into the open transaction, and the transaction
        // commits once per linger period. Each commit costs the broker a round of markers before the next
        // transaction may start, so committing per buffer would cap a backlog drain at a few buffers a second.
        if (Date.now() - this.transactionStartedAt >= this.settings.lingerMs) await this.commit(writer);
        else if (writer.full) await writer.flush();
        return;
      }
      case 'heartbeat':
        this.boundary = item.offset;
        this.eventsSinceBoundary = 0;
        this.takeSignals();
        await this.heartbeat(writer);
        return;
    }
  }

  /** A heartbeat message, committed together with the current boundary's offset if there is one. */
  private async heartbeat(writer: TransactionWriter): Promise<void> {
    const keyId = await this.serde.schemaId(`${this.topics.heartbeat}-key`, HEARTBEAT_KEY_SCHEMA);
    const valueId = await this.serde.schemaId(`${this.topics.heartbeat}-value`, HEARTBEAT_SCHEMA);
    writer.batch.add(this.topics.heartbeat, {
      key: await this.serde.encode(keyId, { serverName: this.settings.name }),
      value: await this.serde.encode(valueId, { ts_ms: BigInt(Date.now()) }),
    });
    this.lastHeartbeat = Date.now();
    if (this.boundary) {
      await this.commit(writer);
    } else {
      await writer.commit();
    }
  }

  /**
   * Commits everything up to the last boundary, together with the offset that resumes after it. The commit is
   * posted, not awaited (TransactionWriter): reading goes on while the broker writes its markers, and a failure
   * surfaces at the next wait for the producer, before anything after it can commit.
   */
  private async commit(writer: TransactionWriter): Promise<void> {
    if (!this.boundary) return;
    const offset = this.boundary;
    writer.batch.add(this.topics.offsets, offsetMessage(this.settings.name, offset, this.signalsStored));
    // Invariant: the offset added just above is in the same Kafka transaction as every event before the
    // boundary, so it becomes durable exactly when they do, and never before; the source hears of it only then.
    const acknowledge = this.acknowledge;
    const counts = this.counts;
    this.counts = new PendingCounts();
    const postedAt = Date.now();
    await writer.commit(() => {
      acknowledge?.(offset);
      this.status?.committed(counts, offset, postedAt);
    });
    this.boundary = null;
    this.transactionStartedAt = Date.now();
  }

  private async tableAvro(table: TableSchema): Promise<TableAvro> {
    const known = this.tablesByObject.get(table);
    if (known) return known;
    const key = JSON.stringify(table);
    let avro = this.tables.get(key);
    if (!avro) {
      avro = buildTableAvro(table, { topicPrefix: this.settings.topicPrefix, connector: this.settings.connector });
      if (!this.knownTopics.has(avro.topic)) {
        if (table.primaryKey.length === 0) {
          this.log.warn({ table: `${table.namespace}.${table.table}` }, 'table has no primary key: its events have a null key and go to one partition');
        }
        await ensureTopics(this.kafka, [
          {
            topic: avro.topic,
            // Without a key, order holds only within one partition.
            partitions: table.primaryKey.length === 0 ? 1 : this.settings.partitions,
            replicationFactor: this.settings.replicationFactor,
          },
        ]);
        this.knownTopics.add(avro.topic);
      }
      this.tables.set(key, avro);
    }
    this.tablesByObject.set(table, avro);
    return avro;
  }

  private countForTransaction(event: ChangeEvent): void {
    if (!this.settings.transactionMetadata) return;
    const collection = `${event.source.db}.${event.source.table}`;
    this.txEvents.set(collection, (this.txEvents.get(collection) ?? 0) + 1);
  }

  private async addTransactionMetadata(writer: TransactionWriter, id: string): Promise<void> {
    const valueId = await this.serde.schemaId(`${this.topics.transactions}-value`, TRANSACTION_METADATA_SCHEMA);
    const ts = BigInt(Date.now());
    const collections = [...this.txEvents].map(([name, count]) => ({ data_collection: name, event_count: BigInt(count) }));
    const total = collections.reduce((sum, c) => sum + c.event_count, 0n);
    const begin = { status: 'BEGIN', id, ts_ms: ts, event_count: null, data_collections: null };
    const end = { status: 'END', id, ts_ms: ts, event_count: total, data_collections: collections };
    writer.batch.add(this.topics.transactions, { key: id, value: await this.serde.encode(valueId, begin) });
    writer.batch.add(this.topics.transactions, { key: id, value: await this.serde.encode(valueId, end) });
  }
}

/** The transactional id of a capture: the deployment (topic prefix) and the source, so deployments never fence each other. */
export function captureTransactionalId(topicPrefix: string, source: string): string {
  return `tributary-capture-${topicPrefix}-${source}`;
}
