import { ClickHouseLogLevel, createClient, type ClickHouseClient } from '@clickhouse/client';
import { POSITION_COLUMN, DELETED_COLUMN } from '#core/sink.ts';
import { connectMySql, mysqlConnection } from '#test/support/mysql.ts';
import { stackEnv } from '#test/support/stack-env.ts';

/** What the sink tests need from a target, read the way a user reads it. */
export interface TestTarget {
  type: 'mariadb' | 'clickhouse';
  /** YAML lines of one sink in a `sinks:` list. `port` overrides the server's port (a proxy in front of it). */
  sinkYaml(options: { name: string; database: string; pattern: string; port?: number; extra?: string[] }): string[];
  createDatabase(name: string): Promise<void>;
  dropDatabase(name: string): Promise<void>;
  /** The rows a user sees: id → { val, n }, deleted rows excluded (ClickHouse: FINAL). */
  state(database: string, table: string): Promise<Map<string, { val: string; n: number }>>;
  /** id → the source position that wrote the visible row. */
  positions(database: string, table: string): Promise<Map<string, string>>;
  /** id → the text of one column of the visible rows (null for NULL). */
  column(database: string, table: string, column: string): Promise<Map<string, string | null>>;
  /** How many rows a user sees. */
  rowCount(database: string, table: string): Promise<number>;
  /** Keys that appear more than once in what a user sees. */
  duplicateKeys(database: string, table: string): Promise<number>;
  close(): Promise<void>;
}

export function mariaDbTarget(): TestTarget {
  const mysql = mysqlConnection();
  const query = async <T>(sql: string, database?: string): Promise<T[]> => {
    const connection = await connectMySql(database);
    try {
      return (await connection.query(sql))[0] as T[];
    } finally {
      await connection.end();
    }
  };
  return {
    type: 'mariadb',
    sinkYaml: ({ name, database, pattern, port, extra = [] }) => [
      `  - name: ${name}`,
      '    type: mariadb',
      '    connection:',
      `      host: ${mysql.host}`,
      `      port: ${port ?? mysql.port}`,
      `      user: ${mysql.user}`,
      `      password: "${mysql.password ?? ''}"`,
      `      database: ${database}`,
      `    topics: { pattern: '${pattern}' }`,
      ...extra,
    ],
    createDatabase: async (name) => void (await query(`CREATE DATABASE \`${name}\``)),
    dropDatabase: async (name) => void (await query(`DROP DATABASE IF EXISTS \`${name}\``)),
    state: async (database, table) => {
      const rows = await query<{ id: string; val: string; n: number }>(`SELECT id, val, n FROM \`${table}\``, database);
      return new Map(rows.map((r) => [String(r.id), { val: r.val, n: Number(r.n) }]));
    },
    positions: async (database, table) => {
      const rows = await query<{ id: string; p: string }>(`SELECT id, \`${POSITION_COLUMN}\` AS p FROM \`${table}\``, database);
      return new Map(rows.map((r) => [String(r.id), r.p]));
    },
    column: async (database, table, column) => {
      const rows = await query<{ id: string; v: unknown }>(`SELECT id, \`${column}\` AS v FROM \`${table}\``, database);
      return new Map(rows.map((r) => [String(r.id), r.v === null ? null : String(r.v)]));
    },
    rowCount: async (database, table) => Number((await query<{ n: number }>(`SELECT COUNT(*) AS n FROM \`${table}\``, database))[0]?.n),
    duplicateKeys: async () => 0, // the primary key makes them impossible
    close: async () => undefined,
  };
}

export function clickHouseTarget(): TestTarget {
  const url = stackEnv('CLICKHOUSE_URL');
  // Polling a table that does not exist yet is expected: the client must not log each failure.
  const client: ClickHouseClient = createClient({ url, log: { level: ClickHouseLogLevel.OFF } });
  const rows = async <T>(query: string): Promise<T[]> => (await (await client.query({ query, format: 'JSONEachRow' })).json()) as T[];
  // What a user queries: the latest version of each key, deleted keys left out.
  const visible = (database: string, table: string) => `\`${database}\`.\`${table}\` FINAL WHERE \`${DELETED_COLUMN}\` = 0`;
  return {
    type: 'clickhouse',
    sinkYaml: ({ name, database, pattern, port, extra = [] }) => {
      const target = new URL(url);
      if (port) target.port = String(port);
      return [
        `  - name: ${name}`,
        '    type: clickhouse',
        '    connection:',
        `      url: ${target.origin}`,
        `      database: ${database}`,
        `    topics: { pattern: '${pattern}' }`,
        ...extra,
      ];
    },
    createDatabase: async (name) => void (await client.command({ query: `CREATE DATABASE \`${name}\`` })),
    dropDatabase: async (name) => void (await client.command({ query: `DROP DATABASE IF EXISTS \`${name}\`` })),
    state: async (database, table) => {
      const result = await rows<{ id: string; val: string; n: number }>(`SELECT toString(id) AS id, val, n FROM ${visible(database, table)}`);
      return new Map(result.map((r) => [r.id, { val: r.val, n: Number(r.n) }]));
    },
    positions: async (database, table) => {
      const result = await rows<{ id: string; p: string }>(`SELECT toString(id) AS id, \`${POSITION_COLUMN}\` AS p FROM ${visible(database, table)}`);
      return new Map(result.map((r) => [r.id, r.p]));
    },
    column: async (database, table, column) => {
      const result = await rows<{ id: string; v: string | null }>(`SELECT toString(id) AS id, toString(\`${column}\`) AS v FROM ${visible(database, table)}`);
      return new Map(result.map((r) => [r.id, r.v]));
    },
    rowCount: async (database, table) => Number((await rows<{ n: string }>(`SELECT count() AS n FROM ${visible(database, table)}`))[0]?.n),
    duplicateKeys: async (database, table) => {
      const result = await rows<{ n: string }>(`SELECT count() - uniqExact(id) AS n FROM \`${database}\`.\`${table}\` FINAL`);
      return Number(result[0]?.n ?? 0);
    },
    close: () => client.close(),
  };
}
