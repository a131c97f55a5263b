import { once } from 'node:events';
import { log } from '#core/log.ts';
import type { TributaryConfig } from '#config/schema.ts';
import { createKafka } from '#kafka/client.ts';
import { createAdminApp } from './app.ts';
import { listen } from './http.ts';
import { processRegistry } from './metrics.ts';

/** `tributary admin`: serves the admin API on admin.host:admin.port until the signal, then closes. */
export async function runAdmin(config: TributaryConfig, signal: AbortSignal): Promise<void> {
  const logger = log.child({ component: 'admin' });
  const app = createAdminApp({ config, kafka: createKafka(config.kafka), log: logger, registry: processRegistry('admin') });
  const listening = await listen(app, config.admin.host, config.admin.port, 'starting the admin service');
  logger.info({ url: listening.url, openapi: `${listening.url}/openapi.json`, auth: config.admin.token === undefined ? 'none (loopback)' : 'bearer token' }, 'admin service listening');
  try {
    if (!signal.aborted) await once(signal, 'abort');
  } finally {
    await listening.close();
    logger.info('admin service stopped');
  }
}
