import type { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { processRegistry } from '#admin/metrics.ts';
import { adminMetrics } from '#admin/metrics-scrape.ts';
import { CaptureStatus } from '#capture/status.ts';
import { SinkStatus } from '#sink/status.ts';
import { readCompose, readText, readYaml } from './files.ts';

/**
 * The Grafana dashboard queries only metrics the processes really register, with their real labels, and the
 * Prometheus config parses and scrapes the admin service with the bearer token. The registries are made as the
 * processes make them: a capture's and a sink's status objects, and the admin service's own metrics.
 */

interface Known {
  /** Series names as Prometheus sees them: histograms as _bucket, _sum and _count. */
  series: Set<string>;
  labels: Set<string>;
}

async function registeredMetrics(): Promise<Known> {
  const admin = processRegistry('admin');
  adminMetrics(admin);
  const registries: Registry[] = [
    new CaptureStatus(processRegistry('capture:shop'), 'shop', 'postgres', []).registry,
    new SinkStatus(processRegistry('sink:replica'), 'replica', 'mysql', 'replica', []).registry,
    admin,
  ];
  const series = new Set<string>();
  // `process` is every registry's default label; `le` is a histogram bucket's.
  const labels = new Set(['process', 'le']);
  for (const registry of registries) {
    for (const metric of await registry.getMetricsAsJSON()) {
      // prom-client's MetricType is an enum of these strings.
      const type = String(metric.type);
      const suffixes = type === 'histogram' ? ['_bucket', '_sum', '_count'] : type === 'summary' ? ['', '_sum', '_count'] : [''];
      for (const suffix of suffixes) series.add(`${metric.name}${suffix}`);
    }
    for (const metric of registry.getMetricsAsArray()) {
      for (const label of (metric as unknown as { labelNames?: string[] }).labelNames ?? []) labels.add(label);
    }
  }
  return { series, labels };
}

interface Panel {
  title: string;
  type: string;
  targets?: { expr: string }[];
  panels?: Panel[];
}
const dashboard = JSON.parse(readText('deploy/grafana/tributary-dashboard.json')) as {
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: { name: string; query: string | { query: string } }[] };
};
const panels = dashboard.panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);
const expressions = [
  ...panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ where: panel.title, expr: target.expr }))),
  ...dashboard.templating.list
    .filter((variable) => typeof variable.query === 'object' || /label_values/.test(String(variable.query)))
    .map((variable) => ({ where: `variable ${variable.name}`, expr: typeof variable.query === 'object' ? variable.query.query : variable.query })),
];

/** Label names a PromQL expression uses: in matchers, `by (…)`/`without (…)`, and label_values(metric, label). */
function labelsUsed(expr: string): string[] {
  const matchers = [...expr.matchAll(/[{,]\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1] as string);
  const grouped = [...expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap((m) => (m[1] as string).split(',').map((l) => l.trim()).filter(Boolean));
  const values = [...expr.matchAll(/label_values\([^,]+,\s*([a-zA-Z_][a-zA-Z0-9_]*)\)/g)].map((m) => m[1] as string);
  return [...matchers, ...grouped, ...values];
}

describe('deploy/grafana/tributary-dashboard.json', () => {
  it('is a dashboard with panels that each query something', () => {
    expect(dashboard.uid).toBe('tributary');
    const graphs = panels.filter((panel) => panel.type !== 'row');
    expect(graphs.length).toBeGreaterThan(10);
    for (const panel of graphs) expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
  });

  it('uses only metric names the processes register', async () => {
    const known = await registeredMetrics();
    const unknown = expressions.flatMap(({ where, expr }) =>
      [...expr.matchAll(/\btributary_[a-zA-Z0-9_]+/g)].map((m) => m[0]).filter((name) => !known.series.has(name)).map((name) => `${where}: ${name}`),
    );
    expect(unknown).toEqual([]);
  });

  it('uses only label names those metrics carry', async () => {
    const known = await registeredMetrics();
    const unknown = expressions.flatMap(({ where, expr }) => labelsUsed(expr).filter((label) => !known.labels.has(label)).map((label) => `${where}: ${label}`));
    expect(unknown).toEqual([]);
  });

  it('covers what operators watch: capture, slot, sink, latency, dead letters, errors and the processes', () => {
    const all = expressions.map((e) => e.expr).join('\n');
    for (const metric of [
      'tributary_capture_events_total',
      'tributary_capture_commit_seconds_bucket',
      'tributary_capture_behind_source_seconds',
      'tributary_postgres_slot_retained_wal_bytes',
      'tributary_sink_changes_applied_total',
      'tributary_sink_apply_seconds_bucket',
      'tributary_sink_lag_messages',
      'tributary_sink_end_to_end_seconds',
      'tributary_sink_dead_letters_total',
      'tributary_errors_total',
      'tributary_process_resident_memory_bytes',
      'tributary_process_cpu_seconds_total',
    ]) {
      expect(all, metric).toContain(metric);
    }
  });

  it('is the dashboard the compose monitoring profile provisions', () => {
    const grafana = readCompose().services.grafana;
    expect(grafana?.volumes).toContain('./deploy/grafana/tributary-dashboard.json:/var/lib/grafana/dashboards/tributary-dashboard.json:ro');
    const provider = readYaml<{ providers: { options: { path: string } }[] }>('deploy/grafana/provisioning/dashboards/dashboards.yml');
    expect(provider.providers[0]?.options.path).toBe('/var/lib/grafana/dashboards');
    const datasources = readYaml<{ datasources: { type: string; url: string }[] }>('deploy/grafana/provisioning/datasources/prometheus.yml');
    expect(datasources.datasources[0]).toMatchObject({ type: 'prometheus', url: 'http://prometheus:9090' });
  });
});

describe('deploy/prometheus/prometheus.yml', () => {
  const config = readYaml<{
    scrape_configs: { job_name: string; metrics_path?: string; authorization?: { type?: string; credentials_file?: string }; static_configs: { targets: string[] }[] }[];
  }>('deploy/prometheus/prometheus.yml');

  it('parses, and scrapes the admin service\'s /metrics with the bearer token from a file', () => {
    expect(config.scrape_configs.length).toBeGreaterThan(0);
    const job = config.scrape_configs.find((j) => j.static_configs.some((s) => s.targets.includes('admin:8780')));
    expect(job).toBeDefined();
    expect(job?.metrics_path ?? '/metrics').toBe('/metrics');
    expect(job?.authorization?.type ?? 'Bearer').toBe('Bearer');
    expect(job?.authorization?.credentials_file).toBe('/run/secrets/tributary_admin_token');
  });

  it('is mounted where the compose monitoring profile runs Prometheus, with the token file beside it', () => {
    const prometheus = readCompose().services.prometheus;
    expect(prometheus?.volumes).toContain('./deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro');
    expect(prometheus?.configs?.map((c) => c.target)).toContain('/run/secrets/tributary_admin_token');
  });
});
