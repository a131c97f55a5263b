import mysql, { type Connection, type RowDataPacket } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Row } from '#core/change-event.ts';
import type { ColumnValue } from '#core/column-type.ts';
import { TributaryError } from '#core/errors.ts';
import { tableFilter } from '#core/table-filter.ts';
import type { TableSchema } from '#core/table-schema.ts';
import { mySqlOptions, type MySqlConnectionConfig } from '#mysql/connection.ts';
import type { BinlogCoordinates } from '#mysql/position.ts';
import { readTableSchema, readTableSchemas } from '#mysql/schema-reader.ts';
import { estimateRows, openConsistentSnapshot, readTableChunks, type TableChunk } from '#mysql/snapshot.ts';
import { mysqlConnection } from '#test/support/mysql.ts';
import { uniqueName } from '#test/support/wait.ts';

// Snapshot reads against the stack's MariaDB: keyset chunks return every row once in key order and resume exactly
// after any key; a table without a key streams; the snapshot position splits rows from binlog events exactly.

const config: MySqlConnectionConfig = mysqlConnection();
const connect = () => mysql.createConnection(mySqlOptions(config));
const db = uniqueName('snap');
const ROWS = 10_000;
const TWO_POW_53 = 9007199254740992n;

// pairs: composite (INT, VARCHAR) key; seven b values per a, negative a included. Row i is the i-th in key order.
const pairKey = (i: number): [number, string] => [Math.floor(i / 7) - 500, `k${String(i % 7).padStart(2, '0')}`];
// big: BIGINT ids on both sides of 2^53, where a double cannot tell neighbours apart; every chunk edge tests that.
const bigId = (i: number): bigint => TWO_POW_53 + BigInt(i - 999);
// typed: a key of ENUM (sorts by member number, not text), DATETIME(6) and BIGINT UNSIGNED.
const ENUM_ORDER = ['z', 'a', 'm'];
const typedRows = ENUM_ORDER.flatMap((e) =>
  Array.from({ length: 20 }, (_, d) =>
    Array.from({ length: 5 }, (_, u) => ({
      e,
      d: `2020-02-29 23:59:${String(d).padStart(2, '0')}.${String(d * 7).padStart(6, '0')}`,
      u: (18446744073709551615n - 4n + BigInt(u)).toString(),
    })),
  ).flat(),
);

// odd: one key column of each remaining key type, with their edge values, combined.
const oddRows = [Buffer.from([0]), Buffer.from([0, 0]), Buffer.from([0xff])].flatMap((b) =>
  ['-838:59:59.000000', '-00:00:00.500000', '00:00:00', '25:00:00.000001'].flatMap((t) =>
    ['1970-01-01 00:00:01', '2038-01-19 03:14:07.999999'].flatMap((ts) =>
      ['0001-01-01', '9999-12-31'].flatMap((dt) => [1, 1023].map((bits) => [b, t, ts, dt, bits])),
    ),
  ),
);

let admin: Connection;
let schemas: Map<string, TableSchema>;

async function insertInBatches(table: string, columns: string, rows: unknown[][]): Promise<void> {
  for (let start = 0; start < rows.length; start += 1000) {
    await admin.query(`INSERT INTO \`${db}\`.\`${table}\` (${columns}) VALUES ?`, [rows.slice(start, start + 1000)]);
  }
}

/** Runs `read` inside a fresh snapshot transaction on its own connection. */
async function inSnapshot<T>(read: (conn: Connection, at: BinlogCoordinates) => Promise<T>): Promise<T> {
  const conn = await connect();
  try {
    const at = await openConsistentSnapshot(conn, 'mariadb');
    const result = await read(conn, at);
    await conn.query('COMMIT');
    return result;
  } finally {
    await conn.end().catch(() => undefined);
  }
}

async function readAll(conn: Connection, name: string, chunkSize: number, afterKey: ColumnValue[] | null = null): Promise<TableChunk[]> {
  const chunks: TableChunk[] = [];
  for await (const chunk of readTableChunks(conn, schema(name), { chunkSize, afterKey })) chunks.push(chunk);
  return chunks;
}

function schema(name: string): TableSchema {
  const found = schemas.get(name);
  if (!found) throw new Error(`no schema read for ${name}`);
  return found;
}

const rowsOf = (chunks: TableChunk[]): Row[] => chunks.flatMap((chunk) => chunk.rows);

