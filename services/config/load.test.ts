import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from './errors.ts';
import { CANARY_SECRET, SAMPLE_CONFIG_YAML } from './fixtures.ts';
import { configuredByName, loadConfig, parseConfig, resolveConfigPath } from './load.ts';
import { configErrorOf, MINIMAL_YAML } from './test-helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'tributary-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeConfig(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('loadConfig', () => {
  it('loads a file given by path', () => {
    const file = writeConfig('sample.yaml', SAMPLE_CONFIG_YAML);
    const config = loadConfig(file, { KAFKA_BROKERS: 'a:1,b:2' });
    expect(config.kafka.brokers).toEqual(['a:1', 'b:2']);
    expect(config.sources.map((s) => s.name)).toEqual(['shop', 'billing']);
  });

  it('falls back to TRIBUTARY_CONFIG, then ./tributary.yaml', () => {
    const file = writeConfig('from-env.yaml', MINIMAL_YAML);
    expect(loadConfig(undefined, { TRIBUTARY_CONFIG: file }).kafka.brokers).toEqual(['kafka-1:9092']);
    expect(resolveConfigPath(undefined, {})).toBe(resolve('tributary.yaml'));
    expect(resolveConfigPath('x.yaml', { TRIBUTARY_CONFIG: '/etc/t.yaml' })).toBe(resolve('x.yaml'));
  });

  it('reports a missing file with the path and how to point at one', () => {
    const file = join(dir, 'nope.yaml');
    const error = configErrorOf(() => loadConfig(file, {}));
    expect(error.message).toBe(
      `Configuration error in ${file}:\n  - file not found; pass a path, set TRIBUTARY_CONFIG, or create ./tributary.yaml`,
    );
    expect(error).toMatchObject({ code: 'CONFIG_INVALID', retriable: false, name: 'ConfigError', file });
  });

  it('reports a directory given as the config file', () => {
    const sub = join(dir, 'a-directory');
    mkdirSync(sub);
    expect(configErrorOf(() => loadConfig(sub, {})).problems).toEqual(['this is a directory; expected a YAML file']);
  });

  it('reports an empty file, and a file of only comments, as empty', () => {
    for (const text of ['', '  \n\n', '# nothing yet\n']) {
      const file = writeConfig('empty.yaml', text);
      expect(configErrorOf(() => loadConfig(file, {})).message).toContain('the file is empty');
    }
  });

  it('starts the message with the file path and lists one problem per line', () => {
    const file = writeConfig('bad.yaml', 'kafka:\n  brokers: []\n  clientId: 7\n');
    const error = configErrorOf(() => loadConfig(file, {}));
    expect(error.message.split('\n')).toEqual([
      `Configuration error in ${file} (3 problems):`,
      '  - kafka.brokers: must not be empty',
      '  - kafka.clientId: expected string, received number (quote the value in YAML to keep it a string)',
      '  - schemaRegistry: missing required key (expected object)',
    ]);
  });
});

describe('parseConfig errors', () => {
  it('gives YAML syntax errors with line and column', () => {
    const error = configErrorOf(() => parseConfig('kafka:\n  brokers: [a:9092\nschemaRegistry: {}\n', {}, 'x.yaml'));
    expect(error.problems[0]).toMatch(/^line 3, column 1: YAML syntax error: /);
  });

  it('reports duplicate keys as a YAML error', () => {
    const error = configErrorOf(() => parseConfig('kafka: {}\nkafka: {}\n', {}, 'x.yaml'));
    expect(error.problems).toEqual(['line 2, column 1: YAML syntax error: Map keys must be unique']);
  });

  it('hints at quoting unquoted ${VAR} inside flow collections', () => {
    const error = configErrorOf(() => parseConfig('kafka: { brokers: ${B}, clientId: x }\n', {}, 'x.yaml'));
    expect(error.problems[0]).toContain('quote ${…} references inside { } or [ ]');
  });

  it('rejects a top level that is not a mapping', () => {
    expect(configErrorOf(() => parseConfig('- a\n- b\n', {}, 'x.yaml')).problems).toEqual([
      'expected a YAML mapping at the top level, received array',
    ]);
  });

  it('reports substitution problems with the file name', () => {
    const error = configErrorOf(() => parseConfig(`${MINIMAL_YAML}sources:\n  - connection:\n      password: \${DB_PW}\n`, {}, 'f.yaml'));
    expect(error.message).toContain('f.yaml');
    expect(error.problems).toEqual([
      'sources[0].connection.password: environment variable DB_PW is not set; export DB_PW=… or write ${DB_PW:-default} to give a default',
    ]);
  });
});

describe('secrets never reach error messages', () => {
  const expectNoCanary = (yaml: string, env: Record<string, string> = {}) => {
    const error = configErrorOf(() => parseConfig(yaml, env, 'secret.yaml'));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).not.toContain(CANARY_SECRET);
    expect(error.problems.join('\n')).not.toContain(CANARY_SECRET);
    expect(error.message).not.toContain(encodeURIComponent(CANARY_SECRET));
    return error;
  };

  it('in an error about a sibling of the password', () => {
    const error = expectNoCanary(
      `${MINIMAL_YAML}sources:\n  - name: a\n    type: mysql\n    connection: { user: u, port: nope, password: ${CANARY_SECRET}, hots: h }\n`,
    );
    expect(error.problems).toEqual([
      'sources[0].connection.port: expected number, received string',
      'sources[0].connection.hots: unknown key — did you mean "host"? (allowed here: url, host, port, user, password, database)',
    ]);
  });

  it('in errors about a URL that contains the password', () => {
    for (const url of [
      `postgres://u:${CANARY_SECRET}@db:99999/x`,
      `mysql://u:${CANARY_SECRET}@db/x`,
      `postgres://u:${CANARY_SECRET}@db`,
      `postgres://u:${CANARY_SECRET}@db/x?sslmode=require`,
    ]) {
      const error = expectNoCanary(`${MINIMAL_YAML}sources:\n  - { name: a, type: postgres, connection: { url: '${url}' } }\n`);
      expect(error.problems[0]).toMatch(/^sources\[0\]\.connection\.url: /);
    }
  });

  it('in errors about the password itself and secret-bearing values', () => {
    expectNoCanary(`${MINIMAL_YAML}sources:\n  - { name: a, type: mysql, snapshot: ${CANARY_SECRET}, connection: { user: u } }\n`);
    expectNoCanary(`${MINIMAL_YAML}sources:\n  - { name: a, type: mysql, connection: { user: u, port: ${CANARY_SECRET} } }\n`);
    expectNoCanary(`kafka:\n  brokers: ${CANARY_SECRET}\n  sasl: { mechanism: plain, username: u, password: [${CANARY_SECRET}] }\nschemaRegistry: { url: '${CANARY_SECRET}' }\n`);
    expectNoCanary(`${MINIMAL_YAML}sinks:\n  - { name: a, type: clickhouse, topics: [t], connection: { url: 'http://u:${CANARY_SECRET}@ch', password: x } }\n`);
    expectNoCanary(`${MINIMAL_YAML}sinks:\n  - { name: a, type: lake, topics: { pattern: '(${CANARY_SECRET}' }, connection: { path: /d } }\n`);
  });

  it('in errors when the password arrives through the environment', () => {
    const error = expectNoCanary(
      `${MINIMAL_YAML}sources:\n  - { name: a, type: postgres, connection: { url: 'postgres://u:\${PG_PW}@db:0/x' } }\n`,
      { PG_PW: CANARY_SECRET },
    );
    expect(error.problems).toEqual(['sources[0].connection.url: URL port must be between 1 and 65535']);
  });

  it('in YAML syntax errors on the line holding the password', () => {
    expectNoCanary(`kafka:\n  password: "${CANARY_SECRET}\\q"\n`);
    expectNoCanary(`kafka: { password: ${CANARY_SECRET}] }\n`);
    expectNoCanary(`kafka:\n  sasl: |x ${CANARY_SECRET}\n`);
    expectNoCanary(`kafka:\n  a: b\n ${CANARY_SECRET}\n`);
  });
});

describe('configuredByName', () => {
  it('finds an entry by name, or names the ones there are', () => {
    const entries = [{ name: 'shop' }, { name: 'crm' }];
    expect(configuredByName(entries, 'source', 'crm')).toBe(entries[1]);
    expect(() => configuredByName(entries, 'source', 'billing')).toThrow('no source named "billing" in the configuration (sources: shop, crm)');
    expect(() => configuredByName([], 'sink', 'x')).toThrow('(sinks: none)');
  });
});
