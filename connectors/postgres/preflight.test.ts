import { describe, expect, it } from 'vitest';
import { checkSetup, preflightWarnings, type PostgresFacts, type PostgresPreflightOptions, type PreflightTable, type TableFacts } from './preflight.ts';
import type { PublicationState } from './publication.ts';
import type { SlotInfo } from './slot.ts';

const ORDERS: PreflightTable = { schema: 'shop', table: 'orders', primaryKey: ['id'], replicaIdentity: 'd' };
const ITEMS: PreflightTable = { schema: 'shop', table: 'Line Items', primaryKey: ['order_id', 'n'], replicaIdentity: 'd' };
const TABLES = [ORDERS, ITEMS];

const tableFacts = (table: PreflightTable, over: Partial<TableFacts> = {}): TableFacts => ({
  schema: table.schema,
  table: table.table,
  exists: true,
  select: true,
  schemaUsage: true,
  owned: true,
  identityIndex: false,
  ...over,
});

const GOOD: PostgresFacts = {
  versionNum: 150004,
  version: '15.4',
  database: 'app',
  user: 'cdc',
  walLevel: 'logical',
  maxReplicationSlots: 10,
  replicationSlotsUsed: 2,
  maxWalSenders: 10,
  walSendersUsed: 3,
  superuser: false,
  replication: true,
  createInDatabase: true,
  slot: null,
  publication: null,
  tables: TABLES.map((table) => tableFacts(table)),
};

const SLOT: SlotInfo = {
  name: 'tributary_app',
  slotType: 'logical',
  database: 'app',
  plugin: 'pgoutput',
  active: false,
  activePid: null,
  confirmedFlushLsn: 0x1_0000_0000n,
  restartLsn: 0xffff_0000n,
  walStatus: 'reserved',
  retainedBytes: 100n,
  reservedBytes: 200n,
  safeWalBytes: null,
};

const PUBLICATION: PublicationState = {
  name: 'tributary_app',
  owner: 'cdc',
  ownedByUser: true,
  allTables: false,
  schemas: [],
  tables: [
    { schema: 'shop', table: 'Line Items' },
    { schema: 'shop', table: 'orders' },
  ],
  publishes: ['insert', 'update', 'delete', 'truncate'],
};

const OPTIONS: PostgresPreflightOptions = { tables: TABLES, slotName: 'tributary_app', publicationName: 'tributary_app', snapshot: 'initial' };
const check = (facts: Partial<PostgresFacts>, options: Partial<PostgresPreflightOptions> = {}) =>
  checkSetup({ ...GOOD, ...facts }, { ...OPTIONS, ...options });

