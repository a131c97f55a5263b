/**
 * The admin API described in OpenAPI 3.1, served at `/openapi.json`. Written by hand next to the routes (app.ts);
 * app.test.ts checks that every route registered is described here and that nothing else is. Schemas describe
 * what the handlers send: offsets, lag in messages and byte counts are decimal strings (64-bit values).
 */

type JsonType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean' | 'null';

export interface Schema {
  type?: JsonType | JsonType[];
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  items?: Schema;
  enum?: (string | number | boolean)[];
  format?: string;
  pattern?: string;
  minItems?: number;
  oneOf?: Schema[];
  $ref?: string;
  examples?: unknown[];
}

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  description: string;
  schema: Schema;
}

interface MediaType {
  schema: Schema;
}

interface Answer {
  description: string;
  content?: Record<string, MediaType>;
}

export interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  parameters?: Parameter[];
  requestBody?: { required: boolean; content: Record<string, MediaType> };
  responses: Record<string, Answer>;
  /** `[]` for the probes, which need no token. */
  security?: Record<string, string[]>[];
}

export type Method = 'get' | 'post';

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  paths: Record<string, Partial<Record<Method, Operation>>>;
  components: { schemas: Record<string, Schema>; securitySchemes: Record<string, { type: 'http'; scheme: 'bearer'; description: string }> };
  security: Record<string, string[]>[];
}

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema): Record<string, MediaType> => ({ 'application/json': { schema } });
const answer = (description: string, schema: Schema = ref('Error')): Answer => ({ description, content: json(schema) });
const decimal = (description: string): Schema => ({ type: 'string', pattern: '^[0-9]+$', description });
const nullable = (schema: Schema): Schema => ({ oneOf: [schema, { type: 'null' }] });
const time: Schema = { type: 'string', format: 'date-time' };

const UNAUTHORIZED = answer('No `Authorization: Bearer <admin.token>` header, or a wrong token (only when `admin.token` is set).');
const NOT_FOUND = answer('No source or sink of that name in the configuration; the message lists the names there are.');

const nameParameter = (kind: 'source' | 'sink'): Parameter => ({
  name: 'name',
  in: 'path',
  required: true,
  description: `The ${kind} name, as in the configuration.`,
  schema: { type: 'string' },
});

