import mysql from 'mysql2/promise';
import { mySqlOptions, type MySqlConnectionConfig } from '#mysql/connection.ts';
import { stackEnv } from './stack-env.ts';
import { uniqueName } from './wait.ts';

/** The stack's MariaDB as a resolved connection block, from MYSQL_URL. */
export function mysqlConnection(): MySqlConnectionConfig {
  const url = new URL(stackEnv('MYSQL_URL'));
  return {
    host: url.hostname,
    port: Number(url.port || 3306),
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
  };
}

export async function connectMySql(database?: string): Promise<mysql.Connection> {
  const connection = await mysql.createConnection({ ...mySqlOptions(mysqlConnection()), ...(database ? { database } : {}), multipleStatements: true });
  await connection.query("SET time_zone = '+00:00'");
  return connection;
}

/** A database of its own for one test; dropped by the returned function. */
export async function scratchDatabase(prefix: string): Promise<{ name: string; drop: () => Promise<void> }> {
  const name = uniqueName(prefix);
  const admin = await connectMySql();
  await admin.query(`CREATE DATABASE \`${name}\``);
  await admin.end();
  return {
    name,
    drop: async () => {
      const connection = await connectMySql();
      await connection.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await connection.end();
    },
  };
}
