import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Express } from 'express';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { parseConfig } from '#config/load.ts';
import { createKafka } from '#kafka/client.ts';
import { createAdminApp } from './app.ts';
import { listen, type Listening } from './http.ts';
import { OPENAPI, type Method } from './openapi.ts';

// The admin app without Kafka: its routes against its OpenAPI document, and the answers that need no cluster
// (probes, token, unknown names, bad bodies). Kafka is never reached: a broker address nothing listens on.

const TOKEN = 'unit-test-token-0123456789';

function app(): Express {
  const config = parseConfig(
    [
      'kafka: { brokers: "127.0.0.1:9" }',
      'schemaRegistry: { url: "http://127.0.0.1:9" }',
      `admin: { token: "${TOKEN}" }`,
      'sources:',
      '  - { name: shop, type: mariadb, connection: { host: 127.0.0.1, port: 3306, user: u, password: p } }',
      'sinks:',
      '  - { name: copy, type: mariadb, topics: [a.b.c], connection: { host: 127.0.0.1, port: 3306, user: u, password: p, database: d } }',
    ].join('\n'),
  );
  return createAdminApp({ config, kafka: createKafka(config.kafka), log: pino({ level: 'silent' }), registry: new Registry() });
}

/** Every route of the app as `METHOD /path/{param}`, read from express's router. */
function registeredRoutes(instance: Express): string[] {
  const stack = (instance as unknown as { router: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] } }).router.stack;
  return stack.flatMap((layer) =>
    layer.route
      ? Object.keys(layer.route.methods).map((method) => `${method.toUpperCase()} ${layer.route?.path.replace(/:(\w+)/g, '{$1}')}`)
      : [],
  );
}

describe('admin app routes', () => {
  it('are exactly the paths and methods of the OpenAPI document', () => {
    const documented = Object.entries(OPENAPI.paths).flatMap(([path, operations]) =>
      (Object.keys(operations) as Method[]).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(registeredRoutes(app()).sort()).toEqual(documented.sort());
  });

  it('resolve every schema reference of the document', () => {
    const refs = [...JSON.stringify(OPENAPI).matchAll(/"\$ref":"#\/components\/schemas\/(\w+)"/g)].map((match) => match[1] as string);
    expect(refs.length).toBeGreaterThan(0);
    for (const name of new Set(refs)) expect(OPENAPI.components.schemas, name).toHaveProperty(name);
  });
});

describe('admin app answers without Kafka', () => {
  let server: Listening;
  const call = async (method: string, path: string, options: { token?: string; body?: string } = {}) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const response = await fetch(`${server.url}${path}`, { method, headers, ...(options.body === undefined ? {} : { body: options.body }) });
    return { status: response.status, body: await response.text() };
  };

  beforeAll(async () => {
    server = await listen(app(), '127.0.0.1', 0, 'starting the admin app for a test');
  });
  afterAll(() => server.close());

  it('answers /health without a token and everything else only with the right one', async () => {
    expect(await call('GET', '/health')).toEqual({ status: 200, body: '{"status":"up"}' });
    expect((await call('GET', '/openapi.json')).status).toBe(401);
    expect((await call('GET', '/v1/pipelines', { token: 'x'.repeat(TOKEN.length) })).status).toBe(401);
    expect((await call('GET', '/nowhere')).status).toBe(401);
    const document = await call('GET', '/openapi.json', { token: TOKEN });
    expect(document.status).toBe(200);
    expect(JSON.parse(document.body)).toEqual(OPENAPI);
  });

  it('names the configured sources and sinks when asked for one that is not there', async () => {
    const source = await call('GET', '/v1/sources/nope', { token: TOKEN });
    expect(source.status).toBe(404);
    expect(JSON.parse(source.body).error).toBe('no source named "nope" in the configuration (sources: shop)');
    const sink = await call('POST', '/v1/sinks/nope/replay', { token: TOKEN, body: '{"to":"earliest"}' });
    expect(sink.status).toBe(404);
    expect(JSON.parse(sink.body).error).toBe('no sink named "nope" in the configuration (sinks: copy)');
    expect((await call('GET', '/v2/anything', { token: TOKEN })).status).toBe(404);
  });

  it('refuses bad bodies and bad replay targets with 400, before reaching Kafka', async () => {
    const missing = await call('POST', '/v1/sinks/copy/replay', { token: TOKEN, body: '{}' });
    expect(missing.status).toBe(400);
    expect(JSON.parse(missing.body)).toEqual({
      error: 'replay request: body.to: missing required key (expected string) (send JSON with Content-Type: application/json)',
      code: 'CONFIG_INVALID',
    });
    const unknown = await call('POST', '/v1/sinks/copy/replay', { token: TOKEN, body: '{"to":"earliest","dryrun":true}' });
    expect(unknown.status).toBe(400);
    expect(JSON.parse(unknown.body).error).toContain('body.dryrun: unknown key — did you mean "dryRun"?');
    const target = await call('POST', '/v1/sinks/copy/replay', { token: TOKEN, body: '{"to":"2024-05-01T12:00:00"}' });
    expect(target.status).toBe(400);
    expect(JSON.parse(target.body).error).toContain('has no time zone');
    const tables = await call('POST', '/v1/sources/shop/snapshots', { token: TOKEN, body: '{"tables":[]}' });
    expect(tables.status).toBe(400);
    expect(JSON.parse(tables.body).error).toContain('body.tables');
    expect((await call('POST', '/v1/sources/shop/snapshots', { token: TOKEN, body: '{"tables":' })).status).toBe(400);
  });

  it('counts requests by route and status in its own metrics', async () => {
    await call('GET', '/health');
    const metrics = await call('GET', '/metrics', { token: TOKEN });
    expect(metrics.status).toBe(200);
    expect(metrics.body).toMatch(/tributary_admin_http_requests_total\{method="GET",route="\/health",status="200"\} [1-9]/);
    expect(metrics.body).toMatch(/tributary_admin_http_requests_total\{method="GET",route="\/v1\/sources\/:name",status="404"\} 1/);
  });
});
