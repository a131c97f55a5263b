import type pg from 'pg';
import { TributaryError, withAction } from '#core/errors.ts';
import { classifyPostgresError, quoteIdent, serverVersionNum } from './connection.ts';
import { quoteTable, type QualifiedTable } from './names.ts';

// The publication says which tables pgoutput sends. The source owns it: it holds exactly the included tables,
// so a table added to `include` is published (and snapshotted by the caller) and a removed one stops.

/** Every kind of change: a publication without one of them would drop those changes silently. */
export const PUBLISH = 'insert, update, delete, truncate';
const PUBLISH_OPS = ['insert', 'update', 'delete', 'truncate'] as const;

export interface PublicationState {
  name: string;
  owner: string;
  /** The connected user owns the publication (or is a superuser), so it may alter it. */
  ownedByUser: boolean;
  /** Created FOR ALL TABLES: every table is published, the table list is not ours to manage. */
  allTables: boolean;
  /** Schemas published FOR TABLES IN SCHEMA (PostgreSQL 15 and later): left alone like FOR ALL TABLES. */
  schemas: string[];
  /** Tables published one by one, as pg_publication_rel lists them (a partitioned table, not its partitions). */
  tables: QualifiedTable[];
  /** The kinds of change it publishes, from insert, update, delete, truncate. */
  publishes: string[];
}

export interface PublicationChange {
  created: boolean;
  /** FOR ALL TABLES: its table list was left alone. */
  allTables: boolean;
  /** FOR TABLES IN SCHEMA: its table list was left alone. */
  schemas: string[];
  /** Tables that were not published before: the caller snapshots them. */
  added: QualifiedTable[];
  /** Tables that are published no longer. */
  removed: QualifiedTable[];
  /** The publish option lacked some kinds of change and was set to PUBLISH. */
  publishChanged: boolean;
}

/** Replica identity as pg_class.relreplident spells it: default, nothing, full, index. */
export type ReplicaIdentity = 'd' | 'n' | 'f' | 'i';

export interface TableIdentity extends QualifiedTable {
  primaryKey: readonly string[];
  replicaIdentity: ReplicaIdentity;
  /** For identity 'i': whether the index still exists (a dropped identity index leaves 'i' behaving as NOTHING). */
  identityIndex?: boolean;
}

/**
 * Why the table must not be published, or null. PostgreSQL refuses UPDATE and DELETE on a published table
 * that has no replica identity ("cannot update table ... because it does not have a replica identity and
 * publishes updates"): publishing it would break the application's writes, not only the capture.
 */
export function replicaIdentityProblem(table: TableIdentity): string | null {
  const name = quoteTable(table);
  const fix = `run ALTER TABLE ${name} REPLICA IDENTITY FULL (or add a primary key)`;
  const refused = 'PostgreSQL refuses UPDATE and DELETE on such a table once it is published';
  const hasKey = table.primaryKey.length > 0;
  if (table.replicaIdentity === 'd' && !hasKey) {
    return `table ${name} has no primary key and replica identity DEFAULT, so it has no replica identity (${refused}); ${fix}`;
  }
  if (table.replicaIdentity === 'n') {
    return hasKey
      ? `table ${name} has replica identity NOTHING (${refused}); run ALTER TABLE ${name} REPLICA IDENTITY DEFAULT to use its primary key`
      : `table ${name} has replica identity NOTHING (${refused}); ${fix}`;
  }
  if (table.replicaIdentity === 'i' && table.identityIndex === false) {
    return `table ${name} has replica identity USING INDEX but the index is gone, which leaves it none (${refused}); ${fix}`;
  }
  return null;
}

