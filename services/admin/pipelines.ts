import type { Kafka } from 'kafkajs';
import type { CaptureStatusReport } from '#capture/status.ts';
import { redactText } from '#config/redact.ts';
import type { HttpConfig, SinkConfig, SourceConfig, TributaryConfig } from '#config/schema.ts';
import { groupLag, topicSizes, type GroupLag } from '#kafka/group-offsets.ts';
import type { SinkStatusReport } from '#sink/status.ts';
import { processUrl, readProcess } from './process-client.ts';

/**
 * Every source and sink of the config as an operator wants to see it: what each process says about itself (its
 * `/status`), and for sinks what Kafka says about their consumer group — the lag against the partitions' ends now
 * and the dead letters. `GET /v1/pipelines` and `tributary status` both show this; neither goes through the other.
 */

export interface SourcePipeline {
  kind: 'source';
  name: string;
  type: SourceConfig['type'];
  /** The process's own state (snapshotting, streaming, …), `unreachable`, or `unknown (why)` when it cannot be asked. */
  state: string;
  /** Where the status was read; null when the config gives the process no endpoint to read. */
  endpoint: string | null;
  status: CaptureStatusReport | null;
  /** Why the process could not be read (secrets masked). */
  error: string | null;
}

export interface SinkPipeline {
  kind: 'sink';
  name: string;
  type: SinkConfig['type'];
  state: string;
  endpoint: string | null;
  status: SinkStatusReport | null;
  error: string | null;
  /** The consumer group (id = sink name) as Kafka sees it: commits, ends, lag, state and members. */
  lag: GroupLag | null;
  /** The sink's dead-letter topic and the messages it holds ("0" when it does not exist); null when unread. */
  deadLetters: { topic: string; messages: string | null };
  /** Why the lag or the dead letters could not be read from Kafka (secrets masked). */
  kafkaError: string | null;
}

export interface Pipelines {
  sources: SourcePipeline[];
  sinks: SinkPipeline[];
}

export interface PipelineReader {
  config: TributaryConfig;
  kafka: Kafka;
  /** The config's secrets, masked in every error message shown. */
  secrets: readonly string[];
  /** How long reading the first unconsumed messages (lag in seconds) may take; see groupLag. */
  lagTimeoutMs?: number;
}

/** The lag read for a status has to come back while someone waits for the page. */
const LAG_TIMEOUT_MS = 5_000;

export async function readPipelines(reader: PipelineReader): Promise<Pipelines> {
  const [sources, sinks] = await Promise.all([
    Promise.all(reader.config.sources.map((source) => readSource(reader, source))),
    Promise.all(reader.config.sinks.map((sink) => readSink(reader, sink))),
  ]);
  return { sources, sinks };
}

export async function readSource(reader: PipelineReader, source: SourceConfig): Promise<SourcePipeline> {
  const process = await readStatus<CaptureStatusReport>(reader, source.http, 'capture', source.name);
  return { kind: 'source', name: source.name, type: source.type, ...process };
}

export async function readSink(reader: PipelineReader, sink: SinkConfig): Promise<SinkPipeline> {
  const topic = deadLetterTopic(reader.config.kafka.topicPrefix, sink.name);
  const [process, lag, deadLetters] = await Promise.all([
    readStatus<SinkStatusReport>(reader, sink.http, 'sink', sink.name),
    settle(groupLag(reader.kafka, sink.name, sinkTopics(sink), { timeoutMs: reader.lagTimeoutMs ?? LAG_TIMEOUT_MS })),
    settle(topicSizes(reader.kafka, (name) => name === topic).then((sizes) => sizes[0]?.messages ?? '0')),
  ]);
  const failures = [lag, deadLetters].flatMap((read) => ('error' in read ? [masked(read.error, reader.secrets)] : []));
  return {
    kind: 'sink',
    name: sink.name,
    type: sink.type,
    ...process,
    lag: 'value' in lag ? lag.value : null,
    deadLetters: { topic, messages: 'value' in deadLetters ? deadLetters.value : null },
    kafkaError: failures.length === 0 ? null : [...new Set(failures)].join('; '),
  };
}

/** The sink's topic selection exactly as `tributary sink` resolves it. */
export function sinkTopics(sink: SinkConfig): string[] | RegExp {
  return Array.isArray(sink.topics) ? sink.topics : new RegExp(sink.topics.pattern);
}

/** Where the sink puts what it cannot apply (see sink/service.ts). */
export function deadLetterTopic(topicPrefix: string, sink: string): string {
  return `${topicPrefix}.dlq.${sink}`;
}

type ProcessView<R> = Pick<SourcePipeline, 'state' | 'endpoint' | 'error'> & { status: R | null };

async function readStatus<R extends { kind: string; name: string; state: string }>(
  reader: PipelineReader,
  http: HttpConfig | undefined,
  kind: R['kind'],
  name: string,
): Promise<ProcessView<R>> {
  const where = processUrl(http);
  if ('missing' in where) return { state: `unknown (${where.missing})`, endpoint: null, status: null, error: null };
  try {
    const status = (await readProcess(where.url, '/status', reader.config.admin.token)) as R;
    // Two entries given one port answer for each other: showing the other's state under this name would mislead.
    if (status.kind !== kind || status.name !== name) {
      const other = `${String(status.kind)} "${String(status.name)}"`;
      throw new Error(`${where.url} answers for ${other}, not ${kind} "${name}": do two entries of the config share its http port?`);
    }
    return { state: status.state, endpoint: where.url, status, error: null };
  } catch (error) {
    return { state: 'unreachable', endpoint: where.url, status: null, error: masked(error, reader.secrets) };
  }
}

function masked(error: unknown, secrets: readonly string[]): string {
  return redactText(error instanceof Error ? error.message : String(error), secrets);
}

async function settle<T>(promise: Promise<T>): Promise<{ value: T } | { error: unknown }> {
  return promise.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
}
