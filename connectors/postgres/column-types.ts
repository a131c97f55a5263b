import type { ColumnType } from '#core/column-type.ts';

// PostgreSQL types → ColumnType, from the facts pg_type holds about a type OID plus the column's typmod: the two
// things both the catalog (snapshot) and a pgoutput Relation message give. catalog.ts loads the facts; this file
// only decides, so every rule is a unit test. TYPES.md has the table.

/** What pg_type (and pg_enum) say about one type, as catalog.ts loads it. */
export interface PgTypeFacts {
  oid: number;
  /** Schema of the type, for messages. */
  schema: string;
  name: string;
  /** pg_type.typtype: b base, c composite, d domain, e enum, p pseudo, r range, m multirange. */
  typtype: string;
  /** pg_type.typcategory: A array, S string, N numeric, … */
  category: string;
  /** pg_type.typelem: the element type of an array, else 0. */
  element: number;
  /** pg_type.typdelim: the element separator in the array literal of this type. */
  delimiter: string;
  /** pg_type.typbasetype and typtypmod: the type and typmod a domain is over, else 0 and -1. */
  baseType: number;
  baseTypmod: number;
  /** The labels of an enum in pg_enum.enumsortorder order. */
  enumValues?: string[];
}

export interface PgColumnType {
  type: ColumnType;
  /** Set when the type has no exact mapping and is captured as its text; the source logs it once per column. */
  warning?: string;
}

/** Built-in type OIDs: fixed in pg_type.dat since PostgreSQL 7, and safer than names a user type could reuse. */
export const PG_OID = {
  bool: 16,
  bytea: 17,
  char: 18,
  name: 19,
  int8: 20,
  int2: 21,
  int2vector: 22,
  int4: 23,
  text: 25,
  oid: 26,
  oidvector: 30,
  json: 114,
  xml: 142,
  cidr: 650,
  float4: 700,
  float8: 701,
  macaddr8: 774,
  money: 790,
  macaddr: 829,
  inet: 869,
  bpchar: 1042,
  varchar: 1043,
  date: 1082,
  time: 1083,
  timestamp: 1114,
  timestamptz: 1184,
  interval: 1186,
  timetz: 1266,
  bit: 1560,
  varbit: 1562,
  numeric: 1700,
  uuid: 2950,
  jsonb: 3802,
} as const;

/** varchar, bpchar and numeric typmods carry the 4-byte varlena header size (VARHDRSZ) on top of their value. */
const VARHDRSZ = 4;

/**
 * money is an int64 count of cents: ±92233720368547758.07 is 19 digits. lc_monetary=C (connection.ts) prints two
 * fraction digits, the locale-independent scale of the stored value.
 */
const MONEY: ColumnType = { kind: 'decimal', precision: 19, scale: 2 };

/** Types whose text form is the value itself: no warning for them. */
const TEXT_LIKE = new Set<number>([PG_OID.text, PG_OID.name, PG_OID.char, PG_OID.xml, PG_OID.inet, PG_OID.cidr, PG_OID.macaddr, PG_OID.macaddr8]);

/** Other OIDs that must be loaded before {@link postgresColumnType} can decide about `facts`: element or base type. */
export function referencedTypes(facts: PgTypeFacts): number[] {
  const referenced: number[] = [];
  if (facts.typtype === 'd' && facts.baseType !== 0) referenced.push(facts.baseType);
  if (isArray(facts)) referenced.push(facts.element);
  return referenced;
}

/**
 * The ColumnType of a column of type `oid` with `typmod` (pg_attribute.atttypmod, or a Relation message's type
 * modifier; -1 when none). `facts` returns the loaded facts of any OID {@link referencedTypes} led to.
 */
export function postgresColumnType(oid: number, typmod: number, facts: (oid: number) => PgTypeFacts | undefined): PgColumnType {
  return mapType(oid, typmod, facts, 0);
}

