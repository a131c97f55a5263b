import type pg from 'pg';
import type { PostgresSourceConfig } from '#config/schema.ts';
import { TributaryError } from '#core/errors.ts';
import { log } from '#core/log.ts';
import { classifyPostgresError, quoteIdent } from './connection.ts';
import { quoteTable, type QualifiedTable } from './names.ts';
import {
  alterPublicationSql,
  createPublicationSql,
  PUBLISH,
  publicationDiff,
  publishIncomplete,
  readPublication,
  replicaIdentityProblem,
  type PublicationState,
  type TableIdentity,
} from './publication.ts';
import { slotInfo, slotProblem, type SlotInfo } from './slot.ts';

// Before capture starts, the server is checked for everything the slot, the publication, the snapshot and the
// stream rely on, and every problem is reported at once with the statement that fixes it: a DBA should need
// one round trip, not five. Nothing is created or changed here.

export type SnapshotMode = PostgresSourceConfig['snapshot'];

/** An included table as the schema reader found it. */
export type PreflightTable = Omit<TableIdentity, 'identityIndex'>;

export interface PostgresPreflightOptions {
  /** The tables the include and exclude patterns select. */
  tables: readonly PreflightTable[];
  slotName: string;
  publicationName: string;
  snapshot: SnapshotMode;
}

/** pgoutput came with PostgreSQL 10. */
export const MIN_SERVER_VERSION = 100_000;

/** What the checks look at, read in a few catalog queries. */
export interface PostgresFacts {
  /** server_version_num: 150004 for 15.4. */
  versionNum: number;
  version: string;
  database: string;
  user: string;
  walLevel: string;
  maxReplicationSlots: number;
  replicationSlotsUsed: number;
  maxWalSenders: number;
  walSendersUsed: number;
  superuser: boolean;
  /** The REPLICATION attribute, or membership of rds_replication on Amazon RDS and Aurora. */
  replication: boolean;
  /** CREATE on the current database, which CREATE PUBLICATION needs. */
  createInDatabase: boolean;
  slot: SlotInfo | null;
  publication: PublicationState | null;
  /** One per included table, in the same order. */
  tables: TableFacts[];
}

export interface TableFacts extends QualifiedTable {
  exists: boolean;
  select: boolean;
  /** USAGE on the table's schema, without which SELECT on the table is refused anyway. */
  schemaUsage: boolean;
  /** The user owns it (or is a superuser), which adding it to a publication needs. */
  owned: boolean;
  /** An index marked as the replica identity exists (matters for identity 'i'). */
  identityIndex: boolean;
}

/** Checks the server, the user's privileges, the slot, the publication and the tables; throws one PREFLIGHT_FAILED listing every failed check. */
export async function preflight(client: pg.ClientBase, options: PostgresPreflightOptions): Promise<void> {
  let facts: PostgresFacts;
  try {
    facts = await readPostgresFacts(client, options);
  } catch (error) {
    throw classifyPostgresError('checking that the server is set up for capture', error);
  }
  for (const warning of preflightWarnings(facts)) log.warn({ check: 'preflight' }, warning);
  const failures = checkSetup(facts, options);
  if (failures.length > 0) throw new TributaryError('PREFLIGHT_FAILED', failures.join('\n'));
}

type ServerRow = Record<
  | 'version_num'
  | 'version'
  | 'database'
  | 'user'
  | 'wal_level'
  | 'max_replication_slots'
  | 'slots_used'
  | 'max_wal_senders'
  | 'wal_senders_used'
  | 'superuser'
  | 'replication'
  | 'create_in_database',
  string
>;

type TableRow = Record<'schema' | 'table' | 'exists' | 'select' | 'schema_usage' | 'owned' | 'identity_index', string>;

