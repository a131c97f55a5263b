import { readFileSync } from 'node:fs';
import { Kafka, logLevel, type KafkaConfig as KafkaJsConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import { log } from '#core/log.ts';

/** What the Kafka client needs from the `kafka` section of tributary.yaml. */
export interface KafkaConnection {
  brokers: string[];
  clientId?: string;
  sasl?: { mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'; username: string; password: string };
  tls?: boolean | { ca?: string; cert?: string; key?: string; rejectUnauthorized?: boolean };
}

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

// kafkajs logs through pino at one level lower than it asks for: its INFO lines (group joins, producer
// starts) are routine, and its ERROR lines repeat what the caller receives as an exception and logs itself.
/**
 * kafkajs warnings that do not apply to how Tributary uses it, logged at debug. Bounded retries on the transactional
 * producer: a send that runs out of them fails the whole Kafka transaction, which is aborted and published again
 * (TransactionalProducer), so no message is ever written twice or out of its transaction.
 */
const NOT_FOR_US = new Set(['Limiting retries for the idempotent producer may invalidate EoS guarantees']);

const kafkaLog = () => (entry: LogEntry) => {
  const level = LEVELS[entry.level] ?? 'info';
  const { message, ...rest } = entry.log;
  const demoted = NOT_FOR_US.has(message) ? 'debug' : level === 'error' ? 'warn' : level === 'info' ? 'debug' : level;
  log[demoted]({ component: 'kafka', namespace: entry.namespace, ...rest }, message);
};

export function createKafka(connection: KafkaConnection): Kafka {
  const config: KafkaJsConfig = {
    clientId: connection.clientId ?? 'tributary',
    brokers: connection.brokers,
    logLevel: logLevel.INFO,
    logCreator: kafkaLog,
  };
  if (connection.sasl) {
    config.sasl = {
      mechanism: connection.sasl.mechanism,
      username: connection.sasl.username,
      password: connection.sasl.password,
    } as SASLOptions;
  }
  if (connection.tls) {
    const tls = connection.tls === true ? {} : connection.tls;
    config.ssl = {
      rejectUnauthorized: tls.rejectUnauthorized ?? true,
      ...(tls.ca ? { ca: [readFileSync(tls.ca, 'utf8')] } : {}),
      ...(tls.cert ? { cert: readFileSync(tls.cert, 'utf8') } : {}),
      ...(tls.key ? { key: readFileSync(tls.key, 'utf8') } : {}),
    };
  }
  return new Kafka(config);
}
