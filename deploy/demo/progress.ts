import { processUrl, readProcess } from '#admin/process-client.ts';
import type { CaptureStatusReport } from '#capture/status.ts';
import type { HttpConfig, TributaryConfig } from '#config/schema.ts';
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

/** Every process of the config with an `http` endpoint it can be asked at, and the admin service. */
export function endpoints(config: TributaryConfig): Endpoint[] {
  const at = (name: string, kind: Endpoint['kind'], type: string, http: HttpConfig | undefined): Endpoint[] => {
    const where = processUrl(http);
    return 'url' in where ? [{ name, kind, type, url: where.url }] : [];
  };
  return [
    ...config.sources.flatMap((s) => at(s.name, 'source', s.type, s.http)),
    ...config.sinks.flatMap((s) => at(s.name, 'sink', s.type, s.http)),
    ...at('admin', 'admin', 'admin', { host: config.admin.host, port: config.admin.port }),
  ];
}

/** The processes that are not ready yet (captures snapshotting or streaming, sinks consuming, the admin answering). */
export async function notReady(all: readonly Endpoint[], token: string | undefined): Promise<string[]> {
  const answers = await Promise.all(
    all.map(async (e) => {
      const path = e.kind === 'admin' ? '/health' : '/ready';
      const ok = await readProcess(e.url, path, token, STATUS_TIMEOUT_MS).then(() => true, () => false);
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
        const report = await readProcess(e.url, '/status', token, STATUS_TIMEOUT_MS).then((body) => body as CaptureStatusReport | SinkStatusReport, () => null);
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
