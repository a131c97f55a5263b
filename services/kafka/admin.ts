import type { Admin, Kafka } from 'kafkajs';
import { classifyKafkaError } from './errors.ts';

export interface TopicSpec {
  topic: string;
  partitions?: number;
  replicationFactor?: number;
  /** Topic-level configs, e.g. `{ 'cleanup.policy': 'compact' }`. */
  configs?: Record<string, string>;
}

/** Runs `work` with a connected admin client and always disconnects it. */
export async function withAdmin<T>(kafka: Kafka, work: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    return await work(admin);
  } finally {
    await admin.disconnect();
  }
}

/** Creates the topics that do not exist yet; existing topics are left exactly as they are. */
export async function ensureTopics(kafka: Kafka, specs: TopicSpec[]): Promise<void> {
  try {
    await withAdmin(kafka, async (admin) => {
      const existing = new Set(await admin.listTopics());
      const missing = specs.filter((s) => !existing.has(s.topic));
      if (missing.length === 0) return;
      await admin.createTopics({
        waitForLeaders: true,
        topics: missing.map((s) => ({
          topic: s.topic,
          numPartitions: s.partitions ?? 1,
          replicationFactor: s.replicationFactor ?? 1,
          configEntries: Object.entries(s.configs ?? {}).map(([name, value]) => ({ name, value })),
        })),
      });
    });
  } catch (error) {
    // Another process creating the same topic at the same moment is success, not failure.
    if ((error as { type?: string }).type === 'TOPIC_ALREADY_EXISTS') return;
    throw classifyKafkaError(`creating topics ${specs.map((s) => s.topic).join(', ')}`, error);
  }
}

