import ZongJi from '@vlasky/zongji';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Row } from '#core/change-event.ts';
import type { ColumnSchema, TableSchema } from '#core/table-schema.ts';
import { binlogTableSchema, type BinlogTableMapEvent } from '#mysql/binlog-columns.ts';
import { mySqlColumnType } from '#mysql/column-types.ts';
import { mySqlOptions, type MySqlConnectionConfig } from '#mysql/connection.ts';
import { rowFromMySql } from '#mysql/values.ts';
import { GOLDEN_COLUMNS, GOLDEN_MAX_ROW, GOLDEN_NULL_ROW, goldenDdl, goldenInsertSql } from '#test/fixtures/golden-mysql.ts';
import { stackEnv } from '#test/support/stack-env.ts';
import { eventually, uniqueName } from '#test/support/wait.ts';

// The golden row goes into the stack's MariaDB once, then comes back through both readers the connector uses:
// a mysql2 SELECT (the snapshot) and a real zongji binlog stream (the stream). Converted with rowFromMySql, both
// must give exactly GOLDEN_MAX_ROW / GOLDEN_NULL_ROW, whether the column types come from information_schema
// (GOLDEN_COLUMNS) or from the binlog's own TABLE_MAP (binlogTableSchema).

function connectionConfig(url: string): MySqlConnectionConfig {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 3306),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
  };
}

const config = connectionConfig(stackEnv('MYSQL_URL'));
const database = uniqueName('values');
const q = (name: string) => `\`${name.replace(/`/g, '``')}\``;

// Values where mysql2 and zongji deliver different forms (zero dates, YEAR 0000, an invalid ENUM, FLOAT digits,
// MariaDB's UUID), written under a lax sql_mode, each converted to one expected ColumnValue.
const QUIRK_COLUMNS: ColumnSchema[] = (
  [
    ['id', 'int(11)', false],
    ['d', 'date', true],
    ['d_part', 'date', true],
    ['dt', 'datetime(6)', true],
    ['ts', 'timestamp(6)', true],
    ['y', 'year(4)', true],
    ['e', "enum('a','b')", true],
    ['t', 'time(3)', true],
    ['f', 'float', true],
    ['u', 'uuid', true],
  ] as const
).map(([name, sourceType, nullable]) => ({ name, type: mySqlColumnType(sourceType), nullable, sourceType }));

const QUIRK_INSERTS = [
  `(1, '0000-00-00', '2020-00-15', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '0000', 'zzz', '-00:00:00.5', 1.2345678, '123e4567-e89b-42d3-a456-426614174000')`,
  `(2, '2000-02-29', '1900-03-01', '1970-01-01 00:00:00.5', '1970-01-01 00:00:01', 1901, 'b', '-00:00:01.5', -3.4028234e38, '6CCD780C-BABA-1026-9564-5B8C656024DB')`,
];

const QUIRK_ROWS: Row[] = [
  { id: 1, d: null, d_part: null, dt: null, ts: null, y: 0, e: '', t: -500000n, f: Math.fround(1.2345678), u: '123e4567-e89b-42d3-a456-426614174000' },
  {
    id: 2,
    d: 11016,
    d_part: -25508,
    dt: 500000n,
    ts: 1000000n,
    y: 1901,
    e: 'b',
    t: -1500000n,
    f: -3.4028234663852886e38,
    u: '6ccd780c-baba-1026-9564-5b8c656024db',
  },
];

/** The fields of zongji's tablemap and writerows events read here. */
interface BinlogEvent {
  getEventName(): string;
  tableId: number;
  tableName?: string;
  rows?: Array<Record<string, unknown>>;
  tableMap: Record<number, { tableName: string } | undefined>;
}

