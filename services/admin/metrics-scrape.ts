import { AggregatorRegistry, Counter, Gauge, type Registry } from 'prom-client';
import type { Logger } from '#core/log.ts';
import { redactText } from '#config/redact.ts';
import type { HttpConfig, TributaryConfig } from '#config/schema.ts';
import { processUrl, readProcess } from './process-client.ts';

/** The admin service's own metrics, beside Node's process metrics in its registry. */
export function adminMetrics(registry: Registry) {
  return {
    requests: new Counter({
      name: 'tributary_admin_http_requests_total',
      help: 'Requests the admin API answered, by method, route (as registered, e.g. /v1/sinks/:name) and HTTP status.',
      labelNames: ['method', 'route', 'status'],
      registers: [registry],
    }),
    scrapeFailures: new Gauge({
      name: 'tributary_admin_scrape_failures',
      help: 'Consecutive /metrics scrapes in which a capture or sink process did not answer (0 once it does), by process.',
      labelNames: ['process'],
      registers: [registry],
    }),
  };
}

export type AdminMetrics = ReturnType<typeof adminMetrics>;

type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

/**
 * `GET /metrics` of the admin service: its own registry merged with every capture's and sink's `/metrics.json`,
 * so that Prometheus scrapes one target. A process that does not answer is left out of that scrape and counted
 * in `tributary_admin_scrape_failures`; its last values are not repeated, since stale figures look current.
 */
export class MetricsScraper {
  /** Consecutive failures per process label, so a process that stays down is logged once, not every scrape. */
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly config: TributaryConfig,
    private readonly registry: Registry,
    private readonly metrics: AdminMetrics,
    private readonly secrets: readonly string[],
    private readonly log: Logger,
  ) {}

  /** The merged registry in the Prometheus text format. */
  async text(): Promise<{ contentType: string; body: string }> {
    const processes = [
      // The same labels the processes give their own registries (processRegistry in capture and sink service.ts).
      ...this.config.sources.map((source) => ({ label: `capture:${source.name}`, http: source.http })),
      ...this.config.sinks.map((sink) => ({ label: `sink:${sink.name}`, http: sink.http })),
    ];
    const scraped = await Promise.all(processes.map((process) => this.scrape(process.label, process.http)));
    // Read last, so that the failure gauge already counts this scrape.
    const all = [await this.registry.getMetricsAsJSON(), ...scraped.filter((metrics) => metrics !== null)];
    // Every series carries its process label, so no two registries share one: nothing is combined. 'first' says
    // so, where prom-client's defaults would sum, average, or drop (process_start_time is 'omit').
    const merged = AggregatorRegistry.aggregate(all.map((metrics) => metrics.map((metric) => ({ ...metric, aggregator: 'first' }))));
    return { contentType: merged.contentType, body: await merged.metrics() };
  }

  private async scrape(label: string, http: HttpConfig | undefined): Promise<MetricsJson | null> {
    const where = processUrl(http);
    if ('missing' in where) return null;
    try {
      const metrics = await readProcess(where.url, '/metrics.json', this.config.admin.token);
      if (!isMetricsJson(metrics)) throw new Error(`${where.url}/metrics.json is not a prom-client metrics list`);
      if (this.failures.get(label)) this.log.info({ process: label }, 'process answers metrics scrapes again');
      this.failures.set(label, 0);
      this.metrics.scrapeFailures.set({ process: label }, 0);
      return metrics;
    } catch (error) {
      const count = (this.failures.get(label) ?? 0) + 1;
      this.failures.set(label, count);
      this.metrics.scrapeFailures.set({ process: label }, count);
      if (count === 1) {
        const message = redactText((error as Error).message, this.secrets);
        this.log.warn({ process: label, error: message }, 'process left out of the merged metrics: it does not answer');
      }
      return null;
    }
  }
}

function isMetricsJson(value: unknown): value is MetricsJson {
  return (
    Array.isArray(value) &&
    value.every((metric) => typeof metric?.name === 'string' && typeof metric?.type === 'string' && Array.isArray(metric?.values))
  );
}
