import { ClickHouseLogLevel, createClient } from '@clickhouse/client';
import type mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOLDEN_COLUMNS, goldenDdl, goldenInsertSql } from '#test/fixtures/golden-mysql.ts';
import { captureConfig, startCapture, startSink, type CaptureProcess } from '#test/support/capture-process.ts';
import { connectMySql, scratchDatabase } from '#test/support/mysql.ts';
import { stackEnv } from '#test/support/stack-env.ts';
import { eventually, uniqueName } from '#test/support/wait.ts';
import { clickHouseTarget, mariaDbTarget } from './targets.ts';

// Every MySQL/MariaDB type at its edge values, through capture, Kafka and the sinks, lands exactly: the MariaDB
// replica reads back the same text as the source, and ClickHouse holds the exact value in its documented form
// (connectors/clickhouse/TYPES.md).

/** ClickHouse's text of each golden column for GOLDEN_MAX_ROW, per the type mapping of the stack's 18.16. */
const CLICKHOUSE_MAX_ROW: Record<string, string> = {
  id: '9223372036854775807',
  flag: '1',
  tiny: '-128',
  small_u: '65535',
  int_u: '4294967295',
  big: '-9223372036854775808',
  big_u: '18446744073709551615',
  price: '9999999999999999999999999999.9999999999',
  wide: '-99999999999999999999999999999999999.999999999999999999999999999999',
  ratio: '1.7976931348623157e308',
  f32: '3.5',
  name: 'Zoë 😀 "quoted" \\ back',
  doc: '{"a": [1, 2.50, "x"], "big": 18446744073709551615}',
  status: "it's",
  tags: 'red,blue',
  payload: '000102FEFF00', // hex() of the bytes
  bits: String(0x8123456789abcdefn), // UInt64 of the little-endian bytes
  born: '-719162', // days since 1970-01-01
  at_local: '253402300799999999', // µs
  at_utc: '2147483647999999', // µs since the epoch
  span: '-3020399000000', // µs
  yr: '2155',
  'order key': '7',
};

describe('golden types through the whole pipeline', () => {
  let source: Awaited<ReturnType<typeof scratchDatabase>>;
  let connection: mysql.Connection;
  const processes: CaptureProcess[] = [];
  const mariadb = mariaDbTarget();
  const clickhouse = clickHouseTarget();
  const replica = uniqueName('golden_replica');
  const warehouse = uniqueName('golden_warehouse');

  beforeAll(async () => {
    source = await scratchDatabase('golden');
    connection = await connectMySql(source.name);
    await mariadb.createDatabase(replica);
    await clickhouse.createDatabase(warehouse);
  });
  afterAll(async () => {
    for (const p of processes) p.child.kill('SIGKILL');
    await connection?.end();
    await source?.drop();
    await mariadb.dropDatabase(replica).catch(() => undefined);
    await clickhouse.dropDatabase(warehouse).catch(() => undefined);
    await clickhouse.close();
  });

  it('lands every column type exactly in MariaDB and ClickHouse', async () => {
    const prefix = uniqueName('g');
    await connection.query(goldenDdl('golden'));
    const insert = goldenInsertSql('golden');
    await connection.query(insert.sql, insert.params);
    await connection.query('INSERT INTO golden (id) VALUES (1)'); // every nullable column NULL
    const pattern = `^${prefix}\\.${source.name}\\.golden$`;
    const sinks = [uniqueName('replica'), uniqueName('warehouse')];
    const config = captureConfig({
      prefix,
      source: 'src',
      database: source.name,
      sinks: [
        ...mariadb.sinkYaml({ name: sinks[0] as string, database: replica, pattern }),
        ...clickhouse.sinkYaml({ name: sinks[1] as string, database: warehouse, pattern }),
      ],
    });
    processes.push(startCapture(config, 'src'));
    for (const name of sinks) processes.push(startSink(config, name));

    // MariaDB: the replica's text equals the source's, column by column (BIT(1) becomes a boolean TINYINT).
    const columns = GOLDEN_COLUMNS.map((c) => `\`${c.name}\``).join(', ');
    const read = async (database: string) => {
      const c = await connectMySql(database);
      try {
        const [rows] = await c.query(`SELECT ${columns} FROM golden ORDER BY id`);
        return (rows as Array<Record<string, unknown>>).map((row) =>
          Object.fromEntries(Object.entries(row).map(([k, v]) => [k, text(k, v)])),
        );
      } finally {
        await c.end();
      }
    };
    const expected = await read(source.name);
    await eventually('the MariaDB replica to hold both rows', async () => ((await read(replica).catch(() => [])).length === 2 ? true : undefined), 120_000).catch(
      (error: unknown) => {
        throw new Error(`${(error as Error).message}\n${processes.map((p) => p.output()).join('\n---\n')}`);
      },
    );
    expect(await read(replica)).toEqual(expected);

    // ClickHouse: the exact value in the documented form of each column.
    const client = createClient({ url: stackEnv('CLICKHOUSE_URL'), log: { level: ClickHouseLogLevel.OFF } });
    try {
      // The server's own text output of each column: toString() of a wide Decimal128 is broken on 18.16 (it prints
      // NUL bytes inside the digits) while the stored value and the output formats are exact.
      const select = GOLDEN_COLUMNS.map((c) => {
        const name = `\`${c.name.replaceAll('`', '\\`')}\``;
        return c.name === 'payload' ? `hex(${name}) AS payload` : name;
      }).join(', ');
      const query = `SELECT ${select} FROM \`${warehouse}\`.golden FINAL WHERE __tributary_deleted = 0 ORDER BY id`;
      const rows = await eventually(
        'ClickHouse to hold both rows',
        async () => {
          const result = await (await client.query({ query, format: 'TabSeparatedWithNames' })).text().catch(() => '');
          const [header, ...lines] = result.split('\n').filter(Boolean);
          if (!header || lines.length !== 2) return undefined;
          const names = header.split('\t').map(unescapeTsv);
          return lines.map((line) => Object.fromEntries(line.split('\t').map((v, i) => [names[i], v === '\\N' ? null : unescapeTsv(v)])));
        },
        120_000,
      );
      expect(rows[1]).toEqual(CLICKHOUSE_MAX_ROW);
      expect(rows[0]).toEqual(Object.fromEntries(GOLDEN_COLUMNS.map((c) => [c.name, c.name === 'id' ? '1' : null])));
    } finally {
      await client.close();
    }
  }, 240_000);
});

/** A TabSeparated field's text: backslash escapes undone. */
function unescapeTsv(field: string): string {
  const escapes: Record<string, string> = { b: '\b', f: '\f', r: '\r', n: '\n', t: '\t', '0': '\0', "'": "'", '\\': '\\' };
  return field.replace(/\\(.)/g, (_, c: string) => escapes[c] ?? c);
}

function text(column: string, value: unknown): string | null {
  if (value === null || value === undefined) return null;
  // BIT(1) is a boolean: the source returns the bit as a byte, the replica's TINYINT(1) as a number.
  if (column === 'flag') return Buffer.isBuffer(value) ? String(value[0]) : String(value);
  if (Buffer.isBuffer(value)) return `0x${value.toString('hex')}`;
  return String(value);
}
