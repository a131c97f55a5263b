import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TributaryError } from '#core/errors.ts';
import type { QualifiedTable } from '#postgres/names.ts';
import { dropPublication, ensurePublication, readPublication, readTableIdentities } from '#postgres/publication.ts';
import { connectPostgres, scratchPostgresDatabase } from '#test/support/postgres.ts';
import { uniqueName } from '#test/support/wait.ts';

// ensurePublication against the stack: the publication holds exactly the tables asked for, whatever their
// names, reports what it added and removed, leaves FOR ALL TABLES and FOR TABLES IN SCHEMA publications'
// lists alone, and never publishes a table whose UPDATEs PostgreSQL would then refuse.

const ORDERS = { schema: 'public', table: 'orders' };
const ODD = { schema: 'Odd "Schema"', table: 'We"ird.Table Name' };
const LOG = { schema: 'public', table: 'log' };
const PARENT = { schema: 'public', table: 'parent' };
const MEASURES = { schema: 'public', table: 'measures' };

describe('ensurePublication against the stack PostgreSQL', () => {
  let database: Awaited<ReturnType<typeof scratchPostgresDatabase>>;
  let client: pg.Client;
  const members = async (name: string): Promise<QualifiedTable[]> =>
    (
      await client.query<QualifiedTable>(
        `SELECT n.nspname AS schema, c.relname AS table FROM pg_publication p JOIN pg_publication_rel r ON r.prpubid = p.oid
           JOIN pg_class c ON c.oid = r.prrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE p.pubname = $1 ORDER BY 1, 2`,
        [name],
      )
    ).rows.map((row) => ({ schema: row.schema, table: row.table }));

  beforeAll(async () => {
    database = await scratchPostgresDatabase('tpub');
    client = await connectPostgres(database.name);
    await client.query(`
      CREATE TABLE public.orders (id int PRIMARY KEY, total numeric);
      CREATE SCHEMA "Odd ""Schema""";
      CREATE TABLE "Odd ""Schema"""."We""ird.Table Name" (id int PRIMARY KEY);
      CREATE TABLE public.log (line text);
      CREATE TABLE public.parent (id int PRIMARY KEY);
      CREATE TABLE public.child (extra int) INHERITS (public.parent);
      CREATE TABLE public.measures (id int, at date, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
      CREATE TABLE public.measures_2024 PARTITION OF public.measures FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
      INSERT INTO public.log VALUES ('a');`);
  });
  afterAll(async () => {
    await client?.end();
    await database?.drop();
  });

  it('creates the publication with exactly the tables, quoted, and every kind of change', async () => {
    const name = uniqueName('Pub "x".y');
    const change = await ensurePublication(client, name, [ORDERS, ODD, ORDERS]);
    expect(change).toEqual({ created: true, allTables: false, schemas: [], added: [ORDERS, ODD], removed: [], publishChanged: false });
    expect(await members(name)).toEqual([ODD, ORDERS]);
    const state = await readPublication(client, name);
    expect(state?.publishes).toEqual(['insert', 'update', 'delete', 'truncate']);
    expect(state?.ownedByUser).toBe(true);

    expect(await ensurePublication(client, name, [ODD, ORDERS])).toEqual({
      created: false,
      allTables: false,
      schemas: [],
      added: [],
      removed: [],
      publishChanged: false,
    });
    expect(await dropPublication(client, name)).toBe(true);
    expect(await dropPublication(client, name)).toBe(false);
    expect(await readPublication(client, name)).toBeNull();
  });

  it('adds and removes tables to match, and reports both', async () => {
    const name = uniqueName('tpub');
    await ensurePublication(client, name, [ORDERS]);
    expect(await ensurePublication(client, name, [ODD])).toMatchObject({ created: false, added: [ODD], removed: [ORDERS] });
    expect(await members(name)).toEqual([ODD]);
    expect(await ensurePublication(client, name, [])).toMatchObject({ added: [], removed: [ODD] });
    expect(await members(name)).toEqual([]);
    await dropPublication(client, name);
  });

  it('publishes a table without its inheritance children, and a partitioned table whole, as itself', async () => {
    const name = uniqueName('tpub');
    await ensurePublication(client, name, [PARENT, MEASURES]);
    expect(await members(name)).toEqual([MEASURES, PARENT]);
    // publish_via_partition_root: the partitioned table's changes come under its own name, not its partitions'.
    const { rows } = await client.query('SELECT tablename FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1', [name]);
    expect(rows.map((row) => row.tablename)).toEqual(['measures', 'parent']);
    expect(await ensurePublication(client, name, [PARENT, MEASURES])).toMatchObject({ added: [], removed: [] });
    await dropPublication(client, name);
  });

  it('completes the publish option of an existing publication', async () => {
    const name = uniqueName('tpub');
    await client.query(`CREATE PUBLICATION "${name}" FOR TABLE public.orders WITH (publish = 'insert')`);
    expect(await ensurePublication(client, name, [ORDERS])).toMatchObject({ added: [], removed: [], publishChanged: true });
    expect((await readPublication(client, name))?.publishes).toEqual(['insert', 'update', 'delete', 'truncate']);
    await dropPublication(client, name);
  });

  it('leaves the table list of FOR ALL TABLES and FOR TABLES IN SCHEMA publications alone', async () => {
    const all = uniqueName('tpub_all');
    await client.query(`CREATE PUBLICATION "${all}" FOR ALL TABLES`);
    expect(await ensurePublication(client, all, [ORDERS])).toEqual({
      created: false,
      allTables: true,
      schemas: [],
      added: [],
      removed: [],
      publishChanged: false,
    });
    expect((await readPublication(client, all))?.allTables).toBe(true);
    await dropPublication(client, all);

    const bySchema = uniqueName('tpub_schema');
    await client.query(`CREATE PUBLICATION "${bySchema}" FOR TABLES IN SCHEMA "Odd ""Schema"""`);
    expect(await ensurePublication(client, bySchema, [ORDERS])).toMatchObject({ allTables: false, schemas: ['Odd "Schema"'], added: [], removed: [] });
    expect(await members(bySchema)).toEqual([]);
    await dropPublication(client, bySchema);
  });

  it('never publishes a table without a replica identity, so its UPDATEs keep working', async () => {
    const name = uniqueName('tpub');
    const error = await ensurePublication(client, name, [ORDERS, LOG]).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(TributaryError);
    expect((error as TributaryError).code).toBe('PREFLIGHT_FAILED');
    expect((error as TributaryError).message).toBe(
      `setting up publication "${name}": table "public"."log" has no primary key and replica identity DEFAULT, so it has no replica ` +
        'identity (PostgreSQL refuses UPDATE and DELETE on such a table once it is published); ' +
        'run ALTER TABLE "public"."log" REPLICA IDENTITY FULL (or add a primary key)',
    );
    expect(await readPublication(client, name)).toBeNull();

    await ensurePublication(client, name, [ORDERS]);
    await expect(ensurePublication(client, name, [ORDERS, LOG])).rejects.toThrow(/REPLICA IDENTITY FULL/);
    expect(await members(name)).toEqual([ORDERS]);
    await client.query("UPDATE public.log SET line = 'b'");

    await client.query('ALTER TABLE public.log REPLICA IDENTITY FULL');
    expect(await ensurePublication(client, name, [ORDERS, LOG])).toMatchObject({ added: [LOG] });
    await client.query("UPDATE public.log SET line = 'c'");
    await dropPublication(client, name);
    await client.query('ALTER TABLE public.log REPLICA IDENTITY DEFAULT');
  });

  it('reads replica identities and primary keys from the catalog', async () => {
    await client.query(`
      CREATE TABLE public.idx (a int NOT NULL, "b,c" int NOT NULL);
      CREATE UNIQUE INDEX idx_a ON public.idx (a);
      ALTER TABLE public.idx REPLICA IDENTITY USING INDEX idx_a;
      CREATE TABLE public.keyed ("b,c" int, a int, PRIMARY KEY ("b,c", a));`);
    const tables = [
      { schema: 'public', table: 'idx' },
      { schema: 'public', table: 'keyed' },
      { schema: 'public', table: 'missing' },
    ];
    expect(await readTableIdentities(client, tables)).toEqual([
      { schema: 'public', table: 'idx', primaryKey: [], replicaIdentity: 'i', identityIndex: true },
      { schema: 'public', table: 'keyed', primaryKey: ['b,c', 'a'], replicaIdentity: 'd', identityIndex: false },
    ]);
    await client.query('DROP INDEX public.idx_a');
    expect((await readTableIdentities(client, tables))[0]).toMatchObject({ replicaIdentity: 'i', identityIndex: false });
    await expect(ensurePublication(client, uniqueName('tpub'), [{ schema: 'public', table: 'idx' }])).rejects.toThrow(/the index is gone/);
  });
});
