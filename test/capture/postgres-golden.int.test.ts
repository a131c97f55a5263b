import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import type pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import type { Row } from '#core/change-event.ts';
import type { ColumnType, ColumnValue } from '#core/column-type.ts';
import { AvroSerde } from '#kafka/serde.ts';
import {
  PG_GOLDEN_COLUMNS,
  PG_GOLDEN_UPDATES,
  PG_SNAPSHOT_ROWS,
  PG_STREAMED_ROWS,
  pgGoldenDdl,
  pgGoldenInsert,
  pgGoldenUpdate,
} from '#test/fixtures/golden-postgres.ts';
import { clickHouseTarget, mariaDbTarget } from '#test/sink/targets.ts';
import { captureConfig, startCapture, startSink, type CaptureProcess } from '#test/support/capture-process.ts';
import { connectMySql } from '#test/support/mysql.ts';
import { connectPostgres, scratchPostgresDatabase } from '#test/support/postgres.ts';
import { stackEnv } from '#test/support/stack-env.ts';
import { eventually, uniqueName } from '#test/support/wait.ts';

// PostgreSQL → capture → Kafka → the MariaDB and ClickHouse sinks, judged on exact values: the Kafka after-images
// against the ColumnValues of test/fixtures/golden-postgres.ts (connectors/postgres/TYPES.md), and each target's
// stored value against the mapping its TYPES.md documents (connectors/mysql/TYPES.md "Sink target",
// connectors/clickhouse/TYPES.md, the ClickHouse 18.16 column of the stack).

const mariadb = mariaDbTarget();
const clickhouse = clickHouseTarget();

/** Everything one test started; afterEach stops and drops it all. */
interface Pipeline {
  source: { name: string; drop: () => Promise<void> };
  sql: pg.Client;
  prefix: string;
  replica: string;
  warehouse: string;
  sinks: { mariadb: string; clickhouse: string };
  processes: CaptureProcess[];
  readers: Follower[];
}

let current: Pipeline | null = null;

afterEach(async () => {
  const p = current;
  current = null;
  if (!p) return;
  for (const process of p.processes) process.child.kill('SIGKILL');
  await Promise.all(p.processes.map((process) => process.exited));
  for (const reader of p.readers) await reader.stop().catch(() => undefined);
  await p.sql.end().catch(() => undefined);
  await p.source.drop(); // drops the slot with the database
  await mariadb.dropDatabase(p.replica).catch(() => undefined);
  await clickhouse.dropDatabase(p.warehouse).catch(() => undefined);
});

/** A scratch PostgreSQL database with the tables `setup` makes, and empty target databases. */
async function stage(setup: (sql: pg.Client) => Promise<void>): Promise<Pipeline> {
  const source = await scratchPostgresDatabase('pggold');
  const sql = await connectPostgres(source.name);
  const p: Pipeline = {
    source,
    sql,
    prefix: uniqueName('pgg'),
    replica: uniqueName('pg_replica'),
    warehouse: uniqueName('pg_warehouse'),
    sinks: { mariadb: uniqueName('replica'), clickhouse: uniqueName('warehouse') },
    processes: [],
    readers: [],
  };
  current = p;
  await setup(sql);
  await mariadb.createDatabase(p.replica);
  await clickhouse.createDatabase(p.warehouse);
  return p;
}

/** `tributary capture` of the database (a source name of its own: slot names are cluster-wide) and both sinks. */
function run(p: Pipeline): void {
  const source = uniqueName('pg');
  const pattern = `^${p.prefix}\\.public\\..*$`;
  const config = captureConfig({
    prefix: p.prefix,
    source,
    database: p.source.name,
    type: 'postgres',
    sinks: [
      ...mariadb.sinkYaml({ name: p.sinks.mariadb, database: p.replica, pattern }),
      ...clickhouse.sinkYaml({ name: p.sinks.clickhouse, database: p.warehouse, pattern }),
    ],
  });
  p.processes.push(startCapture(config, source), startSink(config, p.sinks.mariadb), startSink(config, p.sinks.clickhouse));
}

/** The processes' logs, for a failure message. */
function logs(p: Pipeline): string {
  return p.processes.map((process, i) => `--- process ${i} (exit ${process.child.exitCode}):\n${process.output().slice(-4000)}`).join('\n');
}

/**
 * Polls like `eventually` (a probe that throws is tried again), but fails at once when a process died, and with
 * the processes' logs.
 */