beforeAll(async () => {
  admin = await connect();
  await admin.query(`CREATE DATABASE \`${db}\``);
  await admin.query(`CREATE TABLE \`${db}\`.pairs (a INT NOT NULL, b VARCHAR(20) NOT NULL, n INT NOT NULL, PRIMARY KEY (a, b))`);
  await admin.query(`CREATE TABLE \`${db}\`.big (id BIGINT NOT NULL PRIMARY KEY, n INT NOT NULL)`);
  await admin.query(`CREATE TABLE \`${db}\`.loose (n INT NOT NULL, s VARCHAR(20) NOT NULL)`);
  await admin.query(
    `CREATE TABLE \`${db}\`.typed (e ENUM('z','a','m') NOT NULL, d DATETIME(6) NOT NULL, u BIGINT UNSIGNED NOT NULL, PRIMARY KEY (e, d, u))`,
  );
  await admin.query(
    `CREATE TABLE \`${db}\`.odd (b VARBINARY(4) NOT NULL, t TIME(6) NOT NULL, ts TIMESTAMP(6) NOT NULL, dt DATE NOT NULL,
       bits BIT(10) NOT NULL, PRIMARY KEY (b, t, ts, dt, bits))`,
  );
  await admin.query(`CREATE TABLE \`${db}\`.marks (id INT NOT NULL PRIMARY KEY)`);
  await admin.query(`CREATE TABLE \`${db}\`.docs (id INT NOT NULL PRIMARY KEY, doc JSON, txt LONGTEXT, \`we\`\`ird\` JSON NOT NULL)`);
  await admin.query(`CREATE TABLE \`${db}\`.geo (id INT NOT NULL PRIMARY KEY, g GEOMETRY)`);

  const indexes = Array.from({ length: ROWS }, (_, i) => i);
  // Inserted in shuffled order, so that key order is not merely insertion order.
  const shuffled = [...indexes].sort((x, y) => ((x * 7919) % ROWS) - ((y * 7919) % ROWS));
  await insertInBatches('pairs', 'a, b, n', shuffled.map((i) => [...pairKey(i), i]));
  await insertInBatches('big', 'id, n', shuffled.map((i) => [bigId(i), i]));
  await insertInBatches('loose', 'n, s', indexes.map((i) => [i, `row ${i}`]));
  await insertInBatches('typed', 'e, d, u', [...typedRows].reverse().map((row) => [row.e, row.d, row.u]));
  await admin.query("SET time_zone = '+00:00'");
  await insertInBatches('odd', 'b, t, ts, dt, bits', [...oddRows].reverse());
  await admin.query(`ANALYZE TABLE \`${db}\`.pairs, \`${db}\`.big`);

  schemas = new Map((await readTableSchemas(admin, tableFilter([`${db}.*`], [`${db}.geo`]))).map((t) => [t.table, t]));
});

afterAll(async () => {
  await admin?.query(`DROP DATABASE IF EXISTS \`${db}\``);
  await admin?.end();
});

describe('readTableSchemas / readTableSchema', () => {
  it('reads every matching base table with columns in order and the primary key in key order', () => {
    expect([...schemas.keys()]).toEqual(['big', 'docs', 'loose', 'marks', 'odd', 'pairs', 'typed']);
    expect(schema('pairs')).toEqual({
      namespace: db,
      table: 'pairs',
      columns: [
        { name: 'a', type: { kind: 'int32' }, nullable: false, sourceType: 'int(11)' },
        { name: 'b', type: { kind: 'string', length: 20 }, nullable: false, sourceType: 'varchar(20)' },
        { name: 'n', type: { kind: 'int32' }, nullable: false, sourceType: 'int(11)' },
      ],
      primaryKey: ['a', 'b'],
    });
    expect(schema('typed').primaryKey).toEqual(['e', 'd', 'u']);
    expect(schema('loose').primaryKey).toEqual([]);
  });

  it("recognises MariaDB's JSON columns by their json_valid check, odd names included", () => {
    expect(schema('docs').columns.map((c) => [c.name, c.type, c.nullable])).toEqual([
      ['id', { kind: 'int32' }, false],
      ['doc', { kind: 'json' }, true],
      ['txt', { kind: 'string' }, true],
      ['we`ird', { kind: 'json' }, false],
    ]);
  });

  it('reads one table by its exact name, and null for a missing one', async () => {
    expect(await readTableSchema(admin, db, 'pairs')).toEqual(schema('pairs'));
    expect(await readTableSchema(admin, db, 'PAIRS')).toBeNull();
    expect(await readTableSchema(admin, db, 'nope')).toBeNull();
  });

  it('refuses an unsupported column, naming db.table.column', async () => {
    await expect(readTableSchema(admin, db, 'geo')).rejects.toMatchObject({
      code: 'SCHEMA_UNSUPPORTED',
      message: expect.stringContaining(`column ${db}.geo.g: MySQL column type "geometry" is not supported`),
    });
    await expect(readTableSchemas(admin, tableFilter([`${db}.geo`], []))).rejects.toMatchObject({ code: 'SCHEMA_UNSUPPORTED' });
  });
});

