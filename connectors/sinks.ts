// The sink connectors, one line per type. Sources have their own registry (sources.ts), so that a sink process
// loads no source driver.
import type { LogSink } from '#core/log-sink.ts';
import type { Sink } from '#core/sink.ts';
import type { ClickHouseSinkConfig, LakeSinkConfig, MysqlSinkConfig, SinkConfig, SqlServerSinkConfig } from '#config/schema.ts';
import { ClickHouseSink } from '#connectors/clickhouse/sink.ts';
import { LakeSink } from '#connectors/lake/sink.ts';
import { MySqlSink } from '#mysql/sink.ts';
import { SqlServerSink } from '#sqlserver/sink.ts';

/** A sink connector: how to build its Sink from its validated config. One line per type below. */
export interface SinkConnector {
  create(config: SinkConfig): Sink;
}

/** A connector of a target that keeps a log of the changes rather than their current state: its own runner drives it. */
export interface LogSinkConnector {
  create(config: SinkConfig): LogSink;
}

export const SINKS: Partial<Record<SinkConfig['type'], SinkConnector>> = {
  mysql: { create: (config) => new MySqlSink(config as MysqlSinkConfig) },
  mariadb: { create: (config) => new MySqlSink(config as MysqlSinkConfig) },
  clickhouse: { create: (config) => new ClickHouseSink(config as ClickHouseSinkConfig) },
  sqlserver: { create: (config) => new SqlServerSink(config as SqlServerSinkConfig) },
};

export const LOG_SINKS: Partial<Record<SinkConfig['type'], LogSinkConnector>> = {
  lake: { create: (config) => new LakeSink(config as LakeSinkConfig) },
};
