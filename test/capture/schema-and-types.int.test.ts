import { Kafka, logLevel, type Consumer } from 'kafkajs';
import type mysql from 'mysql2/promise';
import { afterAll, describe, expect, it } from 'vitest';
import type { Row } from '#core/change-event.ts';
import { captureTopics, ensureCaptureTopics, offsetMessage } from '#capture/bookkeeping.ts';
import { TransactionalProducer } from '#kafka/producer.ts';
import { AvroSerde } from '#kafka/serde.ts';
import type { BinlogCoordinates } from '#mysql/position.ts';
import { GOLDEN_MAX_ROW, GOLDEN_NULL_ROW, goldenDdl, goldenInsertSql } from '#test/fixtures/golden-mysql.ts';
import { captureConfig, startCapture, type CaptureProcess } from '#test/support/capture-process.ts';
import { connectMySql, scratchDatabase } from '#test/support/mysql.ts';
import { stackEnv } from '#test/support/stack-env.ts';
import { TopicReader, type ReadMessage } from '#test/support/topic-reader.ts';
import { eventually, uniqueName } from '#test/support/wait.ts';

// What a consumer of a table's topic sees, decoded with the registered writer schemas: every type of the golden
// table arrives exactly (through the snapshot and through the binlog), every event carries the columns its table
// had when the change was written, across ADD/DROP/RENAME/MODIFY COLUMN, also when old binlog is replayed without
// any schema history, and TRUNCATE TABLE becomes an op 't' event.

const running: CaptureProcess[] = [];
const readers: Array<{ stop: () => Promise<void> }> = [];
const cleanups: Array<() => Promise<void>> = [];

afterAll(async () => {
  for (const capture of running) if (capture.child.exitCode === null && capture.child.signalCode === null) capture.child.kill('SIGKILL');
  await Promise.all(running.map((capture) => capture.exited));
  await Promise.all(readers.map((reader) => reader.stop().catch(() => undefined)));
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
});

/** A scratch database and a UTC connection to it, both gone after the file. */
async function scratch(prefix: string): Promise<{ name: string; connection: mysql.Connection }> {
  const db = await scratchDatabase(prefix);
  const connection = await connectMySql(db.name);
  cleanups.push(async () => {
    await connection.end();
    await db.drop();
  });
  return { name: db.name, connection };
}

function launch(config: string, source: string): CaptureProcess {
  const capture = startCapture(config, source);
  running.push(capture);
  return capture;
}

function follow(topics: string[]): TopicReader {
  const reader = new TopicReader(topics);
  readers.push(reader);
  return reader;
}

/** Polls until `ready` holds for what `reader` has read; fails early, with the capture's output, if it exits. */
async function until(reader: TopicReader, capture: CaptureProcess, what: string, ready: (messages: ReadMessage[]) => boolean, timeoutMs = 60_000): Promise<void> {
  await eventually(
    what,
    async () => {
      if (capture.child.exitCode !== null) throw new Error(`the capture exited with code ${capture.child.exitCode}`);
      await reader.start().catch(() => undefined); // the topic may not exist yet
      reader.check();
      return ready(reader.messages) ? true : undefined;
    },
    timeoutMs,
  ).catch((error: unknown) => {
    const cause = (error as { cause?: unknown }).cause;
    throw new Error(`${(error as Error).message}${cause ? ` (${String(cause)})` : ''}\ncapture output:\n${capture.output()}`);
  });
}

// --- the registry and the decoded records --------------------------------------------------------------------

interface AvroFieldJson {
  name: string;
  type: unknown;
  'tributary.column'?: string;
}

interface ValueField {
  field: string;
  column: string;
  /** The decimal's scale, for a (nullable) decimal field. */
  scale?: number;
}

