import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { TributaryError } from '#core/errors.ts';
import { ensureTopics } from './admin.ts';
import { classifyKafkaError } from './errors.ts';
import { JavaCompatiblePartitioner } from './partitioner.ts';

// Operators ask a running capture to do something (re-snapshot tables) through a control topic, as Debezium's Kafka
// signal channel does: one JSON message keyed by the source name, which the capture of that source consumes. The
// capture reports what it did in its status; the message id ties the two together.

/** `<prefix>.signals`: one partition, so a capture reads its signals in the order they were sent. */
export function signalTopic(topicPrefix: string): string {
  return `${topicPrefix}.signals`;
}

/**
 * Debezium's `execute-snapshot` signal, incremental: the tables are read again while streaming goes on. `keys`
 * (Tributary's own) narrows a table to some of its keys, as `verify --repair` asks: each key is the canonical text
 * of its key columns in key order (connectors/core/checksum.ts); the capture re-emits the rows it finds under those
 * keys and a delete for each key it does not find.
 */
export interface SnapshotSignal {
  id: string;
  type: 'execute-snapshot';
  data: { 'data-collections': string[]; type: 'incremental'; keys?: TableKeys };
}

/** Per table (`db.table`), the keys to read again: canonical key values, one text per key column. */
export type TableKeys = Record<string, string[][]>;

/**
 * Keys a snapshot signal may carry in all: the capture keeps the keys still to read in its offsets record, which
 * must stay well under Kafka's 1 MB message limit. Past it, `verify --repair` re-snapshots whole tables.
 */
export const MAX_SIGNAL_KEYS = 5_000;

export async function ensureSignalTopic(kafka: Kafka, topicPrefix: string, replicationFactor: number): Promise<void> {
  await ensureTopics(kafka, [{ topic: signalTopic(topicPrefix), partitions: 1, replicationFactor, configs: { 'retention.ms': String(7 * 24 * 3600 * 1000) } }]);
}

/** Asks the capture of `source` to snapshot `tables` (`db.table`, or `schema.table` for PostgreSQL) again; returns the signal id. */
export async function sendSnapshotSignal(
  kafka: Kafka,
  topicPrefix: string,
  replicationFactor: number,
  source: string,
  tables: string[],
  keys?: TableKeys,
): Promise<string> {
  if (tables.length === 0) throw new TributaryError('CONFIG_INVALID', 'name at least one table to snapshot (db.table, or schema.table for PostgreSQL)');
  const bad = tables.filter((table) => !/^[^.\s]+\.[^.\s]+$/.test(table));
  if (bad.length > 0) throw new TributaryError('CONFIG_INVALID', `tables are named db.table (schema.table for PostgreSQL): ${bad.join(', ')}`);
  if (keys) {
    const stray = Object.keys(keys).filter((table) => !tables.includes(table));
    if (stray.length > 0) throw new TributaryError('INTERNAL', `keys given for tables not in the snapshot signal: ${stray.join(', ')}`);
    const count = Object.values(keys).reduce((sum, list) => sum + list.length, 0);
    if (count > MAX_SIGNAL_KEYS) throw new TributaryError('INTERNAL', `a snapshot signal carries at most ${MAX_SIGNAL_KEYS} keys, got ${count}`);
  }
  await ensureSignalTopic(kafka, topicPrefix, replicationFactor);
  const data: SnapshotSignal['data'] = { 'data-collections': tables, type: 'incremental', ...(keys ? { keys } : {}) };
  const signal: SnapshotSignal = { id: randomUUID(), type: 'execute-snapshot', data };
  const producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: true, maxInFlightRequests: 1, createPartitioner: JavaCompatiblePartitioner });
  try {
    await producer.connect();
    await producer.send({ topic: signalTopic(topicPrefix), acks: -1, messages: [{ key: source, value: JSON.stringify(signal) }] });
  } catch (error) {
    throw classifyKafkaError(`sending a snapshot signal to source "${source}"`, error);
  } finally {
    await producer.disconnect().catch(() => undefined);
  }
  return signal.id;
}

/** The snapshot signal in a signal message's value, or null when it is not one (another kind, or not JSON). */
export function parseSnapshotSignal(value: Buffer | null): SnapshotSignal | null {
  if (value === null) return null;
  try {
    const signal = JSON.parse(value.toString('utf8')) as Partial<SnapshotSignal>;
    const tables = signal.data?.['data-collections'];
    if (signal.type !== 'execute-snapshot' || typeof signal.id !== 'string' || !Array.isArray(tables)) return null;
    if (!tables.every((table) => typeof table === 'string')) return null;
    const keys = parseKeys(signal.data?.keys, tables);
    if (keys === null) return null;
    return { id: signal.id, type: 'execute-snapshot', data: { 'data-collections': tables, type: 'incremental', ...(keys ? { keys } : {}) } };
  } catch {
    return null;
  }
}

/** A signal's `keys`: undefined when absent, null when malformed (the signal is then not one we take). */
function parseKeys(keys: unknown, tables: string[]): TableKeys | undefined | null {
  if (keys === undefined) return undefined;
  if (typeof keys !== 'object' || keys === null || Array.isArray(keys)) return null;
  const entries = Object.entries(keys as Record<string, unknown>);
  let count = 0;
  for (const [table, list] of entries) {
    if (!tables.includes(table) || !Array.isArray(list)) return null;
    if (!list.every((key) => Array.isArray(key) && key.length > 0 && key.every((value) => typeof value === 'string'))) return null;
    count += list.length;
  }
  return count > MAX_SIGNAL_KEYS ? null : (keys as TableKeys);
}
