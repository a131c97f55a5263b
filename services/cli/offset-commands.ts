import { once } from 'node:events';
import { createInterface } from 'node:readline/promises';
import type { Command, Option } from 'commander';
import { TributaryError } from '#core/errors.ts';
import { stringifyExact } from '#core/json.ts';
import { captureTopics } from '#capture/bookkeeping.ts';
import { configuredByName, loadConfig } from '#config/load.ts';
import type { TributaryConfig } from '#config/schema.ts';
import { createKafka } from '#kafka/client.ts';
import {
  assertGroupIdle,
  groupLag,
  parseReplayTarget,
  planReplay,
  replay,
  topicSizes,
  type GroupLag,
  type ReplayPlan,
} from '#kafka/group-offsets.ts';
import { formatTable } from './table.ts';

/** `tributary lag`, `tributary replay` and `tributary topics`: a sink's checkpoint is its consumer group's offsets. */
export function addOffsetCommands(program: Command, configOption: () => Option): void {
  program
    .command('lag')
    .description('show how far a sink is behind its topics, per partition: messages and age of the first unconsumed one')
    .argument('<sink>', 'the sink name')
    .option('--json', 'print the lag as JSON (offsets as strings)', false)
    .addOption(configOption())
    .action(async (name: string, options: { json: boolean; config: string }) => {
      const { settings, topics } = sinkSelection(options.config, name);
      const lag = await groupLag(createKafka(settings.kafka), name, topics);
      process.stdout.write(`${options.json ? stringifyExact(lag) : lagText(lag)}\n`);
    });

  program
    .command('replay')
    .description("move a stopped sink's committed offsets, so that it applies its topics again from there (or skips ahead)")
    .argument('<sink>', 'the sink name')
    .requiredOption('--to <target>', 'earliest, latest, an ISO-8601 time with its zone, or partition:offset,… / topic:partition:offset,…')
    .option('-y, --yes', 'move without asking for confirmation', false)
    .addOption(configOption())
    .action(async (name: string, options: { to: string; yes: boolean; config: string }) => {
      const target = parseReplayTarget(options.to);
      const { settings, topics } = sinkSelection(options.config, name);
      const kafka = createKafka(settings.kafka);
      const plan = await planReplay(kafka, name, topics, target);
      // Refused before asking: the answer could not be acted on.
      assertGroupIdle(name, plan.members);
      if (plan.partitions.length === 0) {
        process.stdout.write(`sink "${name}" has no topics yet: nothing to move\n`);
        return;
      }
      process.stdout.write(`${planText(plan)}\n`);
      if (!options.yes && !(await confirm(`Move the offsets of sink "${name}"? [y/N] `, name))) {
        process.stdout.write('Nothing moved.\n');
        return;
      }
      // Planned again as it moves: `latest` or a time may have moved on while the question was open.
      const moved = await replay(kafka, name, topics, target);
      process.stdout.write(`Moved the offsets of sink "${name}":\n${planText(moved)}\n`);
    });

  program
    .command('topics')
    .description('list the topics under the configured topic prefix: change topics and Tributary\'s own, with partitions and messages')
    .addOption(configOption())
    .action(async (options: { config: string }) => {
      const settings = loadConfig(options.config);
      const prefix = `${settings.kafka.topicPrefix}.`;
      const sizes = await topicSizes(createKafka(settings.kafka), (topic) => topic.startsWith(prefix));
      const kind = topicKinds(settings.kafka.topicPrefix);
      process.stdout.write(
        `${formatTable(
          [{ header: 'topic' }, { header: 'kind' }, { header: 'partitions', align: 'right' }, { header: 'messages', align: 'right' }],
          sizes.map((t) => [t.topic, kind(t.topic), String(t.partitions), t.messages]),
        )}\n`,
      );
    });
}

/** The sink's topic selection exactly as `tributary sink` resolves it. */
function sinkSelection(configPath: string, name: string): { settings: TributaryConfig; topics: string[] | RegExp } {
  const settings = loadConfig(configPath);
  const sink = configuredByName(settings.sinks, 'sink', name);
  return { settings, topics: Array.isArray(sink.topics) ? sink.topics : new RegExp(sink.topics.pattern) };
}

function lagText(lag: GroupLag): string {
  const seconds = (s: number | null) => (s === null ? 'unknown' : s.toFixed(1));
  const oldest = lag.partitions.reduce<number | null>((max, p) => (p.lagSeconds === null ? max : Math.max(max ?? 0, p.lagSeconds)), null);
  const table = formatTable(
    [
      { header: 'topic' },
      { header: 'partition', align: 'right' },
      { header: 'committed', align: 'right' },
      { header: 'end', align: 'right' },
      { header: 'lag (messages)', align: 'right' },
      { header: 'lag (seconds)', align: 'right' },
    ],
    [
      ...lag.partitions.map((p) => [p.topic, String(p.partition), p.committed ?? 'none', p.end, p.lagMessages, seconds(p.lagSeconds)]),
      ['total', '', '', '', lag.totalLagMessages, seconds(oldest)],
    ],
  );
  const members = `${lag.members} member${lag.members === 1 ? '' : 's'}`;
  return `group "${lag.group}": ${lag.state}, ${members}\n${table}`;
}

function planText(plan: ReplayPlan): string {
  return formatTable(
    [{ header: 'topic' }, { header: 'partition', align: 'right' }, { header: 'from', align: 'right' }, { header: 'to', align: 'right' }],
    plan.partitions.map((p) => [p.topic, String(p.partition), p.from ?? 'none', p.from === p.to ? `${p.to} (unchanged)` : p.to]),
  );
}

/** Asks on the terminal; without one (a pipe, CI), refuses instead of waiting for an answer that cannot come. */
async function confirm(question: string, sink: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    throw new TributaryError(
      'CONFIG_INVALID',
      `not moving the offsets of sink "${sink}" without confirmation: stdin is not a terminal (pass --yes to move them)`,
    );
  }
  const prompt = createInterface({ input: process.stdin, output: process.stdout });
  try {
    // Ctrl-D closes the prompt without an answer: that is a no.
    const answer = await Promise.race([prompt.question(question).catch(() => ''), once(prompt, 'close').then(() => '')]);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    prompt.close();
  }
}

/** What each of Tributary's topics is, by name (see capture/bookkeeping.ts and the sink's dead-letter topic). */
function topicKinds(prefix: string): (topic: string) => string {
  const own = captureTopics(prefix);
  const kinds = new Map<string, string>([
    [own.offsets, 'capture offsets'],
    [own.schemaHistory, 'schema history'],
    [own.schemaChanges, 'schema changes'],
    [own.heartbeat, 'heartbeats'],
    [own.transactions, 'transactions'],
  ]);
  return (topic) => kinds.get(topic) ?? (topic.startsWith(`${prefix}.dlq.`) ? 'dead letters' : 'changes');
}