function mapType(oid: number, typmod: number, facts: (oid: number) => PgTypeFacts | undefined, depth: number): PgColumnType {
  const builtIn = builtInType(oid, typmod);
  if (builtIn) return builtIn;
  const type = facts(oid);
  if (!type) return textOf(`type OID ${oid}`, 'it is not in pg_type');
  // A domain over a domain over … ends at a base type; the depth guard only protects against a corrupt catalog.
  if (type.typtype === 'd' && type.baseType !== 0 && depth < 32) {
    // A domain column's own typmod is -1; the domain's declaration holds the one that applies.
    return mapType(type.baseType, type.baseTypmod >= 0 ? type.baseTypmod : typmod, facts, depth + 1);
  }
  if (type.typtype === 'e') return { type: { kind: 'enum', values: type.enumValues ?? [] } };
  if (isArray(type) && depth < 32) {
    if (type.delimiter !== ',') return textOf(describe(type), `its array literal separates elements with "${type.delimiter}"`);
    // An array column's typmod applies to its elements (varchar(10)[] has the typmod of varchar(10)).
    const items = mapType(type.element, typmod, facts, depth + 1);
    if (items.type.kind === 'array') return textOf(describe(type), 'it nests arrays');
    return items.warning === undefined
      ? { type: { kind: 'array', items: items.type } }
      : { type: { kind: 'array', items: items.type }, warning: `${describe(type)}: ${items.warning}` };
  }
  if (type.category === 'S') return { type: { kind: 'string' } }; // citext and other string types: text is exact
  return textOf(describe(type), 'no logical type fits it');
}

/** A true array (PostgreSQL's IsTrueArrayType); int2vector and oidvector print space-separated lists instead. */
function isArray(type: PgTypeFacts): boolean {
  return type.category === 'A' && type.element !== 0 && type.oid !== PG_OID.int2vector && type.oid !== PG_OID.oidvector;
}

function builtInType(oid: number, typmod: number): PgColumnType | undefined {
  switch (oid) {
    case PG_OID.bool:
      return { type: { kind: 'boolean' } };
    case PG_OID.int2:
      return { type: { kind: 'int16' } };
    case PG_OID.int4:
      return { type: { kind: 'int32' } };
    case PG_OID.int8:
    case PG_OID.oid: // unsigned 32 bits, as Debezium maps it
      return { type: { kind: 'int64' } };
    case PG_OID.float4:
      return { type: { kind: 'float32' } };
    case PG_OID.float8:
      return { type: { kind: 'float64' } };
    case PG_OID.numeric:
      return { type: numericType(typmod) };
    case PG_OID.money:
      return { type: MONEY };
    case PG_OID.varchar:
    case PG_OID.bpchar:
      return { type: typmod >= VARHDRSZ ? { kind: 'string', length: typmod - VARHDRSZ } : { kind: 'string' } };
    case PG_OID.bytea:
      return { type: { kind: 'bytes' } };
    case PG_OID.uuid:
      return { type: { kind: 'uuid' } };
    case PG_OID.json:
    case PG_OID.jsonb:
      return { type: { kind: 'json' } };
    case PG_OID.date:
      return { type: { kind: 'date' } };
    case PG_OID.time:
      return { type: { kind: 'time' } };
    case PG_OID.timetz:
      return { type: { kind: 'timetz' } };
    case PG_OID.timestamp:
      return { type: { kind: 'timestamp' } };
    case PG_OID.timestamptz:
      return { type: { kind: 'timestamptz' } };
    case PG_OID.interval:
      return { type: { kind: 'interval' } };
    case PG_OID.bit: {
      // bit without a length is bit(1); BIT(1) is a boolean as in Debezium (and as MySQL's BIT(1) here).
      const length = typmod > 0 ? typmod : 1;
      return { type: length === 1 ? { kind: 'boolean' } : { kind: 'bits', length } };
    }
    case PG_OID.varbit:
      // Bytes cannot say how many bits a varbit value has ('01' and '001' would both be 0x01): its text is exact.
      return { type: { kind: 'string' } };
    default:
      return TEXT_LIKE.has(oid) ? { type: { kind: 'string' } } : undefined;
  }
}

/**
 * numeric(p,s) → decimal; numeric without a typmod holds any scale per value, so it stays text (`numeric`).
 * PostgreSQL 15 allows a negative scale (numeric(3,-2) rounds to hundreds: up to 99900) and a scale above the
 * precision (numeric(3,5): up to 0.00999); Avro's decimal wants 0 ≤ scale ≤ precision, so both become the decimal
 * that holds exactly the same values.
 */
export function numericType(typmod: number): ColumnType {
  if (typmod < VARHDRSZ) return { kind: 'numeric' };
  const packed = typmod - VARHDRSZ;
  const precision = (packed >> 16) & 0xffff;
  const scale = ((packed & 0x7ff) ^ 1024) - 1024; // an 11-bit two's-complement field since PostgreSQL 15
  if (scale < 0) return { kind: 'decimal', precision: precision - scale, scale: 0 };
  return { kind: 'decimal', precision: Math.max(precision, scale), scale };
}

function describe(type: PgTypeFacts): string {
  return `type "${type.schema}.${type.name}"`;
}

function textOf(what: string, reason: string): PgColumnType {
  return { type: { kind: 'string' }, warning: `${what} has no exact logical type (${reason}); its values are captured as their text` };
}