describe('checkSetup', () => {
  it('passes a server set up for capture, before and after the slot and publication exist', () => {
    expect(check({})).toEqual([]);
    expect(check({ slot: SLOT, publication: PUBLICATION })).toEqual([]);
    expect(check({ superuser: true, replication: false, createInDatabase: false, tables: TABLES.map((table) => tableFacts(table, { owned: false })) })).toEqual([]);
  });

  it('names wal_level and says a restart is needed', () => {
    expect(check({ walLevel: 'replica' })).toEqual([
      'wal_level is replica; run ALTER SYSTEM SET wal_level = logical, then restart the server (wal_level changes only on restart)',
    ]);
  });

  it('refuses servers older than PostgreSQL 10', () => {
    expect(check({ versionNum: 90624, version: '9.6.24' })).toEqual(['PostgreSQL 9.6.24 has no pgoutput logical decoding; upgrade to PostgreSQL 10 or later']);
  });

  it('needs a free replication slot only while the slot does not exist', () => {
    expect(check({ replicationSlotsUsed: 10 })).toEqual([
      'replication slot "tributary_app" does not exist and all 10 slots of max_replication_slots are in use; ' +
        'run ALTER SYSTEM SET max_replication_slots = 11, then restart the server ' +
        '(or drop a slot nothing reads: SELECT slot_name, active FROM pg_replication_slots)',
    ]);
    expect(check({ replicationSlotsUsed: 10, slot: SLOT })).toEqual([]);
    expect(check({ maxReplicationSlots: 0, replicationSlotsUsed: 0 })[0]).toContain('all 0 slots of max_replication_slots are in use');
  });

  it('refuses a slot of another database, plugin or kind, with the fix', () => {
    expect(check({ slot: { ...SLOT, database: 'other' } })).toEqual([
      'replication slot "tributary_app" belongs to database "other", not "app"; set slotName to another name for this source, ' +
        "or drop the slot if nothing reads it (SELECT pg_drop_replication_slot('tributary_app'))",
    ]);
    expect(check({ slot: { ...SLOT, plugin: 'wal2json' } })[0]).toContain('uses the output plugin wal2json, not pgoutput');
    expect(check({ slot: { ...SLOT, slotType: 'physical', plugin: null, database: null } })[0]).toContain('is a physical slot');
  });

  it('leaves a lost slot to the snapshot mode, and warns about a slot in use', () => {
    expect(check({ slot: { ...SLOT, walStatus: 'lost' } })).toEqual([]);
    expect(preflightWarnings({ ...GOOD, slot: { ...SLOT, active: true, activePid: 4242 } })).toEqual([
      'replication slot "tributary_app" is in use by process 4242; streaming starts once that process lets go of it ' +
        '(another capture of this source may still be running)',
    ]);
    expect(preflightWarnings({ ...GOOD, slot: SLOT })).toEqual([]);
  });

  it('needs a free WAL sender', () => {
    expect(check({ walSendersUsed: 10 })).toEqual([
      'all 10 WAL senders of max_wal_senders are in use (see pg_stat_replication); run ALTER SYSTEM SET max_wal_senders = 11, then restart the server',
    ]);
  });

  it('needs SUPERUSER or REPLICATION, naming the user quoted', () => {
    expect(check({ replication: false, user: 'Cdc User' })).toEqual([
      'user "Cdc User" has neither SUPERUSER nor REPLICATION, which streaming from a slot needs; run ALTER ROLE "Cdc User" REPLICATION ' +
        '(on Amazon RDS: GRANT rds_replication TO "Cdc User")',
    ]);
  });

  it('says so when no table is included, and checks no table or publication then', () => {
    expect(check({ tables: [], publication: { ...PUBLICATION, ownedByUser: false } }, { tables: [] })).toEqual([
      'no table to capture in database "app": no table matches the source\'s include patterns (or exclude removes them all); ' +
        'check include and exclude, and that the user can see the tables',
    ]);
  });

  it('names tables that are gone', () => {
    expect(check({ tables: [tableFacts(ORDERS), tableFacts(ITEMS, { exists: false, select: false, owned: false })] })).toEqual([
      'table "shop"."Line Items" does not exist in database "app"; check include and exclude',
    ]);
  });

  it('asks for SELECT on every unreadable table in one GRANT, names quoted, unless no snapshot reads rows', () => {
    const facts = { tables: TABLES.map((table) => tableFacts(table, { select: false })) };
    expect(check(facts)).toEqual([
      'user "cdc" lacks SELECT on "shop"."orders", "shop"."Line Items", which the snapshot reads; ' +
        'run GRANT SELECT ON "shop"."orders", "shop"."Line Items" TO "cdc"',
    ]);
    expect(check(facts, { snapshot: 'when_needed' })).toHaveLength(1);
    expect(check({ tables: [tableFacts(ORDERS, { schemaUsage: false }), tableFacts(ITEMS, { schemaUsage: false })] })).toEqual([
      'user "cdc" lacks USAGE on schema "shop", which reading their tables needs; run GRANT USAGE ON SCHEMA "shop" TO "cdc"',
    ]);
    expect(check(facts, { snapshot: 'never' })).toEqual([]);
    expect(check(facts, { snapshot: 'schema_only' })).toEqual([]);
  });

  it('refuses tables without a replica identity, one line each with its ALTER TABLE', () => {
    const tables: PreflightTable[] = [
      { schema: 'shop', table: 'log', primaryKey: [], replicaIdentity: 'd' },
      { schema: 'shop', table: 'orders', primaryKey: ['id'], replicaIdentity: 'n' },
      { schema: 'we"ird', table: 'a.b', primaryKey: [], replicaIdentity: 'n' },
      { schema: 'shop', table: 'by_index', primaryKey: [], replicaIdentity: 'i' },
      { schema: 'shop', table: 'index_gone', primaryKey: [], replicaIdentity: 'i' },
      { schema: 'shop', table: 'full', primaryKey: [], replicaIdentity: 'f' },
      { schema: 'shop', table: 'keyed', primaryKey: ['id'], replicaIdentity: 'd' },
    ];
    const facts = tables.map((table) => tableFacts(table, { identityIndex: table.table === 'by_index' }));
    const refused = 'PostgreSQL refuses UPDATE and DELETE on such a table once it is published';
    expect(check({ tables: facts }, { tables })).toEqual([
      `table "shop"."log" has no primary key and replica identity DEFAULT, so it has no replica identity (${refused}); ` +
        'run ALTER TABLE "shop"."log" REPLICA IDENTITY FULL (or add a primary key)',
      `table "shop"."orders" has replica identity NOTHING (${refused}); run ALTER TABLE "shop"."orders" REPLICA IDENTITY DEFAULT to use its primary key`,
      `table "we""ird"."a.b" has replica identity NOTHING (${refused}); run ALTER TABLE "we""ird"."a.b" REPLICA IDENTITY FULL (or add a primary key)`,
      `table "shop"."index_gone" has replica identity USING INDEX but the index is gone, which leaves it none (${refused}); ` +
        'run ALTER TABLE "shop"."index_gone" REPLICA IDENTITY FULL (or add a primary key)',
    ]);
  });

  it('asks for CREATE on the database, or ownership of the tables, to create the publication', () => {
    const create = `CREATE PUBLICATION "tributary_app" FOR TABLE ONLY "shop"."orders", ONLY "shop"."Line Items" WITH (publish = 'insert, update, delete, truncate')`;
    expect(check({ createInDatabase: false })).toEqual([
      'publication "tributary_app" does not exist and user "cdc" may not create it (CREATE on database "app" is missing); ' +
        `run GRANT CREATE ON DATABASE "app" TO "cdc", or create it yourself: ${create}`,
    ]);
    expect(check({ tables: [tableFacts(ORDERS), tableFacts(ITEMS, { owned: false })] })).toEqual([
      'publication "tributary_app" does not exist and user "cdc" may not create it (publishing a table needs its owner or a superuser, ' +
        `and "cdc" does not own table "shop"."Line Items"); run as a superuser: ${create}`,
    ]);
    expect(check({ createInDatabase: false, tables: TABLES.map((table) => tableFacts(table, { owned: false })) })[0]).toContain(
      'does not own tables "shop"."orders", "shop"."Line Items"); run as a superuser: CREATE PUBLICATION',
    );
  });

  it('accepts an existing publication it may bring to the included tables', () => {
    const publication = { ...PUBLICATION, tables: [{ schema: 'shop', table: 'old' }], publishes: ['insert'] };
    expect(check({ publication })).toEqual([]);
    expect(check({ publication: { ...PUBLICATION, allTables: true, tables: [], ownedByUser: false } })).toEqual([]);
  });

  it('gives the owner of a publication the statements it needs when the user may not run them', () => {
    const publication = { ...PUBLICATION, owner: 'dba', ownedByUser: false, tables: [{ schema: 'shop', table: 'orders' }, { schema: 'shop', table: 'old' }] };
    expect(check({ publication })).toEqual([
      'publication "tributary_app" needs changes (table "shop"."Line Items" must be added; table "shop"."old" must be removed) and is owned by ' +
        '"dba", not "cdc"; run as its owner: ALTER PUBLICATION "tributary_app" ADD TABLE ONLY "shop"."Line Items"; ' +
        'ALTER PUBLICATION "tributary_app" DROP TABLE ONLY "shop"."old"',
    ]);
    expect(check({ publication: { ...PUBLICATION, ownedByUser: false, owner: 'dba', allTables: true, publishes: ['insert', 'update'] } })).toEqual([
      'publication "tributary_app" needs changes (it publishes only insert, update, not insert, update, delete, truncate) and is owned by ' +
        `"dba", not "cdc"; run as its owner: ALTER PUBLICATION "tributary_app" SET (publish = 'insert, update, delete, truncate')`,
    ]);
    expect(check({ publication: { ...PUBLICATION, ownedByUser: false } })).toEqual([]);
  });

  it('needs ownership of each table to add to an existing publication', () => {
    const publication = { ...PUBLICATION, tables: [{ schema: 'shop', table: 'orders' }] };
    expect(check({ publication, tables: [tableFacts(ORDERS, { owned: false }), tableFacts(ITEMS, { owned: false })] })).toEqual([
      'publication "tributary_app" needs changes (table "shop"."Line Items" must be added) and adding a table needs its owner or a ' +
        'superuser, but "cdc" does not own table "shop"."Line Items"; run as a superuser: ALTER PUBLICATION "tributary_app" ADD TABLE ONLY "shop"."Line Items"',
    ]);
  });

  it('collects every failure, one line each', () => {
    const lines = check({
      walLevel: 'replica',
      replicationSlotsUsed: 10,
      walSendersUsed: 10,
      replication: false,
      createInDatabase: false,
      tables: TABLES.map((table) => tableFacts(table, { select: false, schemaUsage: false, owned: false })),
    }, { tables: [ORDERS, { ...ITEMS, primaryKey: [] }] });
    expect(lines.map((line) => line.split(' ').slice(0, 2).join(' '))).toEqual([
      'wal_level is',
      'replication slot',
      'all 10',
      'user "cdc"',
      'user "cdc"',
      'user "cdc"',
      'table "shop"."Line',
      'publication "tributary_app"',
    ]);
    for (const line of lines) expect(line).not.toContain('\n');
  });
});