async function registryGet(path: string): Promise<unknown> {
  const response = await fetch(`${stackEnv('SCHEMA_REGISTRY_URL')}${path}`);
  if (!response.ok) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

/** The row fields of every registered version of a topic's value subject (the envelope's `Value` record), oldest first. */
async function valueSchemaVersions(topic: string): Promise<ValueField[][]> {
  const subject = encodeURIComponent(`${topic}-value`);
  const versions = (await registryGet(`/subjects/${subject}/versions`)) as number[];
  const result: ValueField[][] = [];
  for (const version of [...versions].sort((a, b) => a - b)) {
    const { schema } = (await registryGet(`/subjects/${subject}/versions/${version}`)) as { schema: string };
    const envelope = JSON.parse(schema) as { fields: AvroFieldJson[] };
    const before = envelope.fields.find((f) => f.name === 'before');
    const value = (before?.type as unknown[] | undefined)?.find((t) => typeof t === 'object') as { fields: AvroFieldJson[] } | undefined;
    if (!value) throw new Error(`version ${version} of ${topic}-value has no Value record`);
    result.push(
      value.fields.map((f) => {
        const branch = (Array.isArray(f.type) ? f.type.find((t) => t !== 'null') : f.type) as { logicalType?: string; scale?: number } | string;
        const scale = typeof branch === 'object' && branch.logicalType === 'decimal' ? branch.scale : undefined;
        return { field: f.name, column: f['tributary.column'] ?? f.name, ...(scale === undefined ? {} : { scale }) };
      }),
    );
  }
  return result;
}

/** A decoded Avro row record with its field names mapped back to the table's column names. */
function toRow(record: unknown, columnOf: ReadonlyMap<string, string>): Row | null {
  if (record === null || record === undefined) return null;
  return Object.fromEntries(Object.entries(record as Record<string, unknown>).map(([field, value]) => [columnOf.get(field) ?? field, value])) as Row;
}

interface Change {
  op: string;
  id: bigint | null;
  snapshot: string;
  before: Row | null;
  after: Row | null;
}

function changes(messages: ReadMessage[], topic: string, columnOf: ReadonlyMap<string, string> = new Map()): Change[] {
  return messages
    .filter((m) => m.topic === topic && m.value !== null)
    .map((m) => {
      const value = m.value as Record<string, unknown>;
      return {
        op: value.op as string,
        id: m.key ? ((m.key as { id: bigint }).id ?? null) : null,
        snapshot: (value.source as { snapshot: string }).snapshot,
        before: toRow(value.before, columnOf),
        after: toRow(value.after, columnOf),
      };
    });
}

/** Follows a topic whose keys are plain strings (the capture's schema-changes topic), decoding only the values. */
class ValueReader {
  readonly values: Array<Record<string, unknown>> = [];
  private consumer: Consumer | null = null;
  private failure: unknown = null;

  constructor(private readonly topic: string) {
    readers.push(this);
  }

  async start(): Promise<void> {
    if (this.consumer) return;
    const kafka = new Kafka({ brokers: stackEnv('KAFKA_BROKERS').split(','), logLevel: logLevel.NOTHING });
    const serde = new AvroSerde({ url: stackEnv('SCHEMA_REGISTRY_URL') });
    const consumer = kafka.consumer({ groupId: uniqueName('values'), readUncommitted: false, metadataMaxAge: 1000 });
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: [this.topic], fromBeginning: true });
    } catch (error) {
      await consumer.disconnect();
      throw error;
    }
    this.consumer = consumer;
    await consumer.run({
      eachMessage: async ({ message }) => {
        try {
          if (message.value) this.values.push((await serde.decode(message.value)) as Record<string, unknown>);
        } catch (error) {
          this.failure = error;
        }
      },
    });
  }

  async read<T>(what: string, ready: (values: Array<Record<string, unknown>>) => T | undefined): Promise<T> {
    return eventually(what, async () => {
      await this.start().catch(() => undefined);
      if (this.failure) throw this.failure;
      return ready(this.values);
    });
  }

  async stop(): Promise<void> {
    await this.consumer?.disconnect();
  }
}

async function binlogCoordinates(connection: mysql.Connection): Promise<BinlogCoordinates> {
  const [status] = await connection.query('SHOW MASTER STATUS');
  const row = (status as Array<{ File: string; Position: number | string }>)[0];
  if (!row) throw new Error('binary logging is off on the stack MariaDB');
  const [gtid] = await connection.query('SELECT @@GLOBAL.gtid_binlog_pos AS g');
  return { file: row.File, pos: String(row.Position), gtids: String((gtid as Array<{ g: string | null }>)[0]?.g ?? '') };
}

/** Makes `source` under `prefix` resume at `binlog`, as if an earlier capture had stopped there. */
async function seedOffset(prefix: string, source: string, binlog: BinlogCoordinates): Promise<void> {
  const kafka = new Kafka({ brokers: stackEnv('KAFKA_BROKERS').split(','), logLevel: logLevel.NOTHING });
  const topics = captureTopics(prefix);
  await ensureCaptureTopics(kafka, topics, 1);
  const seed = await TransactionalProducer.connect(kafka, `${prefix}-seed`);
  try {
    await seed.commit([{ topic: topics.offsets, messages: [offsetMessage(source, { binlog: { ...binlog } })] }]);
  } finally {
    await seed.close();
  }
}

// --- 1. the golden types ---------------------------------------------------------------------------------------

