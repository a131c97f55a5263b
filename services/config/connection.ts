import { z } from 'zod';
import { flag, port, strictObject } from './fields.ts';

/**
 * Database connections may be written as one URL or as separate fields. Both normalise at parse time into
 * `ResolvedConnection`, so connectors never branch on how the user spelt it.
 */
export interface ResolvedConnection {
  host: string;
  port: number;
  user: string;
  password?: string;
  database?: string;
}

export interface PostgresConnection extends ResolvedConnection {
  database: string;
}

export interface SqlServerConnection extends ResolvedConnection {
  encrypt: boolean;
  trustServerCertificate: boolean;
}

interface DatabaseConnectionOptions {
  /** URL schemes accepted, without `://`, e.g. `['mysql', 'mariadb']`. */
  schemes: readonly string[];
  defaultPort: number;
  databaseRequired: boolean;
  /** Example shown in error messages. */
  example: string;
}

const FIELD_KEYS = ['host', 'port', 'user', 'database'] as const;

/** Fields shared by every SQL database connection; `url` excludes host/port/user/database. */
function connectionShape(options: DatabaseConnectionOptions) {
  const schemes = options.schemes.map((s) => `${s}://`).join(' or ');
  return {
    url: z
      .string()
      .optional()
      .describe(
        `Connection URL (${schemes}user:password@host:port/database). Replaces host, port, user and database; ` +
          'password may instead be given separately.',
      ),
    host: z.string().min(1).default('127.0.0.1').describe('Database host name or IP address.'),
    port: port().default(options.defaultPort).describe('Database TCP port.'),
    user: z.string().min(1).optional().describe('User name to log in as. Required unless `url` is given.'),
    password: z
      .string()
      .optional()
      .describe('Password for `user`. Prefer `${ENV_VAR}` substitution over writing it in the file.'),
    database: z
      .string()
      .min(1)
      .optional()
      .describe(
        options.databaseRequired
          ? 'Database to connect to. Required unless `url` names one.'
          : 'Default database (schema) to select after connecting.',
      ),
  };
}

/** `url` next to host/port/user/database is ambiguous; checked before defaults hide what the user wrote. */
function rejectFieldsAlongsideUrl(raw: unknown, ctx: z.core.$RefinementCtx<unknown>): unknown {
  if (typeof raw === 'object' && raw !== null && 'url' in raw && raw.url !== undefined) {
    for (const key of FIELD_KEYS) {
      if (key in raw) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `give either url or ${key} (with the other separate fields), not both`,
        });
      }
    }
  }
  return raw;
}

/**
 * Schema for a SQL connection object with optional type-specific `extra` fields, which pass through unchanged
 * next to the resolved host/port/user/password/database.
 */
export function databaseConnection<Extra extends z.core.$ZodLooseShape>(
  options: DatabaseConnectionOptions,
  extra: Extra,
) {
  const object = strictObject({ ...connectionShape(options), ...extra });
  return z.preprocess(rejectFieldsAlongsideUrl, object).transform((raw, ctx) => {
    const { url, host, port: portNumber, user, password, database, ...rest } = raw as typeof raw & {
      url?: string;
      host: string;
      port: number;
      user?: string;
      password?: string;
      database?: string;
    };
    let resolved: ResolvedConnection | undefined;
    if (url !== undefined) {
      resolved = resolveUrl(url, password, options, ctx);
    } else if (user === undefined) {
      ctx.addIssue({ code: 'custom', path: ['user'], message: 'missing required key (expected string), or give url' });
    } else {
      resolved = withOptional({ host, port: portNumber, user }, password, database);
    }
    if (resolved && options.databaseRequired && resolved.database === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [url === undefined ? 'database' : 'url'],
        message: `a database name is required (e.g. ${options.example})`,
      });
    }
    return resolved ? { ...rest, ...resolved } : z.NEVER;
  });
}

