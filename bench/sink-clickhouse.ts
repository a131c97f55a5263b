// bench/sink-clickhouse: the sink's drain rate from Kafka into ClickHouse beside the same inserts run from memory.
// Run: npx tsx bench/sink-clickhouse.ts [events] [keys] [batch rows]
import { createClient } from '@clickhouse/client';
import { stackEnv } from '#test/support/stack-env.ts';
import { runSinkBench } from './sink-bench.ts';

const url = stackEnv('CLICKHOUSE_URL');
const client = createClient({ url });
try {
  await runSinkBench({
    name: 'clickhouse',
    connection: (database) => [`      url: ${url}`, `      database: ${database}`],
    createDatabase: async (name) => void (await client.command({ query: `CREATE DATABASE \`${name}\`` })),
    dropDatabase: async (name) => void (await client.command({ query: `DROP DATABASE IF EXISTS \`${name}\`` })),
    countRows: async (database, table) => {
      // FINAL: what a user querying the table sees, duplicates of a key merged away.
      const result = await client.query({ query: `SELECT count() AS n FROM \`${database}\`.\`${table}\` FINAL`, format: 'JSONEachRow' });
      return Number(((await result.json()) as Array<{ n: string }>)[0]?.n);
    },
  });
} finally {
  await client.close();
}
