import { randomBytes } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { TributaryError } from '#core/errors.ts';
import { withAdmin } from './admin.ts';
import { matchingTopics } from './consumer.ts';
import { classifyKafkaError } from './errors.ts';

// A sink's checkpoint is its consumer group's committed offsets (group id = sink name). This module reads how far
// behind that checkpoint is, and moves it (replay) while the sink is stopped. Offsets are decimal strings
// throughout and all arithmetic on them is BigInt: Kafka offsets are 64-bit.

export interface PartitionLag {
  topic: string;
  partition: number;
  /** The group's committed offset (the next message it will read); null when it never committed one. */
  committed: string | null;
  /** The partition's high watermark (the last stable offset: kafkajs lists offsets read_committed). */
  end: string;
  /** Offsets between where the group resumes and the end, transaction markers included. */
  lagMessages: string;
  /** Age of the first unconsumed message; 0 when caught up, null when it could not be read in time. */
  lagSeconds: number | null;
}

export interface GroupLag {
  group: string;
  /** The group's state as the coordinator describes it: Stable, Empty, Dead (never existed or expired), … */
  state: string;
  members: number;
  partitions: PartitionLag[];
  totalLagMessages: string;
}

export type ReplayTarget =
  | { to: 'earliest' }
  | { to: 'latest' }
  | { to: 'timestamp'; ms: number }
  | { to: 'offsets'; offsets: { topic?: string; partition: number; offset: string }[] };

export interface ReplayPlan {
  group: string;
  state: string;
  /** Members of the group when the plan was made: a plan with members cannot be carried out. */
  members: number;
  partitions: { topic: string; partition: number; from: string | null; to: string }[];
}

export interface TopicSize {
  topic: string;
  partitions: number;
  /** Offsets held (high - low, summed over partitions), transaction markers included. */
  messages: string;
}

/** One partition as the group sees it: its commit and what the partition holds. */
export interface PartitionOffsets {
  topic: string;
  partition: number;
  committed: string | null;
  low: string;
  high: string;
}

interface GroupOffsets {
  state: string;
  members: number;
  partitions: PartitionOffsets[];
}

export interface GroupLagOptions {
  /** Read the first unconsumed message of each lagging partition for `lagSeconds` (default true). */
  timestamps?: boolean;
  /** How long reading those messages may take; partitions not read by then get lagSeconds null. */
  timeoutMs?: number;
}

/** How far group `group` is behind on the topics the selection resolves to (as the sink resolves it). */
export async function groupLag(kafka: Kafka, group: string, topics: string[] | RegExp, options: GroupLagOptions = {}): Promise<GroupLag> {
  const action = `reading the lag of group "${group}"`;
  const offsets = await readGroupOffsets(kafka, group, topics, action);
  const firsts =
    options.timestamps === false
      ? new Map<string, FirstMessage>()
      : await firstMessages(kafka, offsets.partitions, options.timeoutMs ?? 10_000, action);
  const now = Date.now();
  const partitions = offsets.partitions.map((p): PartitionLag => {
    const lag = lagMessages(p);
    const first = firsts.get(partitionKey(p.topic, p.partition));
    const lagSeconds = lag === 0n || first === 'none' ? 0 : first === undefined ? null : Math.max(0, now - first) / 1000;
    return { topic: p.topic, partition: p.partition, committed: p.committed, end: p.high, lagMessages: lag.toString(), lagSeconds };
  });
  const total = partitions.reduce((sum, p) => sum + BigInt(p.lagMessages), 0n);
  return { group, state: offsets.state, members: offsets.members, partitions, totalLagMessages: total.toString() };
}

/**
 * Where the group's next fetch of a partition begins: its commit, or the low watermark when it has none or
 * retention removed what the commit points at (a consumer resuming there resets to the earliest it can read).
 */
export function resumeOffset(p: Pick<PartitionOffsets, 'committed' | 'low'>): string {
  return p.committed === null || BigInt(p.committed) < BigInt(p.low) ? p.low : p.committed;
}

/** Offsets from where the group resumes to the end; never negative (a commit past a truncated end). */
export function lagMessages(p: Pick<PartitionOffsets, 'committed' | 'low' | 'high'>): bigint {
  const lag = BigInt(p.high) - BigInt(resumeOffset(p));
  return lag > 0n ? lag : 0n;
}

