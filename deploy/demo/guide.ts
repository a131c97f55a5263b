import type { TributaryConfig } from '#config/schema.ts';
import { MARIADB_SHOP, POSTGRES_SHOP, type DemoSources } from './env.ts';

// What `make dev` prints once everything runs: where to look and what to type, with the addresses of
// tributary.yaml. The local stack's well-known password is spelt out; any other is left for the client to ask.

const STACK_PASSWORD = 'tributary';

export function guide(config: TributaryConfig, sources: DemoSources): string {
  const prefix = config.kafka.topicPrefix;
  const sink = (name: string) => config.sinks.find((s) => s.name === name);
  const database = (name: string, fallback: string): string => {
    const found = sink(name);
    return (found?.type === 'mariadb' || found?.type === 'clickhouse' ? found.connection.database : undefined) ?? fallback;
  };
  const lake = config.sinks.find((s) => s.type === 'lake');
  const maria = sources.mariadb.connection;
  const pgc = sources.postgres.connection;
  const mysqlCli = `mysql -h ${maria.host} -P ${maria.port} -u ${maria.user} ${maria.password === STACK_PASSWORD ? `-p${STACK_PASSWORD}` : '-p'}`;
  const pgUrl = `postgres://${pgc.user}${pgc.password === STACK_PASSWORD ? `:${STACK_PASSWORD}` : ''}@${pgc.host}:${pgc.port}/${pgc.database}`;
  const replica = database('replica-mariadb', 'shop_replica');
  const replicaPg = database('replica-mariadb-pg', 'shop_pg_replica');
  const warehouse = database('warehouse-clickhouse', 'shop');
  const warehousePg = database('warehouse-clickhouse-pg', 'shop_pg');
  const clickhouse = sink('warehouse-clickhouse');
  const clickUrl = clickhouse?.type === 'clickhouse' ? clickhouse.connection.url : 'http://127.0.0.1:8123';
  const lakePath = lake?.type === 'lake' ? lake.connection.path : '.stack/lake';
  const admin = `http://${config.admin.host}:${config.admin.port}`;
  return `
The demo pipeline runs: a load generator writes into both shops, two captures publish their changes to Kafka,
five sinks apply them. Ctrl-C stops everything.

  MariaDB    ${MARIADB_SHOP}.*     → ${prefix}.${MARIADB_SHOP}.*    → MariaDB ${replica}, ClickHouse ${warehouse}, lake ${lakePath}
  PostgreSQL ${POSTGRES_SHOP}.*  → ${prefix}.${POSTGRES_SHOP}.* → MariaDB ${replicaPg}, ClickHouse ${warehousePg}, lake ${lakePath}

In another terminal:
${table([
    ['npx tributary status', 'every source and sink: state, position, rates, lag'],
    [`curl -s ${admin}/v1/pipelines`, 'the same from the admin API (also /openapi.json, /metrics)'],
    [`npx tributary tail ${prefix}.${MARIADB_SHOP}.orders -n 3`, 'change events as JSON'],
    ['npx tributary verify --source shop-mariadb --sink replica-mariadb', 'source and target compared'],
  ])}

The same orders, four ways:
  ${mysqlCli} -e "SELECT status, COUNT(*), SUM(total) FROM ${MARIADB_SHOP}.orders GROUP BY status"
  ${mysqlCli} -e "SELECT status, COUNT(*), SUM(total) FROM ${replica}.orders GROUP BY status"
  curl -s ${clickUrl} --data-binary "SELECT status, count(), sum(total) FROM ${warehouse}.orders FINAL WHERE __tributary_deleted = 0 GROUP BY status FORMAT PrettyCompactNoEscapes"
  duckdb -c "SELECT _op, count(*) FROM read_parquet('${lakePath}/table=${MARIADB_SHOP}.orders/*/*.parquet') GROUP BY _op"
(ClickHouse: the view ${warehouse}.orders_current is the same as FINAL WHERE __tributary_deleted = 0, and its
timestamps are microseconds here: toDateTime(intDiv(placed_at, 1000000)). The lake keeps every change, one row
each with _op (c r u d) and _source_position, in table=<db>.<table>/date=<day>/ folders; a new Parquet file
comes about every ${Math.round((lake?.type === 'lake' ? lake.connection.rollMs : 10_000) / 1000)} s per table.
Try: read_parquet('${lakePath}/**/*.parquet', hive_partitioning = true, union_by_name = true) GROUP BY "table".)

PostgreSQL's shop:  psql ${pgUrl} -c "SELECT * FROM ${POSTGRES_SHOP}.customers ORDER BY id DESC LIMIT 5"
              and its copies: ${replicaPg}.customers (MariaDB), ${warehousePg}.customers (ClickHouse)
Make a change:      ${mysqlCli} -e "UPDATE ${MARIADB_SHOP}.products SET price = 1.99 WHERE id = 1"
Logs of every process: .stack/logs/demo-*.log (warnings and errors also show here).
`;
}

/** Commands with their explanation in a column after the longest one. */
function table(rows: [command: string, what: string][]): string {
  const width = Math.max(...rows.map(([command]) => command.length));
  return rows.map(([command, what]) => `  ${command.padEnd(width)}   # ${what}`).join('\n');
}
