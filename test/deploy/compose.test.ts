import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '#config/load.ts';
import { containerEnv, readCompose, readText, repoPath, type ComposeService } from './files.ts';

/**
 * docker-compose.yml: valid against the Compose specification, every image pinned, and the Tributary services in
 * step with deploy/compose/tributary.yaml (one capture per source, one sink per target, health checks on the ports
 * the config gives them).
 */

const compose = readCompose();
const services = Object.entries(compose.services);
const tributaryServices = services.filter(([, service]) => service.image?.startsWith('tributary:'));
const PACKAGE_VERSION = (JSON.parse(readText('package.json')) as { version: string }).version;

/** dclint (npm) ships the Compose specification's JSON schema and validates a file against it. */
interface Linter {
  lintFiles(paths: string[], recursive: boolean): { messages: { rule: string; message: string }[] }[];
}
async function composeValidator(): Promise<Linter | string> {
  const name = 'dclint';
  try {
    const { DCLinter } = (await import(/* @vite-ignore */ name)) as { DCLinter: new (config: object) => Linter };
    return new DCLinter({ rules: {}, quiet: true, debug: false, exclude: [] });
  } catch (error) {
    return `the Compose specification validator is not installed (npm package dclint: ${(error as Error).message}); run npm ci`;
  }
}
const validator = await composeValidator();

describe('docker-compose.yml', () => {
  const unavailable = typeof validator === 'string' ? ` (skipped: ${validator})` : '';

  it.skipIf(unavailable !== '')(`is valid against the Compose specification schema${unavailable}`, () => {
    const [result] = (validator as Linter).lintFiles([repoPath('docker-compose.yml')], false);
    // dclint also lints style (its own rules); only its schema and YAML checks say whether the file is valid Compose.
    const invalid = (result?.messages ?? []).filter((m) => m.rule === 'invalid-schema' || m.rule === 'invalid-yaml');
    expect(invalid.map((m) => m.message)).toEqual([]);
  });

  it.skipIf(unavailable !== '')(`and the validator rejects a file that is not valid Compose${unavailable}`, () => {
    const file = `${mkdtempSync(`${tmpdir()}/compose-`)}/docker-compose.yml`;
    writeFileSync(file, 'services:\n  a:\n    image: busybox:1.36\n    depends_on:\n      b: {condition: when_it_feels_like_it}\n');
    const [result] = (validator as Linter).lintFiles([file], false);
    expect(result?.messages.some((m) => m.rule === 'invalid-schema')).toBe(true);
  });

  it('pins every image to a version, or builds it locally', () => {
    const unpinned = services.filter(([, service]) => {
      if (service.image === undefined) return service.build === undefined;
      const tag = /:([^/:@]+)$/.exec(service.image)?.[1];
      const digest = service.image.includes('@sha256:');
      return !digest && (tag === undefined || tag === 'latest' || !/\d/.test(tag));
    });
    expect(unpinned.map(([name, service]) => `${name}: ${service.image ?? '(no image)'}`)).toEqual([]);
  });

  it('builds the Tributary services from deploy/Dockerfile as tributary:<package version>', () => {
    expect(tributaryServices.length).toBeGreaterThan(0);
    for (const [name, service] of tributaryServices) {
      expect(service.build, name).toEqual({ context: '.', dockerfile: 'deploy/Dockerfile' });
      expect(service.image, name).toBe(`tributary:${PACKAGE_VERSION}`);
      expect(service.volumes, name).toContain('./deploy/compose/tributary.yaml:/etc/tributary/tributary.yaml:ro');
    }
  });

  it('keeps the servers developers test against on their ports', () => {
    const ports = Object.fromEntries(services.map(([name, service]) => [name, service.ports ?? []]));
    expect(ports).toMatchObject({
      kafka: ['19092:19092'],
      registry: ['18081:8080'],
      mariadb: ['13306:3306'],
      postgres: ['15432:5432'],
      clickhouse: ['18123:8123', '19000:9000'],
      sqlserver: ['11433:1433'],
    });
  });

  it('runs the MySQL 8 source with ROW/FULL binlog and GTIDs, and PostgreSQL 16 with wal_level=logical', () => {
    const mysql = compose.services['mysql-source'] as ComposeService;
    expect(mysql.image).toMatch(/^mysql:8\./);
    expect(mysql.command).toEqual(
      expect.arrayContaining(['--binlog-format=ROW', '--binlog-row-image=FULL', '--binlog-row-metadata=FULL', '--gtid-mode=ON', '--enforce-gtid-consistency=ON']),
    );
    const postgres = compose.services.postgres as ComposeService;
    expect(postgres.image).toMatch(/^postgres:16\./);
    expect(postgres.command).toEqual(expect.arrayContaining(['wal_level=logical']));
    expect(compose.services.sqlserver?.image).toMatch(/mssql\/server:2022-/);
  });

  it('loads the demo shop schema into both sources on first start', () => {
    expect(compose.services['mysql-source']?.volumes).toContain('./deploy/demo/shop-mysql.sql:/docker-entrypoint-initdb.d/shop-mysql.sql:ro');
    expect(compose.services.postgres?.volumes).toContain('./deploy/demo/shop-postgres.sql:/docker-entrypoint-initdb.d/shop-postgres.sql:ro');
  });

  it('mounts only files that exist (the demo schema aside, which deploy/demo provides)', () => {
    const missing = services.flatMap(([name, service]) =>
      (service.volumes ?? [])
        .map((volume) => volume.split(':')[0] as string)
        .filter((source) => source.startsWith('./') && !source.startsWith('./deploy/demo/') && !existsSync(repoPath(source.slice(2))))
        .map((source) => `${name}: ${source}`),
    );
    expect(missing).toEqual([]);
  });

  it('names only services that exist in depends_on, and every Tributary service waits for what it needs', () => {
    for (const [name, service] of services) {
      for (const dependency of Object.keys(service.depends_on ?? {})) expect(compose.services[dependency], `${name} -> ${dependency}`).toBeDefined();
    }
    for (const [name, service] of tributaryServices) {
      expect(service.depends_on?.kafka, name).toEqual({ condition: 'service_healthy' });
      expect(service.healthcheck, name).toBeDefined();
    }
    // A service that others wait on as healthy has a health check.
    for (const [, service] of services) {
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        if (condition === 'service_healthy') expect(compose.services[dependency]?.healthcheck, dependency).toBeDefined();
      }
    }
  });
});

