import { TributaryError } from '#core/errors.ts';

// mssql/tedious errors → { code, retriable }, at the edge of the connector. The runner retries what is
// retriable (TARGET_UNAVAILABLE) and sends the rest to the dead-letter topic or halts.

/** Driver codes for a connection that could not be made, broke or timed out: a retry may succeed. */
const UNAVAILABLE_CODES = new Set([
  'ESOCKET',
  'ETIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNCLOSED',
  'ENOTOPEN',
  'EINSTLOOKUP',
  'ENOCONN',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * Server error numbers that a retry can clear: deadlock victim (1205), lock timeout (1222), snapshot update
 * conflict (3960), and the transient errors Azure SQL documents (40197, 40501, 40613, 49918-49920, 10928, 10929),
 * plus broken-transport errors reported as server errors (233, 10053, 10054, 10060, 64, -2 client timeout).
 */
const TRANSIENT_NUMBERS = new Set([
  1205, 1222, 3960, 40197, 40501, 40613, 49918, 49919, 49920, 10928, 10929, 233, 10053, 10054, 10060, 64, -2,
]);

/** Login failed (18456), cannot open the database (4060), password expired or must change (18487, 18488). */
const LOGIN_NUMBERS = new Set([18456, 4060, 18487, 18488]);

/** Server errors that only the "statement has been terminated" or "transaction ended" notes follow. */
const NOTE_NUMBERS = new Set([3621, 3902, 3998]);

interface DriverError {
  message?: unknown;
  code?: unknown;
  number?: unknown;
  originalError?: unknown;
  precedingErrors?: unknown;
  cause?: unknown;
}

export interface ConnectionFacts {
  host: string;
  port: number;
  user: string;
  password?: string;
}

/**
 * Maps any error thrown while talking to SQL Server to a TributaryError whose message starts with `action`.
 * The password is never part of the message, even if a driver message echoed it.
 */
export function classifySqlServerError(error: unknown, action: string, connection: ConnectionFacts): TributaryError {
  if (error instanceof TributaryError) return rewrap(error, action, connection.password);
  const chain = errorChain(error);
  const codes = chain.map((e) => e.code).filter((c): c is string => typeof c === 'string');
  const numbers = chain.map((e) => e.number).filter((n): n is number => typeof n === 'number');
  const message = redact(describe(error), connection.password);
  const full = `${action}: ${message}`;

  if (codes.includes('ELOGIN') || numbers.some((n) => LOGIN_NUMBERS.has(n))) {
    return new TributaryError(
      'TARGET_REJECTED',
      `${action}: SQL Server at ${connection.host}:${connection.port} refused the login of user "${connection.user}" (${message}). ` +
        'Check the user, its password and that it may open the configured database.',
      { cause: error },
    );
  }
  if (/certificate/i.test(message)) {
    return new TributaryError(
      'TARGET_REJECTED',
      `${full}. The server's TLS certificate is not trusted: install its CA, or set trustServerCertificate: true (development servers only).`,
      { cause: error },
    );
  }
  if (numbers.some((n) => TRANSIENT_NUMBERS.has(n)) || codes.some((c) => UNAVAILABLE_CODES.has(c))) {
    return new TributaryError('TARGET_UNAVAILABLE', full, { retriable: true, cause: error });
  }
  // Any other server error (constraint, conversion, truncation, permission, a value tedious refuses) will fail
  // the same way on retry.
  if (numbers.length > 0 || codes.includes('EREQUEST') || error instanceof TypeError || error instanceof RangeError) {
    return new TributaryError('TARGET_REJECTED', full, { cause: error });
  }
  return new TributaryError('INTERNAL', full, { cause: error });
}

/**
 * The error, the errors it wraps (mssql's originalError, which for an aborted transaction is the abort
 * reason), and the server errors that preceded it in the same request.
 */
function errorChain(error: unknown): DriverError[] {
  const chain: DriverError[] = [];
  const visit = (value: unknown, depth: number): void => {
    if (typeof value !== 'object' || value === null || depth > 5 || chain.includes(value as DriverError)) return;
    const e = value as DriverError;
    chain.push(e);
    if (Array.isArray(e.precedingErrors)) for (const p of e.precedingErrors) visit(p, depth + 1);
    visit(e.originalError, depth + 1);
    visit(e.cause, depth + 1);
  };
  visit(error, 0);
  return chain;
}

/**
 * SQL Server reports a failed statement as the cause (2627 duplicate key) then "The statement has been
 * terminated." (3621); mssql throws the last one, so the message leads with the causes.
 */
function describe(error: unknown): string {
  const texts: string[] = [];
  const preceding = Array.isArray((error as DriverError)?.precedingErrors) ? ((error as DriverError).precedingErrors as DriverError[]) : [];
  for (const e of [...preceding, error as DriverError]) {
    if (typeof e !== 'object' || e === null) continue;
    if (typeof e.number === 'number' && NOTE_NUMBERS.has(e.number) && texts.length > 0) continue;
    const text = typeof e.message === 'string' ? e.message : String(e);
    const labelled = typeof e.number === 'number' ? `${text} (error ${e.number})` : text;
    if (!texts.includes(labelled)) texts.push(labelled);
  }
  if (texts.length === 0) texts.push(error instanceof Error ? error.message : String(error));
  return texts.join('; ');
}

function redact(text: string, password: string | undefined): string {
  return password ? text.split(password).join('***') : text;
}

function rewrap(error: TributaryError, action: string, password: string | undefined): TributaryError {
  return new TributaryError(error.code, `${action}: ${redact(error.message, password)}`, {
    retriable: error.retriable,
    cause: error.cause,
  });
}