/** What `replay` would move, partition by partition; nothing is written. */
export async function planReplay(kafka: Kafka, group: string, topics: string[] | RegExp, target: ReplayTarget): Promise<ReplayPlan> {
  const action = `planning a replay of group "${group}"`;
  const offsets = await readGroupOffsets(kafka, group, topics, action);
  const plan = (to: (p: PartitionOffsets) => string) =>
    offsets.partitions.map((p) => ({ topic: p.topic, partition: p.partition, from: p.committed, to: to(p) }));
  const base = { group, state: offsets.state, members: offsets.members };
  switch (target.to) {
    case 'earliest':
      // The low watermark, not 0: retention may have removed the first offsets.
      return { ...base, partitions: plan((p) => p.low) };
    case 'latest':
      return { ...base, partitions: plan((p) => p.high) };
    case 'timestamp': {
      const byTopic = await offsetsAtTime(kafka, [...new Set(offsets.partitions.map((p) => p.topic))], target.ms, action);
      // No message at or after the time: the partition goes to its end, like the consumer of a newer time would.
      return { ...base, partitions: plan((p) => byTopic.get(partitionKey(p.topic, p.partition)) ?? p.high) };
    }
    case 'offsets':
      return { ...base, partitions: explicitMoves(group, target.offsets, offsets.partitions) };
  }
}

/**
 * Moves the committed offsets of `group` to `target` and returns what moved. Refuses while the group has members:
 * moving offsets under a running consumer is overwritten by its next commit, or rebalances it.
 */
export async function replay(kafka: Kafka, group: string, topics: string[] | RegExp, target: ReplayTarget): Promise<ReplayPlan> {
  const plan = await planReplay(kafka, group, topics, target);
  assertGroupIdle(group, plan.members);
  if (plan.partitions.length === 0) return plan;
  const moves = plan.partitions.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.to }));
  await commitAsOnlyMember(kafka, group, moves);
  // kafkajs drops a commit silently when its consumer stopped (a crash after the join): read back what is committed.
  const action = `checking the offsets of group "${group}" after moving them`;
  const committed = await withAdmin(kafka, (admin) => admin.fetchOffsets({ groupId: group, topics: [...new Set(moves.map((m) => m.topic))] })).catch(
    (error: unknown) => {
      throw classifyKafkaError(action, error);
    },
  );
  const now = new Map(committed.flatMap((t) => t.partitions.map((p) => [partitionKey(t.topic, p.partition), p.offset] as const)));
  const missed = moves.filter((m) => now.get(partitionKey(m.topic, m.partition)) !== m.offset);
  if (missed.length > 0) {
    const list = missed.map((m) => `${m.topic}/${m.partition} is at ${now.get(partitionKey(m.topic, m.partition)) ?? 'none'} instead of ${m.offset}`);
    throw new TributaryError('KAFKA_REJECTED', `${action}: ${list.join(', ')}`);
  }
  return plan;
}

/** Throws the refusal `replay` gives while the sink (its consumer group) has members. */
export function assertGroupIdle(group: string, members: number): void {
  if (members > 0) throw consumingError(group, `${members} member${members === 1 ? '' : 's'} in group "${group}"`);
}

function consumingError(group: string, detail: string): TributaryError {
  return new TributaryError(
    'KAFKA_REJECTED',
    `sink "${group}" is consuming (${detail}): stop it before moving its offsets (tributary replay refuses to move offsets under a running consumer)`,
  );
}

