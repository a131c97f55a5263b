// bench/verify: how fast `tributary verify` compares a MariaDB table with its ClickHouse copy, beside what it costs
// just to read the same rows out of both servers.
//
// 1. Loads ROWS rows (about 200 bytes each) into a fresh MariaDB table, and the same rows into ClickHouse through
//    the ClickHouse sink itself (its DDL, its RowBinary apply), as the pipeline would have left them.
// 2. verify (in-process, as `tributary verify --recheck 0` runs it) compares the two: rows compared per second.
// 3. Baseline: a plain streamed `SELECT` of every row on both servers at once (ClickHouse with FINAL and the deleted
//    filter, as a user reads it), rows counted and dropped in Node: what pulling the table out would cost.
// Prints both rates and their ratio, and checks that verify found the copies equal.
// Run: npx tsx bench/verify.ts [rows] [parallel]
import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import mysql from 'mysql2';
import '#test/support/stack-env.ts';
import { parseConfig } from '#config/load.ts';
import type { ClickHouseSinkConfig } from '#config/schema.ts';
import { isoDateTime } from '#core/calendar.ts';
import { DELETED_COLUMN, type TableChanges } from '#core/sink.ts';
import type { TableSchema } from '#core/table-schema.ts';
import { ClickHouseSink } from '#connectors/clickhouse/sink.ts';
import { mySqlOptions } from '#mysql/connection.ts';
import { eventPosition } from '#mysql/position.ts';
import { connectMySql, mysqlConnection, scratchDatabase } from '#test/support/mysql.ts';
import { stackEnv } from '#test/support/stack-env.ts';
import { uniqueName } from '#test/support/wait.ts';
import { formatText } from '#verify/report.ts';
import { runVerify } from '#verify/run.ts';

const ROWS = Number(process.argv[2] ?? 1_000_000);
const PARALLEL = Number(process.argv[3] ?? 4);
const BATCH = 50_000;

const table = (namespace: string): TableSchema => ({
  namespace,
  table: 'customers',
  columns: [
    { name: 'id', type: { kind: 'int64' }, nullable: false, sourceType: 'bigint(20)' },
    { name: 'name', type: { kind: 'string', length: 100 }, nullable: false, sourceType: 'varchar(100)' },
    { name: 'email', type: { kind: 'string', length: 60 }, nullable: false, sourceType: 'varchar(60)' },
    { name: 'balance', type: { kind: 'decimal', precision: 12, scale: 2 }, nullable: false, sourceType: 'decimal(12,2)' },
    { name: 'created_at', type: { kind: 'timestamp' }, nullable: false, sourceType: 'datetime(6)' },
    { name: 'visits', type: { kind: 'int32' }, nullable: false, sourceType: 'int(11)' },
  ],
  primaryKey: ['id'],
});

function row(id: number) {
  return {
    id: BigInt(id),
    name: `customer number ${id} with a reasonably long display name`.padEnd(90, '.'),
    email: `c${id}@example.com`,
    balance: `${Math.floor(id / 100) % 100000}.${String(id % 100).padStart(2, '0')}`,
    created_at: 1_795_000_000_000_000n + BigInt(id) * 1_000_003n,
    visits: id % 1000,
  };
}

async function load(database: string, sink: ClickHouseSink): Promise<number> {
  const started = Date.now();
  const connection = await connectMySql(database);
  await connection.query(
    `CREATE TABLE customers (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL, email VARCHAR(60) NOT NULL,
     balance DECIMAL(12,2) NOT NULL, created_at DATETIME(6) NOT NULL, visits INT NOT NULL)`,
  );
  const schema = table(database);
  await sink.prepare(schema);
  for (let start = 1; start <= ROWS; start += BATCH) {
    const rows = Array.from({ length: Math.min(BATCH, ROWS - start + 1) }, (_, k) => row(start + k));
    await connection.query('INSERT INTO customers VALUES ?', [
      rows.map((r) => [r.id, r.name, r.email, r.balance, isoDateTime(r.created_at, ' '), r.visits]),
    ]);
    const changes: TableChanges = {
      table: schema,
      changes: rows.map((r, k) => ({ op: 'upsert', key: { id: r.id }, row: r, position: eventPosition('mariadb-bin.000001', 4 + (start + k) * 300, 0) })),
    };
    await sink.apply([changes], `bench-${start}`);
  }
  await connection.end();
  return Date.now() - started;
}

