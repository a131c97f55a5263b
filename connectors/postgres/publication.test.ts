import { describe, expect, it } from 'vitest';
import { alterPublicationSql, createPublicationSql, publicationDiff, publishIncomplete, replicaIdentityProblem } from './publication.ts';

const ORDERS = { schema: 'public', table: 'orders' };
const ODD = { schema: 'My "Schema"', table: 'a.b c' };

describe('createPublicationSql', () => {
  it('publishes exactly the given tables, quoted, with ONLY and every kind of change', () => {
    expect(createPublicationSql('tributary_shop', [ORDERS, ODD])).toBe(
      `CREATE PUBLICATION "tributary_shop" FOR TABLE ONLY "public"."orders", ONLY "My ""Schema"""."a.b c" WITH (publish = 'insert, update, delete, truncate')`,
    );
  });

  it('publishes a partitioned table as itself where the server can (PostgreSQL 13 and later)', () => {
    expect(createPublicationSql('p', [ORDERS], true)).toBe(
      `CREATE PUBLICATION "p" FOR TABLE ONLY "public"."orders" WITH (publish = 'insert, update, delete, truncate', publish_via_partition_root = true)`,
    );
  });

  it('quotes the publication name and creates an empty one for no tables', () => {
    expect(createPublicationSql('My Pub"x', [])).toBe(`CREATE PUBLICATION "My Pub""x" WITH (publish = 'insert, update, delete, truncate')`);
  });
});

describe('alterPublicationSql', () => {
  it('adds and drops only the tables that change, and sets publish when asked', () => {
    expect(alterPublicationSql('Pub', { added: [ORDERS], removed: [ODD], setPublish: true })).toEqual([
      'ALTER PUBLICATION "Pub" ADD TABLE ONLY "public"."orders"',
      'ALTER PUBLICATION "Pub" DROP TABLE ONLY "My ""Schema"""."a.b c"',
      `ALTER PUBLICATION "Pub" SET (publish = 'insert, update, delete, truncate')`,
    ]);
    expect(alterPublicationSql('Pub', { added: [], removed: [] })).toEqual([]);
  });
});

describe('publicationDiff', () => {
  it('gives the tables to add in the wanted order and the tables to remove', () => {
    const a = { schema: 's', table: 'a' };
    const b = { schema: 's', table: 'b' };
    const c = { schema: 's', table: 'c' };
    expect(publicationDiff([a, b], [c, b, c])).toEqual({ added: [c], removed: [a] });
    expect(publicationDiff([a], [a])).toEqual({ added: [], removed: [] });
    expect(publicationDiff([], [b, a])).toEqual({ added: [b, a], removed: [] });
  });

  it('tells names apart that only a dot position separates', () => {
    expect(publicationDiff([{ schema: 'a.b', table: 'c' }], [{ schema: 'a', table: 'b.c' }])).toEqual({
      added: [{ schema: 'a', table: 'b.c' }],
      removed: [{ schema: 'a.b', table: 'c' }],
    });
  });
});

describe('publishIncomplete', () => {
  it('is true unless all four kinds of change are published', () => {
    expect(publishIncomplete(['insert', 'update', 'delete', 'truncate'])).toBe(false);
    expect(publishIncomplete(['insert', 'update', 'delete'])).toBe(true);
    expect(publishIncomplete([])).toBe(true);
  });
});

describe('replicaIdentityProblem', () => {
  it('accepts a primary key, FULL and a live identity index', () => {
    expect(replicaIdentityProblem({ ...ORDERS, primaryKey: ['id'], replicaIdentity: 'd' })).toBeNull();
    expect(replicaIdentityProblem({ ...ORDERS, primaryKey: [], replicaIdentity: 'f' })).toBeNull();
    expect(replicaIdentityProblem({ ...ORDERS, primaryKey: [], replicaIdentity: 'i', identityIndex: true })).toBeNull();
    expect(replicaIdentityProblem({ ...ORDERS, primaryKey: [], replicaIdentity: 'i' })).toBeNull();
  });

  it('refuses DEFAULT without a key, NOTHING, and an identity index that is gone', () => {
    expect(replicaIdentityProblem({ ...ODD, primaryKey: [], replicaIdentity: 'd' })).toBe(
      'table "My ""Schema"""."a.b c" has no primary key and replica identity DEFAULT, so it has no replica identity ' +
        '(PostgreSQL refuses UPDATE and DELETE on such a table once it is published); ' +
        'run ALTER TABLE "My ""Schema"""."a.b c" REPLICA IDENTITY FULL (or add a primary key)',
    );
    expect(replicaIdentityProblem({ ...ORDERS, primaryKey: ['id'], replicaIdentity: 'n' })).toContain('REPLICA IDENTITY DEFAULT to use its primary key');
    expect(replicaIdentityProblem({ ...ORDERS, primaryKey: [], replicaIdentity: 'n' })).toContain('REPLICA IDENTITY FULL');
    expect(replicaIdentityProblem({ ...ORDERS, primaryKey: [], replicaIdentity: 'i', identityIndex: false })).toContain('the index is gone');
  });
});
