import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import type avro from 'avsc';
import { TributaryError } from '#core/errors.ts';
import { avroOptions, explainInvalid } from '#schemas/avro-types.ts';
import { compileWriter, type AvroWriter } from '#schemas/avro-writer.ts';

export interface RegistryConnection {
  url: string;
  auth?: { username: string; password: string };
}

/**
 * Avro in Confluent's wire format (magic byte 0, 4-byte schema id, Avro binary) through a Confluent-API
 * schema registry. Subjects follow the TopicNameStrategy: `<topic>-key` and `<topic>-value`.
 * Longs decode as bigint and decimals as exact strings (schemas/avro-types.ts).
 */
export class AvroSerde {
  private readonly registry: SchemaRegistry;
  /** Registered ids by subject and schema text, so an unchanged schema costs one registry call per process. */
  private readonly ids = new Map<string, Promise<number>>();
  /** The same by schema object, so the hot path does not serialise the schema for every message. */
  private readonly idsByObject = new WeakMap<object, Map<string, Promise<number>>>();

  constructor(private readonly connection: RegistryConnection) {
    this.registry = new SchemaRegistry(
      { host: connection.url, ...(connection.auth ? { auth: connection.auth } : {}), retry: { retries: 0 } },
      { [SchemaType.AVRO]: avroOptions() },
    );
  }

  /** Registers `schema` under `subject` (once per process) and returns its id. */
  schemaId(subject: string, schema: object): Promise<number> {
    let bySubject = this.idsByObject.get(schema);
    const known = bySubject?.get(subject);
    if (known) return known;
    const id = this.registerOnce(subject, schema);
    if (!bySubject) this.idsByObject.set(schema, (bySubject = new Map()));
    bySubject.set(subject, id);
    id.catch(() => bySubject.delete(subject));
    return id;
  }

  private registerOnce(subject: string, schema: object): Promise<number> {
    const text = JSON.stringify(schema);
    const cacheKey = `${subject}\n${text}`;
    let id = this.ids.get(cacheKey);
    if (!id) {
      const action = `registering the schema of subject "${subject}"`;
      // Registered over the REST API rather than the client's register(), which would pin the subject's
      // compatibility level to BACKWARD: which changes a subject accepts is the registry operator's setting.
      id = this.rest<{ id: number }>(action, `/subjects/${encodeURIComponent(subject)}/versions`, { method: 'POST', body: JSON.stringify({ schema: text }) })
        .then(async ({ id: registered }) => {
          this.types.set(registered, (await this.registry.getSchema(registered)) as unknown as avro.Type);
          return registered;
        })
        .catch((error: unknown) => {
          this.ids.delete(cacheKey);
          throw classifyRegistryError(action, error);
        });
      this.ids.set(cacheKey, id);
    }
    return id;
  }

  /** One call to the registry's Confluent REST API; failures carry `status` for classifyRegistryError. */
  private async rest<T>(action: string, path: string, init: { method?: string; body?: string } = {}): Promise<T> {
    const headers: Record<string, string> = {
      accept: 'application/vnd.schemaregistry.v1+json, application/json',
      'content-type': 'application/vnd.schemaregistry.v1+json',
    };
    if (this.connection.auth) {
      headers.authorization = `Basic ${Buffer.from(`${this.connection.auth.username}:${this.connection.auth.password}`).toString('base64')}`;
    }
    let response: Response;
    try {
      response = await fetch(`${this.connection.url.replace(/\/+$/, '')}${path}`, { ...init, headers, signal: AbortSignal.timeout(30_000) });
    } catch (error) {
      // fetch says only "fetch failed"; the reason (ECONNREFUSED, a timeout) is its cause.
      const reason = (error as { cause?: { message?: string; code?: string } }).cause;
      const detail = [(error as Error).message, reason?.code, reason?.message].filter(Boolean).join(': ');
      throw classifyRegistryError(action, new Error(detail));
    }
    const body = (await response.json().catch(() => ({}))) as T & { message?: string };
    if (!response.ok) {
      const reason = body.message ?? `the registry answered ${response.status}`;
      const hint =
        response.status === 409
          ? ' (the new schema is incompatible with the subject\'s earlier versions under the registry\'s compatibility level; if the source change is intended, set that subject\'s compatibility to NONE)'
          : '';
      throw classifyRegistryError(action, Object.assign(new Error(`${reason}${hint}`), { status: response.status }));
    }
    return body;
  }

  /** avsc types of the ids this process registered or read, for the synchronous hot path. */
  private readonly types = new Map<number, avro.Type>();
  /** Writers compiled from those types at their first encoding (schemas/avro-writer.ts). */
  private readonly writers = new Map<number, AvroWriter>();

