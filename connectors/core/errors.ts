/**
 * Stable error codes, one line of documentation each. Connectors classify driver errors into these at the
 * edge; the retry loop (retry.ts) only looks at `retriable`.
 */
export const ERROR_CODES = {
  CONFIG_INVALID: 'The configuration file is missing, unreadable or does not match the schema.',
  SCHEMA_UNSUPPORTED: 'A table or column cannot be represented in Avro (unknown type, clashing names).',
  VALUE_INVALID: 'A value does not fit the column type it was declared with (precision, range, format).',
  REGISTRY_REJECTED: 'The schema registry refused a schema (incompatible change, bad request).',
  REGISTRY_UNAVAILABLE: 'The schema registry could not be reached or answered with a server error.',
  KAFKA_UNAVAILABLE: 'The Kafka cluster could not be reached or a request to it timed out.',
  KAFKA_REJECTED: 'Kafka refused a request for a reason that retrying cannot fix (authorization, bad topic).',
  DECODE_FAILED: 'A Kafka message is not in the Confluent Avro wire format or does not match its schema.',
  SOURCE_UNAVAILABLE: 'The source database could not be reached or dropped the connection.',
  SOURCE_REJECTED: 'The source database refused a request (access denied, missing privilege, bad statement).',
  PREFLIGHT_FAILED: 'The source database is not set up for capture; the message lists each setting and its fix.',
  POSITION_LOST: 'The stored position is gone from the source (binlog purged, slot dropped): a new snapshot is needed.',
  TARGET_UNAVAILABLE: 'The sink\'s target database could not be reached, dropped the connection or timed out.',
  TARGET_REJECTED: 'The target refused a write for a reason that retrying cannot fix (constraint, access denied, bad value).',
  SINK_SCHEMA_INCOMPATIBLE: 'A new schema version cannot be applied to the target table safely (type narrowed, key changed).',
  INTERNAL: 'An error nobody classified: a bug, reported with its stack and never retried.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * The error type of the project. `action` names what was being done ("registering schema of topic x"), so
 * that the one place that logs it can say what failed without the throw site logging too.
 */
export class TributaryError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;

  constructor(code: ErrorCode, message: string, options: { retriable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TributaryError';
    this.code = code;
    this.retriable = options.retriable ?? false;
  }
}

/** Wraps any error with the action that failed, keeping its code and retriability when it has them. */
export function withAction(action: string, error: unknown): TributaryError {
  if (error instanceof TributaryError) {
    return new TributaryError(error.code, `${action}: ${error.message}`, {
      retriable: error.retriable,
      cause: error.cause,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new TributaryError('INTERNAL', `${action}: ${message}`, { cause: error });
}
