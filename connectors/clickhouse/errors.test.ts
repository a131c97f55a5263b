import { describe, expect, it } from 'vitest';
import { TributaryError } from '#core/errors.ts';
import { classifyClickHouseError } from './errors.ts';

const systemError = (code: string, message: string) => Object.assign(new Error(message), { code });
// What @clickhouse/client rejects with: a plain Error with 18.16's text, a ClickHouseError-like one from newer servers.
const old = (code: number, text: string) => new Error(`Code: ${code}, e.displayText() = DB::Exception: ${text}, e.what() = DB::Exception\n`);
const current = (code: number, text: string, type: string) => Object.assign(new Error(text), { code: String(code), type });

describe('classifyClickHouseError', () => {
  it('makes an unreachable or overloaded server retriable TARGET_UNAVAILABLE', () => {
    for (const error of [
      systemError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:8123'),
      systemError('ECONNRESET', 'socket hang up'),
      new Error('Timeout error.'),
      old(252, 'Too many parts (300). Merges are processing significantly slower than inserts'),
      current(241, 'Memory limit (total) exceeded', 'MEMORY_LIMIT_EXCEEDED'),
      new Error('<html><head><title>502 Bad Gateway</title></head></html>'),
    ]) {
      const classified = classifyClickHouseError('writing', error);
      expect(classified).toMatchObject({ code: 'TARGET_UNAVAILABLE', retriable: true });
      expect(classified.message).toMatch(/^writing: /);
    }
  });

  it('makes everything else a fatal TARGET_REJECTED with the server sentence', () => {
    const classified = classifyClickHouseError('writing into t', old(60, "Table db.t doesn't exist."));
    expect(classified).toMatchObject({ code: 'TARGET_REJECTED', retriable: false });
    expect(classified.message).toBe("writing into t: code 60: Table db.t doesn't exist.");
    expect(classifyClickHouseError('x', current(62, 'Syntax error', 'SYNTAX_ERROR'))).toMatchObject({ code: 'TARGET_REJECTED' });
  });

  it('says how to fix a refused login and never shows the password', () => {
    for (const error of [old(193, 'Wrong password for user default'), current(516, 'default: Authentication failed: password is incorrect', 'AUTHENTICATION_FAILED')]) {
      const classified = classifyClickHouseError('connecting', error, 's3cret');
      expect(classified).toMatchObject({ code: 'TARGET_REJECTED', retriable: false });
      expect(classified.message).toMatch(/refused the login.*check username and password/);
    }
    const echoed = classifyClickHouseError('connecting', old(193, 'Wrong password s3cret for user default'), 's3cret');
    expect(echoed.message).not.toContain('s3cret');
  });

  it('keeps a TributaryError, adding the action; reports bugs as INTERNAL', () => {
    const kept = classifyClickHouseError('writing', new TributaryError('VALUE_INVALID', 'column "c": bad'));
    expect(kept).toMatchObject({ code: 'VALUE_INVALID', message: 'writing: column "c": bad' });
    expect(classifyClickHouseError('writing', new TypeError('x is undefined'))).toMatchObject({ code: 'INTERNAL', retriable: false });
  });
});

describe('classifyClickHouseError: schema races between sink instances', () => {
  it('retries an ADD COLUMN of a column that another instance has just added, and nothing else of ILLEGAL_COLUMN', () => {
    const raced = classifyClickHouseError('preparing t', new Error('Code: 44, e.displayText() = DB::Exception: Cannot add column b: column with this name already exists'));
    expect(raced.retriable).toBe(true);
    const other = classifyClickHouseError('inserting', new Error('Code: 44, e.displayText() = DB::Exception: Sorting key cannot contain nullable columns'));
    expect(other.retriable).toBe(false);
  });
});
