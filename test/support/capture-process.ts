import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mysqlConnection } from './mysql.ts';
import { postgresConnection } from './postgres.ts';
import { stackEnv } from './stack-env.ts';
import { uniqueName } from './wait.ts';

// TRIBUTARY_BIN runs another build of the command, such as the bundle `npm run build` makes (dist/tributary.js),
// read at each start so that a benchmark can choose it.
const tributaryBin = () => process.env.TRIBUTARY_BIN ?? new URL('../../bin/tributary.js', import.meta.url).pathname;

/** Writes a tributary.yaml for one test's source and returns its path. */
export function captureConfig(options: {
  prefix: string;
  source: string;
  database: string;
  include?: string;
  extra?: string;
  password?: string;
  /** Partitions of the change topics the capture creates (default 1). */
  partitions?: number;
  /** YAML lines of a `sinks:` list, indented as list items (`  - name: …`). */
  sinks?: string[];
  /** The source's engine: the stack's MariaDB (default) or PostgreSQL (`database` is then the Postgres database). */
  type?: 'mariadb' | 'postgres';
}): string {
  const mysql = options.type === 'postgres' ? postgresConnection(options.database) : mysqlConnection();
  const file = join(tmpdir(), `${uniqueName('tributary')}.yaml`);
  writeFileSync(
    file,
    [
      'kafka:',
      `  brokers: ${stackEnv('KAFKA_BROKERS')}`,
      `  topicPrefix: ${options.prefix}`,
      ...(options.partitions ? ['  topicDefaults:', `    partitions: ${options.partitions}`] : []),
      'schemaRegistry:',
      `  url: ${stackEnv('SCHEMA_REGISTRY_URL')}`,
      'sources:',
      `  - name: ${options.source}`,
      ...(options.type === 'postgres'
        ? ['    type: postgres']
        : ['    type: mariadb', `    serverId: ${10_000 + Math.floor(Math.random() * 50_000)}`]),
      '    connection:',
      `      host: ${mysql.host}`,
      `      port: ${mysql.port}`,
      `      user: ${mysql.user}`,
      `      password: "${options.password ?? mysql.password ?? ''}"`,
      ...(options.type === 'postgres' ? [`      database: ${options.database}`] : []),
      `    include: ["${options.include ?? (options.type === 'postgres' ? 'public.*' : `${options.database}.*`)}"]`,
      ...(options.extra ? [options.extra] : []),
      ...(options.sinks ? ['sinks:', ...options.sinks] : []),
    ].join('\n'),
  );
  return file;
}

export interface CaptureProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** `tributary capture <source>` as its own process, the way it is deployed; its logs are kept for failures. */
export function startCapture(config: string, source: string, logLevel?: string): CaptureProcess {
  return startTributary(['capture', source], config, logLevel);
}

/** `tributary sink <name>` as its own process; `env` adds variables (fault injection). */
export function startSink(config: string, sink: string, env: Record<string, string> = {}, logLevel?: string): CaptureProcess {
  return startTributary(['sink', sink], config, logLevel, env);
}

/** Any `tributary` command as its own process; `env` adds variables (fault injection). */
export function startTributary(args: string[], config: string, logLevel?: string, env: Record<string, string> = {}): CaptureProcess {
  // TRIBUTARY_NODE_ARGS passes flags such as --cpu-prof to the process, for profiling benchmarks.
  const nodeArgs = process.env.TRIBUTARY_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, tributaryBin(), ...args, '--config', config], {
    env: { ...process.env, ...env, TRIBUTARY_LOG_LEVEL: logLevel ?? process.env.TRIBUTARY_LOG_LEVEL ?? 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}
