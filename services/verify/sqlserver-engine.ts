import mssql from 'mssql';
import type { SqlServerConnection } from '#config/connection.ts';
import { TributaryError } from '#core/errors.ts';
import { sqlServerChecksum } from '#sqlserver/checksum.ts';
import { parameterName } from '#sqlserver/dialect.ts';
import { classifySqlServerError } from '#sqlserver/errors.ts';
import type { Engine, SqlRow } from './side.ts';

/** A SQL Server sink's target for verify: a pool that binds the dialect's string parameters as NVARCHAR. */
export class SqlServerEngine implements Engine {
  readonly dialect = sqlServerChecksum;
  private readonly pool: mssql.ConnectionPool;
  private connected: Promise<mssql.ConnectionPool> | undefined;

  constructor(
    readonly label: string,
    private readonly connection: SqlServerConnection,
    connections: number,
  ) {
    const { host, port, user, password, database, encrypt, trustServerCertificate } = connection;
    this.pool = new mssql.ConnectionPool({
      server: host,
      port,
      user,
      password,
      database,
      requestTimeout: 600_000,
      options: { encrypt, trustServerCertificate, useUTC: true, appName: 'tributary verify' },
      pool: { min: 0, max: connections },
    });
    this.pool.on('error', () => undefined);
  }

  async run(statement: { sql: string; params: unknown[] }, action: string): Promise<SqlRow[]> {
    try {
      this.connected ??= this.pool.connect();
      const request = (await this.connected).request();
      statement.params.forEach((value, index) => {
        if (typeof value !== 'string') throw new TributaryError('INTERNAL', `parameter @${parameterName(index)} is not a string`);
        request.input(parameterName(index), mssql.NVarChar(mssql.MAX), value);
      });
      return ((await request.query<SqlRow>(statement.sql)).recordset ?? []) as SqlRow[];
    } catch (error) {
      const { host, port, user, password } = this.connection;
      throw classifySqlServerError(error, action, { host, port, user, ...(password === undefined ? {} : { password }) });
    }
  }

  async close(): Promise<void> {
    await this.pool.close().catch(() => undefined);
  }
}
