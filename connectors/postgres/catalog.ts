import type pg from 'pg';
import { classifyPostgresError } from './connection.ts';
import { postgresColumnType, referencedTypes, type PgColumnType, type PgTypeFacts } from './column-types.ts';

// Type OID + typmod → ColumnType, for both ways the source learns columns: the catalog (snapshot, schema-reader.ts)
// and pgoutput Relation messages, which carry nothing but the OID and typmod of each column. The facts come from
// pg_type and pg_enum, loaded once per OID; column-types.ts decides.

/** A column type resolved against the server's catalog. */
export interface ResolvedPgType extends PgColumnType {
  /** format_type's text (`character varying(20)`, `numeric(10,2)`, `public.mood[]`), for messages and docs. */
  sourceType: string;
}

export interface PgTypeRef {
  oid: number;
  typmod: number;
}

/**
 * Resolves and caches column types. It needs a plain SQL connection: a walsender (replication) connection takes
 * only the simple query protocol, and these queries bind parameters.
 *
 * The cache never expires by itself: `ALTER TYPE … ADD VALUE` changes an enum without a new Relation message, so the
 * source calls {@link forget} when it learns of a DDL change and wants fresh enum members.
 */
export class PgTypeCatalog {
  private readonly facts = new Map<number, PgTypeFacts>();
  private readonly resolved = new Map<string, ResolvedPgType>();

  constructor(private readonly client: pg.ClientBase) {}

  async resolve(oid: number, typmod: number): Promise<ResolvedPgType> {
    return (await this.resolveMany([{ oid, typmod }]))[0] as ResolvedPgType;
  }

  /** Several columns in two round trips at most, whatever their number (schema-reader.ts resolves whole databases). */
  async resolveMany(refs: readonly PgTypeRef[]): Promise<ResolvedPgType[]> {
    const missing = uniqueRefs(refs.filter((ref) => !this.resolved.has(key(ref))));
    if (missing.length > 0) {
      try {
        await this.load(missing.map((ref) => ref.oid));
        const names = await this.formatTypes(missing);
        missing.forEach((ref, i) => {
          const mapped = postgresColumnType(ref.oid, ref.typmod, (oid) => this.facts.get(oid));
          this.resolved.set(key(ref), { ...mapped, sourceType: names[i] as string });
        });
      } catch (error) {
        throw classifyPostgresError('reading column types from pg_type', error);
      }
    }
    return refs.map((ref) => this.resolved.get(key(ref)) as ResolvedPgType);
  }

  /** Drops everything cached, so that the next resolve reads enums and domains afresh. */
  forget(): void {
    this.facts.clear();
    this.resolved.clear();
  }

  /** Loads the facts of `oids` and of every element and base type they lead to, one query per level. */
  private async load(oids: readonly number[]): Promise<void> {
    let wanted = [...new Set(oids)].filter((oid) => !this.facts.has(oid));
    while (wanted.length > 0) {
      const { rows } = await this.client.query<Record<string, string>>(
        `SELECT t.oid, n.nspname, t.typname, t.typtype, t.typcategory, t.typelem, t.typdelim, t.typbasetype, t.typtypmod
           FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
          WHERE t.oid = ANY($1::oid[])`,
        [wanted],
      );
      const loaded = rows.map(factsOf);
      await this.loadEnumValues(loaded.filter((facts) => facts.typtype === 'e'));
      for (const facts of loaded) this.facts.set(facts.oid, facts);
      // An OID pg_type does not know stays unknown; postgresColumnType maps it to text with a warning.
      wanted = [...new Set(loaded.flatMap(referencedTypes))].filter((oid) => !this.facts.has(oid));
    }
  }

  private async loadEnumValues(enums: PgTypeFacts[]): Promise<void> {
    if (enums.length === 0) return;
    // One row per label: pg returns every value as text (connection.ts), so an array_agg would come back as an
    // array literal to parse.
    const { rows } = await this.client.query<Record<string, string>>(
      `SELECT enumtypid, enumlabel FROM pg_catalog.pg_enum WHERE enumtypid = ANY($1::oid[]) ORDER BY enumtypid, enumsortorder`,
      [enums.map((facts) => facts.oid)],
    );
    for (const facts of enums) facts.enumValues = [];
    const byOid = new Map(enums.map((facts) => [facts.oid, facts]));
    for (const row of rows) byOid.get(Number(row.enumtypid))?.enumValues?.push(String(row.enumlabel));
  }

  private async formatTypes(refs: readonly PgTypeRef[]): Promise<string[]> {
    const { rows } = await this.client.query<Record<string, string>>(
      `SELECT format_type(r.oid, r.typmod) AS name
         FROM unnest($1::oid[], $2::int4[]) WITH ORDINALITY AS r(oid, typmod, ord) ORDER BY r.ord`,
      [refs.map((ref) => ref.oid), refs.map((ref) => ref.typmod)],
    );
    return rows.map((row) => String(row.name));
  }
}

function factsOf(row: Record<string, string>): PgTypeFacts {
  return {
    oid: Number(row.oid),
    schema: String(row.nspname),
    name: String(row.typname),
    typtype: String(row.typtype),
    category: String(row.typcategory),
    element: Number(row.typelem),
    delimiter: String(row.typdelim),
    baseType: Number(row.typbasetype),
    baseTypmod: Number(row.typtypmod),
  };
}

function key(ref: PgTypeRef): string {
  return `${ref.oid}:${ref.typmod}`;
}

function uniqueRefs(refs: PgTypeRef[]): PgTypeRef[] {
  const seen = new Map<string, PgTypeRef>();
  for (const ref of refs) seen.set(key(ref), ref);
  return [...seen.values()];
}