async function until<T>(p: Pipeline, what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  let died: string | null = null;
  return eventually(
    what,
    async () => {
      const dead = p.processes.find((process) => process.child.exitCode !== null);
      if (dead) died = `a process exited with ${dead.child.exitCode}`;
      if (died) return null; // stop polling: reported below
      for (const reader of p.readers) reader.check();
      return probe();
    },
    timeoutMs,
  ).then(
    (result) => {
      if (died) throw new Error(`${died} while waiting for ${what}\n${logs(p)}`);
      return result as T;
    },
    (error: unknown) => {
      const cause = (error as Error).cause instanceof Error ? `\ncause: ${((error as Error).cause as Error).message}` : '';
      throw new Error(`${(error as Error).message}${cause}\n${logs(p)}`);
    },
  );
}

// --- Kafka ------------------------------------------------------------------------------------------------------

interface Message {
  topic: string;
  key: Record<string, unknown> | null;
  value: Record<string, unknown> | null;
  headers: Record<string, string>;
}

/** Follows topics from the beginning (read_committed), decoding keys and values and keeping the headers. */
class Follower {
  readonly messages: Message[] = [];
  private consumer: Consumer | null = null;
  private failure: unknown = null;

  constructor(private readonly topics: string[]) {}

  /** Subscribes once the topics exist; call again until it succeeds. */
  async start(): Promise<boolean> {
    if (this.consumer) return true;
    const kafka = new Kafka({ brokers: stackEnv('KAFKA_BROKERS').split(','), logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const existing = await admin.listTopics().finally(() => admin.disconnect());
    if (!this.topics.every((t) => existing.includes(t))) return false;
    const serde = new AvroSerde({ url: stackEnv('SCHEMA_REGISTRY_URL') });
    const consumer = kafka.consumer({ groupId: uniqueName('follower'), readUncommitted: false, metadataMaxAge: 1000 });
    await consumer.connect();
    await consumer.subscribe({ topics: this.topics, fromBeginning: true });
    this.consumer = consumer;
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        try {
          const headers = Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
          this.messages.push({
            topic,
            key: message.key ? ((await serde.decode(message.key)) as Record<string, unknown>) : null,
            value: message.value ? ((await serde.decode(message.value)) as Record<string, unknown>) : null,
            headers,
          });
        } catch (error) {
          this.failure = error;
        }
      },
    });
    return true;
  }

  check(): void {
    if (this.failure) throw this.failure;
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

async function follow(p: Pipeline, topics: string[]): Promise<Follower> {
  const follower = new Follower(topics);
  p.readers.push(follower);
  await until(p, `topics ${topics.join(', ')}`, async () => ((await follower.start()) ? true : undefined));
  return follower;
}

interface Event {
  op: string;
  id: bigint;
  after: Row | null;
  headers: Record<string, string>;
}

function events(messages: Message[], topic: string): Event[] {
  return messages
    .filter((m) => m.topic === topic && m.value !== null)
    .map((m) => ({
      op: (m.value as { op: string }).op,
      id: (m.key as { id: bigint }).id,
      after: (m.value as { after: Row | null }).after,
      headers: m.headers,
    }));
}

// --- how each target stores a value (its TYPES.md), as the text a user reads back ------------------------------

/** Year, month, day of a day count since 1970-01-01, for any int32 day (JS Date stops at ±100,000,000 days). */
function civil(days: number): [number, number, number] {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const month = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (month <= 2 ? 1 : 0), month, doy - Math.floor((153 * mp + 2) / 5) + 1];
}
const two = (n: number) => String(n).padStart(2, '0');
/** `YYYY-MM-DD`, with ISO 8601's expanded `±YYYYYY` outside years 0–9999 when `expanded`. */
const isoDay = (days: number, expanded = false) => {
  const [y, m, d] = civil(days);
  const year = !expanded || (y >= 0 && y <= 9999) ? String(y).padStart(4, '0') : `${y < 0 ? '-' : '+'}${String(Math.abs(y)).padStart(6, '0')}`;
  return `${year}-${two(m)}-${two(d)}`;
};
/** `HH:MM:SS.ffffff` of µs within a day (24:00:00 included). */
const isoClock = (micros: bigint) => {
  const s = Number(micros / 1_000_000n);
  return `${two(Math.floor(s / 3600))}:${two(Math.floor(s / 60) % 60)}:${two(s % 60)}.${String(micros % 1_000_000n).padStart(6, '0')}`;
};
const isoDateTime = (micros: bigint, separator = ' ', expanded = false) => {
  const day = 86_400_000_000n;
  const rest = ((micros % day) + day) % day; // floor division: an instant before 1970 falls on the day before
  return `${isoDay(Number((micros - rest) / day), expanded)}${separator}${isoClock(rest)}`;
};
/** Debezium's little-endian Bits as the unsigned number MySQL's BIT(n) and ClickHouse's UInt64 show. */
const bitsNumber = (bytes: Buffer) => [...bytes].reverse().reduce((n, b) => (n << 8n) | BigInt(b), 0n).toString();

