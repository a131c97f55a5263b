import type { Kafka } from 'kafkajs';

/** Whether the consumer group has committed the end of every partition of the topic. */
export async function committedEnd(kafka: Kafka, groupId: string, topic: string): Promise<boolean> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await admin.fetchTopicOffsets(topic);
    const committed = await admin.fetchOffsets({ groupId, topics: [topic] });
    const byPartition = new Map(committed[0]?.partitions.map((p) => [p.partition, p.offset]));
    // The high watermark counts the transaction markers; a committed offset at or past the last stable offset is the end.
    return ends.every((e) => BigInt(byPartition.get(e.partition) ?? '-1') >= BigInt(e.offset) - 1n || e.high === e.low);
  } finally {
    await admin.disconnect();
  }
}
