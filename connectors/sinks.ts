// The sink connectors, one line per type. Sources have their own registry (sources.ts), so that a sink process
// loads no source driver.
import type { Sink } from '#core/sink.ts';
import type { ClickHouseSinkConfig, MysqlSinkConfig, SinkConfig, SqlServerSinkConfig } from '#config/schema.ts';
import { ClickHouseSink } from '#connectors/clickhouse/sink.ts';
import { MySqlSink } from '#mysql/sink.ts';
import { SqlServerSink } from '#sqlserver/sink.ts';

/** A sink connector: how to build its Sink from its validated config. One line per type below. */
export interface SinkConnector {
  create(config: SinkConfig): Sink;
}

export const SINKS: Partial<Record<SinkConfig['type'], SinkConnector>> = {
  mysql: { create: (config) => new MySqlSink(config as MysqlSinkConfig) },
  mariadb: { create: (config) => new MySqlSink(config as MysqlSinkConfig) },
  clickhouse: { create: (config) => new ClickHouseSink(config as ClickHouseSinkConfig) },
  sqlserver: { create: (config) => new SqlServerSink(config as SqlServerSinkConfig) },
};