describe('the Tributary services of docker-compose.yml and deploy/compose/tributary.yaml', () => {
  const config = (service: ComposeService) => parseConfig(readText('deploy/compose/tributary.yaml'), containerEnv(service), 'deploy/compose/tributary.yaml');
  const byCommand = (verb: string) =>
    new Map(tributaryServices.filter(([, service]) => service.command?.[0] === verb).map(([name, service]) => [service.command?.[1] as string, { name, service }]));
  const captures = byCommand('capture');
  const sinks = byCommand('sink');
  const admins = tributaryServices.filter(([, service]) => service.command?.[0] === 'admin');

  it('run one capture per source, one sink per sink, and one admin service', () => {
    const [[, any]] = tributaryServices as [[string, ComposeService]];
    const settings = config(any);
    expect([...captures.keys()].sort()).toEqual(settings.sources.map((s) => s.name).sort());
    expect([...sinks.keys()].sort()).toEqual(settings.sinks.map((s) => s.name).sort());
    expect(admins).toHaveLength(1);
    expect(settings.sources.map((s) => s.type).sort()).toEqual(['mysql', 'postgres']);
    expect(settings.sinks.map((s) => s.type).sort()).toEqual(['clickhouse', 'mysql', 'sqlserver']);
  });

  it('check each process on the port of its own http block, listening beyond loopback with the admin token', () => {
    for (const [entity, { name, service }] of [...captures, ...sinks]) {
      const settings = config(service);
      const entry = [...settings.sources, ...settings.sinks].find((e) => e.name === entity);
      expect(entry?.http, name).toEqual({ host: '0.0.0.0', port: Number(service.environment?.TRIBUTARY_HEALTH_PORT) });
      expect(settings.admin.token?.length, name).toBeGreaterThanOrEqual(16);
    }
    const [, admin] = admins[0] as [string, ComposeService];
    expect(Number(admin.environment?.TRIBUTARY_HEALTH_PORT)).toBe(config(admin).admin.port);
  });

  it('let the admin service reach every process at its compose service name and port', () => {
    const [, admin] = admins[0] as [string, ComposeService];
    const settings = config(admin);
    for (const entry of [...settings.sources.map((s) => ({ ...s, verb: 'capture' })), ...settings.sinks.map((s) => ({ ...s, verb: 'sink' }))]) {
      const process = (entry.verb === 'capture' ? captures : sinks).get(entry.name);
      expect(entry.http?.host, entry.name).toBe(process?.name);
      expect(String(entry.http?.port), entry.name).toBe(String(process?.service.environment?.TRIBUTARY_HEALTH_PORT));
    }
  });

  it('give Prometheus the same admin token the processes get', () => {
    const [, admin] = admins[0] as [string, ComposeService];
    const token = config(admin).admin.token;
    const prometheus = compose.services.prometheus as ComposeService;
    const mounted = prometheus.configs?.find((c) => c.target === '/run/secrets/tributary_admin_token');
    expect(mounted).toBeDefined();
    const content = compose.configs?.[mounted?.source as string]?.content as string;
    expect(containerEnv({ environment: { token: content } }).token).toBe(token);
  });
});
