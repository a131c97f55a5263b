import type { ColumnSchema, TableSchema } from '#core/table-schema.ts';
import { TributaryError } from '#core/errors.ts';
import { ORIGINAL_NAME_ATTRIBUTE, avroNamespace, fieldNames, topicName } from './avro-names.ts';
import {
  MYSQL_SOURCE_SCHEMA,
  POSTGRES_SOURCE_SCHEMA,
  TRANSACTION_BLOCK_SCHEMA,
  type AvroField,
  type AvroRecord,
} from './avro-schema.ts';
import { columnAvroType } from './column-avro.ts';

export type Connector = 'mysql' | 'postgresql';

/** Everything needed to write one table's events to Kafka: the topic, both schemas and the field names. */
export interface TableAvro {
  table: TableSchema;
  connector: Connector;
  topic: string;
  /** `null` for a table without a primary key: its messages have a null key. */
  keySchema: AvroRecord | null;
  /** Debezium's envelope: `before`, `after`, `source`, `transaction`, `op`, `ts_ms`. */
  valueSchema: AvroRecord;
  /** Column name → Avro field name, in column order. */
  fields: ReadonlyMap<string, string>;
}

/**
 * Builds the key and envelope schemas of a table with Debezium's names: `<prefix>.<db>.<table>.Key`,
 * `.Value` and `.Envelope`, so the registry subjects and record names are what Debezium users know.
 */
export function buildTableAvro(table: TableSchema, options: { topicPrefix: string; connector: Connector }): TableAvro {
  const namespace = avroNamespace(options.topicPrefix, table.namespace, table.table);
  const fields = fieldNames(table.columns.map((c) => c.name));
  const byName = new Map(table.columns.map((c) => [c.name, c]));

  const keyColumns = table.primaryKey.map((name) => {
    const column = byName.get(name);
    if (!column) {
      throw new TributaryError('SCHEMA_UNSUPPORTED', `primary key column "${name}" of ${table.namespace}.${table.table} is not among its columns`);
    }
    return column;
  });

  const avroField = (column: ColumnSchema, nullable: boolean): AvroField => {
    const name = fields.get(column.name) as string;
    const type = columnAvroType(column.type);
    return {
      name,
      ...(nullable ? { type: ['null', type], default: null } : { type }),
      ...(name === column.name ? {} : { [ORIGINAL_NAME_ATTRIBUTE]: column.name }),
    };
  };

  const keySchema: AvroRecord | null =
    keyColumns.length === 0
      ? null
      : {
          type: 'record',
          name: 'Key',
          namespace,
          fields: keyColumns.map((c) => avroField(c, false)),
          'connect.name': `${namespace}.Key`,
        };

  const value: AvroRecord = {
    type: 'record',
    name: 'Value',
    namespace,
    fields: table.columns.map((c) => avroField(c, c.nullable)),
    'connect.name': `${namespace}.Value`,
  };

  const valueSchema: AvroRecord = {
    type: 'record',
    name: 'Envelope',
    namespace,
    fields: [
      { name: 'before', type: ['null', value], default: null },
      { name: 'after', type: ['null', 'Value'], default: null },
      { name: 'source', type: options.connector === 'mysql' ? MYSQL_SOURCE_SCHEMA : POSTGRES_SOURCE_SCHEMA },
      { name: 'transaction', type: ['null', TRANSACTION_BLOCK_SCHEMA], default: null },
      { name: 'op', type: 'string' },
      { name: 'ts_ms', type: ['null', 'long'], default: null },
    ],
    'connect.version': 1,
    'connect.name': `${namespace}.Envelope`,
  };

  return {
    table,
    connector: options.connector,
    topic: topicName(options.topicPrefix, table.namespace, table.table),
    keySchema,
    valueSchema,
    fields,
  };
}
