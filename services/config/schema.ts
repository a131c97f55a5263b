import { z } from 'zod';
import { clickHouseConnection, mysqlConnection, postgresConnection, sqlServerConnection } from './connection.ts';
import {
  flag,
  hostPort,
  httpUrl,
  identifier,
  integer,
  regexString,
  strictObject,
  tablePattern,
  TOPIC_CHARS,
  topicName,
} from './fields.ts';

/**
 * The shape of `tributary.yaml`. Every field carries a one-line `.describe()` that the reference docs are generated
 * from, so describe() is always the last call on a field (wrappers such as .default() would drop it otherwise).
 */

// ---------------------------------------------------------------------------------------------------------------
// Kafka

const brokerList = z.array(hostPort()).min(1);

export const SaslConfigSchema = strictObject({
  mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).describe('SASL mechanism the brokers expect.'),
  username: z.string().min(1).describe('SASL user name.'),
  password: z.string().min(1).describe('SASL password.'),
}).describe('SASL authentication; omit for unauthenticated brokers.');

export const TlsOptionsSchema = strictObject({
  ca: z.string().min(1).optional().describe('Path to a PEM file of CA certificates to trust instead of the system ones.'),
  cert: z.string().min(1).optional().describe('Path to a PEM client certificate, for mutual TLS. Needs `key`.'),
  key: z.string().min(1).optional().describe('Path to the PEM private key of `cert`.'),
  rejectUnauthorized: flag()
    .default(true)
    .describe('Verify the broker certificate. Turn off only for throwaway development clusters.'),
})
  .superRefine((tls, ctx) => {
    if ((tls.cert === undefined) !== (tls.key === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [tls.cert === undefined ? 'cert' : 'key'],
        message: 'cert and key must be given together (mutual TLS needs both)',
      });
    }
  })
  .describe('TLS settings for the broker connection.');

export const KafkaConfigSchema = strictObject({
  brokers: z
    .union([brokerList, z.string().transform(splitList).pipe(brokerList)])
    .describe('Bootstrap brokers as host:port: a list, or one comma-separated string (handy with ${KAFKA_BROKERS}).'),
  clientId: z.string().min(1).default('tributary').describe('Kafka client id, shown in broker logs and quotas.'),
  topicPrefix: z
    .string()
    .regex(TOPIC_CHARS, 'expected Kafka topic characters only: letters, digits, ".", "_" or "-"')
    .default('tributary')
    .describe('Prefix of every topic Tributary creates, so several deployments can share one cluster.'),
  topicDefaults: strictObject({
    partitions: integer(1).default(1).describe('Partitions of each change topic Tributary creates.'),
    replicationFactor: integer(1).default(1).describe('Replication factor of each topic Tributary creates.'),
  })
    .prefault({})
    .describe('Settings for topics Tributary creates; existing topics are left as they are.'),
  sasl: SaslConfigSchema.optional().describe('SASL authentication; omit for unauthenticated brokers.'),
  tls: z
    .union([flag(), TlsOptionsSchema])
    .optional()
    .describe('TLS to the brokers: true for system CAs, or an object with certificate paths; omit or false for plain.'),
}).describe('How to reach the Kafka cluster.');

