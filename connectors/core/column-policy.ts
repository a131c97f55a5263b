import { createHash } from 'node:crypto';
import type { ChangeEvent, Row } from './change-event.ts';
import type { ColumnValue } from './column-type.ts';
import { globRegExp } from './table-filter.ts';
import type { TableSchema } from './table-schema.ts';

export interface ColumnPolicyConfig {
  exclude: string[];
  mask: string[];
  maskSalt: string;
}

/**
 * Per-column exclusion and masking, applied to schemas and rows alike so that the Avro schema and the events
 * always agree. A masked column becomes a string: the hex SHA-256 of salt + the value's text, as Debezium's
 * `column.mask.hash.SHA-256.with.salt` does; null stays null so that masking does not invent values.
 */
export class ColumnPolicy {
  private readonly exclude: RegExp[];
  private readonly mask: RegExp[];
  private readonly plans = new WeakMap<TableSchema, { schema: TableSchema; masked: Set<string>; dropped: Set<string> }>();

  constructor(private readonly config: ColumnPolicyConfig) {
    this.exclude = config.exclude.map(globRegExp);
    this.mask = config.mask.map(globRegExp);
  }

  get active(): boolean {
    return this.exclude.length > 0 || this.mask.length > 0;
  }

  private plan(table: TableSchema) {
    let plan = this.plans.get(table);
    if (!plan) {
      const name = (column: string) => `${table.namespace}.${table.table}.${column}`;
      // Key columns are never dropped or masked: the key must still identify the row.
      const keyed = new Set(table.primaryKey);
      const dropped = new Set(table.columns.filter((c) => !keyed.has(c.name) && this.exclude.some((r) => r.test(name(c.name)))).map((c) => c.name));
      const masked = new Set(table.columns.filter((c) => !keyed.has(c.name) && !dropped.has(c.name) && this.mask.some((r) => r.test(name(c.name)))).map((c) => c.name));
      const schema: TableSchema = {
        ...table,
        columns: table.columns
          .filter((c) => !dropped.has(c.name))
          .map((c) => (masked.has(c.name) ? { ...c, type: { kind: 'string' as const }, sourceType: `${c.sourceType} (masked)` } : c)),
      };
      plan = { schema, masked, dropped };
      this.plans.set(table, plan);
    }
    return plan;
  }

  schema(table: TableSchema): TableSchema {
    return this.active ? this.plan(table).schema : table;
  }

  event(table: TableSchema, event: ChangeEvent): ChangeEvent {
    if (!this.active) return event;
    const plan = this.plan(table);
    if (plan.dropped.size === 0 && plan.masked.size === 0) return event;
    const apply = (row: Row | null): Row | null => {
      if (!row) return row;
      const out: Row = {};
      for (const [column, value] of Object.entries(row)) {
        if (plan.dropped.has(column)) continue;
        out[column] = plan.masked.has(column) ? this.hash(value) : value;
      }
      return out;
    };
    return { ...event, before: apply(event.before), after: apply(event.after) } as ChangeEvent;
  }

  private hash(value: ColumnValue): ColumnValue {
    if (value === null) return null;
    const text = Buffer.isBuffer(value) ? value : Buffer.from(String(value), 'utf8');
    return createHash('sha256').update(this.config.maskSalt, 'utf8').update(text).digest('hex');
  }
}
