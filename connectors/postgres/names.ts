import { createHash } from 'node:crypto';
import { quoteIdent } from './connection.ts';

// Postgres names (slots, publications, identifiers) hold at most NAMEDATALEN - 1 = 63 bytes.
const MAX_NAME_LENGTH = 63;
const PREFIX = 'tributary_';
const HASH_LENGTH = 8;

/** A table as Postgres names it: schema and table, exactly as the catalog spells them. */
export interface QualifiedTable {
  schema: string;
  table: string;
}

/**
 * The slot of a source whose config names none: `tributary_<source>`, lower-case, with every character a slot
 * name cannot hold turned into '_'. A name longer than 63 characters is cut and ends with a hash of the whole
 * source name, so two long names that share a beginning still get slots of their own, and the same source
 * gets the same slot on every start.
 */
export function defaultSlotName(sourceName: string): string {
  const body = sourceName.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const name = PREFIX + body;
  if (name.length <= MAX_NAME_LENGTH) return name;
  const hash = createHash('sha256').update(sourceName).digest('hex').slice(0, HASH_LENGTH);
  return `${name.slice(0, MAX_NAME_LENGTH - HASH_LENGTH - 1)}_${hash}`;
}

/**
 * The publication of a source whose config names none: the same name as its slot, which is also a plain
 * identifier (starts with a letter, lower-case), so psql users need no quotes to inspect it.
 */
export function defaultPublicationName(sourceName: string): string {
  return defaultSlotName(sourceName);
}

/** The slot a source uses: the configured one, or the default for its name. */
export function slotNameOf(source: { name: string; slotName?: string | undefined }): string {
  return source.slotName ?? defaultSlotName(source.name);
}

/** The publication a source subscribes to: the configured one, or the default for its name. */
export function publicationNameOf(source: { name: string; publicationName?: string | undefined }): string {
  return source.publicationName ?? defaultPublicationName(source.name);
}

/** `"schema"."table"`, each part quoted, for statements and for the fixes that messages suggest. */
export function quoteTable(table: QualifiedTable): string {
  return `${quoteIdent(table.schema)}.${quoteIdent(table.table)}`;
}
