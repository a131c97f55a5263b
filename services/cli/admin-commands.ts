import type { Command, Option } from 'commander';
import type { CaptureStatusReport } from '#capture/status.ts';
import { TributaryError } from '#core/errors.ts';
import { stringifyExact } from '#core/json.ts';
import { configuredByName, loadConfig } from '#config/load.ts';
import { collectSecrets, redactText } from '#config/redact.ts';
import { createKafka } from '#kafka/client.ts';
import { sendSnapshotSignal, signalTopic } from '#kafka/signals.ts';
import { processUrl, readProcess } from '#admin/process-client.ts';
import { SnapshotTracker, watchSnapshot } from './snapshot-watch.ts';
import { statusText } from './status-text.ts';

/** `tributary admin`, `tributary status` and `tributary snapshot`: running pipelines seen and steered from outside. */
export function addAdminCommands(program: Command, configOption: () => Option): void {
  program
    .command('admin')
    .description('serve the admin API (status, lag, replay, snapshots, merged Prometheus metrics) on admin.host:admin.port')
    .addOption(configOption())
    .action(async (options: { config: string }) => {
      const settings = loadConfig(options.config);
      const abort = new AbortController();
      process.once('SIGINT', () => abort.abort());
      process.once('SIGTERM', () => abort.abort());
      // Loaded by the command that needs it: a capture or sink process does not carry the admin service (express).
      const { runAdmin } = await import('#admin/service.ts');
      await runAdmin(settings, abort.signal);
    });

  program
    .command('status')
    .description('show every source and sink: state, position, rates, snapshot progress, lag and dead letters')
    .option('--json', 'print everything as JSON (offsets as strings)', false)
    .addOption(configOption())
    .action(async (options: { json: boolean; config: string }) => {
      const settings = loadConfig(options.config);
      // Read the way the admin service reads them, without going through it: status works with no admin running.
      const { readPipelines } = await import('#admin/pipelines.ts');
      const pipelines = await readPipelines({ config: settings, kafka: createKafka(settings.kafka), secrets: collectSecrets(settings) });
      process.stdout.write(`${options.json ? stringifyExact(pipelines) : statusText(pipelines, Date.now())}\n`);
    });

  program
    .command('snapshot')
    .description('ask the capture of a source to snapshot tables again while it streams, and follow its progress')
    .argument('<source>', 'the source name')
    .option('-t, --table <table>', 'a table to snapshot, db.table (schema.table for PostgreSQL); repeat for more', collect)
    .option('--no-wait', 'print the signal id and return without following the snapshot')
    .addOption(configOption())
    .action(async (name: string, options: { table?: string[]; wait: boolean; config: string }) => {
      const settings = loadConfig(options.config);
      const source = configuredByName(settings.sources, 'source', name);
      const tables = options.table ?? [];
      if (tables.length === 0) throw new TributaryError('CONFIG_INVALID', 'name the tables to snapshot: --table db.table (schema.table for PostgreSQL), repeated for more');
      const token = settings.admin.token;
      const where = processUrl(source.http);
      // What the capture shows before the signal, so that an earlier snapshot of the same tables is not taken
      // for this one.
      let before: CaptureStatusReport | null = null;
      let unreachable: string | null = null;
      if (options.wait && 'url' in where) {
        before = (await readProcess(where.url, '/status', token).catch((error: unknown) => {
          unreachable = redactText((error as Error).message, collectSecrets(settings));
          return null;
        })) as CaptureStatusReport | null;
      }
      const kafka = createKafka(settings.kafka);
      const id = await sendSnapshotSignal(kafka, settings.kafka.topicPrefix, settings.kafka.topicDefaults.replicationFactor, source.name, tables);
      // stdout holds the id alone, for scripts; what a person reads goes to stderr.
      process.stdout.write(`${id}\n`);
      process.stderr.write(`sent snapshot signal ${id} for ${tables.join(', ')} to ${signalTopic(settings.kafka.topicPrefix)}\n`);
      if (!options.wait) return;
      if ('missing' in where) {
        process.stderr.write(`source "${source.name}" has ${where.missing}: cannot follow the snapshot; the capture reports it in its status\n`);
        return;
      }
      if (before === null) {
        process.stderr.write(`the capture of "${source.name}" does not answer (${unreachable}): it acts on the signal when it reads it\n`);
        return;
      }
      const abort = new AbortController();
      process.once('SIGINT', () => abort.abort());
      const tracker = new SnapshotTracker(tables, before.snapshot);
      const outcome = await watchSnapshot({ url: where.url, token, tracker, signal: abort.signal, out: process.stderr });
      process.stderr.write(
        outcome === 'done' ? 'snapshot done\n' : 'stopped watching; the capture goes on with the snapshot (tributary status shows it)\n',
      );
    });
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
