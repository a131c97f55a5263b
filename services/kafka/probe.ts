import type { Kafka } from 'kafkajs';
import { classifyKafkaError } from './errors.ts';

/**
 * Resolves when the cluster answers a metadata request within `timeoutMs`: the readiness probe of the admin
 * service. No retries: a probe reports the moment, and the next probe is the retry. A slow connection attempt
 * is left to fail on its own after the deadline and its client is closed once it settles, so probes that time
 * out do not leave connections behind.
 */
export async function kafkaAnswers(kafka: Kafka, timeoutMs: number): Promise<void> {
  const admin = kafka.admin({ retry: { retries: 0 } });
  const work = admin.connect().then(() => admin.describeCluster());
  const closed = work.then(
    () => undefined,
    () => undefined,
  );
  void closed.then(() => admin.disconnect().catch(() => undefined));
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([work, deadline]);
  } catch (error) {
    throw classifyKafkaError('asking Kafka for its cluster metadata', error);
  } finally {
    clearTimeout(timer);
  }
}