  private compile(schemaId: number): AvroWriter | undefined {
    const type = this.types.get(schemaId);
    if (!type) return undefined;
    const writer = compileWriter(type);
    this.writers.set(schemaId, writer);
    return writer;
  }

  /**
   * Encodes synchronously when the schema is known to this process (after `schemaId` or a decode), straight into
   * one buffer behind the 5-byte header; `undefined` when it is not, and `encode` must be used.
   */
  encodeKnown(schemaId: number, value: unknown): Buffer | undefined {
    let buffer = Buffer.allocUnsafe(256);
    // Two tries at most: the first tells the exact size the value needs.
    for (let attempt = 0; attempt < 2; attempt++) {
      const end = this.encodeKnownInto(schemaId, value, buffer, 0);
      if (end === undefined) return undefined;
      if (end >= 0) return buffer.subarray(0, end);
      buffer = Buffer.allocUnsafe(buffer.length - end); // avsc returns minus the bytes missing
    }
    throw new TributaryError('INTERNAL', `encoding with schema id ${schemaId}: the encoder never found the buffer large enough`);
  }


  /**
   * Like `encodeKnown`, but writes into `target` at `offset` (header included) and returns the end, as avsc does:
   * minus the bytes missing when `target` is too small; `undefined` when the schema is not known to this process.
   */
  encodeKnownInto(schemaId: number, value: unknown, target: Buffer, offset: number): number | undefined {
    const writer = this.writers.get(schemaId) ?? this.compile(schemaId);
    if (!writer) return undefined;
    if (target.length < offset + 5) return target.length - offset - 5 - 256;
    target[offset] = 0;
    target.writeUInt32BE(schemaId, offset + 1);
    try {
      return writer(value, target, offset + 5);
    } catch (error) {
      const type = this.types.get(schemaId) as avro.Type;
      throw new TributaryError('VALUE_INVALID', `encoding with schema id ${schemaId}: ${explainInvalid(type, value)}`, { cause: error });
    }
  }

  async encode(schemaId: number, value: unknown): Promise<Buffer> {
    const known = this.encodeKnown(schemaId, value);
    if (known) return known;
    try {
      const encoded = await this.registry.encode(schemaId, value);
      this.types.set(schemaId, (await this.registry.getSchema(schemaId)) as unknown as avro.Type);
      return encoded;
    } catch (error) {
      if ((error as Error).name !== 'ConfluentSchemaRegistryValidationError') {
        throw classifyRegistryError(`encoding with schema id ${schemaId}`, error);
      }
      const type = (await this.registry.getSchema(schemaId)) as unknown as avro.Type;
      throw new TributaryError('VALUE_INVALID', `encoding with schema id ${schemaId}: ${explainInvalid(type, value)}`);
    }
  }

  async decode(message: Buffer): Promise<unknown> {
    if (message.length < 5 || message[0] !== 0) {
      throw new TributaryError('DECODE_FAILED', 'message is not in the Confluent wire format (magic byte 0 and a schema id)');
    }
    try {
      return await this.registry.decode(message);
    } catch (error) {
      throw classifyRegistryError(`decoding a message with schema id ${message.readUInt32BE(1)}`, error);
    }
  }

  /**
   * The schema text registered under `id`, exactly as registered: unlike the parsed type, it keeps every
   * attribute (`connect.name`, `connect.parameters`, original column names) that sinks read column types from.
   */
  async schemaText(id: number): Promise<string> {
    return (await this.rest<{ schema: string }>(`reading schema id ${id}`, `/schemas/ids/${id}`)).schema;
  }


  /** The writer schema registered under `id`, as JSON. */
  async schema(id: number): Promise<object> {
    try {
      const type = (await this.registry.getSchema(id)) as unknown as avro.Type;
      return type.schema({ exportAttrs: true }) as object;
    } catch (error) {
      throw classifyRegistryError(`reading schema id ${id}`, error);
    }
  }
}

/** Registry failures: unreachable, timed out or 5xx is retriable; a refusal (4xx, incompatible schema) is not. */
function classifyRegistryError(action: string, error: unknown): TributaryError {
  if (error instanceof TributaryError) return error;
  const status = (error as { status?: number }).status;
  const message = error instanceof Error ? error.message : String(error);
  const unreachable = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|socket hang up|timeout/i.test(message);
  if (unreachable || (status !== undefined && (status >= 500 || status === 408 || status === 429))) {
    return new TributaryError('REGISTRY_UNAVAILABLE', `${action}: ${message}`, { retriable: true, cause: error });
  }
  if (status === 404) {
    return new TributaryError('DECODE_FAILED', `${action}: the registry has no such schema`, { cause: error });
  }
  return new TributaryError('REGISTRY_REJECTED', `${action}: ${message}`, { cause: error });
}