/** An array element in the JSON of connectors/core/array-json.ts (MySQL TYPES.md: array → JSON). */
function jsonElement(type: ColumnType, e: ColumnValue): string {
  if (e === null) return 'null';
  switch (type.kind) {
    case 'int32':
      return String(e);
    case 'float64':
      return Number.isFinite(e) ? (Object.is(e, -0) ? '-0' : String(e)) : JSON.stringify(String(e));
    case 'date':
      return JSON.stringify(isoDay(e as number, true));
    case 'timestamptz':
      return JSON.stringify(`${isoDateTime(e as bigint, 'T', true)}Z`);
    case 'bytes':
      return JSON.stringify((e as Buffer).toString('base64'));
    default:
      return JSON.stringify(e);
  }
}

/**
 * connectors/mysql/TYPES.md: the text MariaDB gives back (mysql2 with dateStrings and bigNumberStrings), or the
 * number for floats (read as DOUBLE: exact for FLOAT too).
 */
function mariaDbValue(type: ColumnType, value: ColumnValue): string | number | null {
  if (value === null) return null;
  switch (type.kind) {
    case 'boolean':
      return value ? '1' : '0';
    case 'float32':
    case 'float64':
      return value as number;
    case 'bytes':
      return (value as Buffer).toString('hex').toUpperCase();
    case 'bits':
      return bitsNumber(value as Buffer);
    case 'date':
      return isoDay(value as number);
    case 'time':
      return isoClock(value as bigint);
    case 'timestamp':
    case 'timestamptz':
      return isoDateTime(value as bigint);
    case 'array':
      // JSON without spaces, as written (MariaDB keeps the text).
      return `[${(value as ColumnValue[]).map((e) => jsonElement(type.items, e)).join(',')}]`;
    default:
      return String(value);
  }
}

/** ClickHouse's literal of a string inside an array's text: quoted, backslash-escaped. */
const chQuote = (text: string) =>
  `'${text.replace(/[\\'\t\n\r\0\b\f]/g, (c) => ({ '\t': '\\t', '\n': '\\n', '\r': '\\r', '\0': '\\0', '\b': '\\b', '\f': '\\f' })[c] ?? `\\${c}`)}'`;

/** ClickHouse's text of a float: shortest round trip, nan, inf, -inf, -0. */
const chFloatText = (v: number) => (Number.isNaN(v) ? 'nan' : v === Infinity ? 'inf' : v === -Infinity ? '-inf' : Object.is(v, -0) ? '-0' : String(v).replace('e+', 'e'));

/** An array element in ClickHouse's literal of Array(Nullable(T)), T as 18.16 stores it. */
function chElement(type: ColumnType, e: ColumnValue): string {
  if (e === null) return 'NULL';
  switch (type.kind) {
    case 'int32':
    case 'date': // Int32 days
    case 'timestamptz': // Int64 µs
      return String(e);
    case 'float64':
      return chFloatText(e as number);
    case 'bytes': // read through arrayMap(hex)
      return chQuote((e as Buffer).toString('hex').toUpperCase());
    default:
      return chQuote(String(e));
  }
}

/**
 * connectors/clickhouse/TYPES.md, ClickHouse 18.16 column: the text of the column in TabSeparated (bytes through
 * hex(), arrays in their literal form), or the number for floats.
 */
function clickHouseValue(type: ColumnType, value: ColumnValue): string | number | null {
  if (type.kind === 'array') {
    // Array(Nullable(T)); a NULL array is [] (no Nullable(Array)).
    return `[${((value ?? []) as ColumnValue[]).map((e) => chElement(type.items, e)).join(',')}]`;
  }
  if (value === null) return null;
  switch (type.kind) {
    case 'boolean':
      return value ? '1' : '0';
    case 'float32':
    case 'float64':
      return value as number;
    case 'bytes':
      return (value as Buffer).toString('hex').toUpperCase();
    case 'bits':
      return bitsNumber(value as Buffer);
    default:
      // Dates are Int32 days and time/timestamps Int64 µs on 18.16: the ColumnValue's own digits.
      return String(value);
  }
}

