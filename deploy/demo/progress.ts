import type { CaptureStatusReport } from '#capture/status.ts';
import type { TributaryConfig } from '#config/schema.ts';
import type { SinkStatusReport } from '#sink/status.ts';

// The demo's one-line progress: what the load wrote, what the captures published and what each kind of target
// received, read from every process's own /status (the same endpoints `tributary status` and the admin read).

const STATUS_TIMEOUT_MS = 2_000;

export interface Endpoint {
  name: string;
  kind: 'source' | 'sink' | 'admin';
  /** The target kind for sinks (mariadb, clickhouse, lake…). */
  type: string;
  url: string;
}

/** Every process of the config with an `http` endpoint, and the admin service. */
export function endpoints(config: TributaryConfig): Endpoint[] {
  const url = (http: { host: string; port: number }) => `http://${http.host.includes(':') ? `[${http.host}]` : http.host}:${http.port}`;
  return [
    ...config.sources.flatMap((s) => (s.http ? [{ name: s.name, kind: 'source' as const, type: s.type, url: url(s.http) }] : [])),
    ...config.sinks.flatMap((s) => (s.http ? [{ name: s.name, kind: 'sink' as const, type: s.type, url: url(s.http) }] : [])),
    { name: 'admin', kind: 'admin', type: 'admin', url: url(config.admin) },
  ];
}

async function getJson(url: string, token: string | undefined): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, {
    signal: AbortSignal.timeout(STATUS_TIMEOUT_MS),
    ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}),
  });
  return { status: response.status, body: await response.json().catch(() => null) };
}

/** The processes that are not ready yet (captures snapshotting or streaming, sinks consuming, the admin answering). */
export async function notReady(all: readonly Endpoint[], token: string | undefined): Promise<string[]> {
  const answers = await Promise.all(
    all.map(async (e) => {
      const path = e.kind === 'admin' ? '/health' : '/ready';
      const ok = await getJson(`${e.url}${path}`, token).then((r) => r.status === 200, () => false);
      return ok ? null : e.name;
    }),
  );
  return answers.filter((name): name is string => name !== null);
}

/** `captured 2,381 events → applied mariadb 2,250, clickhouse 2,250, lake 2,250 (lake: retrying)`. */
export async function pipelineProgress(all: readonly Endpoint[], token: string | undefined): Promise<string> {
  let captured = 0;
  // Targets in the config's order, whichever process answers first.
  const applied = new Map<string, number>(all.filter((e) => e.kind === 'sink').map((e) => [e.type, 0]));
  const trouble: string[] = [];
  await Promise.all(
    all
      .filter((e) => e.kind !== 'admin')
      .map(async (e) => {
        const report = await getJson(`${e.url}/status`, token).then((r) => r.body as CaptureStatusReport | SinkStatusReport | null, () => null);
        if (report === null) {
          trouble.push(`${e.name}: not answering`);
          return;
        }
        if (report.kind === 'capture') {
          captured += report.events;
          if (!['snapshotting', 'streaming'].includes(report.state)) trouble.push(`${e.name}: ${report.state}`);
        } else {
          applied.set(e.type, (applied.get(e.type) ?? 0) + report.applied);
          if (report.state !== 'consuming') trouble.push(`${e.name}: ${report.state}`);
          if (report.deadLetters > 0) trouble.push(`${e.name}: ${report.deadLetters} dead letters`);
        }
      }),
  );
  const number = (n: number) => n.toLocaleString('en');
  const targets = [...applied].map(([type, n]) => `${type} ${number(n)}`).join(', ');
  return `captured ${number(captured)} events → applied ${targets}${trouble.length > 0 ? ` (${trouble.sort().join('; ')})` : ''}`;
}
