import { describe, expect, it } from 'vitest';
import type { ColumnType } from '#core/column-type.ts';
import { PG_OID, numericType, postgresColumnType, referencedTypes, type PgTypeFacts } from './column-types.ts';

// Facts as catalog.ts would load them from pg_type / pg_enum; OIDs above 16384 are user types.
const fact = (oid: number, name: string, rest: Partial<PgTypeFacts> = {}): PgTypeFacts => ({
  oid,
  schema: 'pg_catalog',
  name,
  typtype: 'b',
  category: 'U',
  element: 0,
  delimiter: ',',
  baseType: 0,
  baseTypmod: -1,
  ...rest,
});

const CATALOG = new Map<number, PgTypeFacts>(
  [
    fact(1007, '_int4', { category: 'A', element: PG_OID.int4 }),
    fact(1015, '_varchar', { category: 'A', element: PG_OID.varchar }),
    fact(1231, '_numeric', { category: 'A', element: PG_OID.numeric }),
    fact(1020, '_box', { category: 'A', element: 603, delimiter: ';' }),
    fact(603, 'box', { category: 'G' }),
    fact(PG_OID.int2vector, 'int2vector', { category: 'A', element: PG_OID.int2 }),
    fact(3904, 'int4range', { typtype: 'r', category: 'R' }),
    fact(16400, 'mood', { schema: 'public', typtype: 'e', category: 'E', enumValues: ['sad', 'ok', 'happy'] }),
    fact(16401, '_mood', { schema: 'public', category: 'A', element: 16400 }),
    fact(16402, 'price', { schema: 'public', typtype: 'd', category: 'N', baseType: PG_OID.numeric, baseTypmod: ((12 << 16) | 2) + 4 }),
    fact(16403, 'positive_price', { schema: 'public', typtype: 'd', category: 'N', baseType: 16402 }),
    fact(16404, 'tags', { schema: 'public', typtype: 'd', category: 'A', baseType: 1015, baseTypmod: 24 }),
    fact(16405, 'citext', { schema: 'public', category: 'S' }),
    fact(16406, 'geometry', { schema: 'public', category: 'U' }),
    fact(16407, '_geometry', { schema: 'public', category: 'A', element: 16406 }),
    fact(16408, 'address', { schema: 'public', typtype: 'c', category: 'C' }),
  ].map((f) => [f.oid, f]),
);

const map = (oid: number, typmod = -1) => postgresColumnType(oid, typmod, (o) => CATALOG.get(o));
const typeOf = (oid: number, typmod = -1): ColumnType => {
  const mapped = map(oid, typmod);
  expect(mapped.warning).toBeUndefined();
  return mapped.type;
};

