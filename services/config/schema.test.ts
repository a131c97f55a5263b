import { describe, expect, it } from 'vitest';
import { SAMPLE_CONFIG_YAML } from './fixtures.ts';
import { parseConfig } from './load.ts';
import { TributaryConfigSchema } from './schema.ts';
import { configErrorOf, MINIMAL_YAML } from './test-helpers.ts';

const parse = (yaml: string) => parseConfig(yaml, {}, 'test.yaml');
const problemsOf = (yaml: string) => configErrorOf(() => parse(yaml)).problems;

describe('valid configuration', () => {
  it('parses the sample config with defaults filled in', () => {
    const config = parse(SAMPLE_CONFIG_YAML);
    expect(config.kafka).toEqual({
      brokers: ['127.0.0.1:19092'],
      clientId: 'tributary-dev',
      topicPrefix: 'tributary',
      topicDefaults: { partitions: 3, replicationFactor: 1 },
    });
    expect(config.schemaRegistry).toEqual({ url: 'http://127.0.0.1:18081/apis/ccompat/v7' });

    const [shop, billing] = config.sources;
    expect(shop).toEqual({
      name: 'shop',
      type: 'mariadb',
      connection: { host: '127.0.0.1', port: 13306, user: 'tributary', password: 'tributary', database: 'shop' },
      serverId: 54001,
      include: ['shop.*'],
      exclude: ['shop.*_tmp', 'shop.sessions'],
      snapshot: 'initial',
      tombstones: true,
      heartbeatIntervalMs: 10000,
      snapshotChunkSize: 5000,
      transactionMetadata: false,
      columns: { exclude: [], mask: [], maskSalt: '' },
    });
    expect(billing).toMatchObject({
      type: 'postgres',
      connection: { host: '127.0.0.1', port: 15432, user: 'tributary', password: 'tributary', database: 'billing' },
      snapshot: 'when_needed',
      heartbeatIntervalMs: 5000,
      snapshotChunkSize: 5000,
      transactionMetadata: false,
      columns: { exclude: [], mask: [], maskSalt: '' },
      exclude: [],
    });

    const [reporting, analytics] = config.sinks;
    expect(reporting).toMatchObject({
      type: 'mysql',
      topics: { pattern: '^tributary\\.shop\\.' },
      startFrom: 'earliest',
      onError: 'dlq',
      batch: { maxRows: 1000, lingerMs: 200 },
      connection: { host: '127.0.0.1', port: 13307, user: 'tributary', password: 'tributary', database: 'reporting' },
    });
    expect(analytics).toMatchObject({
      type: 'clickhouse',
      startFrom: 'latest',
      onError: 'halt',
      batch: { maxRows: 50000, lingerMs: 200 },
      connection: { url: 'http://127.0.0.1:18123', username: 'tributary', password: 'tributary', database: 'analytics' },
    });
  });

  it('fills every default in a minimal file', () => {
    const config = parse(`${MINIMAL_YAML}sources:\n  - { name: a, type: mysql, connection: { user: cdc } }\n`);
    expect(config.kafka).toMatchObject({ clientId: 'tributary', topicPrefix: 'tributary' });
    expect(config.kafka.topicDefaults).toEqual({ partitions: 1, replicationFactor: 1 });
    expect(config.sinks).toEqual([]);
    expect(config.sources[0]).toEqual({
      name: 'a',
      type: 'mysql',
      connection: { host: '127.0.0.1', port: 3306, user: 'cdc' },
      serverId: 54001,
      include: ['*.*'],
      exclude: [],
      snapshot: 'initial',
      tombstones: true,
      heartbeatIntervalMs: 10000,
      snapshotChunkSize: 5000,
      transactionMetadata: false,
      columns: { exclude: [], mask: [], maskSalt: '' },
    });
  });

  it('accepts brokers as one comma-separated string', () => {
    const config = parse(`kafka:\n  brokers: ' kafka-1:9092,kafka-2:9092 , [::1]:9093,'\nschemaRegistry: { url: http://r }\n`);
    expect(config.kafka.brokers).toEqual(['kafka-1:9092', 'kafka-2:9092', '[::1]:9093']);
  });

  it('accepts numbers and booleans spelt as strings (what ${VAR} substitution produces)', () => {
    const config = parseConfig(
      `${MINIMAL_YAML}sources:\n  - name: a\n    type: mysql\n    tombstones: \${TOMBSTONES}\n    connection: { user: u, port: '\${PORT}', password: '\${PW}' }\n`,
      { TOMBSTONES: 'false', PORT: '3307', PW: '12345' },
      'test.yaml',
    );
    expect(config.sources[0]).toMatchObject({ tombstones: false, connection: { port: 3307, password: '12345' } });
  });

  it('accepts kafka sasl and tls in both forms', () => {
    const withTls = (tls: string) =>
      parse(`kafka:\n  brokers: k:9093\n  sasl: { mechanism: scram-sha-512, username: u, password: p }\n  tls: ${tls}\nschemaRegistry: { url: https://r }\n`);
    expect(withTls('true').kafka.tls).toBe(true);
    expect(withTls('{ ca: /etc/ca.pem }').kafka.tls).toEqual({ ca: '/etc/ca.pem', rejectUnauthorized: true });
  });

  it('parses every sink type', () => {
    const config = parse(`${MINIMAL_YAML}sinks:
  - { name: m, type: mariadb, topics: [t1], connection: { url: 'mariadb://u:p@db/app' } }
  - { name: s, type: sqlserver, topics: [t1], connection: { url: 'sqlserver://sa:p@mssql/app', trustServerCertificate: true } }
  - { name: c, type: clickhouse, topics: { pattern: '^t' }, connection: { url: 'https://ch.example.com' } }
  - { name: l, type: lake, topics: [t1, t2], connection: { path: 's3://my-bucket/cdc' } }
`);
    expect(config.sinks.map((s) => s.connection)).toEqual([
      { host: 'db', port: 3306, user: 'u', password: 'p', database: 'app' },
      { host: 'mssql', port: 1433, user: 'sa', password: 'p', database: 'app', encrypt: true, trustServerCertificate: true },
      { url: 'https://ch.example.com:8443', username: 'default', database: 'default' },
      { path: 's3://my-bucket/cdc', rollBytes: 128 * 1024 * 1024, rollMs: 300_000 },
    ]);
  });

  it('carries a description on every field for the reference docs', () => {
    expect(TributaryConfigSchema.description).toMatch(/tributary\.yaml/);
    expect(TributaryConfigSchema.shape.kafka.shape.brokers.description).toBeTruthy();
    expect(TributaryConfigSchema.shape.kafka.shape.topicDefaults.description).toBeTruthy();
  });
});