/** Topics whose names pass `keep`, with their partition counts and the messages they hold. */
export async function topicSizes(kafka: Kafka, keep: (topic: string) => boolean): Promise<TopicSize[]> {
  return withAdmin(kafka, async (admin) => {
    const topics = (await admin.listTopics()).filter(keep).sort();
    return Promise.all(
      topics.map(async (topic) => {
        const partitions = await admin.fetchTopicOffsets(topic);
        const messages = partitions.reduce((sum, p) => sum + BigInt(p.high) - BigInt(p.low), 0n);
        return { topic, partitions: partitions.length, messages: messages.toString() };
      }),
    );
  }).catch((error: unknown) => {
    throw classifyKafkaError('reading the sizes of topics', error);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Reading

/** Kafka's own topics (__consumer_offsets, __transaction_state) and the schema registry's: no sink consumes them. */
const INTERNAL_TOPIC = /^(__|_schemas$|_confluent)/;

async function readGroupOffsets(kafka: Kafka, group: string, selection: string[] | RegExp, action: string): Promise<GroupOffsets> {
  const selected = await matchingTopics(kafka, selection);
  return withAdmin(kafka, async (admin) => {
    // A listed topic that does not exist yet has nothing to lag behind or to move.
    const existing = new Set(await admin.listTopics());
    const topics = selected.filter((topic) => existing.has(topic) && !INTERNAL_TOPIC.test(topic));
    const { groups } = await admin.describeGroups([group]);
    const description = groups.find((g) => g.groupId === group);
    const partitions: PartitionOffsets[] = [];
    if (topics.length > 0) {
      const committed = await admin.fetchOffsets({ groupId: group, topics });
      const commits = new Map(committed.flatMap((t) => t.partitions.map((p) => [partitionKey(t.topic, p.partition), p.offset] as const)));
      for (const topic of topics) {
        for (const p of await admin.fetchTopicOffsets(topic)) {
          const commit = commits.get(partitionKey(topic, p.partition));
          // kafkajs reports "no commit" as -1.
          const hasCommit = commit !== undefined && BigInt(commit) >= 0n;
          partitions.push({ topic, partition: p.partition, committed: hasCommit ? commit : null, low: p.low, high: p.high });
        }
      }
    }
    partitions.sort((a, b) => (a.topic === b.topic ? a.partition - b.partition : a.topic < b.topic ? -1 : 1));
    return { state: description?.state ?? 'Dead', members: description?.members.length ?? 0, partitions };
  }).catch((error: unknown) => {
    throw classifyKafkaError(action, error);
  });
}

async function offsetsAtTime(kafka: Kafka, topics: string[], ms: number, action: string): Promise<Map<string, string>> {
  return withAdmin(kafka, async (admin) => {
    const found = new Map<string, string>();
    for (const topic of topics) {
      // kafkajs already answers the high watermark for a partition with no message at or after the time.
      for (const p of await admin.fetchTopicOffsetsByTimestamp(topic, ms)) {
        if (BigInt(p.offset) >= 0n) found.set(partitionKey(topic, p.partition), p.offset);
      }
    }
    return found;
  }).catch((error: unknown) => {
    throw classifyKafkaError(`${action}: finding the offsets at ${new Date(ms).toISOString()}`, error);
  });
}

/** A message's timestamp (ms), or 'none' when the partition holds only markers or aborted records up to its end. */
type FirstMessage = number | 'none';

/**
 * The timestamp of the first message each lagging partition holds from where the group resumes. kafkajs has no
 * manual assignment, so this reads with a throw-away group that commits nothing and is deleted afterwards: one
 * message per partition, which is then paused; what is not read by the deadline stays unknown.
 */
async function firstMessages(kafka: Kafka, partitions: PartitionOffsets[], timeoutMs: number, action: string): Promise<Map<string, FirstMessage>> {
  const found = new Map<string, FirstMessage>();
  const wanted = new Map(partitions.filter((p) => lagMessages(p) > 0n).map((p) => [partitionKey(p.topic, p.partition), p]));
  if (wanted.size === 0) return found;
  const topics = [...new Set([...wanted.values()].map((p) => p.topic))];
  const groupId = `tributary-lag-${randomBytes(6).toString('hex')}`;
  const consumer = kafka.consumer({
    groupId,
    readUncommitted: false,
    allowAutoTopicCreation: false,
    // One message per partition is all that is wanted; a larger one still comes whole.
    maxBytesPerPartition: 64 * 1024,
    maxWaitTimeInMs: 250,
    retry: { retries: 2 },
  });
  let failure: unknown;
  let over = false;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve)).then(() => (over = true));
  const settle = (topic: string, partition: number, value: FirstMessage) => {
    found.set(partitionKey(topic, partition), value);
    consumer.pause([{ topic, partitions: [partition] }]);
    if (found.size === wanted.size) finish();
  };
  consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
    const start = wanted.get(partitionKey(payload.topic, payload.partition));
    if (!start || found.has(partitionKey(payload.topic, payload.partition))) return;
    // A batch's last offset counts markers and aborted records too: reaching the end with no message means
    // nothing the group would apply is waiting.
    if (BigInt(payload.lastOffset) + 1n >= BigInt(start.high)) settle(payload.topic, payload.partition, 'none');
  });
  // Past the deadline, what the read has not got is simply unknown; stopping it mid-join fails it, and that is no error.
  const fail = (error: unknown) => {
    if (!over) failure ??= error;
    finish();
  };
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (!payload.restart) fail(payload.error);
  });
  // The deadline covers the join too: a slow rebalance leaves lagSeconds unknown instead of hanging the caller.
  const timer = setTimeout(finish, timeoutMs);
  try {
    await consumer.connect();
    // From the beginning, so that a seek that comes late still passes the wanted message on the way.
    await consumer.subscribe({ topics, fromBeginning: true });
    const running = consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        const start = wanted.get(partitionKey(topic, partition));
        if (!start || found.has(partitionKey(topic, partition)) || BigInt(message.offset) < BigInt(resumeOffset(start))) return;
        settle(topic, partition, Number(message.timestamp));
      },
    });
    running.catch(fail);
    await Promise.race([running, finished]);
    if (!over) {
      for (const p of wanted.values()) consumer.seek({ topic: p.topic, partition: p.partition, offset: resumeOffset(p) });
      // The other partitions of these topics are not read at all.
      const idle = partitions.filter((p) => topics.includes(p.topic) && !wanted.has(partitionKey(p.topic, p.partition)));
      if (idle.length > 0) consumer.pause(idle.map((p) => ({ topic: p.topic, partitions: [p.partition] })));
      await finished;
    }
  } catch (error) {
    fail(error);
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => undefined);
    await withAdmin(kafka, (admin) => admin.deleteGroups([groupId])).catch(() => undefined);
  }
  if (failure) throw classifyKafkaError(`${action}: reading the first unconsumed messages`, failure);
  return found;
}