const schemas: Record<string, Schema> = {
  Error: {
    type: 'object',
    required: ['error'],
    properties: {
      error: { type: 'string', description: 'What failed; secrets of the configuration are masked as ***.' },
      code: { type: 'string', description: 'Tributary error code (CONFIG_INVALID, KAFKA_UNAVAILABLE, KAFKA_REJECTED, …) when classified.' },
    },
  },
  Probe: {
    type: 'object',
    required: ['status'],
    properties: { status: { type: 'string', enum: ['up', 'ready', 'not ready'] }, error: { type: 'string' } },
  },
  CaptureStatus: {
    type: 'object',
    description: 'What the capture process answers at its own /status.',
    required: ['kind', 'name', 'type', 'state', 'position', 'events', 'eventsPerSecond', 'snapshot', 'slot', 'lastError'],
    properties: {
      kind: { type: 'string', enum: ['capture'] },
      name: { type: 'string' },
      type: { type: 'string' },
      state: { type: 'string', enum: ['starting', 'snapshotting', 'streaming', 'retrying', 'stopped', 'failed'] },
      startedAt: time,
      position: nullable({ type: 'object', description: 'The source offset of the last committed Kafka transaction (binlog or LSN).' }),
      lastCommitAt: nullable(time),
      lastEventTime: nullable({ ...time, description: 'Source commit time of the last event committed to Kafka.' }),
      events: { type: 'integer' },
      eventsPerSecond: { type: 'number' },
      snapshot: { type: 'array', items: ref('SnapshotProgress') },
      slot: nullable({
        type: 'object',
        description: 'PostgreSQL: the replication slot as last checked.',
        properties: {
          name: { type: 'string' },
          active: { type: 'boolean' },
          retainedWalBytes: nullable(decimal('WAL the slot holds back, in bytes.')),
          walStatus: nullable({ type: 'string' }),
          checkedAt: time,
        },
      }),
      lastError: nullable(ref('ProcessError')),
    },
  },
  SnapshotProgress: {
    type: 'object',
    required: ['table', 'rowsDone', 'rowsEstimated', 'rowsPerSecond', 'done'],
    properties: {
      table: { type: 'string' },
      rowsDone: { type: 'integer' },
      rowsEstimated: { type: 'integer' },
      rowsPerSecond: { type: 'number' },
      done: { type: 'boolean' },
    },
  },
  ProcessError: {
    type: 'object',
    required: ['code', 'message', 'at'],
    properties: { code: { type: 'string' }, message: { type: 'string' }, at: time },
  },
  SinkStatus: {
    type: 'object',
    description: 'What the sink process answers at its own /status.',
    required: ['kind', 'name', 'type', 'groupId', 'state', 'topics', 'partitions', 'applied', 'appliedPerSecond', 'deadLetters'],
    properties: {
      kind: { type: 'string', enum: ['sink'] },
      name: { type: 'string' },
      type: { type: 'string' },
      groupId: { type: 'string' },
      state: { type: 'string', enum: ['starting', 'waiting-for-topics', 'consuming', 'retrying', 'stopped', 'failed'] },
      startedAt: time,
      topics: { type: 'array', items: { type: 'string' } },
      partitions: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            topic: { type: 'string' },
            partition: { type: 'integer' },
            committed: decimal('The offset this process committed last.'),
            endAtFetch: decimal('The partition end when that batch was fetched.'),
            committedAt: time,
            lastMessageTime: nullable(time),
          },
        },
      },
      applied: { type: 'integer' },
      appliedPerSecond: { type: 'number' },
      deadLetters: { type: 'integer', description: 'Messages this process sent to the dead-letter topic since it started.' },
      pausedTopics: { type: 'array', items: { type: 'string' } },
      lastError: nullable(ref('ProcessError')),
    },
  },
  GroupLag: {
    type: 'object',
    description: 'The consumer group (id = sink name) as Kafka sees it now.',
    required: ['group', 'state', 'members', 'partitions', 'totalLagMessages'],
    properties: {
      group: { type: 'string' },
      state: { type: 'string', description: 'As the group coordinator says: Stable, Empty, Dead (no such group), …' },
      members: { type: 'integer' },
      partitions: {
        type: 'array',
        items: {
          type: 'object',
          required: ['topic', 'partition', 'committed', 'end', 'lagMessages', 'lagSeconds'],
          properties: {
            topic: { type: 'string' },
            partition: { type: 'integer' },
            committed: nullable(decimal('The committed offset (the next message to apply); null when never committed.')),
            end: decimal('The partition end (last stable offset).'),
            lagMessages: decimal('Offsets from where the group resumes to the end, transaction markers included.'),
            lagSeconds: nullable({ type: 'number', description: 'Age of the first unconsumed message; null when it could not be read in time.' }),
          },
        },
      },
      totalLagMessages: decimal('Sum of lagMessages.'),
    },
  },
  SourcePipeline: {
    type: 'object',
    required: ['kind', 'name', 'type', 'state', 'endpoint', 'status', 'error'],
    properties: {
      kind: { type: 'string', enum: ['source'] },
      name: { type: 'string' },
      type: { type: 'string' },
      state: {
        type: 'string',
        description: 'The process state from its /status, "unreachable" when it does not answer, or "unknown (why)" when it has no endpoint.',
      },
      endpoint: nullable({ type: 'string', description: 'Where the status was read.' }),
      status: nullable(ref('CaptureStatus')),
      error: nullable({ type: 'string', description: 'Why the process could not be read.' }),
    },
  },
  SinkPipeline: {
    type: 'object',
    required: ['kind', 'name', 'type', 'state', 'endpoint', 'status', 'error', 'lag', 'deadLetters', 'kafkaError'],
    properties: {
      kind: { type: 'string', enum: ['sink'] },
      name: { type: 'string' },
      type: { type: 'string' },
      state: { type: 'string', description: 'As for sources.' },
      endpoint: nullable({ type: 'string' }),
      status: nullable(ref('SinkStatus')),
      error: nullable({ type: 'string' }),
      lag: nullable(ref('GroupLag')),
      deadLetters: {
        type: 'object',
        required: ['topic', 'messages'],
        properties: {
          topic: { type: 'string', description: '<topicPrefix>.dlq.<sink>' },
          messages: nullable(decimal('Messages the topic holds (high - low watermarks); "0" when it does not exist.')),
        },
      },
      kafkaError: nullable({ type: 'string', description: 'Why lag or dead letters could not be read from Kafka.' }),
    },
  },
  Pipelines: {
    type: 'object',
    required: ['sources', 'sinks'],
    properties: { sources: { type: 'array', items: ref('SourcePipeline') }, sinks: { type: 'array', items: ref('SinkPipeline') } },
  },
  ReplayRequest: {
    type: 'object',
    required: ['to'],
    additionalProperties: false,
    properties: {
      to: {
        type: 'string',
        description: 'earliest, latest, an ISO-8601 time with its zone, or partition:offset,… / topic:partition:offset,…',
        examples: ['earliest', '2024-05-01T12:00:00Z', '0:1500,1:1720'],
      },
      dryRun: { type: 'boolean', description: 'Answer the plan without moving anything.' },
    },
  },
  ReplayPlan: {
    type: 'object',
    required: ['sink', 'dryRun', 'group', 'state', 'members', 'partitions'],
    properties: {
      sink: { type: 'string' },
      dryRun: { type: 'boolean', description: 'true: nothing moved; false: the group\'s offsets are now at `to`.' },
      group: { type: 'string' },
      state: { type: 'string' },
      members: { type: 'integer' },
      partitions: {
        type: 'array',
        items: {
          type: 'object',
          required: ['topic', 'partition', 'from', 'to'],
          properties: {
            topic: { type: 'string' },
            partition: { type: 'integer' },
            from: nullable(decimal('The committed offset before; null when there was none.')),
            to: decimal('The committed offset after.'),
          },
        },
      },
    },
  },
  SnapshotRequest: {
    type: 'object',
    required: ['tables'],
    additionalProperties: false,
    properties: {
      tables: { type: 'array', minItems: 1, items: { type: 'string', pattern: '^[^.\\s]+\\.[^.\\s]+$' }, description: 'db.table (schema.table for PostgreSQL).' },
    },
  },
  SnapshotAccepted: {
    type: 'object',
    required: ['id', 'source', 'tables'],
    properties: {
      id: { type: 'string', description: 'The signal id; the capture reports the snapshot\'s progress in its status.' },
      source: { type: 'string' },
      tables: { type: 'array', items: { type: 'string' } },
    },
  },
};