describe('connection forms', () => {
  const source = (connection: string, type = 'mysql') =>
    parse(`${MINIMAL_YAML}sources:\n  - { name: a, type: ${type}, connection: ${connection} }\n`).sources[0]?.connection;

  it('normalises mysql url and fields to the same shape', () => {
    const fromUrl = source(`{ url: 'mysql://cdc:p%40ss@db.internal:3307/shop' }`);
    const fromFields = source(`{ host: db.internal, port: 3307, user: cdc, password: 'p@ss', database: shop }`);
    expect(fromUrl).toEqual({ host: 'db.internal', port: 3307, user: 'cdc', password: 'p@ss', database: 'shop' });
    expect(fromFields).toEqual(fromUrl);
  });

  it('normalises postgres url and fields to the same shape, with the default port', () => {
    const fromUrl = source(`{ url: 'postgresql://cdc@pg/billing', password: secret }`, 'postgres');
    const fromFields = source(`{ host: pg, user: cdc, password: secret, database: billing }`, 'postgres');
    expect(fromUrl).toEqual({ host: 'pg', port: 5432, user: 'cdc', password: 'secret', database: 'billing' });
    expect(fromFields).toEqual(fromUrl);
  });

  it('rejects url together with separate fields', () => {
    expect(problemsOf(`${MINIMAL_YAML}sources:\n  - { name: a, type: mysql, connection: { url: 'mysql://u@h', port: 1 } }\n`)).toEqual([
      'sources[0].connection.port: give either url or port (with the other separate fields), not both',
    ]);
  });

  it('explains unparseable urls, wrong schemes and missing parts', () => {
    const problems = problemsOf(`${MINIMAL_YAML}sources:
  - { name: a, type: mysql, connection: { url: 'not a url' } }
  - { name: b, type: postgres, connection: { url: 'mysql://u@h/db' } }
  - { name: c, type: postgres, connection: { url: 'postgres://u@h' } }
  - { name: d, type: mysql, connection: { url: 'mysql://h:3306' } }
  - { name: e, type: mysql, connection: { host: h } }
`);
    expect(problems).toEqual([
      'sources[0].connection.url: not a valid URL (expected mysql://user@host:3306/database)',
      'sources[1].connection.url: expected a postgres:// or postgresql:// URL, received a mysql:// URL',
      'sources[2].connection.url: a database name is required (e.g. postgres://user@host:5432/database)',
      'sources[3].connection.url: URL has no user name (expected mysql://user@host:3306/database)',
      'sources[4].connection.user: missing required key (expected string), or give url',
    ]);
  });
});

