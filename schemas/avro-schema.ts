import { readFileSync } from 'node:fs';

/** An Avro schema as JSON: a type name, a union, or a complex type with its attributes. */
export type AvroSchema = string | AvroSchema[] | AvroComplex;
export interface AvroComplex {
  type: string | AvroSchema[] | AvroComplex;
  [attribute: string]: unknown;
}
export interface AvroField {
  name: string;
  type: AvroSchema;
  default?: unknown;
  doc?: string;
  [attribute: string]: unknown;
}
export interface AvroRecord extends AvroComplex {
  type: 'record';
  name: string;
  namespace?: string;
  fields: AvroField[];
}

function load(file: string): AvroRecord {
  return JSON.parse(readFileSync(new URL(file, import.meta.url), 'utf8')) as AvroRecord;
}

/** The fixed records of the envelope, kept as .avsc files beside this module. */
export const MYSQL_SOURCE_SCHEMA = load('./source-mysql.avsc');
export const POSTGRES_SOURCE_SCHEMA = load('./source-postgres.avsc');
export const TRANSACTION_BLOCK_SCHEMA = load('./transaction-block.avsc');
export const SCHEMA_CHANGE_SCHEMA = load('./schema-change.avsc');
export const HEARTBEAT_SCHEMA = load('./heartbeat.avsc');
export const TRANSACTION_METADATA_SCHEMA = load('./transaction-metadata.avsc');
/** Debezium keys heartbeats by the server name. */
export const HEARTBEAT_KEY_SCHEMA: AvroRecord = {
  type: 'record',
  name: 'ServerNameKey',
  namespace: 'io.debezium.connector.common',
  fields: [{ name: 'serverName', type: 'string' }],
};
