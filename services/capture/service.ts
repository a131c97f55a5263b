import { TributaryError } from '#core/errors.ts';
import { log } from '#core/log.ts';
import { retry } from '#core/retry.ts';
import { configuredByName } from '#config/load.ts';
import type { TributaryConfig } from '#config/schema.ts';
import { SOURCES } from '#connectors/sources.ts';
import { createKafka } from '#kafka/client.ts';
import { AvroSerde } from '#kafka/serde.ts';
import { TransactionalProducer } from '#kafka/producer.ts';
import { processRegistry } from '#admin/metrics.ts';
import { withProcessEndpoint } from '#admin/process-server.ts';
import { collectSecrets } from '#config/redact.ts';
import { captureTopics } from './bookkeeping.ts';
import { CaptureRunner, captureTransactionalId } from './runner.ts';
import { CaptureStatus } from './status.ts';

/**
 * `tributary capture <source>`: preflight once, then run the source into Kafka until the signal, restarting
 * from the stored offset after retriable failures (the one retry loop of the capture).
 */
export async function runCapture(config: TributaryConfig, sourceName: string, signal: AbortSignal): Promise<void> {
  const sourceConfig = configuredByName(config.sources, 'source', sourceName);
  const logger = log.child({ source: sourceName });
  const status = new CaptureStatus(processRegistry(`capture:${sourceName}`), sourceName, sourceConfig.type, collectSecrets(config));
  await withProcessEndpoint(sourceConfig.http, config, status, logger, () => captureUntilStopped(config, sourceName, signal, status));
}

async function captureUntilStopped(config: TributaryConfig, sourceName: string, signal: AbortSignal, status: CaptureStatus): Promise<void> {
  const sourceConfig = configuredByName(config.sources, 'source', sourceName);
  const connector = SOURCES[sourceConfig.type];
  const kafka = createKafka(config.kafka);
  const serde = new AvroSerde(config.schemaRegistry);
  const logger = log.child({ source: sourceName });
  const onFailure = status.failed.bind(status);

  const preflightSource = connector.create(sourceConfig);
  try {
    await retry(`checking source "${sourceName}"`, () => preflightSource.preflight(), { signal, log: logger, onFailure });
  } finally {
    await preflightSource.close();
  }

  await retry(
    `capturing source "${sourceName}"`,
    async () => {
      const source = connector.create(sourceConfig);
      const runner = new CaptureRunner(
        kafka,
        config.kafka,
        serde,
        {
          name: sourceName,
          connector: connector.connector,
          topicPrefix: config.kafka.topicPrefix,
          partitions: config.kafka.topicDefaults.partitions,
          replicationFactor: config.kafka.topicDefaults.replicationFactor,
          tombstones: sourceConfig.tombstones,
          transactionMetadata: sourceConfig.transactionMetadata,
          sendBatchMessages: 5_000,
          // Counted with 64 bytes per record where Kafka adds about 12: a full send is under 800 KiB in its largest
          // partition batch, below the broker's 1 MiB default. Larger sends mean fewer round trips for the producer.
          sendBatchBytes: 900 * 1024,
          sendsInFlight: 2,
          lingerMs: 100,
          heartbeatIntervalMs: sourceConfig.heartbeatIntervalMs,
          columns: sourceConfig.columns,
        },
        logger,
        status,
      );
      try {
        await runner.run(source, signal);
      } finally {
        await source.close();
      }
    },
    { signal, log: logger, onFailure },
  );
}

/**
 * `tributary capture <source> --drop-slot`: removes the server state that holds the source's position (a
 * PostgreSQL slot and publication) and forgets the stored offset, so the next run starts over with a snapshot.
 * Writing the offset's tombstone with the capture's transactional id fences a capture still running.
 */
export async function dropCaptureState(config: TributaryConfig, sourceName: string): Promise<string[]> {
  const sourceConfig = configuredByName(config.sources, 'source', sourceName);
  const source = SOURCES[sourceConfig.type].create(sourceConfig);
  if (!source.dropServerState) {
    throw new TributaryError('CONFIG_INVALID', `source "${sourceName}" (${sourceConfig.type}) keeps no slot on the server: there is nothing to drop`);
  }
  const kafka = createKafka(config.kafka);
  const topics = captureTopics(config.kafka.topicPrefix);
  const producer = await TransactionalProducer.connect(kafka, captureTransactionalId(config.kafka.topicPrefix, sourceName));
  try {
    const dropped = await source.dropServerState();
    await producer.commit([{ topic: topics.offsets, messages: [{ key: sourceName, value: null }] }]);
    return [...dropped, `the stored offset of source "${sourceName}"`];
  } finally {
    await producer.close();
    await source.close();
  }
}