describe('readTableChunks', () => {
  it('returns every row of a composite-key table exactly once, in key order, 1000 at a time', async () => {
    const chunks = await inSnapshot((conn) => readAll(conn, 'pairs', 1000));
    expect(chunks.map((chunk) => chunk.rows.length)).toEqual(Array(10).fill(1000));
    expect(rowsOf(chunks).map((row) => row.n)).toEqual(Array.from({ length: ROWS }, (_, i) => i));
    expect(rowsOf(chunks)[0]).toEqual({ a: -500, b: 'k00', n: 0 });
    chunks.forEach((chunk, k) => expect(chunk.lastKey).toEqual(pairKey(k * 1000 + 999)));
  });

  it('returns every BIGINT-keyed row exactly once across 2^53, in key order', async () => {
    const chunks = await inSnapshot((conn) => readAll(conn, 'big', 1000));
    expect(chunks).toHaveLength(10);
    expect(rowsOf(chunks).map((row) => row.id)).toEqual(Array.from({ length: ROWS }, (_, i) => bigId(i)));
    expect(chunks[0]?.lastKey).toEqual([TWO_POW_53]);
  });

  it('resumes after a key in the middle with exactly the remaining rows', async () => {
    await inSnapshot(async (conn) => {
      const afterChunk = rowsOf(await readAll(conn, 'pairs', 1000, pairKey(4999)));
      expect(afterChunk.map((row) => row.n)).toEqual(Array.from({ length: 5000 }, (_, i) => 5000 + i));
      // A key in the middle of a run of equal first columns: the row constructor must hold on the second one.
      const midRun = rowsOf(await readAll(conn, 'pairs', 1000, pairKey(4321)));
      expect(midRun.map((row) => row.n)).toEqual(Array.from({ length: ROWS - 4322 }, (_, i) => 4322 + i));
      const big = rowsOf(await readAll(conn, 'big', 1000, [bigId(6000)]));
      expect(big.map((row) => row.n)).toEqual(Array.from({ length: ROWS - 6001 }, (_, i) => 6001 + i));
      expect(await readAll(conn, 'big', 1000, [bigId(ROWS - 1)])).toEqual([]);
    });
  });

  it('pages ENUM, DATETIME(6) and BIGINT UNSIGNED keys in the order the server sorts them', async () => {
    const chunks = await inSnapshot((conn) => readAll(conn, 'typed', 7));
    const rows = rowsOf(chunks);
    expect(rows).toHaveLength(typedRows.length);
    expect(rows.map((row) => [row.e, row.u])).toEqual(typedRows.map((row) => [row.e, row.u]));
    expect(new Set(rows.map((row) => `${row.e}/${String(row.d)}/${String(row.u)}`)).size).toBe(typedRows.length);
    const times = rows.map((row) => row.d as bigint);
    expect(times.every((d, i) => i === 0 || rows[i - 1]?.e !== rows[i]?.e || (times[i - 1] as bigint) <= d)).toBe(true);
    // Resuming from every chunk's key gives exactly the rows after it.
    await inSnapshot(async (conn) => {
      for (const [k, chunk] of chunks.entries()) {
        const rest = rowsOf(await readAll(conn, 'typed', 50, chunk.lastKey));
        expect(rest).toEqual(rows.slice((k + 1) * 7));
      }
    });
  });

  it('pages VARBINARY, TIME, TIMESTAMP, DATE and BIT keys at their edge values exactly', async () => {
    await inSnapshot(async (conn) => {
      const chunks = await readAll(conn, 'odd', 5);
      const rows = rowsOf(chunks);
      expect(rows).toHaveLength(oddRows.length);
      const text = (row: Row) => JSON.stringify(Object.values(row), (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v));
      expect(new Set(rows.map(text)).size).toBe(oddRows.length);
      expect(rows[0]).toEqual({
        b: Buffer.from([0]),
        t: -3020399000000n,
        ts: 1000000n,
        dt: -719162,
        bits: Buffer.from([1, 0]),
      });
      for (const [k, chunk] of chunks.entries()) {
        expect(rowsOf(await readAll(conn, 'odd', 1000, chunk.lastKey))).toEqual(rows.slice((k + 1) * 5));
      }
    });
  });

  it('reads a chunk deep in a composite-key table without scanning the rows before it', async () => {
    await inSnapshot(async (conn) => {
      const readNext = async () => {
        const [rows] = await conn.query<RowDataPacket[]>("SHOW SESSION STATUS LIKE 'Handler_read_next'");
        return Number(rows[0]?.Value);
      };
      const start = await readNext();
      const chunk = await readTableChunks(conn, schema('pairs'), { chunkSize: 500, afterKey: pairKey(8999) }).next();
      expect(chunk.value?.rows.map((row: Row) => row.n)).toEqual(Array.from({ length: 500 }, (_, i) => 9000 + i));
      // A scan from the first key would step through some 9,500 index entries for these 500 rows.
      expect((await readNext()) - start).toBeLessThan(1000);
    });
  });

  it('streams a table without a primary key in chunks, every row once, with no key to resume from', async () => {
    const chunks = await inSnapshot((conn) => readAll(conn, 'loose', 1000));
    expect(chunks.map((chunk) => chunk.rows.length)).toEqual(Array(10).fill(1000));
    expect(chunks.every((chunk) => chunk.lastKey.length === 0)).toBe(true);
    const seen = rowsOf(chunks).map((row) => row.n as number).sort((x, y) => x - y);
    expect(seen).toEqual(Array.from({ length: ROWS }, (_, i) => i));
    await inSnapshot(async (conn) => {
      await expect(readAll(conn, 'loose', 1000, [1])).rejects.toThrow(/cannot resume mid-table/);
    });
  });

  it('closes the connection when a keyless read is abandoned, instead of leaving it stuck mid-result', async () => {
    const conn = await connect();
    try {
      await openConsistentSnapshot(conn, 'mariadb');
      for await (const chunk of readTableChunks(conn, schema('loose'), { chunkSize: 100 })) {
        expect(chunk.rows).toHaveLength(100);
        break;
      }
      await expect(conn.query('SELECT 1')).rejects.toThrow();
    } finally {
      conn.destroy();
    }
  });

  it('stops at an aborted signal', async () => {
    const controller = new AbortController();
    await inSnapshot(async (conn) => {
      const chunks = readTableChunks(conn, schema('big'), { chunkSize: 1000, signal: controller.signal });
      expect((await chunks.next()).done).toBe(false);
      controller.abort();
      await expect(chunks.next()).rejects.toThrow(/abort/i);
    });
  });
});

