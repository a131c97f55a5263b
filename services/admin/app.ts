import type { Express, NextFunction, Request, Response } from 'express';
import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import { TributaryError } from '#core/errors.ts';
import type { Logger } from '#core/log.ts';
import { strictObject } from '#config/fields.ts';
import { formatIssues } from '#config/format.ts';
import { collectSecrets, redactText } from '#config/redact.ts';
import type { TributaryConfig } from '#config/schema.ts';
import { assertGroupIdle, parseReplayTarget, planReplay, replay } from '#kafka/group-offsets.ts';
import { kafkaAnswers } from '#kafka/probe.ts';
import { sendSnapshotSignal } from '#kafka/signals.ts';
import { bearerAuth, errorHandler, jsonApp, sendJson } from './http.ts';
import { adminMetrics, MetricsScraper } from './metrics-scrape.ts';
import { OPENAPI } from './openapi.ts';
import { readPipelines, readSink, readSource, sinkTopics, type PipelineReader } from './pipelines.ts';

/** What the admin API works with; the service passes the real ones, a test its own (a port-0 listen, a log buffer). */
export interface AdminDependencies {
  config: TributaryConfig;
  kafka: Kafka;
  log: Logger;
  /** The admin process's own registry (processRegistry('admin')), merged into `/metrics`. */
  registry: Registry;
}

/** A probe answers quickly or not at all: Kubernetes' default probe timeout is one second, a few is kind. */
const READY_TIMEOUT_MS = 3_000;

const ReplayBody = strictObject({ to: z.string().min(1), dryRun: z.boolean().optional() });
const SnapshotBody = strictObject({ tables: z.array(z.string().min(1)).min(1) });

/**
 * The admin API (`tributary admin`): what the config's sources and sinks are doing, and the two operations an
 * operator needs while they run — replaying a stopped sink and re-snapshotting tables. Every route is described
 * in openapi.ts, which app.test.ts keeps in step with this list.
 */
export function createAdminApp(deps: AdminDependencies): Express {
  const { config, kafka, log } = deps;
  const secrets = collectSecrets(config);
  const metrics = adminMetrics(deps.registry);
  const scraper = new MetricsScraper(config, deps.registry, metrics, secrets, log);
  const reader: PipelineReader = { config, kafka, secrets };
  let ready: boolean | undefined;

  const app = jsonApp();
  app.use((request: Request, response: Response, next: NextFunction) => {
    // Counted when the answer is sent, once routing knows the route (unmatched: refused before it, or no route).
    response.on('finish', () => {
      const route = (request.route as { path?: string } | undefined)?.path ?? 'unmatched';
      metrics.requests.inc({ method: request.method, route, status: String(response.statusCode) });
    });
    next();
  });
  app.use(bearerAuth(config.admin.token));

  app.get('/health', (_request, response) => sendJson(response, { status: 'up' }));
  app.get('/ready', async (_request, response) => {
    try {
      await kafkaAnswers(kafka, READY_TIMEOUT_MS);
      if (ready === false) log.info('Kafka answers again: ready');
      ready = true;
      sendJson(response, { status: 'ready' });
    } catch (error) {
      // The probe answers anyone, so the reason goes to the log, once per outage, not into the answer.
      if (ready !== false) log.warn({ error: redactText((error as Error).message, secrets) }, 'Kafka does not answer: not ready');
      ready = false;
      sendJson(response, { status: 'not ready' }, 503);
    }
  });
  app.get('/openapi.json', (_request, response) => sendJson(response, OPENAPI));
  app.get('/metrics', async (_request, response) => {
    const merged = await scraper.text();
    response.type(merged.contentType).send(merged.body);
  });

  app.get('/v1/pipelines', async (_request, response) => sendJson(response, await readPipelines(reader)));
  app.get('/v1/sources/:name', async (request, response) => {
    sendJson(response, await readSource(reader, byName(config.sources, 'source', request.params.name)));
  });
  app.get('/v1/sinks/:name', async (request, response) => {
    sendJson(response, await readSink(reader, byName(config.sinks, 'sink', request.params.name)));
  });

  app.post('/v1/sinks/:name/replay', async (request, response) => {
    const sink = byName(config.sinks, 'sink', request.params.name);
    const body = parseBody(ReplayBody, request.body, 'replay request');
    const target = parseReplayTarget(body.to);
    const topics = sinkTopics(sink);
    const dryRun = body.dryRun ?? false;
    // replay() plans again and refuses while the group has members; a dry run is refused alike, since the plan
    // it shows could not be carried out.
    const plan = dryRun ? await planReplay(kafka, sink.name, topics, target) : await replay(kafka, sink.name, topics, target);
    if (dryRun) assertGroupIdle(sink.name, plan.members);
    else log.info({ sink: sink.name, to: body.to, partitions: plan.partitions }, 'moved the committed offsets of the sink');
    sendJson(response, { sink: sink.name, dryRun, ...plan });
  });

  app.post('/v1/sources/:name/snapshots', async (request, response) => {
    const source = byName(config.sources, 'source', request.params.name);
    const { tables } = parseBody(SnapshotBody, request.body, 'snapshot request');
    const id = await sendSnapshotSignal(kafka, config.kafka.topicPrefix, config.kafka.topicDefaults.replicationFactor, source.name, tables);
    log.info({ source: source.name, tables, id }, 'sent a snapshot signal');
    sendJson(response, { id, source: source.name, tables }, 202);
  });

  app.use((_request: Request, response: Response) => {
    sendJson(response, { error: 'no such endpoint: GET /openapi.json lists them' }, 404);
  });
  app.use(logServerFaults(log, secrets));
  app.use(errorHandler(secrets));
  return app;
}

/** An answer the client caused by naming something that is not there. */
class NotFoundError extends Error {
  readonly status = 404;
}

/** The source or sink named `name`, or a 404 listing the names the configuration has. */
function byName<T extends { name: string }>(entries: readonly T[], kind: 'source' | 'sink', name: string): T {
  const entry = entries.find((e) => e.name === name);
  if (entry) return entry;
  const names = entries.map((e) => e.name).join(', ') || 'none';
  throw new NotFoundError(`no ${kind} named "${name}" in the configuration (${kind}s: ${names})`);
}

function parseBody<T>(schema: z.ZodType<T>, body: unknown, what: string): T {
  const result = schema.safeParse(body, { reportInput: true });
  if (result.success) return result.data;
  const problems = formatIssues(result.error.issues, ['body']);
  throw new TributaryError('CONFIG_INVALID', `${what}: ${problems.join('; ')} (send JSON with Content-Type: application/json)`);
}

/**
 * The failures that are the service's or a dependency's, not the client's: logged once here, where they are
 * handled (the client gets the answer from errorHandler and nothing is logged for its own mistakes).
 */
function logServerFaults(log: Logger, secrets: readonly string[]) {
  return (error: unknown, request: Request, _response: Response, next: NextFunction): void => {
    const classified = error instanceof TributaryError;
    const status = (error as { status?: number } | undefined)?.status;
    if (classified ? error.retriable || error.code === 'INTERNAL' : status === undefined || status >= 500) {
      const text = error instanceof Error ? (classified ? error.message : (error.stack ?? error.message)) : String(error);
      log.warn({ method: request.method, path: request.path, error: redactText(text, secrets) }, 'admin request failed');
    }
    next(error);
  };
}