const TSV_ESCAPES: Record<string, string> = { b: '\b', f: '\f', r: '\r', n: '\n', t: '\t', '0': '\0', "'": "'", '\\': '\\' };
const unescapeTsv = (field: string) => field.replace(/\\(.)/g, (_, c: string) => TSV_ESCAPES[c] ?? c);

/** ClickHouse's float text (shortest round trip; nan, inf, -inf) as the number, float32 rounded to float32. */
function chFloat(text: string, kind: string): number {
  const value = text === 'nan' || text === '-nan' ? Number.NaN : text === 'inf' ? Infinity : text === '-inf' ? -Infinity : Number(text);
  return kind === 'float32' ? Math.fround(value) : value;
}

async function readMariaDb(database: string, table: string): Promise<Map<string, Record<string, unknown>>> {
  const select = PG_GOLDEN_COLUMNS.map(({ name, type }) =>
    type.kind === 'float32' || type.kind === 'float64'
      ? `CAST(\`${name}\` AS DOUBLE) AS \`${name}\``
      : type.kind === 'bytes'
        ? `HEX(\`${name}\`) AS \`${name}\``
        : type.kind === 'bits'
          ? `CAST(\`${name}\` AS UNSIGNED) AS \`${name}\``
          : `\`${name}\``,
  );
  const connection = await connectMySql(database);
  try {
    const [rows] = await connection.query(`SELECT ${select.join(', ')} FROM \`${table}\``);
    return new Map(
      (rows as Array<Record<string, unknown>>).map((row) => [
        String(row.id),
        Object.fromEntries(
          PG_GOLDEN_COLUMNS.map(({ name, type }) => {
            const v = row[name];
            return [name, v === null || type.kind === 'float32' || type.kind === 'float64' ? v : String(v)];
          }),
        ),
      ]),
    );
  } finally {
    await connection.end();
  }
}

async function readClickHouse(client: ClickHouseClient, database: string, table: string): Promise<Map<string, Record<string, unknown>>> {
  // The columns themselves, not toString(): 18.16 prints wide Decimal128 values wrongly through toString.
  const select = PG_GOLDEN_COLUMNS.map(({ name, type }) =>
    type.kind === 'bytes'
      ? `hex(\`${name}\`) AS \`${name}\``
      : type.kind === 'array' && type.items.kind === 'bytes'
        ? `arrayMap(x -> hex(x), \`${name}\`) AS \`${name}\``
        : `\`${name}\``,
  );
  const query = `SELECT ${select.join(', ')} FROM \`${database}\`.\`${table}\` FINAL WHERE __tributary_deleted = 0`;
  const text = await (await client.query({ query, format: 'TabSeparated' })).text();
  const rows = new Map<string, Record<string, unknown>>();
  for (const line of text.split('\n').filter(Boolean)) {
    const fields = line.split('\t');
    const row = Object.fromEntries(
      PG_GOLDEN_COLUMNS.map(({ name, type }, i) => {
        const field = fields[i] as string;
        if (field === '\\N') return [name, null];
        // An array's field is its literal, written without a second layer of TSV escapes.
        if (type.kind === 'array') return [name, field];
        if (type.kind === 'float32' || type.kind === 'float64') return [name, chFloat(field, type.kind)];
        return [name, unescapeTsv(field)];
      }),
    );
    rows.set(String(row.id), row);
  }
  return rows;
}

/** Column-by-column differences, floats compared with Object.is (NaN equal to NaN, -0 not equal to 0). */
function differences(expected: Map<string, Record<string, unknown>>, actual: Map<string, Record<string, unknown>>): string[] {
  const problems: string[] = [];
  for (const [id, row] of expected) {
    const got = actual.get(id);
    if (!got) {
      problems.push(`row ${id} missing`);
      continue;
    }
    for (const [column, value] of Object.entries(row)) {
      if (!Object.is(got[column], value)) problems.push(`row ${id} ${column}: expected ${JSON.stringify(value)}, got ${JSON.stringify(got[column])}`);
    }
  }
  for (const id of actual.keys()) if (!expected.has(id)) problems.push(`row ${id} unexpected`);
  return problems;
}

// --- the tests ----------------------------------------------------------------------------------------------------