describe('estimateRows', () => {
  it("gives InnoDB's estimate of the row count", async () => {
    const estimate = await estimateRows(admin, schema('pairs'));
    expect(estimate).toBeGreaterThan(ROWS / 2);
    expect(estimate).toBeLessThan(ROWS * 2);
    expect(await estimateRows(admin, { namespace: db, table: 'nope' })).toBe(0);
  });
});

describe('openConsistentSnapshot', () => {
  interface BinlogEvent {
    file: string;
    pos: bigint;
    type: string;
    info: string;
  }

  /** Binlog events from `from` on, following rotations into later files. */
  async function eventsFrom(from: { file: string; pos: string }): Promise<BinlogEvent[]> {
    const [logs] = await admin.query<RowDataPacket[]>('SHOW BINARY LOGS');
    const files = logs.map((row) => String(row.Log_name)).filter((name) => name >= from.file);
    const events: BinlogEvent[] = [];
    for (const file of files) {
      const [rows] = await admin.query<RowDataPacket[]>(`SHOW BINLOG EVENTS IN ? FROM ${file === from.file ? from.pos : '4'}`, [file]);
      for (const row of rows) events.push({ file, pos: BigInt(row.Pos), type: String(row.Event_type), info: String(row.Info) });
    }
    return events;
  }

  /** The sequence number of the GTID that opens the transaction holding the table map of `table`. */
  function gtidsOfInserts(events: BinlogEvent[], table: string): Array<{ domain: string; seq: bigint; pos: bigint }> {
    const found: Array<{ domain: string; seq: bigint; pos: bigint }> = [];
    let gtid: { domain: string; seq: bigint } | null = null;
    for (const event of events) {
      const begin = /GTID (\d+)-\d+-(\d+)/.exec(event.info);
      if (event.type === 'Gtid' && begin) gtid = { domain: begin[1] as string, seq: BigInt(begin[2] as string) };
      if (event.type === 'Table_map' && event.info.includes(`(${db}.${table})`) && gtid) found.push({ ...gtid, pos: event.pos });
    }
    return found;
  }

  const seqOfDomain = (gtids: string, domain: string): bigint => {
    const entry = gtids.split(',').find((gtid) => gtid.startsWith(`${domain}-`));
    return entry ? BigInt(entry.split('-')[2] as string) : 0n;
  };

  it('returns the binlog position that splits snapshot rows from later binlog events exactly', async () => {
    const [status] = await admin.query<RowDataPacket[]>('SHOW MASTER STATUS');
    const before = { file: String(status[0]?.File), pos: String(status[0]?.Position) };
    await admin.query(`INSERT INTO \`${db}\`.marks VALUES (1)`);

    const other = await connect();
    try {
      const { at, snapshotRows, chunks } = await inSnapshot(async (conn, at) => {
        // Committed by another connection after the snapshot began: must be neither in the rows nor before `at`.
        await other.query(`INSERT INTO \`${db}\`.marks VALUES (2)`);
        await other.query(`INSERT INTO \`${db}\`.big (id, n) VALUES (?, -1)`, [2n ** 62n]);
        const [visible] = await other.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM \`${db}\`.marks`);
        expect(Number(visible[0]?.n)).toBe(2);
        return { at, snapshotRows: rowsOf(await readAll(conn, 'marks', 1000)), chunks: await readAll(conn, 'big', 1000) };
      });

      expect(at.file).toMatch(/\.\d+$/);
      expect(at.gtids).toMatch(/^\d+-\d+-\d+(,\d+-\d+-\d+)*$/);
      expect(snapshotRows).toEqual([{ id: 1 }]);
      expect(rowsOf(chunks)).toHaveLength(ROWS);
      expect(rowsOf(chunks).some((row) => row.n === -1)).toBe(false);

      const afterSnapshot = await eventsFrom(at);
      const laterMarks = gtidsOfInserts(afterSnapshot, 'marks');
      expect(laterMarks).toHaveLength(1);
      expect(gtidsOfInserts(afterSnapshot, 'big')).toHaveLength(1);
      expect(afterSnapshot.every((event) => event.file > at.file || event.pos >= BigInt(at.pos))).toBe(true);
      // The GTID position agrees: the later insert's GTID is past it in its domain.
      const later = laterMarks[0] as { domain: string; seq: bigint };
      expect(later.seq).toBeGreaterThan(seqOfDomain(at.gtids, later.domain));

      // The row the snapshot does hold was written before the position, with a GTID the position covers.
      const earlier = gtidsOfInserts(await eventsFrom(before), 'marks')[0] as { domain: string; seq: bigint; pos: bigint };
      expect(earlier.pos).toBeLessThan(BigInt(at.pos));
      expect(earlier.seq).toBeLessThanOrEqual(seqOfDomain(at.gtids, earlier.domain));
    } finally {
      await other.end();
    }
  });

  it('leaves the session in UTC and REPEATABLE READ', async () => {
    await inSnapshot(async (conn) => {
      const [rows] = await conn.query<RowDataPacket[]>('SELECT @@session.time_zone AS tz, @@session.tx_isolation AS iso');
      expect(rows[0]).toMatchObject({ tz: '+00:00', iso: 'REPEATABLE-READ' });
    });
  });

  it('classifies a failure with the action that failed', async () => {
    const conn = await connect();
    await conn.end();
    await expect(openConsistentSnapshot(conn, 'mariadb')).rejects.toSatisfy(
      (error: unknown) => error instanceof TributaryError && error.message.startsWith('opening a consistent snapshot:'),
    );
  });
});