describe('postgresColumnType', () => {
  it.each([
    ['bool', PG_OID.bool, -1, { kind: 'boolean' }],
    ['int2', PG_OID.int2, -1, { kind: 'int16' }],
    ['int4', PG_OID.int4, -1, { kind: 'int32' }],
    ['int8', PG_OID.int8, -1, { kind: 'int64' }],
    ['oid', PG_OID.oid, -1, { kind: 'int64' }],
    ['float4', PG_OID.float4, -1, { kind: 'float32' }],
    ['float8', PG_OID.float8, -1, { kind: 'float64' }],
    ['numeric(10,2)', PG_OID.numeric, ((10 << 16) | 2) + 4, { kind: 'decimal', precision: 10, scale: 2 }],
    ['numeric', PG_OID.numeric, -1, { kind: 'numeric' }],
    ['money', PG_OID.money, -1, { kind: 'decimal', precision: 19, scale: 2 }],
    ['text', PG_OID.text, -1, { kind: 'string' }],
    ['varchar(20)', PG_OID.varchar, 24, { kind: 'string', length: 20 }],
    ['varchar', PG_OID.varchar, -1, { kind: 'string' }],
    ['char(3)', PG_OID.bpchar, 7, { kind: 'string', length: 3 }],
    ['bpchar', PG_OID.bpchar, -1, { kind: 'string' }],
    ['"char"', PG_OID.char, -1, { kind: 'string' }],
    ['name', PG_OID.name, -1, { kind: 'string' }],
    ['bytea', PG_OID.bytea, -1, { kind: 'bytes' }],
    ['uuid', PG_OID.uuid, -1, { kind: 'uuid' }],
    ['json', PG_OID.json, -1, { kind: 'json' }],
    ['jsonb', PG_OID.jsonb, -1, { kind: 'json' }],
    ['date', PG_OID.date, -1, { kind: 'date' }],
    ['time(3)', PG_OID.time, 3, { kind: 'time' }],
    ['timetz', PG_OID.timetz, -1, { kind: 'timetz' }],
    ['timestamp', PG_OID.timestamp, -1, { kind: 'timestamp' }],
    ['timestamptz(6)', PG_OID.timestamptz, 6, { kind: 'timestamptz' }],
    ['interval', PG_OID.interval, -1, { kind: 'interval' }],
    ['inet', PG_OID.inet, -1, { kind: 'string' }],
    ['cidr', PG_OID.cidr, -1, { kind: 'string' }],
    ['macaddr', PG_OID.macaddr, -1, { kind: 'string' }],
    ['macaddr8', PG_OID.macaddr8, -1, { kind: 'string' }],
    ['xml', PG_OID.xml, -1, { kind: 'string' }],
    ['bit', PG_OID.bit, 1, { kind: 'boolean' }],
    ['bit(12)', PG_OID.bit, 12, { kind: 'bits', length: 12 }],
    ['varbit(12)', PG_OID.varbit, 12, { kind: 'string' }],
    ['int4[]', 1007, -1, { kind: 'array', items: { kind: 'int32' } }],
    ['varchar(10)[]', 1015, 14, { kind: 'array', items: { kind: 'string', length: 10 } }],
    ['numeric(5,1)[]', 1231, ((5 << 16) | 1) + 4, { kind: 'array', items: { kind: 'decimal', precision: 5, scale: 1 } }],
    ['mood', 16400, -1, { kind: 'enum', values: ['sad', 'ok', 'happy'] }],
    ['mood[]', 16401, -1, { kind: 'array', items: { kind: 'enum', values: ['sad', 'ok', 'happy'] } }],
    ['a domain over numeric(12,2)', 16402, -1, { kind: 'decimal', precision: 12, scale: 2 }],
    ['a domain over that domain', 16403, -1, { kind: 'decimal', precision: 12, scale: 2 }],
    ['a domain over varchar(20)[]', 16404, -1, { kind: 'array', items: { kind: 'string', length: 20 } }],
    ['citext (a string-category extension type)', 16405, -1, { kind: 'string' }],
  ] as const)('maps %s', (_name, oid, typmod, expected) => {
    expect(typeOf(oid, typmod)).toEqual(expected);
  });

  it.each([
    ['a range', 3904, /type "pg_catalog.int4range" has no exact logical type/],
    ['an unknown extension type', 16406, /type "public.geometry" has no exact logical type/],
    ['a composite', 16408, /type "public.address"/],
    ['int2vector, whose text is not an array literal', PG_OID.int2vector, /int2vector/],
    ['an array whose literal uses ";"', 1020, /separates elements with ";"/],
    ['an OID missing from pg_type', 99999, /type OID 99999 .*not in pg_type/],
  ])('maps %s to its text with a warning', (_name, oid, warning) => {
    const mapped = map(oid);
    expect(mapped.type).toEqual({ kind: 'string' });
    expect(mapped.warning).toMatch(warning);
    expect(mapped.warning).toMatch(/captured as their text/);
  });

  it('keeps an array of an unknown type an array of strings, with the warning naming both', () => {
    const mapped = map(16407);
    expect(mapped.type).toEqual({ kind: 'array', items: { kind: 'string' } });
    expect(mapped.warning).toMatch(/public\._geometry.*public\.geometry/);
  });

  it('names the element and base types a type needs loaded', () => {
    expect(referencedTypes(CATALOG.get(16401) as PgTypeFacts)).toEqual([16400]);
    expect(referencedTypes(CATALOG.get(16403) as PgTypeFacts)).toEqual([16402]);
    expect(referencedTypes(CATALOG.get(PG_OID.int2vector) as PgTypeFacts)).toEqual([]);
    expect(referencedTypes(CATALOG.get(16400) as PgTypeFacts)).toEqual([]);
  });
});

describe('numericType', () => {
  const typmod = (precision: number, scale: number) => ((precision << 16) | (scale & 0x7ff)) + 4;

  it('reads precision and scale, including PostgreSQL 15 negative scales and scales above the precision', () => {
    expect(numericType(typmod(1000, 0))).toEqual({ kind: 'decimal', precision: 1000, scale: 0 });
    expect(numericType(typmod(38, 10))).toEqual({ kind: 'decimal', precision: 38, scale: 10 });
    // numeric(3,-2) holds up to 99900; numeric(3,5) up to 0.00999.
    expect(numericType(typmod(3, -2))).toEqual({ kind: 'decimal', precision: 5, scale: 0 });
    expect(numericType(typmod(3, 5))).toEqual({ kind: 'decimal', precision: 5, scale: 5 });
    expect(numericType(-1)).toEqual({ kind: 'numeric' });
  });
});
