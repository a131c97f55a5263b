import { TributaryError } from '#core/errors.ts';

// Avro names allow [A-Za-z_][A-Za-z0-9_]*; table and column names allow nearly anything. Like Debezium's
// `field.name.adjustment.mode=avro`, every other character becomes `_`. Fields whose name changed carry the
// original in the `tributary.column` attribute so sinks can write the real column.

export const ORIGINAL_NAME_ATTRIBUTE = 'tributary.column';

export function avroName(text: string): string {
  const replaced = text.replace(/[^A-Za-z0-9_]/g, '_');
  return /^[A-Za-z_]/.test(replaced) ? replaced : `_${replaced}`;
}

export function avroNamespace(...parts: string[]): string {
  return parts.map(avroName).join('.');
}

/** Topic names are `<prefix>.<db>.<table>`; characters Kafka refuses in a topic name become `_`. */
export function topicName(prefix: string, namespace: string, table: string): string {
  const part = (text: string) => text.replace(/[^A-Za-z0-9_-]/g, '_');
  const topic = `${prefix}.${part(namespace)}.${part(table)}`;
  if (topic.length > 249) {
    throw new TributaryError('SCHEMA_UNSUPPORTED', `topic name for ${namespace}.${table} is longer than Kafka's 249 characters`);
  }
  return topic;
}

/**
 * Avro field names for columns, in column order. Two columns that adjust to the same name (`a b`, `a_b`) get
 * `_2`, `_3`… in column order, so the mapping is stable for a given column list.
 */
export function fieldNames(columns: readonly string[]): Map<string, string> {
  const taken = new Set(columns.filter((c) => avroName(c) === c));
  const names = new Map<string, string>();
  for (const column of columns) {
    let name = avroName(column);
    if (name !== column) {
      const base = name;
      for (let n = 2; taken.has(name); n++) name = `${base}_${n}`;
    }
    taken.add(name);
    names.set(column, name);
  }
  return names;
}
