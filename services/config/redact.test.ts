import { describe, expect, it } from 'vitest';
import { SAMPLE_CONFIG_YAML } from './fixtures.ts';
import { parseConfig } from './load.ts';
import { collectSecrets, isSecretKey, redact, redactText, redactUrlPasswords } from './redact.ts';

describe('redact', () => {
  it('masks values under secret-named keys, deeply, without touching the input', () => {
    const input = {
      kafka: {
        sasl: { mechanism: 'plain', username: 'svc', password: 'sasl-pw' },
        tls: { ca: '/ca.pem', cert: '/c.pem', key: '/k.pem' },
      },
      schemaRegistry: { url: 'http://r', auth: { username: 'reg', password: 'reg-pw' } },
      list: [{ passwd: 'a', Api_Key: 'b', apiKey: 'c', clientSecret: 'd', accessToken: 'e', PASS: 'f' }],
      absent: { password: undefined },
      counts: { passwordLength: 7 },
    };
    const copy = JSON.parse(JSON.stringify(input));
    expect(redact(input)).toEqual({
      kafka: {
        sasl: { mechanism: 'plain', username: 'svc', password: '***' },
        tls: { ca: '/ca.pem', cert: '/c.pem', key: '***' },
      },
      schemaRegistry: { url: 'http://r', auth: { username: 'reg', password: '***' } },
      list: [{ passwd: '***', Api_Key: '***', apiKey: '***', clientSecret: '***', accessToken: '***', PASS: '***' }],
      absent: { password: undefined },
      counts: { passwordLength: 7 },
    });
    expect(input).toEqual({ ...copy, absent: { password: undefined } });
  });

  it('masks only tls.key, not other keys named key', () => {
    expect(isSecretKey('key', 'tls')).toBe(true);
    expect(isSecretKey('key', 'partition')).toBe(false);
    expect(redact({ message: { key: 'k1' } })).toEqual({ message: { key: 'k1' } });
  });

  it('masks passwords inside URL strings', () => {
    expect(redact({ url: 'mysql://cdc:hunter2@db:3306/shop', plain: 'http://r:8081/x' })).toEqual({
      url: 'mysql://cdc:***@db:3306/shop',
      plain: 'http://r:8081/x',
    });
    expect(redactUrlPasswords('a postgres://u:p@ss@h/db b mysql://only-user@h')).toBe(
      'a postgres://u:***@h/db b mysql://only-user@h',
    );
  });
});

describe('redactText', () => {
  it('replaces every occurrence of each known secret, longest first', () => {
    expect(redactText('pw=abcdef; again abcdef; part abc', ['abc', 'abcdef'])).toBe('pw=***; again ***; part ***');
  });

  it('ignores empty and very short secrets', () => {
    expect(redactText('a ab abc', ['', 'a', 'ab'])).toBe('a ab abc');
  });

  it('also masks the %-encoded form and URL passwords', () => {
    expect(redactText('url mysql://u:p%40ss@h and p@ss', ['p@ss'])).toBe('url mysql://u:***@h and ***');
    expect(redactText('connect http://u:unknown@h failed', [])).toBe('connect http://u:***@h failed');
  });
});

describe('collectSecrets', () => {
  it('gathers passwords, sasl, registry auth and URL passwords from a parsed config', () => {
    const config = parseConfig(
      `kafka:
  brokers: k:9092
  sasl: { mechanism: plain, username: u, password: sasl-secret }
schemaRegistry:
  url: http://reg:p%21w@registry:8081
  auth: { username: reg, password: registry-secret }
sources:
  - { name: a, type: mysql, connection: { url: 'mysql://u:url-secret@db/x' } }
  - { name: b, type: postgres, connection: { user: u, password: field-secret, database: d } }
`,
      {},
      'test.yaml',
    );
    expect(collectSecrets(config).sort()).toEqual(
      ['sasl-secret', 'p%21w', 'p!w', 'registry-secret', 'url-secret', 'field-secret'].sort(),
    );
  });

  it('finds the sample config passwords', () => {
    const secrets = collectSecrets(parseConfig(SAMPLE_CONFIG_YAML, { CLICKHOUSE_PASSWORD: 'ch-pw' }, 'x'));
    expect(secrets).toEqual(expect.arrayContaining(['tributary', 'ch-pw']));
  });
});
