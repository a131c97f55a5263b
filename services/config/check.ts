import { loadConfig, resolveConfigPath } from './load.ts';
import { redactUrlPasswords } from './redact.ts';
import type { SinkConfig, SourceConfig, TopicSelector, TributaryConfig } from './schema.ts';
import type { Env } from './substitute.ts';

/**
 * `tributary check`: validates the file and returns a short summary for humans. Only non-secret fields are
 * printed and URLs lose their passwords, so the output is safe to paste into a ticket. Throws ConfigError.
 */
export function checkConfig(path?: string, env: Env = process.env): string {
  const file = resolveConfigPath(path, env);
  return summarizeConfig(loadConfig(file, env), file);
}

export function summarizeConfig(config: TributaryConfig, file: string): string {
  const lines = [
    `Configuration OK: ${file}`,
    `kafka: brokers=${config.kafka.brokers.join(',')} topicPrefix=${config.kafka.topicPrefix}${kafkaSecurity(config)}`,
    `schema registry: ${redactUrlPasswords(config.schemaRegistry.url)}`,
    `sources (${config.sources.length}):`,
    ...config.sources.map((source) => `  ${describeSource(source)}`),
    `sinks (${config.sinks.length}):`,
    ...config.sinks.map((sink) => `  ${describeSink(sink)}`),
    `admin: ${hostPort(config.admin.host, config.admin.port)}${config.admin.token === undefined ? '' : ' (token set)'}`,
  ];
  return lines.join('\n');
}

function kafkaSecurity(config: TributaryConfig): string {
  const { sasl, tls } = config.kafka;
  const parts = [sasl ? ` sasl=${sasl.mechanism}` : '', tls ? ' tls=on' : ''];
  return parts.join('');
}

function describeSource(source: SourceConfig): string {
  const { host, port, database } = source.connection;
  const exclude = source.exclude.length > 0 ? ` exclude=${source.exclude.join(',')}` : '';
  return (
    `${source.name} ${source.type} ${hostPort(host, port)}${database ? `/${database}` : ''} ` +
    `include=${source.include.join(',')}${exclude} snapshot=${source.snapshot}${endpoint(source.http)}`
  );
}

function describeSink(sink: SinkConfig): string {
  return `${sink.name} ${sink.type} topics=${describeTopics(sink.topics)} -> ${sinkTarget(sink)}${endpoint(sink.http)}`;
}

function endpoint(http: { host: string; port: number } | undefined): string {
  return http ? ` http=${hostPort(http.host, http.port)}` : '';
}

function sinkTarget(sink: SinkConfig): string {
  switch (sink.type) {
    case 'mysql':
    case 'mariadb':
    case 'sqlserver': {
      const { host, port, database } = sink.connection;
      return `${hostPort(host, port)}${database ? `/${database}` : ''}`;
    }
    case 'clickhouse':
      return `${redactUrlPasswords(sink.connection.url)} database=${sink.connection.database}`;
    case 'lake':
      return redactUrlPasswords(sink.connection.path);
  }
}

function describeTopics(topics: TopicSelector): string {
  return Array.isArray(topics) ? topics.join(',') : `/${topics.pattern}/`;
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
