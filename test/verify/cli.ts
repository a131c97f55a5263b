// `tributary verify` as its own process for the tests, registered the way services/cli/main.ts registers commands
// (until main.ts carries it, bin/tributary.js does not know the verb).
import { Command, Option } from 'commander';
import { TributaryError } from '#core/errors.ts';
import { addVerifyCommand } from '#cli/verify-command.ts';

const program = new Command('tributary');
addVerifyCommand(program, () => new Option('-c, --config <file>', 'the configuration file').env('TRIBUTARY_CONFIG').default('tributary.yaml'));
try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.stderr.write(`tributary: ${error instanceof TributaryError ? error.message : String((error as Error)?.stack ?? error)}\n`);
  process.exitCode = 2;
}
