import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkConfig } from './check.ts';
import { CANARY_SECRET, SAMPLE_CONFIG_YAML } from './fixtures.ts';
import { configErrorOf } from './test-helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'tributary-check-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('checkConfig', () => {
  it('summarises brokers, registry, sources and sinks', () => {
    const file = join(dir, 'tributary.yaml');
    writeFileSync(file, SAMPLE_CONFIG_YAML);
    expect(checkConfig(file, {}).split('\n')).toEqual([
      `Configuration OK: ${file}`,
      'kafka: brokers=127.0.0.1:19092 topicPrefix=tributary',
      'schema registry: http://127.0.0.1:18081/apis/ccompat/v7',
      'sources (2):',
      '  shop mariadb 127.0.0.1:13306/shop include=shop.* exclude=shop.*_tmp,shop.sessions snapshot=initial',
      '  billing postgres 127.0.0.1:15432/billing include=public.invoice?,public.payments snapshot=when_needed',
      'sinks (2):',
      '  reporting mysql topics=/^tributary\\.shop\\./ -> 127.0.0.1:13307/reporting',
      '  analytics clickhouse topics=tributary.shop.shop.orders,tributary.billing.public.invoices -> http://127.0.0.1:18123 database=analytics',
      'admin: 127.0.0.1:8780',
    ]);
  });

  it('prints no secret, wherever it was configured', () => {
    const file = join(dir, 'secrets.yaml');
    writeFileSync(file, SAMPLE_CONFIG_YAML);
    const env = {
      SCHEMA_REGISTRY_URL: `https://reg:${CANARY_SECRET}@registry.example.com/apis/ccompat/v7`,
      MARIADB_PASSWORD: CANARY_SECRET,
      POSTGRES_PASSWORD: CANARY_SECRET,
      MYSQL_PASSWORD: CANARY_SECRET,
      CLICKHOUSE_PASSWORD: CANARY_SECRET,
      CLICKHOUSE_URL: 'http://clickhouse:8123',
    };
    const summary = checkConfig(file, env);
    expect(summary).not.toContain(CANARY_SECRET);
    expect(summary).toContain('schema registry: https://reg:***@registry.example.com/apis/ccompat/v7');
    expect(summary).toContain('-> http://clickhouse:8123 database=analytics');
  });

  it('throws a ConfigError for an invalid file', () => {
    const file = join(dir, 'invalid.yaml');
    writeFileSync(file, 'kafka: {}\n');
    expect(configErrorOf(() => checkConfig(file, {})).message).toContain(file);
  });
});