// MariaDB's INET6/INET4: text from mysql2, bytes from the binlog; the server's own text is the oracle.
const INET6_ADDRESSES = ['::ffff:1.2.3.4', '::1.2.3.4', '::1', '::', '2001:db8::1', '1:0:0:1::1', '1::1:0:0:1:1', 'fe80::1:0:0:1', '1:2:3:4:5:6:7:8', '1::', '::2:0:0:0'];
const INET_COLUMNS: ColumnSchema[] = (
  [
    ['id', 'int(11)', false],
    ['i6', 'inet6', true],
    ['i4', 'inet4', true],
  ] as const
).map(([name, sourceType, nullable]) => ({ name, type: mySqlColumnType(sourceType), nullable, sourceType }));
const INET_ROWS: Row[] = INET6_ADDRESSES.map((i6, index) => ({ id: index + 1, i6, i4: `10.${index}.0.255` }));

interface BinlogCapture {
  rows: Array<{ table: string; row: Record<string, unknown> }>;
  schemas: Map<string, TableSchema | null>;
}

describe('MySQL values through mysql2 and the binlog', () => {
  let connection: mysql.Connection;
  let binlogStart: { file: string; position: number };

  beforeAll(async () => {
    connection = await mysql.createConnection(mySqlOptions(config));
    await connection.query("SET time_zone = '+00:00'");
    await connection.query(`CREATE DATABASE ${q(database)} CHARACTER SET utf8mb4`);
    await connection.query(goldenDdl(`${q(database)}.golden`));
    await connection.query(
      `CREATE TABLE ${q(database)}.quirks (${QUIRK_COLUMNS.map((c) => `${q(c.name)} ${c.sourceType}${c.nullable ? ' NULL' : ' NOT NULL'}`).join(', ')}, PRIMARY KEY (id))`,
    );
    const [status] = (await connection.query('SHOW MASTER STATUS')) as unknown as [Array<{ File: string; Position: number }>];
    const [first] = status;
    if (!first) throw new Error('binary logging is off on the stack MariaDB');
    binlogStart = { file: first.File, position: Number(first.Position) };

    for (const row of ['max', 'null'] as const) {
      const insert = goldenInsertSql(`${q(database)}.golden`, { row });
      await connection.query(insert.sql, insert.params);
    }
    await connection.query("SET SESSION sql_mode = ''"); // zero dates and the invalid ENUM value go in with warnings
    await connection.query(`INSERT INTO ${q(database)}.quirks VALUES ${QUIRK_INSERTS.join(', ')}`);
    await connection.query(`CREATE TABLE ${q(database)}.inet (id int NOT NULL PRIMARY KEY, i6 inet6 NULL, i4 inet4 NULL)`);
    await connection.query(`INSERT INTO ${q(database)}.inet VALUES ?`, [INET_ROWS.map((r) => [r.id, r.i6, r.i4])]);
  });

  afterAll(async () => {
    await connection?.query(`DROP DATABASE IF EXISTS ${q(database)}`);
    await connection?.end();
  });

  let capture: Promise<BinlogCapture> | undefined;
  /** Streams the inserts above from the binlog with a real zongji, once for all tests. */
  function readBinlog(): Promise<BinlogCapture> {
    capture ??= (async () => {
      const result: BinlogCapture = { rows: [], schemas: new Map() };
      const errors: Error[] = [];
      const zongji = new ZongJi(mySqlOptions(config));
      zongji.on('error', (error: Error) => errors.push(error));
      zongji.on('binlog', (raw: unknown) => {
        const event = raw as BinlogEvent;
        if (event.getEventName() === 'tablemap') {
          const table = event.tableName ?? '?';
          result.schemas.set(table, binlogTableSchema(database, table, raw as BinlogTableMapEvent));
        } else if (event.getEventName() === 'writerows') {
          const table = event.tableMap[event.tableId]?.tableName ?? '?';
          for (const row of event.rows ?? []) result.rows.push({ table, row });
        }
      });
      try {
        zongji.start({
          serverId: 10_000 + Math.floor(Math.random() * 50_000),
          filename: binlogStart.file,
          position: binlogStart.position,
          includeEvents: ['tablemap', 'writerows'],
          includeSchema: { [database]: true },
        });
        await eventually('the inserted rows from the binlog', async () => {
          if (errors.length > 0) throw errors[0];
          return result.rows.length >= 4 + INET_ROWS.length ? true : undefined;
        });
      } finally {
        zongji.stop();
      }
      expect(errors).toEqual([]);
      return result;
    })();
    return capture;
  }

  const rowsOf = (captured: BinlogCapture, table: string) =>
    captured.rows.filter((r) => r.table === table).map((r) => r.row);

  it('converts a mysql2 SELECT of the golden rows exactly', async () => {
    const [rows] = (await connection.query(`SELECT * FROM ${q(database)}.golden ORDER BY id DESC`)) as unknown as [
      Array<Record<string, unknown>>,
    ];
    expect(rows.map((row) => rowFromMySql(GOLDEN_COLUMNS, row))).toEqual([GOLDEN_MAX_ROW, GOLDEN_NULL_ROW]);
  });

  it('converts the golden rows from the binlog exactly, with information_schema and with TABLE_MAP types', async () => {
    const captured = await readBinlog();
    const schema = captured.schemas.get('golden');
    expect(schema).toBeTruthy();
    const binlogColumns = (schema as TableSchema).columns;
    const rows = rowsOf(captured, 'golden');
    expect(rows).toHaveLength(2);
    expect(rows.map((row) => rowFromMySql(GOLDEN_COLUMNS, row))).toEqual([GOLDEN_MAX_ROW, GOLDEN_NULL_ROW]);
    expect(rows.map((row) => rowFromMySql(binlogColumns, row))).toEqual([GOLDEN_MAX_ROW, GOLDEN_NULL_ROW]);
  });

  it('reads the golden table schema from a FULL TABLE_MAP as information_schema gives it (MariaDB JSON is longtext)', async () => {
    const schema = (await readBinlog()).schemas.get('golden');
    expect(schema?.namespace).toBe(database);
    expect(schema?.primaryKey).toEqual(['id']);
    expect(schema?.columns.map(({ name, type, nullable }) => ({ name, type, nullable }))).toEqual(
      GOLDEN_COLUMNS.map(({ name, type, nullable }) => ({ name, type: name === 'doc' ? { kind: 'string' } : type, nullable })),
    );
  });

  it('gives the same values for the quirks through the mysql2 binary protocol and through the binlog', async () => {
    // execute(): the binary protocol sends FLOAT as its 4 bytes; query()'s text has only 6 significant digits.
    const [rows] = (await connection.execute(`SELECT * FROM ${q(database)}.quirks ORDER BY id`)) as unknown as [
      Array<Record<string, unknown>>,
    ];
    expect(rows.map((row) => rowFromMySql(QUIRK_COLUMNS, row))).toEqual(QUIRK_ROWS);

    const captured = await readBinlog();
    expect(rowsOf(captured, 'quirks').map((row) => rowFromMySql(QUIRK_COLUMNS, row))).toEqual(QUIRK_ROWS);
    // The binlog cannot tell MariaDB's UUID from BINARY(16): its TABLE_MAP type is bytes.
    const schema = captured.schemas.get('quirks');
    expect(schema?.columns.map((c) => c.type)).toEqual(QUIRK_COLUMNS.map((c) => (c.name === 'u' ? { kind: 'bytes', length: 16 } : c.type)));
  });

  it("formats MariaDB's INET6/INET4 bytes from the binlog as the server prints them", async () => {
    const [rows] = (await connection.query(`SELECT * FROM ${q(database)}.inet ORDER BY id`)) as unknown as [Array<Record<string, unknown>>];
    expect(rows.map((row) => rowFromMySql(INET_COLUMNS, row))).toEqual(INET_ROWS);
    const captured = await readBinlog();
    const binlogRows = rowsOf(captured, 'inet');
    expect(binlogRows.every((row) => Buffer.isBuffer(row.i6) && Buffer.isBuffer(row.i4))).toBe(true);
    expect(binlogRows.map((row) => rowFromMySql(INET_COLUMNS, row))).toEqual(INET_ROWS);
  });
});
