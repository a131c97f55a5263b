import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TributaryError } from '#core/errors.ts';
import { pgOptions } from '#postgres/connection.ts';
import { preflight, type PostgresPreflightOptions, type PreflightTable } from '#postgres/preflight.ts';
import { ensurePublication } from '#postgres/publication.ts';
import { connectPostgres, postgresConnection, scratchPostgresDatabase } from '#test/support/postgres.ts';
import { uniqueName } from '#test/support/wait.ts';

// The stack's PostgreSQL is set up for capture and its user is a superuser, so preflight passes there; a table
// without a replica identity, a slot of another database and a user holding nothing are refused with one line
// per problem, and the statements those lines name are the fix. Preflight itself creates nothing.

const ORDERS: PreflightTable = { schema: 'shop', table: 'orders', primaryKey: ['id'], replicaIdentity: 'd' };
const ITEMS: PreflightTable = { schema: 'shop', table: 'Line Items', primaryKey: ['order_id', 'n'], replicaIdentity: 'd' };
const LOG: PreflightTable = { schema: 'shop', table: 'log', primaryKey: [], replicaIdentity: 'd' };

async function refusal(promise: Promise<unknown>): Promise<string[]> {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(TributaryError);
  expect((error as TributaryError).code).toBe('PREFLIGHT_FAILED');
  expect((error as TributaryError).retriable).toBe(false);
  return (error as TributaryError).message.split('\n');
}