function splitList(text: string): string[] {
  return text
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

// ---------------------------------------------------------------------------------------------------------------
// Schema registry

export const SchemaRegistryConfigSchema = strictObject({
  url: httpUrl().describe('Base URL of the Confluent-compatible schema registry API (Apicurio: .../apis/ccompat/v7).'),
  auth: strictObject({
    username: z.string().min(1).describe('Basic-auth user name.'),
    password: z.string().min(1).describe('Basic-auth password.'),
  })
    .optional()
    .describe('HTTP basic authentication for the registry; omit when it is open.'),
}).describe('Where Avro schemas of change events are registered and looked up.');

// ---------------------------------------------------------------------------------------------------------------
// HTTP endpoints

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1']);

/** Whether a listen address only accepts connections from this machine. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host.toLowerCase()) || host.startsWith('127.');
}

export const HttpConfigSchema = strictObject({
  host: z
    .string()
    .min(1)
    .default('127.0.0.1')
    .describe('Address to listen on; anything beyond loopback needs `admin.token`, which requests must then carry.'),
  port: integer(0, 65_535).describe('Port of the process\'s /health, /ready, /status and /metrics (0: any free port, logged).'),
}).describe('The process\'s own status and Prometheus endpoints, which the admin service aggregates; omit for none.');

export const AdminConfigSchema = strictObject({
  host: z
    .string()
    .min(1)
    .default('127.0.0.1')
    .describe('Address the admin API listens on; anything beyond loopback needs `token`.'),
  port: integer(0, 65_535).default(8780).describe('Port of the admin API.'),
  token: z
    .string()
    .min(16)
    .optional()
    .describe('Bearer token (16+ characters, e.g. `openssl rand -hex 24`) every admin and process HTTP request must then carry (`Authorization: Bearer …`); required beyond loopback.'),
})
  .prefault({})
  .describe('The admin service (`tributary admin`): status, lag, replay and metrics over HTTP.');

// ---------------------------------------------------------------------------------------------------------------
// Sources

const sourceCommon = {
  name: identifier().describe('Unique source name; appears in topic names, replication slot names and metrics.'),
  http: HttpConfigSchema.optional().describe(
    'The process\'s own /health, /ready, /status and /metrics endpoints, which the admin service aggregates; omit for none.',
  ),
  include: z
    .array(tablePattern())
    .min(1)
    .default(['*.*'])
    .describe('Tables to capture as db.table patterns (schema.table for Postgres); * and ? are wildcards.'),
  exclude: z
    .array(tablePattern())
    .default([])
    .describe('Tables to skip even though `include` matches them; same pattern syntax.'),
  snapshot: z
    .enum(['initial', 'never', 'when_needed', 'schema_only'])
    .default('initial')
    .describe(
      'Snapshot mode: initial (copy tables once, then stream), never (stream only), when_needed (copy again if the ' +
        'saved position is gone), schema_only (capture table schemas, no rows).',
    ),
  tombstones: flag().default(true).describe('After a delete event, also emit a null-value tombstone for compaction.'),
  heartbeatIntervalMs: integer(0)
    .default(10_000)
    .describe('Milliseconds between heartbeat events that keep offsets moving on quiet tables; 0 disables.'),
  snapshotChunkSize: integer(1)
    .default(5_000)
    .describe('Rows per snapshot chunk: one keyset-paginated query, and the unit an interrupted snapshot resumes from.'),
  transactionMetadata: flag()
    .default(false)
    .describe('Also write BEGIN and END records of each source transaction to <topicPrefix>.transactions.'),
  columns: strictObject({
    exclude: z
      .array(z.string().min(1))
      .default([])
      .describe('Columns left out of events, as db.table.column patterns with * and ? wildcards.'),
    mask: z
      .array(z.string().min(1))
      .default([])
      .describe('Columns replaced by the hex SHA-256 of salt + value, as db.table.column patterns.'),
    maskSalt: z.string().default('').describe('Salt of the mask hash; keep it secret so masked values cannot be guessed.'),
  })
    .default({ exclude: [], mask: [], maskSalt: '' })
    .describe('Per-column exclusion and masking.'),
};

export const MysqlSourceConfigSchema = strictObject({
  type: z.enum(['mysql', 'mariadb']).describe('Source database engine; MySQL and MariaDB read the binlog alike.'),
  ...sourceCommon,
  connection: mysqlConnection.describe('Connection to the primary (or a replica with binlog enabled).'),
  serverId: integer(1, 4_294_967_295)
    .default(54_001)
    .describe('Replica server id of the binlog client; must differ from every server and other client on the primary.'),
});

export const PostgresSourceConfigSchema = strictObject({
  type: z.literal('postgres').describe('Source database engine: PostgreSQL logical replication (pgoutput).'),
  ...sourceCommon,
  connection: postgresConnection.describe('Connection to the primary; the user needs the REPLICATION attribute.'),
  slotName: z
    .string()
    .regex(/^[a-z0-9_]{1,63}$/, 'expected 1-63 lowercase letters, digits or "_" (Postgres slot name rules)')
    .optional()
    .describe('Logical replication slot to use; derived from the source name when omitted.'),
  publicationName: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'expected a Postgres identifier of at most 63 characters')
    .optional()
    .describe('Publication to subscribe to; derived from the source name when omitted.'),
  retainedWalWarningMb: integer(1)
    .default(1024)
    .describe('Warn when the replication slot holds back more than this many MiB of WAL (the capture is behind or stopped).'),
});

export const SourceConfigSchema = z
  .discriminatedUnion('type', [MysqlSourceConfigSchema, PostgresSourceConfigSchema])
  .describe('A database whose changes are captured into Kafka.');

// ---------------------------------------------------------------------------------------------------------------
// Sinks

export const TopicSelectorSchema = z
  .union([
    z.array(topicName()).min(1),
    strictObject({
      pattern: regexString().describe('JavaScript regular expression matched against full topic names.'),
    }),
  ])
  .describe('Topics to consume: a list of topic names, or { pattern: <regex> } for every matching topic.');

/** How change events are grouped into writes; `maxRows` defaults per target to what suits its engine. */
function batchConfig(defaultMaxRows: number) {
  return strictObject({
    maxRows: integer(1).default(defaultMaxRows).describe('Most rows written in one batch.'),
    lingerMs: integer(0).default(200).describe('Longest wait for a batch to fill before writing it anyway.'),
  })
    .prefault({})
    .describe('How change events are grouped into writes.');
}

export const BatchConfigSchema = batchConfig(5_000);

const sinkCommon = {
  name: identifier().describe('Unique sink name; also its Kafka consumer group id, so its committed offsets are its checkpoint.'),
  http: HttpConfigSchema.optional().describe(
    'The process\'s own /health, /ready, /status and /metrics endpoints, which the admin service aggregates; omit for none.',
  ),
  topics: TopicSelectorSchema,
  startFrom: z
    .enum(['earliest', 'latest'])
    .default('earliest')
    .describe('Where a new consumer group starts reading: earliest (replay history) or latest (new events only).'),
  batch: BatchConfigSchema,
  onError: z
    .enum(['dlq', 'halt'])
    .default('dlq')
    .describe('On a record that cannot be written: dlq (send it to the dead-letter topic, go on) or halt (stop).'),
};

export const MysqlSinkConfigSchema = strictObject({
  type: z.enum(['mysql', 'mariadb']).describe('Target engine: MySQL or MariaDB, written with idempotent upserts.'),
  ...sinkCommon,
  connection: mysqlConnection.describe('Connection to the target database.'),
});

export const SqlServerSinkConfigSchema = strictObject({
  type: z.literal('sqlserver').describe('Target engine: Microsoft SQL Server, written with MERGE.'),
  ...sinkCommon,
  connection: sqlServerConnection.describe('Connection to the target SQL Server database.'),
});

export const ClickHouseSinkConfigSchema = strictObject({
  type: z.literal('clickhouse').describe('Target engine: ClickHouse (ReplacingMergeTree tables).'),
  ...sinkCommon,
  // ClickHouse writes one part per insert and merges parts in the background: few large inserts are far cheaper
  // than many small ones.
  batch: batchConfig(50_000),
  connection: clickHouseConnection.describe('Connection to the ClickHouse HTTP interface.'),
});

const S3_URL = /^s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](\/.*)?$/;
const HAS_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

