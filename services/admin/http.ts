import { timingSafeEqual } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { TributaryError } from '#core/errors.ts';
import { stringifyExact } from '#core/json.ts';
import { redactText } from '#config/redact.ts';

/**
 * What the admin service and each process's status server share: bearer-token checks, exact JSON answers and
 * listening. Nothing served is taken from a secret; free text that could echo one (an error message) is masked
 * where it is recorded, with the config's secrets (the status classes, errorHandler).
 */

/** Paths a load balancer or Kubernetes probes without credentials; they answer nothing but up or down. */
const OPEN_PATHS = new Set(['/health', '/ready']);

/** Requires `Authorization: Bearer <token>` on every path but the probes; no token configured, no check (loopback only). */
export function bearerAuth(token: string | undefined) {
  const expected = token === undefined ? null : Buffer.from(token);
  return (request: Request, response: Response, next: NextFunction): void => {
    if (expected === null || OPEN_PATHS.has(request.path)) return next();
    const given = /^Bearer (.+)$/i.exec(request.get('authorization') ?? '')?.[1];
    const presented = Buffer.from(given ?? '');
    if (presented.length === expected.length && timingSafeEqual(presented, expected)) return next();
    response.status(401).set('WWW-Authenticate', 'Bearer').type('application/json').send('{"error":"missing or wrong bearer token (Authorization: Bearer <admin.token>)"}');
  };
}

/** A JSON answer, exact for bigints. */
export function sendJson(response: Response, body: unknown, status = 200): void {
  response.status(status).type('application/json').send(stringifyExact(body));
}

/** The last handler of an app: a classified error is the client's or a dependency's fault, anything else ours. */
export function errorHandler(secrets: readonly string[]) {
  return (error: unknown, _request: Request, response: Response, _next: NextFunction): void => {
    if (error instanceof TributaryError) {
      const status = error.code === 'CONFIG_INVALID' ? 400 : error.code === 'KAFKA_REJECTED' ? 409 : error.retriable ? 503 : 422;
      sendJson(response, { error: redactText(error.message, secrets), code: error.code }, status);
      return;
    }
    const status = (error as { status?: number }).status ?? 500;
    sendJson(response, { error: status === 500 ? 'internal error' : redactText((error as Error).message, secrets) }, status);
  };
}

export interface Listening {
  server: Server;
  /** http://host:port with the port actually bound (config port 0 picks a free one). */
  url: string;
  close(): Promise<void>;
}

export async function listen(app: express.Express, host: string, port: number, action: string): Promise<Listening> {
  const server = await new Promise<Server>((resolve, reject) => {
    const started = app.listen(port, host, (error?: Error) => (error ? reject(error) : resolve(started)));
  }).catch((error: NodeJS.ErrnoException) => {
    const hint = error.code === 'EADDRINUSE' ? `: port ${port} is in use; pick another port in the config` : '';
    throw new TributaryError('CONFIG_INVALID', `${action}: cannot listen on ${host}:${port} (${error.code ?? error.message})${hint}`);
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;
  return {
    server,
    url: `http://${shownHost}:${address.port}`,
    close: () =>
      (closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      })),
  };
}

export function jsonApp(): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use(express.json({ limit: '64kb' }));
  return app;
}
