import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Consumer } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureTopics, withAdmin } from '#kafka/admin.ts';
import { createKafka } from '#kafka/client.ts';
import { groupLag, planReplay, replay, type ReplayTarget } from '#kafka/group-offsets.ts';
import { stackEnv } from '#test/support/stack-env.ts';
import { eventually, uniqueName } from '#test/support/wait.ts';

// A sink's checkpoint is its consumer group's commits: lag is read from them and replay moves them. Each test has
// a topic of its own with 30 messages, 10 per partition: message i is in partition i % 3 at offset floor(i / 3),
// stamped BASE + i seconds.

const kafka = createKafka({ brokers: stackEnv('KAFKA_BROKERS').split(',') });
const PARTITIONS = 3;
const COUNT = 30;
const BASE = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
const stamp = (i: number) => BASE + i * 1000;

async function freshTopic(name = uniqueName('offsets')): Promise<string> {
  await ensureTopics(kafka, [{ topic: name, partitions: PARTITIONS }]);
  const producer = kafka.producer();
  await producer.connect();
  try {
    await producer.send({
      topic: name,
      acks: -1,
      messages: Array.from({ length: COUNT }, (_, i) => ({ partition: i % PARTITIONS, key: String(i), value: String(i), timestamp: String(stamp(i)) })),
    });
  } finally {
    await producer.disconnect();
  }
  return name;
}

/** A member of `group` that reads nothing, as a running sink would be. */
async function member(group: string, topic: string): Promise<Consumer> {
  // A short fetch wait: leaving the group waits for the fetch in flight.
  const consumer = kafka.consumer({ groupId: group, sessionTimeout: 10_000, heartbeatInterval: 1_000, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  await consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: async () => undefined });
  consumer.pause([{ topic }]);
  return consumer;
}

/** Commits `offsets` (by partition) for `group` the way a sink does: as a member, then leaves. */
async function commit(group: string, topic: string, offsets: Record<number, string>): Promise<void> {
  const consumer = await member(group, topic);
  try {
    await consumer.commitOffsets(Object.entries(offsets).map(([partition, offset]) => ({ topic, partition: Number(partition), offset })));
  } finally {
    await consumer.disconnect();
  }
}

/** What kafkajs's admin reports committed, by partition ('-1' for none). */
async function committed(group: string, topic: string): Promise<string[]> {
  const [offsets] = await withAdmin(kafka, (admin) => admin.fetchOffsets({ groupId: group, topics: [topic] }));
  return [...(offsets?.partitions ?? [])].sort((a, b) => a.partition - b.partition).map((p) => p.offset);
}

/** Replays and checks the outcome: the plan says where each partition goes, and that is what is committed now. */
async function replayTo(group: string, topic: string, target: ReplayTarget, expected: string[]): Promise<void> {
  const plan = await replay(kafka, group, [topic], target);
  expect(plan.partitions.map((p) => p.to)).toEqual(expected);
  expect(await committed(group, topic)).toEqual(expected);
}

describe('groupLag', () => {
  it('matches what the admin API reports, with the age of the first unconsumed message', async () => {
    const topic = await freshTopic();
    const group = uniqueName('group');
    await commit(group, topic, { 0: '3', 1: '10' });

    const before = Date.now();
    const lag = await groupLag(kafka, group, new RegExp(`^${topic}$`));
    const after = Date.now();

    const [ends, commits] = await Promise.all([withAdmin(kafka, (admin) => admin.fetchTopicOffsets(topic)), committed(group, topic)]);
    expect(lag.partitions.map((p) => p.committed ?? '-1')).toEqual(commits);
    expect(lag.partitions.map((p) => p.end)).toEqual([...ends].sort((a, b) => a.partition - b.partition).map((p) => p.high));
    expect(lag).toMatchObject({ group, state: 'Empty', members: 0, totalLagMessages: '17' });
    expect(lag.partitions.map(({ topic: t, partition, committed: c, end, lagMessages }) => [t, partition, c, end, lagMessages])).toEqual([
      [topic, 0, '3', '10', '7'],
      [topic, 1, '10', '10', '0'],
      [topic, 2, null, '10', '10'],
    ]);
    // Partition 0 resumes at offset 3 (message 9); partition 2 never committed, so at its first message (2).
    const [p0, p1, p2] = lag.partitions;
    expect(p1?.lagSeconds).toBe(0);
    expect(p0?.lagSeconds).toBeGreaterThanOrEqual((before - stamp(9)) / 1000);
    expect(p0?.lagSeconds).toBeLessThanOrEqual((after - stamp(9)) / 1000);
    expect(p2?.lagSeconds).toBeGreaterThanOrEqual((before - stamp(2)) / 1000);
    expect(p2?.lagSeconds).toBeLessThanOrEqual((after - stamp(2)) / 1000);
  });

  it('reports a group that never existed as Dead, lagging by everything, and skips topics that do not exist', async () => {
    const topic = await freshTopic();
    const lag = await groupLag(kafka, uniqueName('nobody'), [topic, uniqueName('absent')], { timestamps: false });
    expect(lag).toMatchObject({ state: 'Dead', members: 0, totalLagMessages: '30' });
    expect(lag.partitions.map((p) => [p.topic, p.committed, p.lagMessages, p.lagSeconds])).toEqual([
      [topic, null, '10', null],
      [topic, null, '10', null],
      [topic, null, '10', null],
    ]);
    // A deadline too short to read anything leaves the ages unknown instead of failing or waiting.
    const hurried = await groupLag(kafka, uniqueName('nobody'), [topic], { timeoutMs: 1 });
    expect(hurried.partitions.map((p) => p.lagSeconds)).toEqual([null, null, null]);
  });
});