export const LakeConnectionSchema = strictObject({
  path: z
    .string()
    .min(1)
    .refine(
      (path) => !HAS_SCHEME.test(path) || S3_URL.test(path),
      'expected a directory path or an s3://bucket/prefix URL',
    )
    .describe('Directory the Parquet files are written under. (s3://bucket/prefix passes this check but is refused at start: S3 is not supported yet.)'),
  rollBytes: integer(1)
    .default(128 * 1024 * 1024)
    .describe('Start a new file once the current one reaches this many bytes.'),
  rollMs: integer(1)
    .default(5 * 60 * 1000)
    .describe('Start a new file once the current one has been open this many milliseconds.'),
});

export const LakeSinkConfigSchema = strictObject({
  type: z.literal('lake').describe('Target: a Parquet data lake, the change log as files partitioned by table and date, rolled by size and age.'),
  ...sinkCommon,
  connection: LakeConnectionSchema.describe('Where and how often lake files are written.'),
});

export const SinkConfigSchema = z
  .discriminatedUnion('type', [
    MysqlSinkConfigSchema,
    SqlServerSinkConfigSchema,
    ClickHouseSinkConfigSchema,
    LakeSinkConfigSchema,
  ])
  .describe('A destination that consumes change topics and applies them.');

// ---------------------------------------------------------------------------------------------------------------
// Whole file

export const TributaryConfigSchema = strictObject({
  kafka: KafkaConfigSchema,
  schemaRegistry: SchemaRegistryConfigSchema,
  sources: z
    .array(SourceConfigSchema)
    .superRefine(uniqueNames('source'))
    .superRefine(distinctServerIds)
    .default([])
    .describe('Databases to capture changes from.'),
  sinks: z
    .array(SinkConfigSchema)
    .superRefine(uniqueNames('sink'))
    .default([])
    .describe('Destinations to write changes to.'),
  admin: AdminConfigSchema,
})
  .superRefine(tokenBeyondLoopback)
  .describe('Tributary configuration file (tributary.yaml).');