export async function readPostgresFacts(client: pg.ClientBase, options: Pick<PostgresPreflightOptions, 'tables' | 'slotName' | 'publicationName'>): Promise<PostgresFacts> {
  // Everything as text, whatever the client's type parsers. pg_stat_replication lists every walsender (pids
  // only, to users without pg_read_all_stats), which is all that counting them needs.
  const { rows } = await client.query<ServerRow>(
    `SELECT current_setting('server_version_num') AS version_num, current_setting('server_version') AS version,
            current_database() AS database, current_user AS user, current_setting('wal_level') AS wal_level,
            current_setting('max_replication_slots') AS max_replication_slots,
            (SELECT count(*) FROM pg_replication_slots)::text AS slots_used,
            current_setting('max_wal_senders') AS max_wal_senders,
            (SELECT count(*) FROM pg_stat_replication)::text AS wal_senders_used,
            r.rolsuper::text AS superuser,
            (r.rolreplication OR EXISTS (SELECT 1 FROM pg_roles g WHERE g.rolname IN ('rds_replication', 'rds_superuser')
                                                                    AND pg_has_role(r.oid, g.oid, 'MEMBER')))::text AS replication,
            has_database_privilege(current_database(), 'CREATE')::text AS create_in_database
       FROM pg_roles r WHERE r.rolname = current_user`,
  );
  const server = rows[0];
  if (!server) throw new Error('the current user is missing from pg_roles');
  const tables = await client.query<TableRow>(
    `SELECT w.schema, w.table, (c.oid IS NOT NULL)::text AS exists,
            coalesce(has_table_privilege(c.oid, 'SELECT'), false)::text AS select,
            coalesce(has_schema_privilege(n.oid, 'USAGE'), false)::text AS schema_usage,
            coalesce(pg_has_role(c.relowner, 'USAGE'), false)::text AS owned,
            EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident)::text AS identity_index
       FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS w(schema, "table", ord)
       LEFT JOIN pg_namespace n ON n.nspname = w.schema
       LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.table
      ORDER BY w.ord`,
    [options.tables.map((table) => table.schema), options.tables.map((table) => table.table)],
  );
  return {
    versionNum: Number(server.version_num),
    version: server.version,
    database: server.database,
    user: server.user,
    walLevel: server.wal_level,
    maxReplicationSlots: Number(server.max_replication_slots),
    replicationSlotsUsed: Number(server.slots_used),
    maxWalSenders: Number(server.max_wal_senders),
    walSendersUsed: Number(server.wal_senders_used),
    superuser: server.superuser === 'true',
    replication: server.replication === 'true',
    createInDatabase: server.create_in_database === 'true',
    slot: await slotInfo(client, options.slotName),
    publication: await readPublication(client, options.publicationName),
    tables: tables.rows.map((row) => ({
      schema: row.schema,
      table: row.table,
      exists: row.exists === 'true',
      select: row.select === 'true',
      schemaUsage: row.schema_usage === 'true',
      owned: row.owned === 'true',
      identityIndex: row.identity_index === 'true',
    })),
  };
}

/**
 * The failed checks, one line each: what is wrong, and the statement that fixes it. A lost slot is not one of
 * them: whether that means a new snapshot or a stop is the snapshot mode's decision, made where the slot is
 * opened (slotProblem).
 */
export function checkSetup(facts: PostgresFacts, options: Omit<PostgresPreflightOptions, 'snapshot'> & { snapshot?: SnapshotMode }): string[] {
  const failures: string[] = [];
  const user = quoteIdent(facts.user);
  const restart = 'then restart the server';

  if (facts.versionNum < MIN_SERVER_VERSION) {
    failures.push(`PostgreSQL ${facts.version} has no pgoutput logical decoding; upgrade to PostgreSQL 10 or later`);
  }
  if (facts.walLevel !== 'logical') {
    failures.push(`wal_level is ${facts.walLevel || 'not set'}; run ALTER SYSTEM SET wal_level = logical, ${restart} (wal_level changes only on restart)`);
  }

  if (facts.slot !== null) {
    const problem = slotProblem(facts.slot, facts.database);
    if (problem?.code === 'PREFLIGHT_FAILED') failures.push(problem.message);
  } else if (facts.replicationSlotsUsed >= facts.maxReplicationSlots) {
    failures.push(
      `replication slot "${options.slotName}" does not exist and all ${facts.maxReplicationSlots} slots of max_replication_slots are in use; ` +
        `run ALTER SYSTEM SET max_replication_slots = ${facts.replicationSlotsUsed + 1}, ${restart} ` +
        `(or drop a slot nothing reads: SELECT slot_name, active FROM pg_replication_slots)`,
    );
  }
  if (facts.walSendersUsed >= facts.maxWalSenders) {
    failures.push(
      `all ${facts.maxWalSenders} WAL senders of max_wal_senders are in use (see pg_stat_replication); ` +
        `run ALTER SYSTEM SET max_wal_senders = ${facts.walSendersUsed + 1}, ${restart}`,
    );
  }
  if (!facts.superuser && !facts.replication) {
    failures.push(
      `user ${user} has neither SUPERUSER nor REPLICATION, which streaming from a slot needs; run ALTER ROLE ${user} REPLICATION ` +
        `(on Amazon RDS: GRANT rds_replication TO ${user})`,
    );
  }

  if (options.tables.length === 0) {
    failures.push(
      `no table to capture in database "${facts.database}": no table matches the source's include patterns (or exclude removes them all); ` +
        `check include and exclude, and that the user can see the tables`,
    );
    return failures;
  }

  const byName = new Map(facts.tables.map((table) => [`${table.schema}\u0000${table.table}`, table]));
  const factsOf = (table: QualifiedTable) => byName.get(`${table.schema}\u0000${table.table}`);
  const missing = options.tables.filter((table) => !factsOf(table)?.exists);
  if (missing.length > 0) {
    failures.push(`${tableNames(missing)} ${missing.length === 1 ? 'does' : 'do'} not exist in database "${facts.database}"; check include and exclude`);
  }
  const present = options.tables.filter((table) => factsOf(table)?.exists);

  // The snapshot reads rows; the stream needs no table privilege (the walsender decodes for the publication).
  const snapshot = options.snapshot ?? 'initial';
  if (snapshot === 'initial' || snapshot === 'when_needed') {
    const schemas = [...new Set(present.filter((table) => !factsOf(table)?.schemaUsage).map((table) => table.schema))].map(quoteIdent);
    if (schemas.length > 0) {
      const names = schemas.join(', ');
      failures.push(
        `user ${user} lacks USAGE on ${schemas.length === 1 ? 'schema' : 'schemas'} ${names}, which reading their tables needs; ` +
          `run GRANT USAGE ON SCHEMA ${names} TO ${user}`,
      );
    }
    const unreadable = present.filter((table) => !factsOf(table)?.select);
    if (unreadable.length > 0) {
      const names = unreadable.map(quoteTable).join(', ');
      failures.push(`user ${user} lacks SELECT on ${names}, which the snapshot reads; run GRANT SELECT ON ${names} TO ${user}`);
    }
  }

  for (const table of present) {
    const problem = replicaIdentityProblem({ ...table, identityIndex: factsOf(table)?.identityIndex ?? false });
    if (problem !== null) failures.push(problem);
  }

  failures.push(...checkPublication(facts, options.publicationName, present, factsOf));
  return failures;
}

