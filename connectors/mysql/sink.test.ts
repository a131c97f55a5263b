import { describe, expect, it } from 'vitest';
import { MysqlSinkConfigSchema } from '#config/schema.ts';
import { TributaryError } from '#core/errors.ts';
import { classifyMySqlTargetError, MySqlSink } from './sink.ts';

const driverError = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('classifyMySqlTargetError', () => {
  it.each([
    ['ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:3306'],
    ['PROTOCOL_CONNECTION_LOST', 'Connection lost: The server closed the connection.'],
    ['ER_LOCK_WAIT_TIMEOUT', 'Lock wait timeout exceeded; try restarting transaction'],
    ['ER_LOCK_DEADLOCK', 'Deadlock found when trying to get lock; try restarting transaction'],
    ['ER_OPTION_PREVENTS_STATEMENT', 'The MariaDB server is running with the --read-only option'],
  ])('makes %s a retriable TARGET_UNAVAILABLE', (code, message) => {
    const error = classifyMySqlTargetError('applying a batch', driverError(code, message));
    expect(error.code).toBe('TARGET_UNAVAILABLE');
    expect(error.retriable).toBe(true);
    expect(error.message).toBe(`applying a batch: ${message}`);
  });

  it.each([
    ['ER_DUP_ENTRY', "Duplicate entry '1' for key 'PRIMARY'"],
    ['ER_DATA_TOO_LONG', "Data too long for column 'note' at row 1"],
    ['ER_BAD_NULL_ERROR', "Column 'id' cannot be null"],
    ['ER_NO_SUCH_TABLE', "Table 'sink.orders' doesn't exist"],
  ])('makes %s a fatal TARGET_REJECTED', (code, message) => {
    const error = classifyMySqlTargetError('applying a batch', driverError(code, message));
    expect(error.code).toBe('TARGET_REJECTED');
    expect(error.retriable).toBe(false);
  });

  it('says what to check when access is denied or the database is missing', () => {
    const denied = classifyMySqlTargetError('connecting', driverError('ER_ACCESS_DENIED_ERROR', "Access denied for user 'u'@'10.0.0.5' (using password: YES)"));
    expect(denied.code).toBe('TARGET_REJECTED');
    expect(denied.message).toBe(
      "connecting: Access denied for user 'u'@'10.0.0.5' (using password: YES); check the user and password in the sink's " +
        'connection block, and that this user may connect from this host',
    );
    expect(classifyMySqlTargetError('connecting', driverError('ER_BAD_DB_ERROR', "Unknown database 'nope'")).message).toMatch(/create the database/);
  });

  it('keeps the code of an error already classified and adds the action', () => {
    const inner = new TributaryError('SINK_SCHEMA_INCOMPATIBLE', 'column "x" narrowed');
    const error = classifyMySqlTargetError('preparing t', inner);
    expect(error.code).toBe('SINK_SCHEMA_INCOMPATIBLE');
    expect(error.message).toBe('preparing t: column "x" narrowed');
  });
});

describe('MySqlSink', () => {
  const config = (connection: Record<string, unknown>) =>
    MysqlSinkConfigSchema.parse({ type: 'mariadb', name: 'warehouse', topics: ['shop.shop.orders'], connection });

  it('needs a database to write to, and says how to name one', () => {
    expect(() => new MySqlSink(config({ host: 'db', user: 'u' }))).toThrow(
      'sink "warehouse": connection.database is required: name the database the sink creates its tables in ' +
        '(database: analytics, or mysql://user@host:3306/analytics)',
    );
  });

  it('refuses work before connect() and after close(), and closes twice safely', async () => {
    const sink = new MySqlSink(config({ url: 'mysql://u@127.0.0.1:1/analytics' }));
    await expect(sink.apply([], 't')).resolves.toBeUndefined(); // nothing to write: no connection needed
    const table = { namespace: 's', table: 't', columns: [], primaryKey: [] };
    await expect(sink.prepare(table)).rejects.toThrow(/is not connected/);
    await sink.close();
    await sink.close();
    await expect(sink.connect()).rejects.toThrow(/was closed/);
  });
});