export const OPENAPI: OpenApiDocument = {
  openapi: '3.1.0',
  info: {
    title: 'Tributary admin API',
    version: '1',
    description:
      'Status, lag, replay, snapshots and merged Prometheus metrics of the sources and sinks of one tributary.yaml. ' +
      'When admin.token is set, every request but /health and /ready carries `Authorization: Bearer <token>`.',
  },
  security: [{ bearer: [] }],
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'The admin.token of the configuration.' } },
    schemas,
  },
  paths: {
    '/health': {
      get: {
        operationId: 'health',
        summary: 'The admin process is up.',
        tags: ['probes'],
        security: [],
        responses: { '200': answer('Up.', ref('Probe')) },
      },
    },
    '/ready': {
      get: {
        operationId: 'ready',
        summary: 'Kafka answers a metadata request within a few seconds.',
        tags: ['probes'],
        security: [],
        responses: { '200': answer('Kafka is reachable.', ref('Probe')), '503': answer('Kafka is not reachable.', ref('Probe')) },
      },
    },
    '/openapi.json': {
      get: {
        operationId: 'openapi',
        summary: 'This document.',
        tags: ['meta'],
        responses: { '200': answer('OpenAPI 3.1 document.', { type: 'object' }), '401': UNAUTHORIZED },
      },
    },
    '/metrics': {
      get: {
        operationId: 'metrics',
        summary: 'Prometheus metrics of the admin process merged with those of every capture and sink process with an http endpoint.',
        description: 'A process that does not answer is left out and counted in tributary_admin_scrape_failures{process}.',
        tags: ['metrics'],
        responses: {
          '200': { description: 'Prometheus text format.', content: { 'text/plain': { schema: { type: 'string' } } } },
          '401': UNAUTHORIZED,
        },
      },
    },
    '/v1/pipelines': {
      get: {
        operationId: 'listPipelines',
        summary: 'Every source and sink: its process status, and for sinks the consumer-group lag and dead letters from Kafka.',
        tags: ['pipelines'],
        responses: { '200': answer('All pipelines.', ref('Pipelines')), '401': UNAUTHORIZED },
      },
    },
    '/v1/sources/{name}': {
      get: {
        operationId: 'getSource',
        summary: 'One source, as in /v1/pipelines.',
        tags: ['pipelines'],
        parameters: [nameParameter('source')],
        responses: { '200': answer('The source.', ref('SourcePipeline')), '401': UNAUTHORIZED, '404': NOT_FOUND },
      },
    },
    '/v1/sinks/{name}': {
      get: {
        operationId: 'getSink',
        summary: 'One sink, as in /v1/pipelines.',
        tags: ['pipelines'],
        parameters: [nameParameter('sink')],
        responses: { '200': answer('The sink.', ref('SinkPipeline')), '401': UNAUTHORIZED, '404': NOT_FOUND },
      },
    },
    '/v1/sinks/{name}/replay': {
      post: {
        operationId: 'replaySink',
        summary: 'Move the committed offsets of a stopped sink, so that it applies its topics again from there (or skips ahead).',
        description: 'Refused with 409 while the sink\'s consumer group has members: stop the sink first.',
        tags: ['operations'],
        parameters: [nameParameter('sink')],
        requestBody: { required: true, content: json(ref('ReplayRequest')) },
        responses: {
          '200': answer('What moved (or would move, for a dry run): from → to per partition.', ref('ReplayPlan')),
          '400': answer('The body or the target is invalid (the message names the part at fault and the accepted forms).'),
          '401': UNAUTHORIZED,
          '404': NOT_FOUND,
          '409': answer('The sink is consuming (its group has members), or Kafka refused the move.'),
          '503': answer('Kafka is not reachable.'),
        },
      },
    },
    '/v1/sources/{name}/snapshots': {
      post: {
        operationId: 'snapshotSource',
        summary: 'Ask the capture of a source to snapshot tables again (incrementally, while it streams).',
        description: 'Sends an execute-snapshot signal to <topicPrefix>.signals, keyed by the source name.',
        tags: ['operations'],
        parameters: [nameParameter('source')],
        requestBody: { required: true, content: json(ref('SnapshotRequest')) },
        responses: {
          '202': answer('The signal is in Kafka; the capture acts on it when it reads it.', ref('SnapshotAccepted')),
          '400': answer('No tables, or a table not named db.table.'),
          '401': UNAUTHORIZED,
          '404': NOT_FOUND,
          '503': answer('Kafka is not reachable.'),
        },
      },
    },
  },
};