function checkPublication(
  facts: PostgresFacts,
  name: string,
  tables: readonly PreflightTable[],
  factsOf: (table: QualifiedTable) => TableFacts | undefined,
): string[] {
  const user = quoteIdent(facts.user);
  const publication = facts.publication;
  const notOwned = (list: readonly QualifiedTable[]) => (facts.superuser ? [] : list.filter((table) => !factsOf(table)?.owned));

  if (publication === null) {
    const create = createPublicationSql(name, tables);
    const unowned = notOwned(tables);
    if (!facts.createInDatabase && !facts.superuser && unowned.length === 0) {
      return [
        `publication "${name}" does not exist and user ${user} may not create it (CREATE on database "${facts.database}" is missing); ` +
          `run GRANT CREATE ON DATABASE ${quoteIdent(facts.database)} TO ${user}, or create it yourself: ${create}`,
      ];
    }
    if (unowned.length > 0) {
      return [
        `publication "${name}" does not exist and user ${user} may not create it (publishing a table needs its owner or a superuser, ` +
          `and ${user} does not own ${tableNames(unowned)}); run as a superuser: ${create}`,
      ];
    }
    return [];
  }

  const setPublish = publishIncomplete(publication.publishes);
  const leftAlone = publication.allTables || publication.schemas.length > 0;
  const { added, removed } = leftAlone ? { added: [], removed: [] } : publicationDiff(publication.tables, tables);
  const statements = alterPublicationSql(name, { added, removed, setPublish });
  if (statements.length === 0) return [];
  const why = [
    added.length > 0 ? `${tableNames(added)} must be added` : '',
    removed.length > 0 ? `${tableNames(removed)} must be removed` : '',
    setPublish ? `it publishes only ${publication.publishes.join(', ') || 'nothing'}, not ${PUBLISH}` : '',
  ]
    .filter((part) => part !== '')
    .join('; ');
  if (!publication.ownedByUser) {
    return [
      `publication "${name}" needs changes (${why}) and is owned by ${quoteIdent(publication.owner)}, not ${user}; ` +
        `run as its owner: ${statements.join('; ')}`,
    ];
  }
  const unowned = notOwned(added);
  if (unowned.length > 0) {
    return [
      `publication "${name}" needs changes (${why}) and adding a table needs its owner or a superuser, but ${user} does not own ` +
        `${tableNames(unowned)}; run as a superuser: ${statements.join('; ')}`,
    ];
  }
  return [];
}

/** Worth knowing, but capture can start. */
export function preflightWarnings(facts: PostgresFacts): string[] {
  const warnings: string[] = [];
  if (facts.slot?.active) {
    warnings.push(
      `replication slot "${facts.slot.name}" is in use by process ${facts.slot.activePid ?? '?'}; ` +
        'streaming starts once that process lets go of it (another capture of this source may still be running)',
    );
  }
  return warnings;
}

function tableNames(tables: readonly QualifiedTable[]): string {
  return `${tables.length === 1 ? 'table' : 'tables'} ${tables.map(quoteTable).join(', ')}`;
}