function resolveUrl(
  text: string,
  separatePassword: string | undefined,
  options: DatabaseConnectionOptions,
  ctx: z.core.$RefinementCtx<unknown>,
): ResolvedConnection | undefined {
  const fail = (message: string, path: string[] = ['url']) => {
    ctx.addIssue({ code: 'custom', path, message });
    return undefined;
  };
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return fail(`not a valid URL (expected ${options.example})`);
  }
  const scheme = url.protocol.replace(/:$/, '');
  if (!options.schemes.includes(scheme)) {
    return fail(`expected a ${options.schemes.map((s) => `${s}://`).join(' or ')} URL, received a ${scheme}:// URL`);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') return fail(`URL has no host (expected ${options.example})`);
  const params = [...new Set(url.searchParams.keys())];
  if (params.length > 0) {
    return fail(`URL query parameters are not supported (found: ${params.join(', ')}); use the connection fields`);
  }
  const segments = url.pathname.split('/').filter((s) => s !== '');
  if (segments.length > 1) return fail(`URL path must be at most one database name (expected ${options.example})`);
  let user: string;
  let urlPassword: string | undefined;
  let database: string | undefined;
  try {
    user = decodeURIComponent(url.username);
    urlPassword = url.password === '' ? undefined : decodeURIComponent(url.password);
    database = segments[0] === undefined ? undefined : decodeURIComponent(segments[0]);
  } catch {
    return fail('URL contains a malformed %-escape');
  }
  if (user === '') return fail(`URL has no user name (expected ${options.example})`);
  if (urlPassword !== undefined && separatePassword !== undefined) {
    return fail('password is given both in url and as password; keep one', ['password']);
  }
  const portNumber = url.port === '' ? options.defaultPort : Number(url.port);
  if (portNumber < 1) return fail('URL port must be between 1 and 65535');
  return withOptional({ host, port: portNumber, user }, urlPassword ?? separatePassword, database);
}

/** Leaves optional keys out rather than setting them to undefined, so both forms compare equal. */
function withOptional(
  base: Omit<ResolvedConnection, 'password' | 'database'>,
  password: string | undefined,
  database: string | undefined,
): ResolvedConnection {
  return {
    ...base,
    ...(password === undefined ? {} : { password }),
    ...(database === undefined ? {} : { database }),
  };
}

// The transform's inferred type is a loose spread of the raw fields; these annotations state what it guarantees.
export const mysqlConnection = databaseConnection(
  {
    schemes: ['mysql', 'mariadb'],
    defaultPort: 3306,
    databaseRequired: false,
    example: 'mysql://user@host:3306/database',
  },
  {},
) as unknown as z.ZodType<ResolvedConnection, unknown>;

export const postgresConnection = databaseConnection(
  {
    schemes: ['postgres', 'postgresql'],
    defaultPort: 5432,
    databaseRequired: true,
    example: 'postgres://user@host:5432/database',
  },
  {},
) as unknown as z.ZodType<PostgresConnection, unknown>;

export const sqlServerConnection = databaseConnection(
  {
    schemes: ['mssql', 'sqlserver'],
    defaultPort: 1433,
    databaseRequired: false,
    example: 'mssql://user@host:1433/database',
  },
  {
    encrypt: flag().default(true).describe('Encrypt the connection with TLS (required by Azure SQL).'),
    trustServerCertificate: flag()
      .default(false)
      .describe('Accept a self-signed server certificate. Only for development servers.'),
  },
) as unknown as z.ZodType<SqlServerConnection, unknown>;

export interface ClickHouseConnection {
  /** Normalised origin and path with an explicit port and no credentials. */
  url: string;
  username: string;
  password?: string;
  database: string;
}

const EXPLICIT_PORT = /^[a-z][a-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(?:\[[^\]]*\]|[^:/?#]*):\d+/i;
const CLICKHOUSE_DEFAULT_PORT: Record<string, string> = { 'http:': '8123', 'https:': '8443' };

/** ClickHouse speaks HTTP; credentials may sit in the URL or in username/password, but not both. */
export const clickHouseConnection: z.ZodType<ClickHouseConnection, unknown> = z
  .preprocess(
    (raw, ctx) => {
      if (typeof raw === 'object' && raw !== null && 'url' in raw && typeof raw.url === 'string') {
        const credentials = urlCredentials(raw.url);
        for (const key of ['username', 'password'] as const) {
          if (credentials[key] !== undefined && key in raw) {
            ctx.addIssue({ code: 'custom', path: [key], message: `${key} is given both in url and here; keep one` });
          }
        }
      }
      return raw;
    },
    strictObject({
      url: z
        .string()
        .describe('ClickHouse HTTP interface URL, e.g. http://clickhouse:8123 (default port 8123, 8443 for https).'),
      username: z.string().min(1).default('default').describe('ClickHouse user name.'),
      password: z.string().optional().describe('Password for `username`.'),
      database: z.string().min(1).default('default').describe('Database the sink writes its tables into.'),
    }),
  )
  .transform((raw, ctx) => {
    let url: URL;
    try {
      url = new URL(raw.url);
    } catch {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'expected an http:// or https:// URL' });
      return z.NEVER;
    }
    const defaultPort = CLICKHOUSE_DEFAULT_PORT[url.protocol];
    if (defaultPort === undefined || url.hostname === '') {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'expected an http:// or https:// URL' });
      return z.NEVER;
    }
    const { username, password } = urlCredentials(raw.url);
    url.username = '';
    url.password = '';
    // WHATWG URL blanks a port equal to the scheme default, so look at the text to tell `:80` from no port.
    if (url.port === '' && !EXPLICIT_PORT.test(raw.url)) url.port = defaultPort;
    const resolvedPassword = password ?? raw.password;
    return {
      url: url.href.replace(/\/$/, ''),
      username: username ?? raw.username,
      ...(resolvedPassword === undefined ? {} : { password: resolvedPassword }),
      database: raw.database,
    };
  });

function urlCredentials(text: string): { username?: string; password?: string } {
  try {
    const url = new URL(text);
    return {
      ...(url.username === '' ? {} : { username: decodeURIComponent(url.username) }),
      ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
    };
  } catch {
    return {};
  }
}