describe('PostgreSQL → Kafka → MariaDB and ClickHouse', () => {
  it('carries every type of TYPES.md exactly, from the snapshot and the stream, into Kafka and both sinks', async () => {
    const p = await stage(async (sql) => {
      for (const statement of pgGoldenDdl('golden')) await sql.query(statement);
      for (const row of PG_SNAPSHOT_ROWS) {
        const insert = pgGoldenInsert(row);
        await sql.query(insert.text, insert.values);
      }
    });
    run(p);
    const topic = `${p.prefix}.public.golden`;
    const kafka = await follow(p, [topic]);
    await until(p, 'the snapshot in Kafka', async () => (events(kafka.messages, topic).length >= PG_SNAPSHOT_ROWS.length ? true : undefined));

    // Streamed: inserts, then updates (one changes every column, one fills NULLs, one keeps a row MariaDB refuses).
    for (const row of PG_STREAMED_ROWS) {
      const insert = pgGoldenInsert(row);
      await p.sql.query(insert.text, insert.values);
    }
    for (const update of PG_GOLDEN_UPDATES) {
      const statement = pgGoldenUpdate(update);
      await p.sql.query(statement.text, statement.values);
    }

    // jsonb is what PostgreSQL normalised it to; the fixture's expectation must be exactly the server's text.
    const { rows: stored } = await p.sql.query<{ id: string; docb: string | null }>('SELECT id, docb::text AS docb FROM golden ORDER BY id');
    const finalRows = new Map<string, Row>();
    for (const row of [...PG_SNAPSHOT_ROWS, ...PG_STREAMED_ROWS]) finalRows.set(String(row.id), row.expected);
    for (const update of PG_GOLDEN_UPDATES) finalRows.set(String(update.id), update.expected);
    expect(stored).toEqual([...finalRows.entries()].map(([id, row]) => ({ id, docb: row.docb })));

    // Kafka: every after-image exactly (decoded Avro: longs as bigint, decimals as strings, bytes as Buffers).
    const expectedEvents = [
      ...PG_SNAPSHOT_ROWS.map((row) => ({ op: 'r', id: BigInt(row.id), after: row.expected, headers: {} })),
      ...PG_STREAMED_ROWS.map((row) => ({ op: 'c', id: BigInt(row.id), after: row.expected, headers: {} })),
      ...PG_GOLDEN_UPDATES.map((update) => ({ op: 'u', id: BigInt(update.id), after: update.expected, headers: {} })),
    ];
    await until(p, 'every change in Kafka', async () => (events(kafka.messages, topic).length >= expectedEvents.length ? true : undefined));
    expect(events(kafka.messages, topic)).toEqual(expectedEvents);

    // MariaDB: the rows it can hold, each column as connectors/mysql/TYPES.md stores it; the others are refused
    // (TARGET_REJECTED) into the sink's dead-letter topic, never clipped.
    const refusedIds = new Set([...PG_SNAPSHOT_ROWS, ...PG_STREAMED_ROWS, ...PG_GOLDEN_UPDATES].filter((r) => !r.mariaDb).map((r) => String(r.id)));
    const asTarget = (convert: (type: ColumnType, value: ColumnValue) => unknown, only?: (id: string) => boolean) =>
      new Map(
        [...finalRows]
          .filter(([id]) => !only || only(id))
          .map(([id, row]) => [id, Object.fromEntries(PG_GOLDEN_COLUMNS.map(({ name, type }) => [name, convert(type, row[name] ?? null)]))]),
      );
    const inMariaDb = asTarget(mariaDbValue, (id) => !refusedIds.has(id));
    let problems: string[] = [];
    await until(p, 'MariaDB to hold the golden rows', async () => {
      problems = differences(inMariaDb, await readMariaDb(p.replica, 'golden'));
      return problems.length === 0 ? true : undefined;
    }).catch((error: unknown) => {
      throw new Error(`${problems.join('\n')}\n${(error as Error).message}`);
    });
    const dlqTopic = `${p.prefix}.dlq.${p.sinks.mariadb}`;
    const dlq = await follow(p, [dlqTopic]);
    const refused = [...PG_SNAPSHOT_ROWS, ...PG_STREAMED_ROWS, ...PG_GOLDEN_UPDATES].filter((r) => !r.mariaDb).length;
    await until(p, 'the refused rows in the dead-letter topic', async () => (dlq.messages.length >= refused ? true : undefined));
    expect(dlq.messages.map((m) => [String((m.key as { id: bigint }).id), m.headers['tributary.error.code']])).toEqual(
      expectedEvents.filter((e) => refusedIds.has(String(e.id))).map((e) => [String(e.id), 'TARGET_REJECTED']),
    );

    // ClickHouse (18.16): every row, each column as connectors/clickhouse/TYPES.md stores it.
    const client = createClient({ url: stackEnv('CLICKHOUSE_URL'), log: { level: ClickHouseLogLevel.OFF } });
    try {
      const inClickHouse = asTarget(clickHouseValue);
      await until(p, 'ClickHouse to hold the golden rows', async () => {
        problems = differences(inClickHouse, await readClickHouse(client, p.warehouse, 'golden'));
        return problems.length === 0 ? true : undefined;
      }).catch((error: unknown) => {
        throw new Error(`${problems.join('\n')}\n${(error as Error).message}`);
      });
    } finally {
      await client.close();
    }
  }, 150_000);

  it('keeps a large TOASTed value a later update did not send, in Kafka (unchanged header) and both sinks; REPLICA IDENTITY FULL sends it', async () => {
    // md5 text compresses about 2:1 and random bytes not at all: both stay far above the 2 kB TOAST threshold after
    // compression, so PostgreSQL stores them out of line and an update of another column does not send them.
    const bigText = "(SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 2000))"; // 64,000 characters
    const bigBytes = "(SELECT decode(string_agg(md5(random()::text), ''), 'hex') FROM generate_series(1, 1000))"; // 16,000 bytes
    const tables = ['toasted', 'toasted_full'];
    const p = await stage(async (sql) => {
      for (const table of tables) {
        await sql.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, big text, blob bytea, n integer NOT NULL, note text)`);
        await sql.query(`INSERT INTO ${table} VALUES (1, ${bigText}, ${bigBytes}, 1, 'snapshot')`);
      }
      await sql.query('ALTER TABLE toasted_full REPLICA IDENTITY FULL');
    });
    run(p);
    const topics = tables.map((t) => `${p.prefix}.public.${t}`);
    const kafka = await follow(p, topics);
    await until(p, 'the snapshot in Kafka', async () => (topics.every((t) => events(kafka.messages, t).length >= 1) ? true : undefined));

    for (const table of tables) {
      await p.sql.query(`UPDATE ${table} SET n = 2 WHERE id = 1`);
      // A row inserted and then updated while streaming: both changes likely reach the sinks in one batch.
      await p.sql.query(`INSERT INTO ${table} VALUES (2, ${bigText}, ${bigBytes}, 1, 'streamed')`);
      await p.sql.query(`UPDATE ${table} SET n = 3, note = 'updated' WHERE id = 2`);
    }
    const { rows: stored } = await p.sql.query<{ t: string; id: string; big: string; blob: string; n: string; note: string }>(
      tables
        .map(
          (t) =>
            `SELECT '${t}' AS t, id, big, upper(encode(blob, 'hex')) AS blob, n, note FROM ${t}`,
        )
        .join(' UNION ALL ') + ' ORDER BY t, id',
    );
    // The connection reads every value as text (the source's session: pg's parsers are the identity).
    expect(stored.map((r) => [r.t, r.id, r.big.length, r.blob.length, r.n, r.note])).toEqual([
      ['toasted', '1', 64_000, 32_000, '2', 'snapshot'],
      ['toasted', '2', 64_000, 32_000, '3', 'updated'],
      ['toasted_full', '1', 64_000, 32_000, '2', 'snapshot'],
      ['toasted_full', '2', 64_000, 32_000, '3', 'updated'],
    ]);
    const source = (table: string, id: string) => stored.find((r) => r.t === table && r.id === id) as (typeof stored)[number];

    await until(p, 'every change in Kafka', async () => (topics.every((t) => events(kafka.messages, t).length >= 4) ? true : undefined));
    for (const [i, table] of tables.entries()) {
      const full = table === 'toasted_full';
      const updates = events(kafka.messages, topics[i] as string).filter((e) => e.op === 'u');
      const summary = updates.map((e) => ({
        id: e.id,
        unchanged: e.headers['tributary.unchanged'] ?? null,
        big: e.after?.big === null ? null : (e.after?.big as string).length,
        blob: e.after?.blob === null ? null : (e.after?.blob as Buffer).toString('hex').toUpperCase(),
        n: e.after?.n,
        note: e.after?.note,
      }));
      // Without the old image the server sends no value for the TOASTed columns: null in after, named in the header.
      // With REPLICA IDENTITY FULL the old image carries them, so the after-image is whole and nothing is unmarked.
      expect(summary, table).toEqual([
        { id: 1n, unchanged: full ? null : '["big","blob"]', big: full ? 64_000 : null, blob: full ? source(table, '1').blob : null, n: 2, note: 'snapshot' },
        { id: 2n, unchanged: full ? null : '["big","blob"]', big: full ? 64_000 : null, blob: full ? source(table, '2').blob : null, n: 3, note: 'updated' },
      ]);
      if (full) expect(updates.map((e) => e.after?.big)).toEqual([source(table, '1').big, source(table, '2').big]);
    }

    // Both sinks: the large values as the source holds them, with the new values of the other columns.
    const client = createClient({ url: stackEnv('CLICKHOUSE_URL'), log: { level: ClickHouseLogLevel.OFF } });
    try {
      for (const table of tables) {
        const expected = stored.filter((r) => r.t === table).map((r) => ({ id: r.id, big: r.big, blob: r.blob, n: Number(r.n), note: r.note }));
        const readers = {
          MariaDB: async () => {
            const connection = await connectMySql(p.replica);
            try {
              const [rows] = await connection.query(`SELECT CAST(id AS CHAR) AS id, big, HEX(\`blob\`) AS \`blob\`, n, note FROM \`${table}\` ORDER BY id`);
              return rows as unknown[];
            } finally {
              await connection.end();
            }
          },
          ClickHouse: async () => {
            const query = `SELECT toString(id) AS id, big, hex(blob) AS blob, n, note FROM \`${p.warehouse}\`.\`${table}\` FINAL WHERE __tributary_deleted = 0 ORDER BY id`;
            return (await (await client.query({ query, format: 'JSONEachRow' })).json()) as unknown[];
          },
        };
        for (const [target, read] of Object.entries(readers)) {
          let last: unknown[] = [];
          await until(p, `${target} ${table} to equal the source`, async () => {
            last = await read();
            return JSON.stringify(last) === JSON.stringify(expected) ? true : undefined;
          }).catch((error: unknown) => {
            const short = (rows: unknown[]) => JSON.stringify(rows, (k, v: unknown) => (typeof v === 'string' && v.length > 40 ? `${v.slice(0, 12)}…(${v.length})` : v));
            throw new Error(`${target} ${table}: ${short(last)}, expected ${short(expected)}\n${(error as Error).message}`);
          });
        }
      }
    } finally {
      await client.close();
    }
  }, 120_000);

  const bigText = "(SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 2000))";

  it('marks an unchanged TOASTed value of a NOT NULL column unchanged (the column is optional in the published schema)', async () => {
    const p = await stage(async (sql) => {
      await sql.query('CREATE TABLE toasted_nn (id bigint PRIMARY KEY, big text NOT NULL, n integer NOT NULL)');
      await sql.query(`INSERT INTO toasted_nn VALUES (1, ${bigText}, 1)`);
    });
    run(p);
    const topic = `${p.prefix}.public.toasted_nn`;
    const kafka = await follow(p, [topic]);
    await until(p, 'the snapshot in Kafka', async () => (events(kafka.messages, topic).length >= 1 ? true : undefined));
    await p.sql.query('UPDATE toasted_nn SET n = 2 WHERE id = 1');
    await until(p, 'the update in Kafka', async () => (events(kafka.messages, topic).length >= 2 ? true : undefined), 30_000);
    expect(events(kafka.messages, topic)[1]?.headers['tributary.unchanged']).toBe('["big"]');
  }, 60_000);

  it('keeps an unchanged TOASTed value of a row whose key an update moved (read from the source by the new key)', async () => {
    const p = await stage(async (sql) => {
      await sql.query('CREATE TABLE moved (id bigint PRIMARY KEY, big text, n integer NOT NULL)');
      await sql.query(`INSERT INTO moved VALUES (1, ${bigText}, 1)`);
    });
    run(p);
    const topic = `${p.prefix}.public.moved`;
    const kafka = await follow(p, [topic]);
    await until(p, 'the snapshot in Kafka', async () => (events(kafka.messages, topic).length >= 1 ? true : undefined));
    // PostgreSQL sends the new tuple of a key-moving update with the TOASTed value as "unchanged" too.
    await p.sql.query('UPDATE moved SET id = 2 WHERE id = 1');
    const { rows } = await p.sql.query<{ big: string }>('SELECT big FROM moved WHERE id = 2');
    await until(p, 'the delete and the create in Kafka', async () => (events(kafka.messages, topic).length >= 3 ? true : undefined), 30_000);
    const created = events(kafka.messages, topic)[2];
    expect([created?.op, created?.id]).toEqual(['c', 2n]);
    expect(created?.after?.big).toBe(rows[0]?.big);
  }, 60_000);

  it('copies a table under a concurrent insert/update/delete workload with key changes: both targets equal the source row for row', async () => {
    const p = await stage(async (sql) => {
      await sql.query('CREATE TABLE items (id bigint PRIMARY KEY, val text NOT NULL, n integer NOT NULL)');
      await sql.query("INSERT INTO items SELECT i, 'v' || i, 0 FROM generate_series(1, 2000) AS i");
    });
    run(p);
    const writers = [await connectPostgres(p.source.name), await connectPostgres(p.source.name)];
    const workload = startWorkload(writers, 2001);
    try {
      await until(p, 'both sinks to write their first rows', async () => {
        const sizes = await Promise.all([mariadb.rowCount(p.replica, 'items'), clickhouse.rowCount(p.warehouse, 'items')]);
        return sizes.every((n) => n > 0) ? true : undefined;
      });
      await until(p, 'the workload to run 1,500 operations', async () => (workload.operations() >= 1_500 ? true : undefined));
    } finally {
      await workload.stop();
      for (const writer of writers) await writer.end();
    }
    expect(workload.counts.keyChanges).toBeGreaterThan(0);
    expect(workload.counts.deletes).toBeGreaterThan(0);

    const { rows } = await p.sql.query<{ id: string; val: string; n: string }>('SELECT id, val, n FROM items');
    const expected = new Map(rows.map((r) => [r.id, { val: r.val, n: Number(r.n) }]));
    for (const target of [mariadb, clickhouse]) {
      const database = target === mariadb ? p.replica : p.warehouse;
      let problems: string[] = [];
      await until(p, `${target.type} to equal the source`, async () => {
        const actual = await target.state(database, 'items');
        problems = [];
        for (const [id, row] of expected) {
          const got = actual.get(id);
          if (!got) problems.push(`missing ${id}`);
          else if (got.val !== row.val || got.n !== row.n) problems.push(`different ${id}: ${JSON.stringify(got)} ≠ ${JSON.stringify(row)}`);
        }
        for (const id of actual.keys()) if (!expected.has(id)) problems.push(`extra ${id}`);
        return problems.length === 0 ? true : undefined;
      }).catch((error: unknown) => {
        throw new Error(`${problems.length} differences, e.g. ${problems.slice(0, 5).join(', ')}\n${(error as Error).message}`);
      });
      expect(await target.duplicateKeys(database, 'items')).toBe(0);
    }
  }, 150_000);
});