/** The publication named `name`, or null. */
export async function readPublication(client: pg.ClientBase, name: string): Promise<PublicationState | null> {
  try {
    // Booleans and oids as text, whatever the client's type parsers; pubtruncate through to_jsonb because
    // PostgreSQL 10 lacks it.
    const { rows } = await client.query<Record<string, string | null>>(
      `SELECT p.oid::text AS oid, pg_get_userbyid(p.pubowner) AS owner, pg_has_role(p.pubowner, 'USAGE')::text AS owned,
              p.puballtables::text AS all_tables, p.pubinsert::text AS insert, p.pubupdate::text AS update,
              p.pubdelete::text AS delete, coalesce(to_jsonb(p) ->> 'pubtruncate', 'false') AS truncate,
              (to_regclass('pg_catalog.pg_publication_namespace') IS NOT NULL)::text AS has_schemas
         FROM pg_publication p WHERE p.pubname = $1`,
      [name],
    );
    const row = rows[0];
    if (!row) return null;
    const tables = await client.query<{ schema: string; table: string }>(
      `SELECT n.nspname AS schema, c.relname AS table
         FROM pg_publication_rel r JOIN pg_class c ON c.oid = r.prrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE r.prpubid = $1::oid ORDER BY 1, 2`,
      [row.oid],
    );
    let schemas: string[] = [];
    if (row.has_schemas === 'true') {
      const result = await client.query<{ schema: string }>(
        `SELECT n.nspname AS schema FROM pg_publication_namespace pn JOIN pg_namespace n ON n.oid = pn.pnnspid
          WHERE pn.pnpubid = $1::oid ORDER BY 1`,
        [row.oid],
      );
      schemas = result.rows.map((schemaRow) => schemaRow.schema);
    }
    return {
      name,
      owner: row.owner ?? '',
      ownedByUser: row.owned === 'true',
      allTables: row.all_tables === 'true',
      schemas,
      tables: tables.rows.map((table) => ({ schema: table.schema, table: table.table })),
      publishes: PUBLISH_OPS.filter((op) => row[op] === 'true'),
    };
  } catch (error) {
    throw classifyPostgresError(`reading publication "${name}"`, error);
  }
}

/** Tables to add to and remove from `current` so that it holds exactly `wanted` (duplicates in `wanted` count once). */
export function publicationDiff(
  current: readonly QualifiedTable[],
  wanted: readonly QualifiedTable[],
): { added: QualifiedTable[]; removed: QualifiedTable[] } {
  const key = (table: QualifiedTable) => `${table.schema}\u0000${table.table}`;
  const have = new Set(current.map(key));
  const want = new Set(wanted.map(key));
  const added: QualifiedTable[] = [];
  const seen = new Set<string>();
  for (const table of wanted) {
    const k = key(table);
    if (!have.has(k) && !seen.has(k)) added.push({ schema: table.schema, table: table.table });
    seen.add(k);
  }
  const removed = current.filter((table) => !want.has(key(table))).map((table) => ({ schema: table.schema, table: table.table }));
  return { added, removed };
}

/** Whether `publishes` lacks some kind of change. */
export function publishIncomplete(publishes: readonly string[]): boolean {
  return PUBLISH_OPS.some((op) => !publishes.includes(op));
}

// ONLY: without it, naming a table also publishes its inheritance children, which the include patterns may
// exclude. A partitioned table is published whole either way.
function tableList(tables: readonly QualifiedTable[]): string {
  return tables.map((table) => `ONLY ${quoteTable(table)}`).join(', ');
}

/**
 * `viaPartitionRoot` (PostgreSQL 13 and later): a partitioned table's changes are published as the table's own,
 * not as its partitions', which the schema reader leaves out; its rows then keep one topic and one schema.
 */
export function createPublicationSql(name: string, tables: readonly QualifiedTable[], viaPartitionRoot = false): string {
  const forTables = tables.length === 0 ? '' : ` FOR TABLE ${tableList(tables)}`;
  const root = viaPartitionRoot ? ', publish_via_partition_root = true' : '';
  return `CREATE PUBLICATION ${quoteIdent(name)}${forTables} WITH (publish = '${PUBLISH}'${root})`;
}

/**
 * The statements that bring a publication to its wanted table list and publish option. ADD and DROP rather
 * than SET TABLE: they touch only the tables that change, and SET TABLE cannot make the list empty.
 */
export function alterPublicationSql(
  name: string,
  change: { added: readonly QualifiedTable[]; removed: readonly QualifiedTable[]; setPublish?: boolean },
): string[] {
  const publication = quoteIdent(name);
  const statements: string[] = [];
  if (change.added.length > 0) statements.push(`ALTER PUBLICATION ${publication} ADD TABLE ${tableList(change.added)}`);
  if (change.removed.length > 0) statements.push(`ALTER PUBLICATION ${publication} DROP TABLE ${tableList(change.removed)}`);
  if (change.setPublish) statements.push(`ALTER PUBLICATION ${publication} SET (publish = '${PUBLISH}')`);
  return statements;
}

