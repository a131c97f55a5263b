import type { Kafka, Message } from 'kafkajs';
import type { SourceOffset } from '#core/source.ts';
import type { TableSchema } from '#core/table-schema.ts';
import { ensureTopics } from '#kafka/admin.ts';
import { readLatestByKey } from '#kafka/compacted.ts';

// The capture's own topics. Offsets and schema history are compacted JSON keyed by source (and table), written
// in the same Kafka transaction as the events they cover, so what they say is exactly what Kafka holds.

export interface CaptureTopics {
  offsets: string;
  schemaHistory: string;
  schemaChanges: string;
  heartbeat: string;
  transactions: string;
}

export function captureTopics(prefix: string): CaptureTopics {
  return {
    offsets: `${prefix}.offsets`,
    schemaHistory: `${prefix}.schema-history`,
    schemaChanges: `${prefix}.schema-changes`,
    heartbeat: `${prefix}.heartbeat`,
    transactions: `${prefix}.transactions`,
  };
}

export async function ensureCaptureTopics(kafka: Kafka, topics: CaptureTopics, replicationFactor: number): Promise<void> {
  const compacted = { 'cleanup.policy': 'compact' };
  await ensureTopics(kafka, [
    { topic: topics.offsets, partitions: 1, replicationFactor, configs: compacted },
    { topic: topics.schemaHistory, partitions: 1, replicationFactor, configs: compacted },
    { topic: topics.schemaChanges, partitions: 1, replicationFactor },
    { topic: topics.heartbeat, partitions: 1, replicationFactor },
    { topic: topics.transactions, partitions: 1, replicationFactor },
  ]);
}

/** What the offsets topic keeps per source: its offset and, once signals were read, the signal topic's offset after them. */
export interface OffsetRecord {
  offset: SourceOffset;
  signals?: string;
}

export function offsetMessage(source: string, offset: SourceOffset, signals?: string): Message {
  return { key: source, value: JSON.stringify({ offset, ts_ms: Date.now(), ...(signals === undefined ? {} : { signals }) }) };
}

export async function loadOffsetRecord(kafka: Kafka, topics: CaptureTopics, source: string): Promise<OffsetRecord | null> {
  const latest = await readLatestByKey(kafka, topics.offsets, (key) => key === source);
  const value = latest.get(source);
  return value ? (JSON.parse(value.toString('utf8')) as OffsetRecord) : null;
}

export async function loadOffset(kafka: Kafka, topics: CaptureTopics, source: string): Promise<SourceOffset | null> {
  return (await loadOffsetRecord(kafka, topics, source))?.offset ?? null;
}

const historyKey = (source: string, namespace: string, table: string) => `${source}\u0000${namespace}.${table}`;

/** One table's schema after a change; a dropped table writes a tombstone so compaction forgets it. */
export function historyMessage(source: string, namespace: string, table: string, schema: TableSchema | null): Message {
  return { key: historyKey(source, namespace, table), value: schema ? JSON.stringify(schema) : null };
}

export async function loadSchemaHistory(kafka: Kafka, topics: CaptureTopics, source: string): Promise<TableSchema[]> {
  const prefix = `${source}\u0000`;
  const latest = await readLatestByKey(kafka, topics.schemaHistory, (key) => key.startsWith(prefix));
  return [...latest.values()].filter((v): v is Buffer => v !== null).map((v) => JSON.parse(v.toString('utf8')) as TableSchema);
}
