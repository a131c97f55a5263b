import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import mssql from 'mssql';
import { describe, expect, it } from 'vitest';
import type { SinkChange } from '#core/sink.ts';
import type { ColumnSchema, TableSchema } from '#core/table-schema.ts';
import { SqlServerSink, stageRows, unchangedGroups } from './sink.ts';

// No SQL Server runs here: these check what the sink hands to the driver, down to tedious's own bulk-load
// encoder, and how it fails without a server. test/sink/sqlserver-sink.int.test.ts runs it against one.

const column = (name: string, type: ColumnSchema['type']): ColumnSchema => ({ name, type, nullable: true, sourceType: type.kind });

const TABLE: TableSchema = {
  namespace: 'shop',
  table: 'everything',
  columns: [
    column('id]', { kind: 'int64' }),
    column('flag', { kind: 'boolean' }),
    column('small', { kind: 'int16' }),
    column('int', { kind: 'int32' }),
    column('f32', { kind: 'float32' }),
    column('f64', { kind: 'float64' }),
    column('price', { kind: 'decimal', precision: 38, scale: 10 }),
    column('wide', { kind: 'decimal', precision: 65, scale: 30 }),
    column('name', { kind: 'string', length: 100 }),
    column('doc', { kind: 'json' }),
    column('status', { kind: 'enum', values: ['a', 'b'] }),
    column('tags', { kind: 'set', values: ['x', 'y'] }),
    column('uuid', { kind: 'uuid' }),
    column('payload', { kind: 'bytes' }),
    column('bits', { kind: 'bits', length: 64 }),
    column('born', { kind: 'date' }),
    column('span', { kind: 'time' }),
    column('local', { kind: 'timestamp' }),
    column('utc', { kind: 'timestamptz' }),
    column('yr', { kind: 'year' }),
  ],
  primaryKey: ['id]'],
};

const ROW = {
  'id]': -9223372036854775808n,
  flag: true,
  small: -32768,
  int: 2147483647,
  f32: Math.fround(1.1),
  f64: 1.7976931348623157e308,
  price: '-9999999999999999999999999999.9999999999',
  wide: '1.500000000000000000000000000000',
  name: 'emoji 😀',
  doc: '{"n": 12345678901234567890}',
  status: 'b',
  tags: 'x,y',
  uuid: '123e4567-e89b-42d3-a456-426614174000',
  payload: Buffer.from([0, 0xff, 0]),
  bits: Buffer.from([1, 0, 0, 0, 0, 0, 0, 0x80]),
  born: -719162,
  span: -3020399000000n,
  local: 253402300799999999n,
  utc: 0n,
  yr: 2155,
};

const CHANGES: SinkChange[] = [
  { op: 'upsert', key: { 'id]': ROW['id]'] }, row: ROW, position: '0002' },
  { op: 'delete', key: { 'id]': 7n }, position: '0003' },
];

