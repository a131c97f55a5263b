import { randomBytes } from 'node:crypto';
import mysql, { type Connection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TributaryError } from '#core/errors.ts';
import { mySqlOptions, type MySqlConnectionConfig } from '#mysql/connection.ts';
import { detectFlavor, preflight } from '#mysql/preflight.ts';
import { mysqlConnection } from '#test/support/mysql.ts';
import { uniqueName } from '#test/support/wait.ts';

// The stack's MariaDB is set up for capture, so preflight passes there; a user holding only SELECT is refused
// with the GRANT statements that fix it, and nothing in the refusal gives the password away.

const admin: MySqlConnectionConfig = mysqlConnection();
const limitedUser = uniqueName('tp');
const limitedPassword = randomBytes(12).toString('hex');

describe('preflight against the stack MariaDB', () => {
  let conn: Connection;

  beforeAll(async () => {
    conn = await mysql.createConnection(mySqlOptions(admin));
    await conn.query("CREATE USER ?@'%' IDENTIFIED BY ?", [limitedUser, limitedPassword]);
    await conn.query("GRANT SELECT ON *.* TO ?@'%'", [limitedUser]);
  });
  afterAll(async () => {
    await conn?.query("DROP USER IF EXISTS ?@'%'", [limitedUser]);
    await conn?.end();
  });

  it('detects MariaDB', async () => {
    expect(await detectFlavor(conn)).toBe('mariadb');
  });

  it('passes for the stack user in every snapshot mode', async () => {
    for (const snapshot of ['initial', 'never', 'when_needed', 'schema_only'] as const) {
      await expect(preflight(conn, { snapshot })).resolves.toBeUndefined();
    }
  });

  it('refuses a SELECT-only user with one line per missing privilege and its GRANT, never the password', async () => {
    const limited = await mysql.createConnection(mySqlOptions({ ...admin, user: limitedUser, password: limitedPassword }));
    try {
      const error = await preflight(limited, { snapshot: 'initial' }).then(
        () => undefined,
        (thrown: unknown) => thrown,
      );
      expect(error).toBeInstanceOf(TributaryError);
      const { code, message } = error as TributaryError;
      expect(code).toBe('PREFLIGHT_FAILED');
      expect(message.split('\n')).toEqual([
        `privilege REPLICATION SLAVE is not granted to \`${limitedUser}\`@\`%\` (needed to stream the binlog); ` +
          `run GRANT REPLICATION SLAVE ON *.* TO \`${limitedUser}\`@\`%\``,
        `privilege BINLOG MONITOR is not granted to \`${limitedUser}\`@\`%\` (needed to list binlog files and read the binlog ` +
          `position); run GRANT BINLOG MONITOR ON *.* TO \`${limitedUser}\`@\`%\``,
      ]);
      expect(message).not.toContain(limitedPassword);
      expect(message).not.toMatch(/IDENTIFIED|PASSWORD/i);
    } finally {
      await limited.end();
    }
  });
});