/** Every row of the table streamed out of MariaDB, counted and dropped. */
async function selectMariaDb(database: string): Promise<number> {
  const connection = mysql.createConnection({ ...mySqlOptions(mysqlConnection()), database });
  let rows = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      connection
        .query('SELECT * FROM customers')
        .stream()
        .on('data', () => rows++)
        .on('end', resolve)
        .on('error', reject);
    });
  } finally {
    connection.end();
  }
  return rows;
}

/** Every visible row of the ClickHouse copy streamed out, counted and dropped. */
async function selectClickHouse(database: string): Promise<number> {
  const client = createClient({ url: stackEnv('CLICKHOUSE_URL'), log: { level: ClickHouseLogLevel.OFF } });
  let rows = 0;
  try {
    const result = await client.query({ query: `SELECT * FROM \`${database}\`.customers FINAL WHERE \`${DELETED_COLUMN}\` = 0`, format: 'TabSeparated' });
    for await (const batch of result.stream()) rows += batch.length;
  } finally {
    await client.close();
  }
  return rows;
}

const source = await scratchDatabase('bench_verify_src');
const warehouse = uniqueName('bench_verify_wh');
const m = mysqlConnection();
const config = parseConfig(
  [
    'kafka: { brokers: 127.0.0.1:9092, topicPrefix: bench }',
    'schemaRegistry: { url: "http://127.0.0.1:8081" }',
    'sources:',
    `  - { name: src, type: mariadb, include: ["${source.name}.*"], connection: { host: ${m.host}, port: ${m.port}, user: ${m.user}, password: "${m.password ?? ''}" } }`,
    'sinks:',
    `  - { name: wh, type: clickhouse, topics: { pattern: "^bench\\\\." }, connection: { url: "${stackEnv('CLICKHOUSE_URL')}", database: ${warehouse} } }`,
  ].join('\n'),
);
const sink = new ClickHouseSink(config.sinks[0] as ClickHouseSinkConfig);
try {
  await sink.connect();
  const loadMs = await load(source.name, sink);
  console.log(`loaded ${ROWS} rows into MariaDB and, through the ClickHouse sink, into ClickHouse in ${(loadMs / 1000).toFixed(1)} s`);

  const verifyStarted = Date.now();
  // Verify holds ranges in flight, never a table: its memory stays flat whatever ROWS is (the bench loads no rows here).
  const heapBefore = process.memoryUsage().heapUsed;
  let peakHeap = heapBefore;
  const sampler = setInterval(() => (peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed)), 50);
  const reports = await runVerify(config, { source: 'src', sink: 'wh', tables: [], parallel: PARALLEL, verify: { recheckMs: 0 } }).finally(() => clearInterval(sampler));
  const verifyMs = Date.now() - verifyStarted;
  const compared = reports[0]?.counts?.compared ?? 0;
  const verifyRate = (compared * 1000) / verifyMs;
  console.log(`verify (parallel ${PARALLEL}): ${compared} rows compared in ${(verifyMs / 1000).toFixed(2)} s, ${Math.round(verifyRate)} rows/s`);
  console.log(`verify heap: ${mb(heapBefore)} MB before, peak ${mb(peakHeap)} MB while it ran`);

  const selectStarted = Date.now();
  const [mariaRows, clickRows] = await Promise.all([
    selectMariaDb(source.name).then((n) => ({ n, ms: Date.now() - selectStarted })),
    selectClickHouse(warehouse).then((n) => ({ n, ms: Date.now() - selectStarted })),
  ]);
  const selectMs = Date.now() - selectStarted;
  const selectRate = (ROWS * 1000) / selectMs;
  console.log(`plain SELECT of every row: MariaDB ${mariaRows.n} rows in ${(mariaRows.ms / 1000).toFixed(2)} s, ClickHouse ${clickRows.n} rows in ${(clickRows.ms / 1000).toFixed(2)} s`);
  console.log(`plain SELECT on both at once: ${(selectMs / 1000).toFixed(2)} s, ${Math.round(selectRate)} rows/s`);
  console.log(`ratio verify / plain SELECT: ${(verifyRate / selectRate).toFixed(2)}`);
  console.log(formatText(reports));
  if (compared !== ROWS || reports[0]?.counts?.different !== 0 || mariaRows.n !== ROWS || clickRows.n !== ROWS) process.exitCode = 1;
} finally {
  await sink.close();
  await source.drop();
  const client = createClient({ url: stackEnv('CLICKHOUSE_URL'), log: { level: ClickHouseLogLevel.OFF } });
  await client.command({ query: `DROP DATABASE IF EXISTS \`${warehouse}\`` });
  await client.close();
}

function mb(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(0);
}
