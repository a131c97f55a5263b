import { setTimeout as delay } from 'node:timers/promises';
import type { Kafka } from 'kafkajs';
import type { Logger } from '#core/log.ts';
import { matchingTopics, type GroupConsumerOptions } from '#kafka/consumer.ts';
import type { SinkStatus } from './status.ts';

export interface TopicLoopSettings {
  topics: string[] | RegExp;
  /** How often a topic pattern is matched again, so that new tables' topics are picked up. */
  topicRefreshMs: number;
}

/** What a sink's consumer group is, in both runners: the group is the sink, its checkpoint the group's offsets. */
export interface SinkGroupSettings {
  groupId: string;
  startFrom: 'earliest' | 'latest';
  lingerMs: number;
}

/** The consumer-group options of one run of a sink over `topics`. */
export function sinkGroupOptions(settings: SinkGroupSettings, topics: string[], signal: AbortSignal, restart: Promise<void>, drain: () => Promise<void>): GroupConsumerOptions {
  return {
    groupId: settings.groupId,
    topics,
    fromBeginning: settings.startFrom === 'earliest',
    maxWaitMs: settings.lingerMs,
    minBytes: 1024 * 1024,
    signal,
    restart,
    drain,
  };
}

/**
 * Runs `consume` over the topics that match the selection until the signal aborts; `restart` resolves when a
 * pattern matches a different set of topics, and `consume` then returns so that the group subscribes again.
 * Shared by the sink runners: what they consume differs, how they follow the topics does not.
 */
export async function consumeMatchingTopics(
  kafka: Kafka,
  settings: TopicLoopSettings,
  log: Logger,
  status: SinkStatus | undefined,
  signal: AbortSignal,
  consume: (topics: string[], restart: Promise<void>) => Promise<void>,
): Promise<void> {
  while (!signal.aborted) {
    const topics = await matchingTopics(kafka, settings.topics);
    status?.consuming(topics);
    if (topics.length === 0) {
      log.info({ topics: String(settings.topics) }, 'no topic matches yet; waiting');
      await delay(settings.topicRefreshMs, undefined, { signal }).catch(() => undefined);
      continue;
    }
    log.info({ topics }, 'consuming');
    const stopWatching = new AbortController();
    try {
      await consume(topics, topicsChanged(kafka, settings, topics, stopWatching.signal));
    } finally {
      stopWatching.abort();
    }
  }
}

/** Resolves when the pattern matches a different set of topics than `current`. */
async function topicsChanged(kafka: Kafka, settings: TopicLoopSettings, current: string[], stop: AbortSignal): Promise<void> {
  if (Array.isArray(settings.topics)) return new Promise<void>(() => {});
  while (!stop.aborted) {
    await delay(settings.topicRefreshMs, undefined, { signal: stop }).catch(() => undefined);
    if (stop.aborted) break;
    const now = await matchingTopics(kafka, settings.topics).catch(() => current);
    if (now.join('\n') !== current.join('\n')) return;
  }
  return new Promise<void>(() => {}); // the run ended for another reason: nothing to restart
}
