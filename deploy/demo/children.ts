import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';

// The demo's services, each a `tributary` process as a user would run it. Their logs go whole to
// .stack/logs/demo-<name>.log; the console gets their warnings and errors only, one line each, prefixed by name.

const BIN = new URL('../../bin/tributary.js', import.meta.url).pathname;
/** Pino's levels: 40 warn, 50 error, 60 fatal. */
const LEVEL_NAMES: Record<number, string> = { 40: 'warn', 50: 'error', 60: 'fatal' };
/** The same message from the same process is shown once per this many ms; the log file keeps every one. */
const REPEAT_MS = 60_000;

export interface ChildOptions {
  cwd: string;
  configPath: string;
  logDir: string;
  /** A line for the console. */
  print: (line: string) => void;
}

export class ServiceProcess {
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly child: ChildProcess;
  private readonly log: WriteStream;
  private readonly shown = new Map<string, { at: number; repeats: number }>();
  private stopping = false;

  constructor(
    readonly name: string,
    args: string[],
    readonly logFile: string,
    private readonly options: ChildOptions,
  ) {
    this.log = createWriteStream(logFile, { flags: 'w' });
    this.child = spawn(process.execPath, [BIN, ...args, '--config', options.configPath], {
      cwd: options.cwd,
      env: { ...process.env, TRIBUTARY_LOG_LEVEL: process.env.TRIBUTARY_LOG_LEVEL ?? 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.pipe(this.log, { end: false });
    // stderr holds the JSON log lines (and a command's last words): every line to the file, the serious to the console.
    const lines = createInterface({ input: this.child.stderr!, crlfDelay: Infinity });
    lines.on('line', (line) => {
      this.log.write(`${line}\n`);
      this.consider(line);
    });
    this.child.on('error', (error) => options.print(`${this.name}: could not start: ${error.message}`));
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        this.exit = { code, signal };
        this.log.end();
        resolve(this.exit);
      });
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exit === null && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Whether the process ended as a stop asks: exit code 0, or killed by the stop signal before it could handle it. */
  get stoppedCleanly(): boolean {
    if (this.exit === null) return false;
    return this.exit.code === 0 || (this.stopping && (this.exit.signal === 'SIGTERM' || this.exit.signal === 'SIGINT'));
  }

  /** SIGTERM: the service finishes its batch or transaction in flight, commits, and exits. */
  stop(): void {
    this.stopping = true;
    if (this.running) this.child.kill('SIGTERM');
  }

  kill(): void {
    this.stopping = true;
    if (this.running) this.child.kill('SIGKILL');
  }

  private consider(line: string): void {
    const entry = parseLogLine(line);
    if (entry === null) {
      // Not a log line: a command's own last words (`tributary: …`) or Node's warnings. Worth showing.
      if (line.trim() !== '') this.show(line.trim(), line.trim());
      return;
    }
    // The Kafka client's own warnings are requests it retries (a transaction still completing on the broker, say);
    // the service reports what it cannot get past itself.
    if (entry.level < 40 || (entry.logger === 'kafkajs' && entry.level < 50)) return;
    const message = String(entry.msg ?? '');
    const detail = entry.err?.message;
    const level = LEVEL_NAMES[entry.level] ?? 'error';
    this.show(message, `${level}: ${message}${detail && !message.includes(detail) ? `: ${detail}` : ''}`);
  }

  private show(key: string, text: string): void {
    const now = Date.now();
    const seen = this.shown.get(key);
    if (seen && now - seen.at < REPEAT_MS) {
      seen.repeats++;
      return;
    }
    const repeats = seen && seen.repeats > 0 ? ` (and ${seen.repeats} more like it in the log)` : '';
    this.shown.set(key, { at: now, repeats: 0 });
    this.options.print(`${this.name}: ${text.length > 400 ? `${text.slice(0, 400)}…` : text}${repeats}`);
  }
}

interface LogEntry {
  level: number;
  msg?: string;
  logger?: string;
  err?: { message?: string };
}

function parseLogLine(line: string): LogEntry | null {
  if (!line.startsWith('{')) return null;
  try {
    const entry = JSON.parse(line) as Partial<LogEntry> | null;
    return entry !== null && typeof entry.level === 'number' ? (entry as LogEntry) : null;
  } catch {
    return null;
  }
}

/** Every service of the demo: started together, stopped together. */
export class ServiceGroup {
  readonly services: ServiceProcess[] = [];
  private stopping = false;

  constructor(private readonly options: ChildOptions) {}

  start(name: string, args: string[], onUnexpectedExit: (service: ServiceProcess) => void): ServiceProcess {
    const service = new ServiceProcess(name, args, `${this.options.logDir}/demo-${name}.log`, this.options);
    this.services.push(service);
    void service.exited.then(() => {
      if (!this.stopping) onUnexpectedExit(service);
    });
    return service;
  }

  /**
   * SIGTERM to every service still running, then waits for all of them; whatever is left after `graceMs` is killed.
   * Returns the names of those that did not stop cleanly.
   */
  async stop(graceMs: number): Promise<string[]> {
    this.stopping = true;
    for (const service of this.services) service.stop();
    const all = Promise.all(this.services.map((s) => s.exited));
    let timer: NodeJS.Timeout | undefined;
    const late = await Promise.race([all.then(() => false), new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), graceMs)))]);
    clearTimeout(timer);
    if (late) {
      for (const service of this.services.filter((s) => s.running)) {
        this.options.print(`${service.name}: still running ${graceMs / 1000} s after SIGTERM, killing it (see ${service.logFile})`);
        service.kill();
      }
      await all;
    }
    return this.services.filter((s) => !s.stoppedCleanly).map((s) => s.name);
  }

  /** Last resort when this process exits without a stop (an uncaught error): no service outlives the demo. */
  killAll(): void {
    for (const service of this.services) if (service.running) service.stop();
  }
}