describe('MySQL/MariaDB capture: schemas and types', () => {
  it('round-trips every golden type exactly through the snapshot (r) and the binlog (c, u), TIMESTAMP(6) from a +05:30 session too', async () => {
    const { name: db, connection } = await scratch('gold');
    const zoned = await connectMySql(db);
    cleanups.unshift(() => zoned.end());
    await zoned.query("SET time_zone = '+05:30'");
    const table = `\`${db}\`.golden`;
    const insert = async (options: Parameters<typeof goldenInsertSql>[1]) => {
      const { sql, params } = goldenInsertSql(table, options);
      await connection.query(sql, params);
    };
    // 05:30 on a +05:30 session: TIMESTAMP is the instant 00:00 UTC, DATETIME keeps its wall-clock text.
    const insertZoned = (id: number) =>
      zoned.query(`INSERT INTO ${table} (id, at_utc, at_local) VALUES (?, '2026-01-01 05:30:00.123456', '2026-01-01 05:30:00.123456')`, [id]);
    const zonedRow = (id: number): Row => ({
      ...GOLDEN_NULL_ROW,
      id: BigInt(id),
      at_utc: BigInt(Date.UTC(2026, 0, 1, 0, 0, 0)) * 1000n + 123456n,
      at_local: BigInt(Date.UTC(2026, 0, 1, 5, 30, 0)) * 1000n + 123456n,
    });

    await connection.query(goldenDdl(table));
    await insert({ row: 'max' });
    await insert({ row: 'null' });
    await insertZoned(10);

    const prefix = uniqueName('gold');
    const source = uniqueName('golden');
    const topic = `${prefix}.${db}.golden`;
    const reader = follow([topic]);
    const capture = launch(captureConfig({ prefix, source, database: db }), source);
    await until(reader, capture, 'the golden snapshot', (messages) => messages.length >= 3);

    const streamedMaxId = 9223372036854775806n;
    await insert({ row: 'max', id: streamedMaxId });
    await insert({ row: 'null', id: 2 });
    await insertZoned(20);
    await connection.query(`UPDATE ${table} SET \`order key\` = 8 WHERE id = ?`, [streamedMaxId]);
    await until(reader, capture, 'the golden rows from the binlog', (messages) => messages.length >= 7);

    // Field names are Avro-adjusted (`order key` → `order_key`); the registered schema names the real column.
    const versions = await valueSchemaVersions(topic);
    expect(versions).toHaveLength(1); // the binlog path must not swap the table's schema (JSON stays Json)
    const fields = versions[0] as ValueField[];
    expect(fields.find((f) => f.column === 'order key')?.field).toBe('order_key');
    const columnOf = new Map(fields.map((f) => [f.field, f.column]));

    const events = changes(reader.messages, topic, columnOf);
    const snapshot = events.slice(0, 3).sort((a, b) => (a.id! < b.id! ? -1 : 1));
    const streamed = events.slice(3);
    const maxAt = (id: bigint, extra: Row = {}): Row => ({ ...GOLDEN_MAX_ROW, id, ...extra });
    expect(snapshot).toEqual([
      { op: 'r', id: 1n, snapshot: expect.stringMatching(/^(true|last)$/), before: null, after: GOLDEN_NULL_ROW },
      { op: 'r', id: 10n, snapshot: expect.stringMatching(/^(true|last)$/), before: null, after: zonedRow(10) },
      { op: 'r', id: GOLDEN_MAX_ROW.id, snapshot: expect.stringMatching(/^(true|last)$/), before: null, after: GOLDEN_MAX_ROW },
    ]);
    expect(streamed).toEqual([
      { op: 'c', id: streamedMaxId, snapshot: 'false', before: null, after: maxAt(streamedMaxId) },
      { op: 'c', id: 2n, snapshot: 'false', before: null, after: { ...GOLDEN_NULL_ROW, id: 2n } },
      { op: 'c', id: 20n, snapshot: 'false', before: null, after: zonedRow(20) },
      { op: 'u', id: streamedMaxId, snapshot: 'false', before: maxAt(streamedMaxId), after: maxAt(streamedMaxId, { 'order key': 8 }) },
    ]);

    // The edge values spelled out, for both paths (independent of how GOLDEN_MAX_ROW writes them).
    const edges = {
      name: 'Zoë 😀 "quoted" \\ back', // utf8mb4 beyond the BMP
      big_u: '18446744073709551615', // BIGINT UNSIGNED max, as decimal(20,0)
      wide: '-99999999999999999999999999999999999.999999999999999999999999999999', // DECIMAL(65,30)
      span: -((838n * 3600n + 59n * 60n + 59n) * 1_000_000n), // TIME(6) -838:59:59
      yr: 2155, // YEAR
      bits: Buffer.from('8123456789abcdef', 'hex').reverse(), // BIT(64) b'1000 0001 …', little-endian
      status: "it's", // ENUM
      tags: 'red,blue', // SET
      doc: '{"a": [1, 2.50, "x"], "big": 18446744073709551615}', // JSON text as written
      payload: Buffer.from([0, 1, 2, 0xfe, 0xff, 0]), // BLOB with NULs
      at_utc: 2147483647999999n, // TIMESTAMP(6) 2038-01-19 03:14:07.999999 UTC
    };
    for (const event of [snapshot[2], streamed[0]]) {
      const after = event?.after ?? {};
      expect(Object.fromEntries(Object.keys(edges).map((k) => [k, after[k]]))).toEqual(edges);
    }

    capture.child.kill('SIGTERM');
    expect(await capture.exited).toBe(0);
  });

  // --- 2. schema changes between batches of writes, live and replayed -----------------------------------------

  it('gives every event the columns of its time across ADD/DROP/RENAME/MODIFY COLUMN, live and replaying old binlog without history', async () => {
    const { name: db, connection } = await scratch('ddl');
    const table = `\`${db}\`.t`;
    await connection.query(`CREATE TABLE ${table} (id BIGINT PRIMARY KEY, a INT, b VARCHAR(20))`);
    await connection.query(`INSERT INTO ${table} (id, a, b) VALUES (1, 10, 'b1')`);

    const prefix = uniqueName('ddl');
    const source = uniqueName('ddl');
    const topic = `${prefix}.${db}.t`;
    const reader = follow([topic]);
    const capture = launch(captureConfig({ prefix, source, database: db, include: `${db}.t` }), source);
    // Once the snapshot's row is out, the snapshot's binlog position lies before everything written below.
    await until(reader, capture, 'the snapshot of t', (messages) => messages.length >= 1);
    const beforeBatch1 = await binlogCoordinates(connection);

    const ids = (batch: number) => [1, 2, 3].map((i) => batch * 100 + i);
    const ddl = [
      'ALTER TABLE t ADD COLUMN c DECIMAL(10,2) NULL',
      'ALTER TABLE t DROP COLUMN a',
      'ALTER TABLE t RENAME COLUMN b TO b2',
      'ALTER TABLE t MODIFY c DECIMAL(12,4)',
    ];
    await connection.query(`INSERT INTO ${table} (id, a, b) VALUES ?`, [ids(1).map((id) => [id, id * 10, `b${id}`])]);
    await connection.query(ddl[0] as string);
    await connection.query(`INSERT INTO ${table} (id, a, b, c) VALUES ?`, [ids(2).map((id) => [id, id * 10, `b${id}`, `${id}.25`])]);
    await connection.query(ddl[1] as string);
    await connection.query(`INSERT INTO ${table} (id, b, c) VALUES ?`, [ids(3).map((id) => [id, `b${id}`, `${id}.25`])]);
    await connection.query(ddl[2] as string);
    await connection.query(`INSERT INTO ${table} (id, b2, c) VALUES ?`, [ids(4).map((id) => [id, `b${id}`, `${id}.25`])]);
    await connection.query(ddl[3] as string);
    await connection.query(`INSERT INTO ${table} (id, b2, c) VALUES ?`, [ids(5).map((id) => [id, `b${id}`, `${id}.1234`])]);
    await connection.query(`UPDATE ${table} SET b2 = 'updated', c = 7.5 WHERE id = 101`);

    // The after-image each write must carry: exactly the columns of the table when it was written.
    const create = (id: number, after: Row): Change => ({ op: 'c', id: BigInt(id), snapshot: 'false', before: null, after: { id: BigInt(id), ...after } });
    const expected: Change[] = [
      ...ids(1).map((id) => create(id, { a: id * 10, b: `b${id}` })),
      ...ids(2).map((id) => create(id, { a: id * 10, b: `b${id}`, c: `${id}.25` })),
      ...ids(3).map((id) => create(id, { b: `b${id}`, c: `${id}.25` })),
      ...ids(4).map((id) => create(id, { b2: `b${id}`, c: `${id}.25` })), // still DECIMAL(10,2): two decimals
      ...ids(5).map((id) => create(id, { b2: `b${id}`, c: `${id}.1234` })),
      { op: 'u', id: 101n, snapshot: 'false', before: { id: 101n, b2: 'b101', c: null }, after: { id: 101n, b2: 'updated', c: '7.5000' } },
    ];
    const expectedSchemas = [
      [{ column: 'id' }, { column: 'a' }, { column: 'b' }],
      [{ column: 'id' }, { column: 'a' }, { column: 'b' }, { column: 'c', scale: 2 }],
      [{ column: 'id' }, { column: 'b' }, { column: 'c', scale: 2 }],
      [{ column: 'id' }, { column: 'b2' }, { column: 'c', scale: 2 }],
      [{ column: 'id' }, { column: 'b2' }, { column: 'c', scale: 4 }],
    ].map((fields) => fields.map((f) => ({ field: f.column, ...f })));

    /** Checks one capture's topic, schema versions and schema-changes topic against the writes above. */
    const verify = async (capturePrefix: string, captureReader: TopicReader, captureProcess: CaptureProcess, snapshotRows: number) => {
      const captureTopic = `${capturePrefix}.${db}.t`;
      await until(captureReader, captureProcess, `all writes on ${captureTopic}`, (messages) => messages.length >= snapshotRows + expected.length);
      const events = changes(captureReader.messages, captureTopic);
      expect(events.slice(0, snapshotRows)).toEqual(snapshotRows ? [{ op: 'r', id: 1n, snapshot: expect.stringMatching(/^(true|last)$/), before: null, after: { id: 1n, a: 10, b: 'b1' } }] : []);
      expect(events.slice(snapshotRows)).toEqual(expected);
      expect(await valueSchemaVersions(captureTopic)).toEqual(expectedSchemas);

      const schemaChanges = new ValueReader(captureTopics(capturePrefix).schemaChanges);
      const logged = await schemaChanges.read(`the ALTERs on ${capturePrefix}.schema-changes`, (values) => {
        const ddlOfT = values.filter((v) => v.databaseName === db && v.tableName === 't' && v.ddl !== '').map((v) => (v.ddl as string).trim());
        return ddl.every((statement) => ddlOfT.includes(statement)) ? ddlOfT : undefined;
      });
      expect(logged).toEqual(ddl);
    };
    await verify(prefix, reader, capture, 1);
    capture.child.kill('SIGTERM');
    expect(await capture.exited).toBe(0);

    // Replay: a new capture from the position before batch 1, with no schema history at all. Only the binlog's own
    // column metadata knows what the table looked like at each write; the server's schema is the final one.
    const replayPrefix = uniqueName('replay');
    const replaySource = uniqueName('replay');
    await seedOffset(replayPrefix, replaySource, beforeBatch1);
    const replayReader = follow([`${replayPrefix}.${db}.t`]);
    const replay = launch(
      captureConfig({ prefix: replayPrefix, source: replaySource, database: db, include: `${db}.t`, extra: '    snapshot: never' }),
      replaySource,
    );
    await verify(replayPrefix, replayReader, replay, 0);
    replay.child.kill('SIGTERM');
    expect(await replay.exited).toBe(0);
  });

  // --- 3. TRUNCATE ---------------------------------------------------------------------------------------------

  it("turns TRUNCATE TABLE into an op 't' event with null before and after on the table's topic", async () => {
    const { name: db, connection } = await scratch('trunc');
    const table = `\`${db}\`.tr`;
    await connection.query(`CREATE TABLE ${table} (id BIGINT PRIMARY KEY, v VARCHAR(10))`);
    await connection.query(`INSERT INTO ${table} VALUES (1, 'one'), (2, 'two')`);

    const prefix = uniqueName('trunc');
    const source = uniqueName('trunc');
    const topic = `${prefix}.${db}.tr`;
    const reader = follow([topic]);
    const capture = launch(captureConfig({ prefix, source, database: db }), source);
    await until(reader, capture, 'the snapshot of tr', (messages) => messages.length >= 2);

    await connection.query(`TRUNCATE TABLE ${table}`);
    await connection.query(`INSERT INTO ${table} VALUES (3, 'three')`);
    await until(reader, capture, 'the truncate and the insert after it', (messages) => messages.length >= 4);

    const events = changes(reader.messages, topic);
    expect(events.map((e) => e.op)).toEqual(['r', 'r', 't', 'c']);
    expect(events[2]).toEqual({ op: 't', id: null, snapshot: 'false', before: null, after: null });
    expect(events[3]).toEqual({ op: 'c', id: 3n, snapshot: 'false', before: null, after: { id: 3n, v: 'three' } });
    const truncate = reader.messages.filter((m) => m.topic === topic)[2]?.value as Record<string, unknown>;
    expect(truncate.source).toMatchObject({ db, table: 'tr', snapshot: 'false' });

    capture.child.kill('SIGTERM');
    expect(await capture.exited).toBe(0);
  });
});
