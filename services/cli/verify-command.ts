import { InvalidArgumentError, type Command, type Option } from 'commander';
import { loadConfig } from '#config/load.ts';
import { MAX_SIGNAL_KEYS } from '#kafka/signals.ts';
import { createProgress } from '#verify/progress.ts';
import { formatRepairJson, formatRepairText } from '#verify/repair-report.ts';
import { allMatch, formatJson, formatText } from '#verify/report.ts';
import type { RunOptions } from '#verify/run.ts';

/**
 * `tributary verify`: does a sink's target hold what the source holds? With --repair, the capture re-reads the keys
 * that differ (whole tables when there are too many) and those tables are verified again. Exit code 0 only when every
 * table matches (in the end).
 */
export function addVerifyCommand(program: Command, configOption: () => Option): void {
  program
    .command('verify')
    .description(
      "compare a source's captured tables with their copies in a sink's target: row counts and checksums of key ranges " +
        'computed on both servers, narrowed down to the keys that are missing, extra or different',
    )
    .requiredOption('--source <name>', 'the source whose tables are compared')
    .requiredOption('--sink <name>', 'the sink whose target holds the copies')
    .option('--table <db.table...>', "only these tables (schema.table for PostgreSQL); default: every captured table the sink consumes")
    .option('--examples <count>', 'example keys shown per kind of difference', count, 10)
    .option('--recheck <seconds>', 'how long ranges that differ are re-checked (changes the sink is still applying) before what still differs is reported', seconds, 5)
    .option('--parallel <count>', 'queries in flight per server', positive, 4)
    .option('--json', 'print the result as one JSON document', false)
    .option(
      '--repair',
      "then have the source's capture re-read the keys that differ through its ad-hoc snapshot (needs its http " +
        'endpoint): it re-emits the rows the source has and deletes the keys it does not have; wait until the sink ' +
        `applied them, and verify those tables again. A table with more differing keys than one signal carries (${MAX_SIGNAL_KEYS}) ` +
        'is re-snapshotted whole, which removes no row extra in the target: those are reported and keep the exit code 1',
      false,
    )
    .option('--repair-timeout <seconds>', 'with --repair: how long the capture may take to start the snapshot or stay unreachable, and the sink to apply it', positiveSeconds, 120)
    .addOption(configOption())
    .action(async (options: VerifyCommandOptions) => {
      const settings = loadConfig(options.config);
      const abort = new AbortController();
      process.once('SIGINT', () => abort.abort());
      process.once('SIGTERM', () => abort.abort());
      const base: RunOptions = {
        source: options.source,
        sink: options.sink,
        tables: options.table ?? [],
        parallel: options.parallel,
        verify: { examples: options.examples, recheckMs: options.recheck * 1000, signal: abort.signal },
        progress: createProgress(process.stderr),
      };
      // Loaded by the command that needs them: other processes do not carry the verify engines.
      const { runVerify } = await import('#verify/run.ts');
      const repair = options.repair ? await import('#verify/repair.ts') : null;
      // A repair's first pass collects the keys that differ, for the capture to re-read.
      const run = repair ? repair.collectingKeys(base) : base;
      const reports = await runVerify(settings, run);
      if (!repair) {
        process.stdout.write(`${options.json ? formatJson(reports) : formatText(reports)}\n`);
        if (!allMatch(reports)) process.exitCode = 1;
        return;
      }
      // The first pass is shown as soon as it is known, with what the repair does after it; under --json, stdout
      // holds the one document and the repair's lines go to stderr.
      if (!options.json) process.stdout.write(`${formatText(reports)}\n\n`);
      const say = (line: string) => (options.json ? process.stderr : process.stdout).write(`repair: ${line}\n`);
      const result = await repair.repairDifferences(settings, run, reports, {
        timeoutMs: options.repairTimeout * 1000,
        out: process.stderr,
        say,
        signal: abort.signal,
      });
      process.stdout.write(`${options.json ? formatRepairJson(reports, result) : formatRepairText(result)}\n`);
      if (!allMatch(result.tables)) process.exitCode = 1;
    });
}

interface VerifyCommandOptions {
  source: string;
  sink: string;
  table?: string[];
  examples: number;
  recheck: number;
  parallel: number;
  json: boolean;
  repair: boolean;
  repairTimeout: number;
  config: string;
}

function count(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new InvalidArgumentError('expected a whole number, 0 or more');
  return value;
}

function positive(text: string): number {
  const value = count(text);
  if (value < 1) throw new InvalidArgumentError('expected a whole number, 1 or more');
  return value;
}

function positiveSeconds(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new InvalidArgumentError('expected a number of seconds, more than 0');
  return value;
}

function seconds(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new InvalidArgumentError('expected a number of seconds, 0 or more');
  return value;
}