/**
 * Creates the publication with exactly `tables`, or brings an existing one to exactly `tables`, and says what
 * changed. A publication FOR ALL TABLES or FOR TABLES IN SCHEMA keeps its table list. Refuses (PREFLIGHT_FAILED)
 * to publish a table without a replica identity, whose UPDATEs and DELETEs PostgreSQL would then refuse.
 */
export async function ensurePublication(client: pg.ClientBase, name: string, tables: readonly QualifiedTable[]): Promise<PublicationChange> {
  const action = `setting up publication "${name}"`;
  try {
    await client.query('BEGIN');
    try {
      const change = await ensureInTransaction(client, name, tables);
      await client.query('COMMIT');
      return change;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    }
  } catch (error) {
    throw error instanceof TributaryError ? withAction(action, error) : classifyPostgresError(action, error);
  }
}

async function ensureInTransaction(client: pg.ClientBase, name: string, tables: readonly QualifiedTable[]): Promise<PublicationChange> {
  const current = await readPublication(client, name);
  if (current === null) {
    const { added } = publicationDiff([], tables);
    await refuseTablesWithoutIdentity(client, added);
    await client.query(createPublicationSql(name, added, (await serverVersionNum(client)) >= 130_000));
    return { created: true, allTables: false, schemas: [], added, removed: [], publishChanged: false };
  }
  const setPublish = publishIncomplete(current.publishes);
  const leftAlone = current.allTables || current.schemas.length > 0;
  const { added, removed } = leftAlone ? { added: [], removed: [] } : publicationDiff(current.tables, tables);
  await refuseTablesWithoutIdentity(client, added);
  for (const statement of alterPublicationSql(name, { added, removed, setPublish })) await client.query(statement);
  return { created: false, allTables: current.allTables, schemas: current.schemas, added, removed, publishChanged: setPublish };
}

/** Drops the publication; false when there was none. */
export async function dropPublication(client: pg.ClientBase, name: string): Promise<boolean> {
  try {
    const { rows } = await client.query('SELECT 1 FROM pg_publication WHERE pubname = $1', [name]);
    if (rows.length === 0) return false;
    await client.query(`DROP PUBLICATION IF EXISTS ${quoteIdent(name)}`);
    return true;
  } catch (error) {
    throw classifyPostgresError(`dropping publication "${name}"`, error);
  }
}

/** Replica identity facts of existing tables, read from the catalog. Tables that do not exist are left out. */
export async function readTableIdentities(client: pg.ClientBase, tables: readonly QualifiedTable[]): Promise<TableIdentity[]> {
  if (tables.length === 0) return [];
  const { rows } = await client.query<{ schema: string; table: string; identity: string; primary_key: string | null; identity_index: string }>(
    `SELECT w.schema, w.table, c.relreplident::text AS identity,
            (SELECT json_agg(a.attname ORDER BY k.ord)::text
               FROM pg_index i, unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord), pg_attribute a
              WHERE i.indrelid = c.oid AND i.indisprimary AND a.attrelid = c.oid AND a.attnum = k.attnum) AS primary_key,
            EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident)::text AS identity_index
       FROM unnest($1::text[], $2::text[]) AS w(schema, "table")
       JOIN pg_namespace n ON n.nspname = w.schema
       JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.table`,
    [tables.map((table) => table.schema), tables.map((table) => table.table)],
  );
  return rows.map((row) => ({
    schema: row.schema,
    table: row.table,
    primaryKey: row.primary_key === null ? [] : (JSON.parse(row.primary_key) as string[]),
    replicaIdentity: row.identity as ReplicaIdentity,
    identityIndex: row.identity_index === 'true',
  }));
}

// Preflight has already refused such tables; this re-reads the catalog right before publishing, because a
// primary key dropped in between would otherwise break the application's writes.
async function refuseTablesWithoutIdentity(client: pg.ClientBase, tables: readonly QualifiedTable[]): Promise<void> {
  const problems = (await readTableIdentities(client, tables)).map(replicaIdentityProblem).filter((problem) => problem !== null);
  if (problems.length > 0) throw new TributaryError('PREFLIGHT_FAILED', problems.join('\n'));
}