// ---------------------------------------------------------------------------------------------------------------
// Moving

/**
 * Commits `moves` for `group` as a member of it. Kafka takes offset commits from members of a group (kafkajs has
 * no standalone commit; its admin.setOffsets joins the group too, once per topic). The group is empty when this
 * starts, so the join makes this consumer its only member, owning every partition: the description taken after
 * the join confirms that before anything is committed.
 */
async function commitAsOnlyMember(kafka: Kafka, group: string, moves: { topic: string; partition: number; offset: string }[]): Promise<void> {
  const topics = [...new Set(moves.map((m) => m.topic))];
  const consumer = kafka.consumer({
    groupId: group,
    allowAutoTopicCreation: false,
    retry: { retries: 2 },
    sessionTimeout: 10_000,
    heartbeatInterval: 3_000,
    // Leaving waits for the fetch in flight, which with every partition paused lasts this long.
    maxWaitTimeInMs: 100,
  });
  let crash: unknown;
  consumer.on(consumer.events.CRASH, ({ payload }) => (crash ??= payload.error));
  try {
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    // Nothing read is ever resolved and autoCommit is off: the one commit below is all this consumer writes.
    await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => undefined });
    if (crash) throw crash;
    consumer.pause(topics.map((topic) => ({ topic })));
    const members = (await consumer.describeGroup()).members.length;
    if (members > 1) {
      const others = `${members - 1} other member${members === 2 ? '' : 's'}`;
      throw consumingError(group, `${others} joined group "${group}" while its offsets were being moved`);
    }
    await consumer.commitOffsets(moves);
    if (crash) throw crash;
  } catch (error) {
    // Kafka refuses a member's commit once another member has joined (the generation moved on).
    if (refusedForMembers(error)) throw consumingError(group, `another member joined group "${group}" while its offsets were being moved`);
    throw classifyKafkaError(`moving the offsets of group "${group}"`, error);
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}

const MEMBERSHIP_ERRORS = ['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID', 'FENCED_INSTANCE_ID'];

function refusedForMembers(error: unknown): boolean {
  for (let e = error; e; e = (e as { cause?: unknown }).cause) {
    if (MEMBERSHIP_ERRORS.includes((e as { type?: string }).type ?? '')) return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------------------
// Targets

const FORMS =
  'expected earliest, latest, an ISO-8601 time with its zone (2024-05-01T12:00:00Z, 2024-05-01T14:00:00+02:00) ' +
  'or offsets as partition:offset,… or topic:partition:offset,…';
const TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/i;
const MAX_OFFSET = 2n ** 63n - 1n;
const MAX_PARTITION = 2 ** 31 - 1;

/** Parses the `--to` of `tributary replay`; every mistake names the part at fault and the forms accepted. */
export function parseReplayTarget(text: string): ReplayTarget {
  const trimmed = text.trim();
  const word = trimmed.toLowerCase();
  if (word === 'earliest' || word === 'latest') return { to: word };
  if (/^\d{4}-\d{2}-\d{2}/.test(trimmed)) return { to: 'timestamp', ms: parseTime(trimmed) };
  if (trimmed === '') throw targetError(`the replay target is empty: ${FORMS}`);
  const offsets = trimmed.split(',').map((part) => parseOffsetEntry(part.trim(), trimmed));
  return { to: 'offsets', offsets };
}

function parseTime(text: string): number {
  const match = TIME.exec(text);
  if (!match) throw targetError(`"${text}" is not an ISO-8601 time such as 2024-05-01T12:00:00Z: ${FORMS}`);
  const [, year, month, day, hour, minute, second = '0', fraction = '', zone] = match as unknown as string[];
  // Without a zone the same text names a different instant on every machine.
  if (!zone) throw targetError(`"${text}" has no time zone: add Z for UTC or an offset such as +02:00`);
  const fields = [year, month, day, hour, minute, second].map(Number) as [number, number, number, number, number, number];
  const [y, mo, d, h, mi, s] = fields;
  const local = Date.UTC(y, mo - 1, d, h, mi, s, Number(fraction.padEnd(3, '0').slice(0, 3)));
  const check = new Date(local);
  if (check.getUTCFullYear() !== y || check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) {
    throw targetError(`"${text}" is not a valid date and time`);
  }
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.toUpperCase() === 'Z' ? '0000' : zone.slice(1).replace(':', '');
  const zoneMinutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2));
  if (Number(digits.slice(0, 2)) > 23 || Number(digits.slice(2)) > 59) throw targetError(`"${text}" has an invalid zone offset "${zone}"`);
  return local - sign * zoneMinutes * 60_000;
}

