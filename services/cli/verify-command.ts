import { InvalidArgumentError, type Command, type Option } from 'commander';
import { loadConfig } from '#config/load.ts';
import { createProgress } from '#verify/progress.ts';
import { allMatch, formatJson, formatText } from '#verify/report.ts';
import { runVerify } from '#verify/run.ts';

/** `tributary verify`: does a sink's target hold what the source holds? Exit code 0 only when every table matches. */
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
    .addOption(configOption())
    .action(
      async (options: { source: string; sink: string; table?: string[]; examples: number; recheck: number; parallel: number; json: boolean; config: string }) => {
        const settings = loadConfig(options.config);
        const abort = new AbortController();
        process.once('SIGINT', () => abort.abort());
        process.once('SIGTERM', () => abort.abort());
        const reports = await runVerify(settings, {
          source: options.source,
          sink: options.sink,
          tables: options.table ?? [],
          parallel: options.parallel,
          verify: { examples: options.examples, recheckMs: options.recheck * 1000, signal: abort.signal },
          progress: createProgress(process.stderr),
        });
        process.stdout.write(`${options.json ? formatJson(reports) : formatText(reports)}\n`);
        if (!allMatch(reports)) process.exitCode = 1;
      },
    );
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

function seconds(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new InvalidArgumentError('expected a number of seconds, 0 or more');
  return value;
}
