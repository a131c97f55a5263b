import { Command, Option } from 'commander';
import { TributaryError } from '#core/errors.ts';
import { stringifyExact } from '#core/json.ts';
import { log } from '#core/log.ts';
import { checkConfig } from '#config/check.ts';
import { loadConfig } from '#config/load.ts';
import { createKafka } from '#kafka/client.ts';
import { AvroSerde } from '#kafka/serde.ts';
import { tailTopic } from '#kafka/tail.ts';
import { addAdminCommands } from './admin-commands.ts';
import { addOffsetCommands } from './offset-commands.ts';
import { addVerifyCommand } from './verify-command.ts';

const configOption = () =>
  new Option('-c, --config <file>', 'the configuration file').env('TRIBUTARY_CONFIG').default('tributary.yaml');

const program = new Command('tributary')
  .description('Kafka-native change data capture: databases into Kafka topics, topics into databases.')
  .showHelpAfterError();

const config = program.command('config').description('work with tributary.yaml');
config
  .command('check')
  .description('validate the configuration file and print what it declares (secrets masked)')
  .addOption(configOption())
  .action((options: { config: string }) => {
    process.stdout.write(`${checkConfig(options.config)}\n`);
  });

config
  .command('reference')
  .description('print the configuration reference (Markdown), generated from the schema the file is checked with')
  .action(async () => {
    const { configReferenceMarkdown } = await import('#config/reference.ts');
    process.stdout.write(configReferenceMarkdown());
  });

program
  .command('tail')
  .description('print the messages of a topic as JSON lines (key, value, partition, offset), decoded through the registry')
  .argument('<topic>', 'the topic to read')
  .option('--from-beginning', 'start at the earliest retained offset instead of new messages', false)
  .option('-n, --max-messages <count>', 'stop after this many messages', (v) => Number.parseInt(v, 10))
  .addOption(configOption())
  .action(async (topic: string, options: { fromBeginning: boolean; maxMessages?: number; config: string }) => {
    const settings = loadConfig(options.config);
    const abort = new AbortController();
    process.once('SIGINT', () => abort.abort());
    process.once('SIGTERM', () => abort.abort());
    await tailTopic(
      createKafka(settings.kafka),
      new AvroSerde(settings.schemaRegistry),
      {
        topic,
        fromBeginning: options.fromBeginning,
        signal: abort.signal,
        ...(options.maxMessages === undefined ? {} : { maxMessages: options.maxMessages }),
      },
      (message) => process.stdout.write(`${stringifyExact(message)}\n`),
    );
  });

program
  .command('capture')
  .description('run one source from tributary.yaml: snapshot, then stream its changes into Kafka (exactly once)')
  .argument('<source>', 'the source name')
  .addOption(configOption())
  .option('--drop-slot', 'drop the source\'s replication slot and publication and forget its offset (the next run snapshots again), then exit')
  .action(async (source: string, options: { config: string; dropSlot?: boolean }) => {
    const settings = loadConfig(options.config);
    // Each process loads what its command needs: a capture does not carry the sink connectors' drivers.
    const { dropCaptureState, runCapture } = await import('#capture/service.ts');
    if (options.dropSlot) {
      for (const dropped of await dropCaptureState(settings, source)) process.stdout.write(`dropped ${dropped}\n`);
      return;
    }
    const abort = new AbortController();
    // SIGTERM and Ctrl-C finish the transaction in flight, commit it with its offset, and exit.
    process.once('SIGINT', () => abort.abort());
    process.once('SIGTERM', () => abort.abort());
    await runCapture(settings, source, abort.signal);
  });

program
  .command('sink')
  .description('run one sink from tributary.yaml: consume its change topics and apply them to the target (idempotently)')
  .argument('<sink>', 'the sink name')
  .addOption(configOption())
  .action(async (sink: string, options: { config: string }) => {
    const settings = loadConfig(options.config);
    const { runSink } = await import('#sink/service.ts');
    const abort = new AbortController();
    // SIGTERM and Ctrl-C finish the batch in flight, commit its offsets, and exit.
    process.once('SIGINT', () => abort.abort());
    process.once('SIGTERM', () => abort.abort());
    await runSink(settings, sink, abort.signal);
  });

addOffsetCommands(program, configOption);
addAdminCommands(program, configOption);
addVerifyCommand(program, configOption);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // The one place a command's failure is reported: one message, no stack for the errors we classified.
  if (error instanceof TributaryError) {
    process.stderr.write(`tributary: ${(error as Error).message}\n`);
  } else {
    log.error({ err: error }, 'command failed');
  }
  process.exitCode = 1;
}