function parseOffsetEntry(entry: string, whole: string): { topic?: string; partition: number; offset: string } {
  const parts = entry.split(':');
  if (entry === '' || (parts.length !== 2 && parts.length !== 3)) {
    throw targetError(`"${entry}" in "${whole}" is not partition:offset or topic:partition:offset: ${FORMS}`);
  }
  const [partitionText, offsetText] = parts.slice(-2) as [string, string];
  const topic = parts.length === 3 ? (parts[0] as string) : undefined;
  if (topic !== undefined && !/^[A-Za-z0-9._-]+$/.test(topic)) throw targetError(`"${entry}": "${topic}" is not a topic name`);
  if (!/^\d+$/.test(partitionText) || Number(partitionText) > MAX_PARTITION) {
    throw targetError(`"${entry}": partition "${partitionText}" is not a partition number (0, 1, 2, …)`);
  }
  if (!/^\d+$/.test(offsetText) || BigInt(offsetText) > MAX_OFFSET) {
    throw targetError(`"${entry}": offset "${offsetText}" is not an offset (a whole number from 0)`);
  }
  return { ...(topic === undefined ? {} : { topic }), partition: Number(partitionText), offset: BigInt(offsetText).toString() };
}

function targetError(message: string): TributaryError {
  return new TributaryError('CONFIG_INVALID', `replay target: ${message}`);
}

/**
 * Explicit offsets checked against what each partition holds: the topic may be left out only when the group
 * consumes one topic, a partition must exist, and an offset must lie within [low, high].
 */
export function explicitMoves(
  group: string,
  offsets: Extract<ReplayTarget, { to: 'offsets' }>['offsets'],
  partitions: PartitionOffsets[],
): ReplayPlan['partitions'] {
  const topics = [...new Set(partitions.map((p) => p.topic))];
  const seen = new Set<string>();
  return offsets.map(({ topic: named, partition, offset }) => {
    const entry = `${named === undefined ? '' : `${named}:`}${partition}:${offset}`;
    let topic = named;
    if (topic === undefined) {
      if (topics.length !== 1) {
        const which = topics.length === 0 ? 'no topic exists yet' : `its topics are ${topics.join(', ')}`;
        throw targetError(
          `"${entry}" names no topic, and group "${group}" does not consume exactly one topic (${which}): write topic:partition:offset`,
        );
      }
      topic = topics[0] as string;
    }
    if (!topics.includes(topic)) {
      throw targetError(`"${entry}": topic "${topic}" is not one of the topics of group "${group}" (${topics.join(', ') || 'none exists yet'})`);
    }
    const p = partitions.find((q) => q.topic === topic && q.partition === partition);
    if (!p) {
      const count = partitions.filter((q) => q.topic === topic).length;
      throw targetError(`"${entry}": topic "${topic}" has no partition ${partition} (it has ${count}: 0 to ${count - 1})`);
    }
    if (BigInt(offset) < BigInt(p.low) || BigInt(offset) > BigInt(p.high)) {
      throw targetError(`"${entry}": offset ${offset} is outside what ${topic}/${partition} holds (${p.low} to ${p.high})`);
    }
    const key = partitionKey(topic, partition);
    if (seen.has(key)) throw targetError(`"${entry}": ${topic}/${partition} is given more than once`);
    seen.add(key);
    return { topic, partition, from: p.committed, to: offset };
  });
}

function partitionKey(topic: string, partition: number): string {
  return `${topic}\u0000${partition}`;
}
