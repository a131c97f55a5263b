import { TributaryError } from '#core/errors.ts';

// ClickHouse errors at the edge. @clickhouse/client rejects with a Node system error (connection refused or
// reset), `Timeout error.` for its own request timeout, or the server's error text. Newer servers end that text
// with `(TYPE_NAME)` and the client parses it into a ClickHouseError; 18.16 writes
// `Code: 193, e.displayText() = DB::Exception: Wrong password for user default, e.what() = DB::Exception`, which
// the client leaves as a plain Error, so the numeric code is read from the text for both.

const RETRIABLE_SYSTEM_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
]);

/** Server error codes that describe a passing condition: overload, timeouts, replication or merge backlog. */
const RETRIABLE_SERVER_CODES = new Set([
  159, // TIMEOUT_EXCEEDED
  160, // TOO_SLOW
  202, // TOO_MANY_SIMULTANEOUS_QUERIES
  203, // NO_FREE_CONNECTION
  209, // SOCKET_TIMEOUT
  210, // NETWORK_ERROR
  225, // NO_ZOOKEEPER
  236, // ABORTED
  241, // MEMORY_LIMIT_EXCEEDED
  242, // TABLE_IS_READ_ONLY (replica lost its keeper session)
  252, // TOO_MANY_PARTS
  285, // TOO_FEW_LIVE_REPLICAS
  286, // UNSATISFIED_QUORUM_FOR_PREVIOUS_WRITE
  319, // UNKNOWN_STATUS_OF_INSERT
  341, // UNFINISHED (a mutation still running when mutations_sync gave up)
  394, // QUERY_WAS_CANCELLED
  425, // SYSTEM_ERROR
  473, // DEADLOCK_AVOIDED (table lock wait timed out)
  // Another sink instance added the column or created the table a moment before: the retry reads the table again.
  15, // DUPLICATE_COLUMN
  57, // TABLE_ALREADY_EXISTS
  999, // KEEPER_EXCEPTION
]);

const AUTHENTICATION_CODES = new Set([
  192, // UNKNOWN_USER
  193, // WRONG_PASSWORD
  194, // REQUIRED_PASSWORD
  516, // AUTHENTICATION_FAILED
]);

/**
 * Maps an error from @clickhouse/client to a TributaryError: unreachable server, timeouts, overload and proxy 5xx
 * answers are retriable TARGET_UNAVAILABLE; everything else is TARGET_REJECTED. `secret` (the password) is
 * masked should any message echo it.
 */
export function classifyClickHouseError(action: string, error: unknown, secret?: string): TributaryError {
  if (error instanceof TributaryError) {
    return new TributaryError(error.code, `${action}: ${error.message}`, { retriable: error.retriable, cause: error.cause });
  }
  if (error instanceof TypeError || error instanceof RangeError || error instanceof ReferenceError) {
    // Not from the server or the network: a bug on this side, reported as such and never retried.
    return new TributaryError('INTERNAL', `${action}: ${error.message}`, { cause: error });
  }
  const systemCode = typeof (error as { code?: unknown })?.code === 'string' ? (error as { code: string }).code : '';
  const raw = error instanceof Error ? error.message : String(error);
  const text = mask(serverMessage(raw), secret);
  const code = serverCode(error, raw);
  if (code !== undefined && AUTHENTICATION_CODES.has(code)) {
    return new TributaryError(
      'TARGET_REJECTED',
      `${action}: ClickHouse refused the login (code ${code}: ${text}); check username and password in the sink's connection block`,
      { cause: error },
    );
  }
  const unreachable = RETRIABLE_SYSTEM_CODES.has(systemCode) || /^Timeout error|socket hang up/i.test(raw);
  // 18.16 answers ADD COLUMN of a column another instance has just added with ILLEGAL_COLUMN, "already exists".
  const raced = code === 44 && /already exists/i.test(raw);
  const overloaded = code !== undefined && (RETRIABLE_SERVER_CODES.has(code) || raced);
  // No server code at all: a proxy or load balancer in front of ClickHouse answered, typically with a 5xx page.
  const gateway = code === undefined && /\b50[0234]\b|Bad Gateway|Service Unavailable|Gateway Time-?out/i.test(raw);
  const retriable = unreachable || overloaded || gateway;
  const detail = code === undefined ? text : `code ${code}: ${text}`;
  return new TributaryError(retriable ? 'TARGET_UNAVAILABLE' : 'TARGET_REJECTED', `${action}: ${detail}`, { retriable, cause: error });
}

function serverCode(error: unknown, message: string): number | undefined {
  const parsed = (error as { code?: unknown })?.code;
  if (typeof parsed === 'string' && /^\d+$/.test(parsed)) return Number(parsed);
  const match = /\bCode: (\d+)/.exec(message);
  return match ? Number(match[1]) : undefined;
}

/** The server's own sentence, without 18.16's `e.displayText() = DB::Exception:` frame around it. */
function serverMessage(message: string): string {
  const framed = /DB::Exception: ([\s\S]*?)(?:, e\.what\(\) = DB::Exception)?\s*$/.exec(message);
  return (framed ? (framed[1] as string) : message).trim();
}

function mask(text: string, secret: string | undefined): string {
  return secret ? text.split(secret).join('***') : text;
}
