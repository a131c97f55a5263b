import type { Registry } from 'prom-client';
import type { Logger } from '#core/log.ts';
import { collectSecrets } from '#config/redact.ts';
import type { HttpConfig, TributaryConfig } from '#config/schema.ts';
import type { Listening } from './http.ts';

/** What a capture or sink process shows about itself. */
export interface ProcessEndpoints {
  registry: Registry;
  /** The process's status report (`GET /status`). */
  report(): object;
  /** Whether it does its work now (`GET /ready`): false while starting, retrying or stopped. */
  ready(): boolean;
  /** The work ended (the endpoint closes next). */
  stopped(): void;
}

/** Runs a process's work with its endpoint open, when the config gives it one. */
export async function withProcessEndpoint(
  http: HttpConfig | undefined,
  config: TributaryConfig,
  endpoints: ProcessEndpoints,
  log: Logger,
  work: () => Promise<void>,
): Promise<void> {
  const endpoint = http && (await serveProcess(http, config.admin.token, collectSecrets(config), endpoints, log));
  try {
    await work();
  } finally {
    endpoints.stopped();
    await endpoint?.close();
  }
}

/**
 * A capture's or sink's own HTTP endpoints: `/health` (the process answers), `/ready`, `/status` (JSON), `/metrics`
 * (Prometheus text) and `/metrics.json` (prom-client's JSON, which the admin service merges across processes).
 */
export async function serveProcess(
  http: HttpConfig,
  token: string | undefined,
  secrets: readonly string[],
  endpoints: ProcessEndpoints,
  log: Logger,
): Promise<Listening> {
  // Loaded only by a process that serves: express costs a capture without an endpoint about 10 MB of memory.
  const { bearerAuth, errorHandler, jsonApp, listen, sendJson } = await import('./http.ts');
  const app = jsonApp();
  app.use(bearerAuth(token));
  app.get('/health', (_request, response) => sendJson(response, { status: 'up' }));
  app.get('/ready', (_request, response) => {
    const ready = endpoints.ready();
    sendJson(response, { status: ready ? 'ready' : 'not ready' }, ready ? 200 : 503);
  });
  app.get('/status', (_request, response) => sendJson(response, endpoints.report()));
  app.get('/metrics', async (_request, response) => {
    response.type(endpoints.registry.contentType).send(await endpoints.registry.metrics());
  });
  app.get('/metrics.json', async (_request, response) => {
    sendJson(response, await endpoints.registry.getMetricsAsJSON());
  });
  app.use(errorHandler(secrets));
  const listening = await listen(app, http.host, http.port, 'starting the status endpoint');
  log.info({ url: listening.url }, 'status and metrics endpoint listening');
  return listening;
}
