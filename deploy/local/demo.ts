import { mkdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { ServiceGroup, type ServiceProcess } from '../demo/children.ts';
import { CONFIG_PATH, LOG_DIR, ROOT, demoConfig, demoSources } from '../demo/env.ts';
import { guide } from '../demo/guide.ts';
import { loadSummary, shopLoads } from '../demo/load.ts';
import { endpoints, notReady, pipelineProgress, type Endpoint } from '../demo/progress.ts';
import { resetDemo } from '../demo/reset.ts';
import { prepareShops, prepareTargets } from '../demo/setup.ts';

// `make dev`: the whole pipeline of tributary.yaml on the local stack (make has started it). The shops are created
// if absent (deploy/demo/shop-*.sql), the sinks' databases too; then every source's capture, every sink and the
// admin service run as `tributary` processes, a load generator writes into both shops, and this process reports
// progress until Ctrl-C, which stops the load, sends SIGTERM to every process and waits for each to exit.
//
// `--reset` first removes everything the pipeline made (deploy/demo/reset.ts), for a start as on a fresh machine.
// TRIBUTARY_DEMO_RATE sets the load (transactions per second per shop, default 4): the machine is small and the
// point is to watch changes flow, not to measure.

const RATE = Number(process.env.TRIBUTARY_DEMO_RATE ?? 4);
/** How often the one-line progress is printed once everything runs. */
const PROGRESS_MS = Number(process.env.TRIBUTARY_DEMO_PROGRESS_MS ?? 15_000);
/** How long the processes may take to become ready before the guide is printed anyway, with the laggards named. */
const READY_DEADLINE_MS = 180_000;
/** How long a process may take to finish its batch and exit after SIGTERM before it is killed. */
const STOP_GRACE_MS = 30_000;

const clock = () => new Date().toTimeString().slice(0, 8);
const print = (line: string) => process.stdout.write(`${clock()} ${line}\n`);

process.chdir(ROOT); // tributary.yaml's relative paths (the lake) are the repository's, for us and every process
const config = demoConfig();
const sources = demoSources(config);
const token = config.admin.token;
const processes = endpoints(config);

// Signals: the first stops everything in order, a second says what is still being waited for, a third kills.
let signals = 0;
let requestStop: () => void = () => undefined;
const stopRequested = new Promise<void>((resolve) => (requestStop = resolve));
let group: ServiceGroup | undefined;
const onSignal = () => {
  signals++;
  if (signals === 1) {
    requestStop();
  } else if (signals === 2) {
    const waiting = group?.services.filter((s) => s.running).map((s) => s.name) ?? [];
    print(`still stopping${waiting.length > 0 ? `, waiting for ${waiting.join(', ')}` : ''}; Ctrl-C again kills them`);
  } else {
    for (const service of group?.services ?? []) service.kill();
    process.exit(130);
  }
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
// Whatever ends this process, no service outlives it.
process.on('exit', () => group?.killAll());

try {
  process.exitCode = await main();
} catch (error) {
  // Setting up failed (a server of the stack is down, say): one line, and every process started is stopped.
  print(`the demo failed: ${(error as Error).message}`);
  if (group) await group.stop(STOP_GRACE_MS);
  process.exitCode = 1;
}

async function main(): Promise<number> {
  print(`Tributary demo with ${CONFIG_PATH.replace(ROOT, '')}; logs in ${LOG_DIR.replace(ROOT, '')}/demo-*.log`);
  const busy = await busyPorts(processes);
  if (busy.length > 0) {
    print(`${busy.join(', ')}: in use. Is another \`make dev\` running? (ss -ltnp shows who listens)`);
    return 1;
  }
  try {
    if (process.argv.includes('--reset')) await resetDemo(config, sources, print);
    for (const line of await prepareShops(sources)) print(line);
    await prepareTargets(config);
  } catch (error) {
    throw new Error(`preparing the demo's databases (is the stack up? make stack-status): ${(error as Error).message}`, { cause: error });
  }
  if (signals > 0) return 0;
  mkdirSync(LOG_DIR, { recursive: true });

  group = new ServiceGroup({ cwd: ROOT, configPath: CONFIG_PATH, logDir: LOG_DIR, print });
  const failed = (service: ServiceProcess) => {
    const how = service.exit?.signal ? `was killed by ${service.exit.signal}` : `exited with code ${service.exit?.code}`;
    print(`${service.name} ${how}; the rest goes on (its log: ${service.logFile.replace(ROOT, '')})`);
  };
  for (const source of config.sources) group.start(source.name, ['capture', source.name], failed);
  for (const sink of config.sinks) group.start(sink.name, ['sink', sink.name], failed);
  group.start('admin', ['admin'], failed);
  print(`started ${group.services.map((s) => s.name).join(', ')}`);

  const loads = shopLoads(sources, RATE);
  const stopLoad = new AbortController();
  const loading = Promise.all(loads.map((load) => load.run(stopLoad.signal)));
  print(`writing about ${RATE} transactions/s into each shop`);

  const reporting = report(loads);
  await stopRequested;
  reporting.abort();

  print('stopping: the load first, then every process (SIGTERM)');
  stopLoad.abort();
  await loading;
  const unclean = await group.stop(STOP_GRACE_MS);
  print(`stopped. Written in all: ${loadSummary(loads)}`);
  if (unclean.length > 0) {
    print(`did not stop cleanly: ${unclean.join(', ')} (see their logs)`);
    return 1;
  }
  return 0;
}

/** Waits for every process to be ready, prints the guide, then a progress line now and then. */
function report(loads: ReturnType<typeof shopLoads>): AbortController {
  const abort = new AbortController();
  const started = Date.now();
  let guided = false;
  let busy = false;
  const tick = async () => {
    if (busy || abort.signal.aborted) return;
    busy = true;
    try {
      if (!guided) {
        // A process that has exited is reported already; the others are not kept waiting for it.
        const gone = new Set(group?.services.filter((s) => !s.running).map((s) => s.name));
        const waiting = await notReady(processes.filter((e) => !gone.has(e.name)), token);
        if (waiting.length === 0 || Date.now() - started > READY_DEADLINE_MS) {
          guided = true;
          if (waiting.length > 0) print(`not ready after ${READY_DEADLINE_MS / 1000} s: ${waiting.join(', ')} (see their logs)`);
          else print(`everything runs (${Math.round((Date.now() - started) / 1000)} s)`);
          if (!abort.signal.aborted) process.stdout.write(guide(config, sources));
          schedule(PROGRESS_MS);
          return;
        }
        schedule(2_000);
        return;
      }
      const progress = await pipelineProgress(processes, token);
      if (!abort.signal.aborted) print(`written ${loadSummary(loads)} · ${progress}`);
      schedule(PROGRESS_MS);
    } finally {
      busy = false;
    }
  };
  let timer: NodeJS.Timeout | undefined;
  const schedule = (ms: number) => {
    if (!abort.signal.aborted) timer = setTimeout(() => void tick(), ms);
  };
  abort.signal.addEventListener('abort', () => clearTimeout(timer));
  schedule(2_000);
  return abort;
}

/** The processes' ports that something already listens on. */
async function busyPorts(all: readonly Endpoint[]): Promise<string[]> {
  const busy = await Promise.all(
    all.map(async (e) => {
      const { hostname, port } = new URL(e.url);
      const free = await new Promise<boolean>((resolve) => {
        const server = createServer();
        server.once('error', () => resolve(false));
        server.listen(Number(port), hostname.replace(/^\[|\]$/g, ''), () => server.close(() => resolve(true)));
      });
      return free ? null : `port ${port} (${e.name})`;
    }),
  );
  return busy.filter((entry): entry is string => entry !== null);
}
