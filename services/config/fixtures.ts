/**
 * Test fixtures: a realistic tributary.yaml (MariaDB and Postgres in, MySQL and ClickHouse out) that works
 * against the local stack with no environment set, thanks to `${VAR:-default}` everywhere.
 */
export const SAMPLE_CONFIG_YAML = `# Tributary: capture the shop (MariaDB) and billing (Postgres) databases,
# replicate shop into a MySQL reporting copy, and stream everything into ClickHouse.
kafka:
  brokers: \${KAFKA_BROKERS:-127.0.0.1:19092}
  clientId: tributary-dev
  topicPrefix: \${TOPIC_PREFIX:-tributary}
  topicDefaults:
    partitions: 3

schemaRegistry:
  url: \${SCHEMA_REGISTRY_URL:-http://127.0.0.1:18081/apis/ccompat/v7}

sources:
  - name: shop
    type: mariadb
    connection:
      host: \${MARIADB_HOST:-127.0.0.1}
      port: \${MARIADB_PORT:-13306}
      user: tributary
      password: \${MARIADB_PASSWORD:-tributary}
      database: shop
    serverId: 54001
    include: ['shop.*']
    exclude: ['shop.*_tmp', 'shop.sessions']

  - name: billing
    type: postgres
    connection:
      url: postgres://tributary@\${POSTGRES_HOST:-127.0.0.1}:\${POSTGRES_PORT:-15432}/billing
      password: \${POSTGRES_PASSWORD:-tributary}
    include: ['public.invoice?', 'public.payments']
    snapshot: when_needed
    heartbeatIntervalMs: 5000

sinks:
  - name: reporting
    type: mysql
    topics:
      pattern: '^tributary\\.shop\\.'
    connection:
      url: mysql://tributary:\${MYSQL_PASSWORD:-tributary}@\${MYSQL_HOST:-127.0.0.1}:\${MYSQL_PORT:-13307}/reporting
    batch:
      maxRows: 1000

  - name: analytics
    type: clickhouse
    topics:
      - tributary.shop.shop.orders
      - tributary.billing.public.invoices
    startFrom: latest
    onError: halt
    connection:
      url: \${CLICKHOUSE_URL:-http://127.0.0.1:18123}
      username: tributary
      password: \${CLICKHOUSE_PASSWORD:-tributary}
      database: analytics
`;

/** A secret planted in tests: it must never appear in an error message or a summary. */
export const CANARY_SECRET = 'canary-S3cret-value';
