import { TributaryError } from '#core/errors.ts';
import { log } from '#core/log.ts';
import { retry } from '#core/retry.ts';
import { configuredByName } from '#config/load.ts';
import type { TributaryConfig } from '#config/schema.ts';
import { LOG_SINKS, SINKS, type SinkConnector } from '#connectors/sinks.ts';
import { createKafka } from '#kafka/client.ts';
import { AvroSerde } from '#kafka/serde.ts';
import { processRegistry } from '#admin/metrics.ts';
import { withProcessEndpoint } from '#admin/process-server.ts';
import { collectSecrets } from '#config/redact.ts';
import { LogSinkRunner } from './log-runner.ts';
import { SinkRunner, type SinkSettings } from './runner.ts';
import { SinkStatus } from './status.ts';

/**
 * `tributary sink <name>`: runs one sink from tributary.yaml until the signal, restarting after retriable
 * failures from its committed offsets (the one retry loop around the sink).
 */
export async function runSink(config: TributaryConfig, sinkName: string, signal: AbortSignal): Promise<void> {
  const sinkConfig = configuredByName(config.sinks, 'sink', sinkName);
  const connector = SINKS[sinkConfig.type];
  const logConnector = LOG_SINKS[sinkConfig.type];
  if (!connector && !logConnector) throw new TributaryError('CONFIG_INVALID', `sink type "${sinkConfig.type}" has no connector yet`);
  const kafka = createKafka(config.kafka);
  const serde = new AvroSerde(config.schemaRegistry);
  const logger = log.child({ sink: sinkName });
  const topics = Array.isArray(sinkConfig.topics) ? sinkConfig.topics : new RegExp(sinkConfig.topics.pattern);
  const status = new SinkStatus(processRegistry(`sink:${sinkName}`), sinkName, sinkConfig.type, sinkName, collectSecrets(config));
  const onFailure = status.failed.bind(status);
  const settings: SinkSettings = {
    name: sinkName,
    groupId: sinkName,
    topics,
    startFrom: sinkConfig.startFrom,
    maxRows: sinkConfig.batch.maxRows,
    lingerMs: sinkConfig.batch.lingerMs,
    onError: sinkConfig.onError,
    deadLetterTopic: `${config.kafka.topicPrefix}.dlq.${sinkName}`,
    replicationFactor: config.kafka.topicDefaults.replicationFactor,
    topicRefreshMs: 10_000,
  };

  await withProcessEndpoint(sinkConfig.http, config, status, logger, () =>
    retry(
      `running sink "${sinkName}"`,
      async () => {
        let sink: { close(): Promise<void> };
        let runner: { run(signal: AbortSignal): Promise<void> };
        if (logConnector) {
          // A log sink (the lake) keeps every change and commits when its files are durable: a runner of its own.
          const logSink = logConnector.create(sinkConfig);
          sink = logSink;
          runner = new LogSinkRunner(kafka, serde, logSink, settings, logger, status);
        } else {
          const stateSink = (connector as SinkConnector).create(sinkConfig);
          sink = stateSink;
          runner = new SinkRunner(kafka, serde, stateSink, settings, logger, status);
        }
        try {
          await runner.run(signal);
        } finally {
          await sink.close();
        }
      },
      { signal, log: logger, maxDelayMs: 10_000, onFailure },
    ),
  );
}
