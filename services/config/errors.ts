import { TributaryError } from '#core/errors.ts';

/**
 * The one error type the configuration layer throws. The CLI prints `message` and exits 1, so the message is a
 * complete, self-contained block: which file, then one line per problem. Problems name key paths and expectations,
 * never the offending value, because values in this file are often secrets.
 */
export class ConfigError extends TributaryError {
  override readonly name = 'ConfigError';
  readonly file: string;
  readonly problems: string[];

  constructor(file: string, problems: readonly string[]) {
    const list = problems.length > 0 ? [...problems] : ['unknown configuration problem'];
    const count = list.length === 1 ? '' : ` (${list.length} problems)`;
    // Retrying cannot fix a bad file: CONFIG_INVALID is never retriable, so supervisors stop restart loops.
    super('CONFIG_INVALID', `Configuration error in ${file}${count}:\n${list.map((p) => `  - ${p}`).join('\n')}`);
    this.file = file;
    this.problems = list;
  }
}