/**
 * Inserts, updates, deletes, key changes and small transactions at random on `items`, one loop per connection,
 * until stopped. Two loops may pick the same rows: a deadlock or a key taken meanwhile rolls that one back.
 */
function startWorkload(connections: pg.Client[], firstNewId: number) {
  let running = true;
  let nextId = firstNewId;
  const counts = { inserts: 0, updates: 0, deletes: 0, keyChanges: 0, transactions: 0, rolledBack: 0 };
  const loops = connections.map(async (sql) => {
    while (running) {
      const id = 1 + Math.floor(Math.random() * (nextId - 1));
      const choice = Math.random();
      try {
        if (choice < 0.3) {
          const fresh = nextId++;
          await sql.query('INSERT INTO items (id, val, n) VALUES ($1, $2, 1)', [fresh, `new-${fresh}`]);
          counts.inserts++;
        } else if (choice < 0.7) {
          await sql.query("UPDATE items SET val = 'u' || $1, n = n + 1 WHERE id = $2", [counts.updates, id]);
          counts.updates++;
        } else if (choice < 0.8) {
          await sql.query('DELETE FROM items WHERE id = $1', [id]);
          counts.deletes++;
        } else if (choice < 0.9) {
          // The key moves: a delete of the old key and a create of the new one downstream.
          await sql.query("UPDATE items SET id = $1, val = val || '>' WHERE id = $2", [nextId++, id]);
          counts.keyChanges++;
        } else {
          await sql.query('BEGIN');
          await sql.query('UPDATE items SET n = n + 10 WHERE id BETWEEN $1 AND $2', [id, id + 20]);
          await sql.query('DELETE FROM items WHERE id = $1', [id + 21]);
          await sql.query('INSERT INTO items (id, val, n) VALUES ($1, $2, 0)', [nextId, `tx-${nextId++}`]);
          await sql.query('COMMIT');
          counts.transactions++;
        }
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code !== '40P01' && code !== '23505') throw error;
        await sql.query('ROLLBACK');
        counts.rolledBack++;
      }
    }
  });
  const all = Promise.all(loops);
  all.catch(() => undefined);
  return {
    counts,
    operations: () => counts.inserts + counts.updates + counts.deletes + counts.keyChanges + counts.transactions,
    stop: async () => {
      running = false;
      await all;
    },
  };
}