describe('validation messages', () => {
  it('names the path of an unknown key and suggests the spelling', () => {
    const problems = problemsOf(`kafka:\n  brokers: k:9092\n  clientID: x\nschemaRegistry: { url: http://r }\nsink: []\n`);
    expect(problems).toEqual([
      'kafka.clientID: unknown key — did you mean "clientId"? (allowed here: brokers, clientId, topicPrefix, topicDefaults, sasl, tls)',
      'sink: unknown key — did you mean "sinks"? (allowed here: kafka, schemaRegistry, sources, sinks, admin)',
    ]);
  });

  it('names the path and expected type of a wrongly typed value', () => {
    const problems = problemsOf(`${MINIMAL_YAML}sources:\n  - { name: a, type: mysql, connection: { user: u, port: [1] } }\n  - { name: b, type: mysql, connection: { user: u, port: 'x' } }\n`);
    expect(problems).toEqual([
      'sources[0].connection.port: expected number, received array',
      'sources[1].connection.port: expected number, received string',
    ]);
  });

  it('names missing required keys', () => {
    expect(problemsOf('kafka: {}\n')).toEqual([
      'kafka.brokers: missing required key (expected array or string)',
      'schemaRegistry: missing required key (expected object)',
    ]);
  });

  it('lists the allowed values of a bad enum', () => {
    expect(problemsOf(`${MINIMAL_YAML}sources:\n  - { name: a, type: mysql, snapshot: always, connection: { user: u } }\n`)).toEqual([
      'sources[0].snapshot: expected one of "initial" | "never" | "when_needed" | "schema_only"',
    ]);
  });

  it('lists the allowed types of an unknown or missing source/sink type', () => {
    expect(problemsOf(`${MINIMAL_YAML}sources:\n  - { name: a, type: oracle }\nsinks:\n  - { name: b }\n`)).toEqual([
      'sources[0].type: unknown type; expected one of "mysql" | "mariadb" | "postgres"',
      'sinks[0].type: missing required key (expected one of "mysql" | "mariadb" | "sqlserver" | "clickhouse" | "lake")',
    ]);
  });

  it('names a duplicate source name (case-insensitively) and a duplicate sink name', () => {
    const problems = problemsOf(`${MINIMAL_YAML}sources:
  - { name: shop, type: mysql, connection: { user: u }, serverId: 1 }
  - { name: Shop, type: postgres, connection: { user: u, database: d } }
sinks:
  - { name: out, type: lake, topics: [t], connection: { path: /data } }
  - { name: out, type: lake, topics: [t], connection: { path: /data2 } }
`);
    expect(problems).toEqual([
      'sources[1].name: duplicate source name "Shop" (already used by sources[0]); source names must be unique',
      'sinks[1].name: duplicate sink name "out" (already used by sinks[0]); sink names must be unique',
    ]);
  });

  it('rejects two binlog clients with one serverId on the same server', () => {
    expect(problemsOf(`${MINIMAL_YAML}sources:\n  - { name: a, type: mysql, connection: { user: u } }\n  - { name: b, type: mariadb, connection: { url: 'mysql://u@127.0.0.1:3306' } }\n`)).toEqual([
      'sources[1].serverId: same serverId as sources[0] on the same server; give each source its own serverId',
    ]);
  });

  it('requires admin.token once an HTTP endpoint listens beyond loopback', () => {
    const sinks = `sinks:\n  - { name: s, type: clickhouse, connection: { url: 'http://h:8123' }, topics: [t], http: { host: 0.0.0.0, port: 9101 } }\n`;
    expect(problemsOf(`${MINIMAL_YAML}${sinks}admin: { host: 10.0.0.5 }\n`)).toEqual([
      'admin.host: listening on 10.0.0.5 (beyond loopback) needs admin.token: set it, e.g. token: ${ADMIN_TOKEN}, or listen on 127.0.0.1',
      'sinks[0].http.host: listening on 0.0.0.0 (beyond loopback) needs admin.token: set it, e.g. token: ${ADMIN_TOKEN}, or listen on 127.0.0.1',
    ]);
    expect(problemsOf(`${MINIMAL_YAML}admin: { token: short }\n`)).toEqual([
      'admin.token: expected at least 16 characters',
    ]);
    const config = parse(`${MINIMAL_YAML}${sinks}admin: { host: 0.0.0.0, token: 0123456789abcdef0123 }\n`);
    expect(config.admin).toEqual({ host: '0.0.0.0', port: 8780, token: '0123456789abcdef0123' });
    expect(config.sinks[0]?.http).toEqual({ host: '0.0.0.0', port: 9101 });
    expect(parse(MINIMAL_YAML).admin).toEqual({ host: '127.0.0.1', port: 8780 });
  });

  it('rejects an invalid topic regex and a malformed topic selector', () => {
    expect(problemsOf(`${MINIMAL_YAML}sinks:\n  - { name: a, type: lake, topics: { pattern: '(orders' }, connection: { path: /d } }\n  - { name: b, type: lake, topics: 5, connection: { path: /d } }\n  - { name: c, type: lake, topics: [], connection: { path: /d } }\n`)).toEqual([
      'sinks[0].topics.pattern: not a valid regular expression (Unterminated group)',
      'sinks[1].topics: expected array or object, received number',
      'sinks[2].topics: must not be empty',
    ]);
  });

  it('checks brokers, topic prefix, registry url and tls shape', () => {
    const problems = problemsOf(`kafka:
  brokers: 'kafka-1:9092,kafka-2'
  topicPrefix: 'my prefix'
  tls: { cert: /c.pem }
schemaRegistry: { url: 'ftp://registry' }
`);
    expect(problems).toEqual([
      'kafka.brokers[1]: expected host:port, e.g. kafka-1:9092',
      'kafka.topicPrefix: expected Kafka topic characters only: letters, digits, ".", "_" or "-"',
      'kafka.tls.key: cert and key must be given together (mutual TLS needs both)',
      'schemaRegistry.url: expected an http:// or https:// URL',
    ]);
  });

  it('hints at quoting when a string field gets a number', () => {
    expect(problemsOf(`${MINIMAL_YAML}sources:\n  - { name: a, type: mysql, connection: { user: u, password: 012345 } }\n`)).toEqual([
      'sources[0].connection.password: expected string, received number (quote the value in YAML to keep it a string)',
    ]);
  });
});