describe('replay', () => {
  it('moves to earliest (the low watermark), latest, a time, and explicit offsets', async () => {
    const topic = await freshTopic();
    const group = uniqueName('group');
    await commit(group, topic, { 0: '5', 1: '5', 2: '5' });
    // As retention would: partition 0 no longer holds its first two messages.
    await withAdmin(kafka, async (admin) => {
      await admin.fetchTopicOffsets(topic); // deleteTopicRecords needs the topic's metadata loaded
      await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '2' }] });
    });

    await replayTo(group, topic, { to: 'earliest' }, ['2', '0', '0']);
    await replayTo(group, topic, { to: 'latest' }, ['10', '10', '10']);
    // Just after message 15: the first messages stamped at or after it are 18, 16 and 17.
    await replayTo(group, topic, { to: 'timestamp', ms: stamp(15) + 500 }, ['6', '5', '5']);
    // Only the partitions named move.
    const explicit = await replay(kafka, group, [topic], { to: 'offsets', offsets: [{ partition: 0, offset: '4' }, { topic, partition: 2, offset: '9' }] });
    expect(explicit.partitions).toEqual([
      { topic, partition: 0, from: '6', to: '4' },
      { topic, partition: 2, from: '5', to: '9' },
    ]);
    expect(await committed(group, topic)).toEqual(['4', '5', '9']);

    // Later than every message: each partition goes to its end. Planning writes nothing.
    const future = await planReplay(kafka, group, [topic], { to: 'timestamp', ms: Date.now() + 60_000 });
    expect(future.partitions.map((p) => [p.from, p.to])).toEqual([['4', '10'], ['5', '10'], ['9', '10']]);
    expect(await committed(group, topic)).toEqual(['4', '5', '9']);
  });

  it('refuses while a consumer of the group is running, and moves nothing', async () => {
    const topic = await freshTopic();
    const group = uniqueName('group');
    await commit(group, topic, { 0: '7', 1: '7', 2: '7' });
    const running = await member(group, topic);
    try {
      await expect(replay(kafka, group, [topic], { to: 'earliest' })).rejects.toThrow(
        `sink "${group}" is consuming (1 member in group "${group}"): stop it before moving its offsets`,
      );
      expect(await committed(group, topic)).toEqual(['7', '7', '7']);
    } finally {
      await running.disconnect();
    }
    // Once it has left, the same replay goes through.
    await eventually('the group to be empty', async () => ((await groupLag(kafka, group, [topic], { timestamps: false })).members === 0 ? true : undefined));
    await replayTo(group, topic, { to: 'earliest' }, ['0', '0', '0']);
  });
});

describe('tributary lag, replay and topics', () => {
  const run = promisify(execFile);
  const bin = new URL('../../bin/tributary.js', import.meta.url).pathname;
  const dir = mkdtempSync(join(tmpdir(), 'tributary-offsets-'));
  const prefix = uniqueName('offsets');
  const sink = uniqueName('sink');
  const topic = `${prefix}.shop.orders`;
  const config = join(dir, 'tributary.yaml');
  writeFileSync(
    config,
    [
      'kafka:',
      `  brokers: ${stackEnv('KAFKA_BROKERS')}`,
      `  topicPrefix: ${prefix}`,
      'schemaRegistry:',
      `  url: ${stackEnv('SCHEMA_REGISTRY_URL')}`,
      'sinks:',
      `  - name: ${sink}`,
      '    type: lake',
      `    topics: [${topic}]`,
      '    connection:',
      `      path: ${join(dir, 'lake')}`,
    ].join('\n'),
  );

  async function tributary(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    try {
      const { stdout, stderr } = await run(process.execPath, [bin, ...args, '--config', config], { env: { ...process.env, TRIBUTARY_LOG_LEVEL: 'error' } });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  }

  const created = freshTopic(topic);
  afterAll(async () => {
    await created.catch(() => undefined);
  });

  it('prints the lag as JSON', async () => {
    await created;
    await commit(sink, topic, { 0: '8' });
    const result = await tributary('lag', sink, '--json');
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lag = JSON.parse(result.stdout);
    expect(lag).toMatchObject({ group: sink, state: 'Empty', members: 0, totalLagMessages: '22' });
    expect(lag.partitions.map((p: { committed: string | null; end: string }) => [p.committed, p.end])).toEqual([['8', '10'], [null, '10'], [null, '10']]);
  });

  it('refuses to replay without --yes when stdin is not a terminal, and replays with it', async () => {
    await created;
    const asked = await tributary('replay', sink, '--to', '1:4');
    expect(asked.code).toBe(1);
    expect(asked.stderr).toContain(`not moving the offsets of sink "${sink}" without confirmation: stdin is not a terminal (pass --yes`);
    expect(await committed(sink, topic)).toEqual(['8', '-1', '-1']);

    const moved = await tributary('replay', sink, '--to', 'earliest', '--yes');
    expect(moved.stderr).toBe('');
    expect(moved.code).toBe(0);
    expect(moved.stdout).toContain(`Moved the offsets of sink "${sink}"`);
    expect(await committed(sink, topic)).toEqual(['0', '0', '0']);
  });

  it('lists the topics under the prefix with partitions and messages', async () => {
    await created;
    const result = await tributary('topics');
    expect(result.code).toBe(0);
    expect(result.stdout.split('\n')[0]).toMatch(/^topic\s+kind\s+partitions\s+messages$/);
    expect(result.stdout).toMatch(new RegExp(`^${topic.replaceAll('.', '\\.')}\\s+changes\\s+3\\s+30$`, 'm'));
  });
});
