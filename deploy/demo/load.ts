import { setTimeout as delay } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { connectMariaDbShop, connectPostgresShop, type ShopDb } from './shop-db.ts';
import { demoConfig, demoSources, type DemoSources } from './env.ts';
import { prepareShops } from './setup.ts';
import { writeOnce } from './shop-writes.ts';

// The demo's load generator: a few business transactions per second into each shop (MariaDB and PostgreSQL),
// one at a time per shop, until the signal. It is what `make dev` runs beside the pipeline, and runs alone too:
//
//   npx tsx deploy/demo/load.ts [--rate <transactions per second per shop>] [--only mariadb|postgres]
//
// Connections come from tributary.yaml's shop-mariadb and shop-postgres sources (.stack/env's addresses); the shops
// are created first if absent.

export type Engine = ShopDb['engine'];

export interface LoadStats {
  transactions: number;
  rows: number;
  failures: number;
  lastError: string | null;
}

/** Writes into one shop at a bounded rate; a failed transaction is counted and the connection opened again. */
export class ShopLoad {
  readonly stats: LoadStats = { transactions: 0, rows: 0, failures: 0, lastError: null };
  private db: ShopDb | null = null;

  constructor(
    readonly engine: Engine,
    private readonly connect: () => Promise<ShopDb>,
    private readonly ratePerSecond: number,
  ) {}

  /** Runs until `signal`; the transaction in flight then finishes (or rolls back) before this returns. */
  async run(signal: AbortSignal): Promise<void> {
    const interval = 1000 / this.ratePerSecond;
    while (!signal.aborted) {
      const started = Date.now();
      let pause = interval;
      try {
        this.db ??= await this.connect();
        this.stats.rows += await writeOnce(this.db);
        this.stats.transactions++;
      } catch (error) {
        this.stats.failures++;
        this.stats.lastError = (error as Error).message;
        await this.db?.close();
        this.db = null;
        // A server that is down is not asked again several times a second.
        pause = Math.max(interval, 2_000);
      }
      await delay(Math.max(0, pause - (Date.now() - started)), undefined, { signal }).catch(() => undefined);
    }
    await this.db?.close();
    this.db = null;
  }
}

export function shopLoads(sources: DemoSources, ratePerSecond: number, only?: Engine): ShopLoad[] {
  const loads = [
    new ShopLoad('mariadb', () => connectMariaDbShop(sources.mariadb.connection), ratePerSecond),
    new ShopLoad('postgres', () => connectPostgresShop(sources.postgres.connection), ratePerSecond),
  ];
  return loads.filter((load) => only === undefined || load.engine === only);
}

/** `mariadb 120 tx (3 failed: …), postgres 118 tx`: what the loads did so far. */
export function loadSummary(loads: readonly ShopLoad[]): string {
  return loads
    .map((load) => {
      const { transactions, rows, failures, lastError } = load.stats;
      return `${load.engine} ${transactions} tx/${rows} rows${failures > 0 ? ` (${failures} failed, last: ${lastError})` : ''}`;
    })
    .join(', ');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const option = (name: string): string | undefined => {
    const index = args.indexOf(name);
    return index < 0 ? undefined : args[index + 1];
  };
  const rate = Number(option('--rate') ?? 4);
  const only = option('--only') as Engine | undefined;
  if (!(rate > 0 && rate <= 200) || (only !== undefined && only !== 'mariadb' && only !== 'postgres')) {
    process.stderr.write('usage: npx tsx deploy/demo/load.ts [--rate <1-200 transactions/s per shop>] [--only mariadb|postgres]\n');
    process.exit(2);
  }
  const sources = demoSources(demoConfig());
  for (const line of await prepareShops(sources)) process.stdout.write(`${line}\n`);
  const loads = shopLoads(sources, rate, only);
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  process.once('SIGTERM', () => abort.abort());
  process.stdout.write(`writing about ${rate} transactions/s into ${loads.map((l) => l.engine).join(' and ')} (Ctrl-C stops)\n`);
  const report = setInterval(() => process.stdout.write(`${loadSummary(loads)}\n`), 10_000);
  await Promise.all(loads.map((load) => load.run(abort.signal)));
  clearInterval(report);
  process.stdout.write(`stopped: ${loadSummary(loads)}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