/** Names become topic, slot and consumer-group names, some of which fold case, so compare case-insensitively. */
function uniqueNames(kind: 'source' | 'sink') {
  return (items: readonly { name: string }[], ctx: z.core.$RefinementCtx<readonly { name: string }[]>) => {
    const firstIndex = new Map<string, number>();
    items.forEach((item, index) => {
      const key = item.name.toLowerCase();
      const first = firstIndex.get(key);
      if (first === undefined) {
        firstIndex.set(key, index);
        return;
      }
      ctx.addIssue({
        code: 'custom',
        path: [index, 'name'],
        message: `duplicate ${kind} name "${item.name}" (already used by ${kind}s[${first}]); ${kind} names must be unique`,
      });
    });
  };
}

/** An HTTP endpoint reachable from other machines answers only requests carrying the admin token. */
interface Endpoints {
  admin: { host: string; token?: string | undefined };
  sources: readonly { http?: { host: string } | undefined }[];
  sinks: readonly { http?: { host: string } | undefined }[];
}

function tokenBeyondLoopback(config: Endpoints, ctx: z.core.$RefinementCtx<Endpoints>): void {
  if (config.admin.token !== undefined) return;
  const endpoints: { path: (string | number)[]; host: string }[] = [
    { path: ['admin', 'host'], host: config.admin.host },
    ...config.sources.map((source, index) => ({ path: ['sources', index, 'http', 'host'], host: source.http?.host ?? '127.0.0.1' })),
    ...config.sinks.map((sink, index) => ({ path: ['sinks', index, 'http', 'host'], host: sink.http?.host ?? '127.0.0.1' })),
  ];
  for (const endpoint of endpoints.filter((e) => !isLoopbackHost(e.host))) {
    ctx.addIssue({
      code: 'custom',
      path: endpoint.path,
      message: `listening on ${endpoint.host} (beyond loopback) needs admin.token: set it, e.g. token: \${ADMIN_TOKEN}, or listen on 127.0.0.1`,
    });
  }
}

/** Two binlog clients with one server id on the same server kick each other off, endlessly. */
function distinctServerIds(sources: readonly SourceConfig[], ctx: z.core.$RefinementCtx<readonly SourceConfig[]>) {
  const firstIndex = new Map<string, number>();
  sources.forEach((source, index) => {
    if (source.type === 'postgres') return;
    const key = `${source.connection.host.toLowerCase()}:${source.connection.port}#${source.serverId}`;
    const first = firstIndex.get(key);
    if (first === undefined) {
      firstIndex.set(key, index);
      return;
    }
    ctx.addIssue({
      code: 'custom',
      path: [index, 'serverId'],
      message: `same serverId as sources[${first}] on the same server; give each source its own serverId`,
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Types

export type TributaryConfig = z.output<typeof TributaryConfigSchema>;
export type KafkaConfig = z.output<typeof KafkaConfigSchema>;
export type SaslConfig = z.output<typeof SaslConfigSchema>;
export type TlsOptions = z.output<typeof TlsOptionsSchema>;
export type SchemaRegistryConfig = z.output<typeof SchemaRegistryConfigSchema>;
export type SourceConfig = z.output<typeof SourceConfigSchema>;
export type MysqlSourceConfig = z.output<typeof MysqlSourceConfigSchema>;
export type PostgresSourceConfig = z.output<typeof PostgresSourceConfigSchema>;
export type SinkConfig = z.output<typeof SinkConfigSchema>;
export type MysqlSinkConfig = z.output<typeof MysqlSinkConfigSchema>;
export type SqlServerSinkConfig = z.output<typeof SqlServerSinkConfigSchema>;
export type ClickHouseSinkConfig = z.output<typeof ClickHouseSinkConfigSchema>;
export type LakeSinkConfig = z.output<typeof LakeSinkConfigSchema>;
export type LakeConnection = z.output<typeof LakeConnectionSchema>;
export type HttpConfig = z.output<typeof HttpConfigSchema>;
export type AdminConfig = z.output<typeof AdminConfigSchema>;
export type TopicSelector = z.output<typeof TopicSelectorSchema>;
export type BatchConfig = z.output<typeof BatchConfigSchema>;
export type SourceType = SourceConfig['type'];
export type SinkType = SinkConfig['type'];
export type {
  ClickHouseConnection,
  PostgresConnection,
  ResolvedConnection,
  SqlServerConnection,
} from './connection.ts';
