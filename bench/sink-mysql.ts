// bench/sink-mysql: the sink's drain rate from Kafka into MariaDB beside the same upserts run from memory.
// Run: npx tsx bench/sink-mysql.ts [events] [keys] [batch rows]
import { connectMySql, mysqlConnection } from '#test/support/mysql.ts';
import { runSinkBench } from './sink-bench.ts';

const mysql = mysqlConnection();
await runSinkBench({
  name: 'mariadb',
  connection: (database) => [
    `      host: ${mysql.host}`,
    `      port: ${mysql.port}`,
    `      user: ${mysql.user}`,
    `      password: "${mysql.password ?? ''}"`,
    `      database: ${database}`,
  ],
  createDatabase: async (name) => {
    const c = await connectMySql();
    await c.query(`CREATE DATABASE \`${name}\``);
    await c.end();
  },
  dropDatabase: async (name) => {
    const c = await connectMySql();
    await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
    await c.end();
  },
  countRows: async (database, table) => {
    const c = await connectMySql(database);
    const [rows] = await c.query(`SELECT COUNT(*) AS n FROM \`${table}\``);
    await c.end();
    return Number((rows as Array<{ n: number }>)[0]?.n);
  },
});
