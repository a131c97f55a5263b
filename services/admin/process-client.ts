import type { HttpConfig } from '#config/schema.ts';

/**
 * Reading a capture's or sink's own endpoints (process-server.ts) from the admin service and the CLI. The config
 * says where each process listens; that address is where it is asked.
 */

/** How long a process may take to answer before it counts as unreachable: a status is a few map reads. */
export const PROCESS_TIMEOUT_MS = 3_000;

/**
 * The base URL of a process's endpoint, or why there is none. A wildcard listen address (0.0.0.0, ::) is read as
 * this machine: it is not an address one can connect to, and a process listening on every interface listens on
 * loopback too. Port 0 makes the process pick a free port it only logs, so nobody else can know it.
 */
export function processUrl(http: HttpConfig | undefined): { url: string } | { missing: string } {
  if (!http) return { missing: 'no http endpoint configured' };
  if (http.port === 0) return { missing: 'http port 0: the process picks a free port, which only its log shows' };
  const host = http.host === '0.0.0.0' ? '127.0.0.1' : http.host === '::' ? '::1' : http.host;
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${http.port}` };
}

/** A process's answer as parsed JSON; throws an Error saying what went wrong (refused, timed out, a status). */
export async function readProcess(url: string, path: string, token: string | undefined, timeoutMs = PROCESS_TIMEOUT_MS): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(`${url}${path}`, {
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    throw new Error(`GET ${url}${path}: ${describeFetchError(error, timeoutMs)}`);
  }
  const text = await response.text();
  if (!response.ok) throw new Error(`GET ${url}${path} answered ${response.status}: ${text.slice(0, 200)}`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new Error(`GET ${url}${path} answered something that is not JSON (is another program on that port?)`);
  }
}

/** fetch says "fetch failed" and hides the reason in its cause: ECONNREFUSED says far more. */
function describeFetchError(error: unknown, timeoutMs: number): string {
  const name = (error as Error | undefined)?.name;
  if (name === 'TimeoutError' || name === 'AbortError') return `no answer within ${timeoutMs} ms`;
  const cause = (error as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  return cause?.code ?? cause?.message ?? (error as Error | undefined)?.message ?? String(error);
}
