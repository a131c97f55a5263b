import mssql from 'mssql';
import { describe, expect, it } from 'vitest';
import { TributaryError } from '#core/errors.ts';
import { classifySqlServerError } from './errors.ts';

const CONNECTION = { host: 'db.example', port: 1433, user: 'tributary', password: 'Hunter2!secret' };

/** A server error as mssql builds it from tedious's error token. */
function serverError(number: number, message: string): mssql.RequestError {
  return new mssql.RequestError(Object.assign(new Error(message), { info: { number } }) as unknown as string, 'EREQUEST');
}

const classify = (error: unknown) => classifySqlServerError(error, 'applying batch b1', CONNECTION);

describe('classifySqlServerError', () => {
  it('retries a deadlock, a lock timeout and transient Azure errors', () => {
    for (const number of [1205, 1222, 40613, 40501]) {
      expect(classify(serverError(number, 'transient'))).toMatchObject({ code: 'TARGET_UNAVAILABLE', retriable: true });
    }
  });

  it('retries a connection that is refused, broken or timed out', () => {
    for (const code of ['ESOCKET', 'ETIMEOUT', 'ECONNCLOSED'] as const) {
      const error = classify(new mssql.ConnectionError('Failed to connect to db.example:1433 - connect ECONNREFUSED', code));
      expect(error).toMatchObject({ code: 'TARGET_UNAVAILABLE', retriable: true });
      expect(error.message).toBe(`applying batch b1: Failed to connect to db.example:1433 - connect ECONNREFUSED`);
    }
  });

  it('retries when the transaction was aborted by a deadlock', () => {
    const aborted = new mssql.TransactionError('Transaction has been aborted.', 'EABORT');
    Object.defineProperty(aborted, 'originalError', { value: serverError(1205, 'deadlocked') });
    expect(classify(aborted)).toMatchObject({ code: 'TARGET_UNAVAILABLE', retriable: true });
  });

  it('rejects a failed login with a clear message that never holds the password', () => {
    const login = new mssql.ConnectionError("Login failed for user 'tributary'. Password 'Hunter2!secret' was wrong", 'ELOGIN');
    const error = classify(login);
    expect(error).toMatchObject({ code: 'TARGET_REJECTED', retriable: false });
    expect(error.message).toContain('SQL Server at db.example:1433 refused the login of user "tributary"');
    expect(error.message).toContain('Check the user, its password');
    expect(error.message).not.toContain('Hunter2!secret');
    expect(classify(serverError(18456, "Login failed for user 'x'."))).toMatchObject({ code: 'TARGET_REJECTED' });
  });

  it('rejects constraint and conversion errors, leading with the cause rather than "statement terminated"', () => {
    const duplicate = serverError(3621, 'The statement has been terminated.');
    Object.assign(duplicate, { precedingErrors: [serverError(2627, "Violation of PRIMARY KEY constraint 'PK_x'.")] });
    const error = classify(duplicate);
    expect(error).toMatchObject({ code: 'TARGET_REJECTED', retriable: false });
    expect(error.message).toBe("applying batch b1: Violation of PRIMARY KEY constraint 'PK_x'. (error 2627)");
    expect(classify(serverError(8115, 'Arithmetic overflow error converting nvarchar to data type numeric.'))).toMatchObject({ code: 'TARGET_REJECTED' });
    expect(classify(serverError(241, 'Conversion failed when converting date and/or time from character string.'))).toMatchObject({ code: 'TARGET_REJECTED' });
  });

  it('rejects a value tedious refuses and an untrusted certificate, saying what to do', () => {
    expect(classify(new TypeError('Invalid GUID.'))).toMatchObject({ code: 'TARGET_REJECTED' });
    const tls = classify(new mssql.ConnectionError('Failed to connect - self-signed certificate in certificate chain', 'ESOCKET'));
    expect(tls).toMatchObject({ code: 'TARGET_REJECTED', retriable: false });
    expect(tls.message).toContain('trustServerCertificate: true');
  });

  it('keeps the code of a TributaryError and reports unknown errors as INTERNAL', () => {
    const inner = new TributaryError('SINK_SCHEMA_INCOMPATIBLE', 'column "a" changed');
    expect(classify(inner)).toMatchObject({ code: 'SINK_SCHEMA_INCOMPATIBLE', message: 'applying batch b1: column "a" changed' });
    expect(classify(new Error('bug'))).toMatchObject({ code: 'INTERNAL', retriable: false });
  });
});