describe('preflight against the stack PostgreSQL', () => {
  let database: Awaited<ReturnType<typeof scratchPostgresDatabase>>;
  let admin: pg.Client;
  const slotName = uniqueName('tpf_slot');
  const publicationName = uniqueName('tpf_pub');
  const options = (over: Partial<PostgresPreflightOptions> = {}): PostgresPreflightOptions => ({
    tables: [ORDERS, ITEMS],
    slotName,
    publicationName,
    snapshot: 'initial',
    ...over,
  });
  const published = async () =>
    (await admin.query('SELECT 1 FROM pg_publication WHERE pubname = $1 UNION ALL SELECT 1 FROM pg_replication_slots WHERE slot_name = $2', [publicationName, slotName]))
      .rows.length;

  beforeAll(async () => {
    database = await scratchPostgresDatabase('tpf');
    admin = await connectPostgres(database.name);
    await admin.query(`
      CREATE SCHEMA shop;
      CREATE TABLE shop.orders (id int PRIMARY KEY, total numeric);
      CREATE TABLE shop."Line Items" (order_id int, n int, sku text, PRIMARY KEY (order_id, n));
      CREATE TABLE shop.log (at timestamptz, line text);`);
  });
  afterAll(async () => {
    await admin?.end();
    await database?.drop();
  });

  it('passes for the stack user in every snapshot mode, and creates nothing', async () => {
    for (const snapshot of ['initial', 'never', 'when_needed', 'schema_only'] as const) {
      await expect(preflight(admin, options({ snapshot }))).resolves.toBeUndefined();
    }
    expect(await published()).toBe(0);
  });

  it('passes once the slot and the publication exist', async () => {
    await ensurePublication(admin, publicationName, [ORDERS]);
    await admin.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [slotName]);
    try {
      await expect(preflight(admin, options())).resolves.toBeUndefined();
    } finally {
      await admin.query('SELECT pg_drop_replication_slot($1)', [slotName]);
      await admin.query(`DROP PUBLICATION "${publicationName}"`);
    }
  });

  it('refuses a table without a replica identity, and passes once the fix is run', async () => {
    const lines = await refusal(preflight(admin, options({ tables: [ORDERS, LOG] })));
    expect(lines).toEqual([
      'table "shop"."log" has no primary key and replica identity DEFAULT, so it has no replica identity (PostgreSQL refuses UPDATE ' +
        'and DELETE on such a table once it is published); run ALTER TABLE "shop"."log" REPLICA IDENTITY FULL (or add a primary key)',
    ]);
    expect(await published()).toBe(0);
    await admin.query('ALTER TABLE "shop"."log" REPLICA IDENTITY FULL');
    try {
      await expect(preflight(admin, options({ tables: [ORDERS, { ...LOG, replicaIdentity: 'f' }] }))).resolves.toBeUndefined();
    } finally {
      await admin.query('ALTER TABLE shop.log REPLICA IDENTITY DEFAULT');
    }
  });

  it('says so when no table is included', async () => {
    expect(await refusal(preflight(admin, options({ tables: [] })))).toEqual([
      `no table to capture in database "${database.name}": no table matches the source's include patterns (or exclude removes them all); ` +
        'check include and exclude, and that the user can see the tables',
    ]);
  });

  it('refuses a slot that belongs to another database', async () => {
    const home = await connectPostgres();
    const otherSlot = uniqueName('tpf_other');
    await home.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [otherSlot]);
    try {
      expect(await refusal(preflight(admin, options({ slotName: otherSlot })))).toEqual([
        `replication slot "${otherSlot}" belongs to database "${postgresConnection().database}", not "${database.name}"; ` +
          `set slotName to another name for this source, or drop the slot if nothing reads it (SELECT pg_drop_replication_slot('${otherSlot}'))`,
      ]);
    } finally {
      await home.query('SELECT pg_drop_replication_slot($1)', [otherSlot]);
      await home.end();
    }
  });

  describe('as a user holding nothing', () => {
    const role = uniqueName('tpf_user');
    const password = randomBytes(12).toString('hex');
    let limited: pg.Client;

    beforeAll(async () => {
      await admin.query(`CREATE ROLE "${role}" LOGIN PASSWORD '${password}'`);
      limited = new pg.Client(pgOptions({ ...postgresConnection(database.name), user: role, password }));
      limited.on('error', () => undefined);
      await limited.connect();
    });
    afterAll(async () => {
      await limited?.end();
      // DROP OWNED takes back what the role was granted in this database; roles are cluster-wide, so drop it too.
      await admin.query(`DROP OWNED BY "${role}"; DROP ROLE IF EXISTS "${role}"`);
    });

    it('lists every missing privilege with the statement that fixes it, and the fixes work', async () => {
      const lines = await refusal(preflight(limited, options()));
      const names = '"shop"."orders", "shop"."Line Items"';
      const create = `CREATE PUBLICATION "${publicationName}" FOR TABLE ONLY "shop"."orders", ONLY "shop"."Line Items" WITH (publish = 'insert, update, delete, truncate')`;
      expect(lines).toEqual([
        `user "${role}" has neither SUPERUSER nor REPLICATION, which streaming from a slot needs; run ALTER ROLE "${role}" REPLICATION ` +
          `(on Amazon RDS: GRANT rds_replication TO "${role}")`,
        `user "${role}" lacks USAGE on schema "shop", which reading their tables needs; run GRANT USAGE ON SCHEMA "shop" TO "${role}"`,
        `user "${role}" lacks SELECT on ${names}, which the snapshot reads; run GRANT SELECT ON ${names} TO "${role}"`,
        `publication "${publicationName}" does not exist and user "${role}" may not create it (publishing a table needs its owner or a ` +
          `superuser, and "${role}" does not own tables ${names}); run as a superuser: ${create}`,
      ]);
      expect(lines.join('\n')).not.toContain(password);
      expect(await published()).toBe(0);

      // Run the statements the lines name, as a DBA would, and check again.
      for (const line of lines) {
        const fix = /; run (?:as a superuser: )?(.*?)(?: \(on Amazon RDS: .*\))?$/.exec(line)?.[1];
        expect(fix).toBeDefined();
        await admin.query(fix as string);
      }
      await expect(preflight(limited, options())).resolves.toBeUndefined();
    });

    it('asks the owner of an existing publication to change it', async () => {
      await admin.query(`ALTER PUBLICATION "${publicationName}" DROP TABLE shop.orders`);
      expect(await refusal(preflight(limited, options()))).toEqual([
        `publication "${publicationName}" needs changes (table "shop"."orders" must be added) and is owned by "${postgresConnection().user}", ` +
          `not "${role}"; run as its owner: ALTER PUBLICATION "${publicationName}" ADD TABLE ONLY "shop"."orders"`,
      ]);
    });
  });
});