describe('stageRows', () => {
  it('lays out op, position and one value per column, key only for a delete', () => {
    const stage = stageRows(TABLE, CHANGES as Exclude<SinkChange, { op: 'truncate' }>[]);
    expect(stage.path).toBe('[#stage]');
    expect(stage.create).toBe(false);
    expect(stage.columns.map((c) => c.name)).toEqual(['__tributary_op', '__tributary_position', ...TABLE.columns.map((_, i) => `c${i + 1}`)]);
    expect(stage.rows[0]).toEqual([
      'upsert', '0002', -9223372036854775808n, true, -32768, 2147483647, Math.fround(1.1), 1.7976931348623157e308,
      '-9999999999999999999999999999.9999999999', '1.500000000000000000000000000000', 'emoji 😀', '{"n": 12345678901234567890}',
      'b', 'x,y', '123e4567-e89b-42d3-a456-426614174000', Buffer.from([0, 0xff, 0]), Buffer.from([1, 0, 0, 0, 0, 0, 0, 0x80]),
      '0001-01-01', -3020399000000n, '9999-12-31T23:59:59.999999', '1970-01-01T00:00:00.000000+00:00', 2155,
    ]);
    expect(stage.rows[1]).toEqual(['delete', '0003', 7n, ...TABLE.columns.slice(1).map(() => null)]);
  });

  it('refuses a position the position column cannot hold exactly', () => {
    const long = [{ op: 'delete' as const, key: { 'id]': 1n }, position: '9'.repeat(65) }];
    expect(() => stageRows(TABLE, long)).toThrow(expect.objectContaining({ code: 'VALUE_INVALID' }));
    expect(() => stageRows(TABLE, [{ ...long[0]!, position: 'é' }])).toThrow(/1 to 64 ASCII characters/);
  });

  it('goes through tedious\'s bulk-load encoder: declarations match #stage and values validate', async () => {
    const require = createRequire(import.meta.url);
    const bulkLoadModule = require('tedious/lib/bulk-load.js');
    const BulkLoad = bulkLoadModule.default ?? bulkLoadModule;
    const { Collation } = require('tedious/lib/collation.js');
    const tds = require('tedious');
    const stage = stageRows(TABLE, CHANGES as Exclude<SinkChange, { op: 'truncate' }>[]);
    const tediousType = (type: unknown) => {
      const name = Object.entries(mssql.TYPES).find(([, factory]) => factory === type)?.[0];
      return tds.TYPES[name ?? ''];
    };
    // SQL_Latin1_General_CP1_CI_AS, as a default server install reports it.
    const bulk = new BulkLoad('[#stage]', new Collation(1033, 0, 0, 52), { tdsVersion: '7_4', useUTC: true }, {}, () => undefined);
    // As mssql's Request#bulk adds them (create = false: the length as given, mssql.MAX for MAX).
    for (const col of stage.columns as unknown as Array<{ name: string; type: unknown; length?: number; nullable: boolean }>) {
      bulk.addColumn(col.name, tediousType(col.type), { nullable: col.nullable, length: col.length });
    }
    expect(bulk.getBulkInsertSql()).toBe(
      'insert bulk [#stage]([__tributary_op] varchar(6), [__tributary_position] varchar(64), [c1] bigint, [c2] bit, [c3] smallint, ' +
        '[c4] int, [c5] real, [c6] float, [c7] nvarchar(41), [c8] nvarchar(68), [c9] nvarchar(200), [c10] nvarchar(max), ' +
        '[c11] nvarchar(2), [c12] nvarchar(6), [c13] uniqueidentifier, [c14] varbinary(max), [c15] varbinary(8), [c16] nvarchar(10), ' +
        '[c17] bigint, [c18] nvarchar(26), [c19] nvarchar(32), [c20] smallint)',
    );
    const chunks: Buffer[] = [];
    const transform = bulk.rowToPacketTransform;
    transform.on('data', (chunk: Buffer) => chunks.push(chunk));
    await new Promise<void>((resolve, reject) => {
      transform.on('error', reject);
      transform.on('end', resolve);
      for (const row of stage.rows) transform.write(row);
      transform.end();
    });
    const payload = Buffer.concat(chunks);
    const bigint = Buffer.alloc(8);
    bigint.writeBigInt64LE(-9223372036854775808n);
    expect(payload.includes(bigint)).toBe(true);
    expect(payload.includes(Buffer.from('9999-12-31T23:59:59.999999', 'utf16le'))).toBe(true);
    expect(payload.includes(Buffer.from('-9999999999999999999999999999.9999999999', 'utf16le'))).toBe(true);
  });
});

describe('unchangedGroups', () => {
  it('groups changes by the set of non-key columns they leave unchanged, in order of first appearance', () => {
    const up = (id: bigint, unchanged?: string[]): Exclude<SinkChange, { op: 'truncate' }> => ({
      op: 'upsert',
      key: { 'id]': id },
      row: { 'id]': id },
      position: '1',
      ...(unchanged ? { unchanged } : {}),
    });
    const changes = [up(1n, ['doc', 'name']), up(2n), { op: 'delete' as const, key: { 'id]': 3n }, position: '2' }, up(4n, ['name', 'doc']), up(5n, ['id]', 'missing'])];
    const groups = unchangedGroups(TABLE, changes);
    expect(groups.map((g) => [[...g.unchanged], g.changes.map((c) => c.key['id]'])])).toEqual([
      [['doc', 'name'], [1n, 4n]],
      [[], [2n, 3n, 5n]],
    ]);
  });

  it('stages the JSON text of an array and the text of numeric, timetz and interval', () => {
    const table: TableSchema = {
      namespace: 'public',
      table: 'pg',
      columns: [column('id', { kind: 'int32' }), column('n', { kind: 'numeric' }), column('a', { kind: 'array', items: { kind: 'int64' } }), column('tz', { kind: 'timetz' })],
      primaryKey: ['id'],
    };
    const stage = stageRows(table, [{ op: 'upsert', key: { id: 1 }, row: { id: 1, n: 'NaN', a: [1n, null], tz: '10:00:00Z' }, position: '1' }]);
    expect(stage.rows[0]).toEqual(['upsert', '1', 1, 'NaN', '[1,null]', '10:00:00Z']);
  });
});

describe('SqlServerSink without a server', () => {
  const connection = { host: '127.0.0.1', port: 1, user: 'sa', password: 'S3cret!pw', encrypt: false, trustServerCertificate: true };

  it('reports a refused connection as retriable TARGET_UNAVAILABLE, without the password', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    await new Promise((resolve) => server.close(resolve));
    const sink = new SqlServerSink({ connection: { ...connection, port } }, { connectTimeoutMs: 5_000 });
    const error = await sink.connect().then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({ code: 'TARGET_UNAVAILABLE', retriable: true });
    expect((error as Error).message).toMatch(new RegExp(`^connecting to SQL Server at 127\\.0\\.0\\.1:${port}: `));
    expect((error as Error).message).not.toContain('S3cret!pw');
    await sink.close();
  });

  it('refuses to work before connect, and closes twice', async () => {
    const sink = new SqlServerSink({ connection });
    await expect(sink.prepare(TABLE)).rejects.toMatchObject({ code: 'INTERNAL' });
    await expect(sink.apply([], 'token')).rejects.toMatchObject({ code: 'INTERNAL' });
    await sink.close();
    await sink.close();
  });
});
