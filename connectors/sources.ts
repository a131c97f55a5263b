// The source connectors, one line per type. Sinks have their own registry (sinks.ts), so that a capture
// process loads no sink driver.
import type { Source } from '#core/source.ts';
import type { MysqlSourceConfig, PostgresSourceConfig, SourceConfig } from '#config/schema.ts';
import { MySqlSource } from '#mysql/source.ts';
import { publicationNameOf, slotNameOf } from '#postgres/names.ts';
import { PostgresSource } from '#postgres/source.ts';
import type { Connector } from '#schemas/table-avro.ts';

/** A source connector: how to build its Source from its validated config. One line per type below. */
export interface SourceConnector {
  /** The `connector` Debezium would name in `source.connector`. */
  connector: Connector;
  create(config: SourceConfig): Source;
}

const mySql: SourceConnector = {
  connector: 'mysql',
  create: (source) => {
    const config = source as MysqlSourceConfig;
    return new MySqlSource({
      name: config.name,
      connection: config.connection,
      serverId: config.serverId,
      include: config.include,
      exclude: config.exclude,
      snapshot: config.snapshot,
      snapshotChunkSize: config.snapshotChunkSize,
      // About 30 row events (binlog-reader.ts estimates). A deeper queue does not read faster (the same thread
      // decodes and consumes), it only lets decoded rows live through young-generation GCs into the old space.
      maxQueueBytes: 1024 * 1024,
    });
  },
};

const postgres: SourceConnector = {
  connector: 'postgresql',
  create: (source) => {
    const config = source as PostgresSourceConfig;
    return new PostgresSource({
      name: config.name,
      connection: config.connection,
      include: config.include,
      exclude: config.exclude,
      snapshot: config.snapshot,
      snapshotChunkSize: config.snapshotChunkSize,
      slotName: slotNameOf(config),
      publicationName: publicationNameOf(config),
      // As for MySQL: a deeper queue does not read faster, it only lets decoded rows outlive young-generation GCs.
      maxQueueBytes: 1024 * 1024,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      retainedWalWarningBytes: config.retainedWalWarningMb * 1024 * 1024,
    });
  },
};

export const SOURCES: Record<SourceConfig['type'], SourceConnector> = {
  mysql: mySql,
  mariadb: mySql,
  postgres,
};
