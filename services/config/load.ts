import { TributaryError } from '#core/errors.ts';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ConfigError } from './errors.ts';
import { formatIssues } from './format.ts';
import { parseYamlTree } from './parse-yaml.ts';
import { collectSecrets, redactText } from './redact.ts';
import { TributaryConfigSchema, type TributaryConfig } from './schema.ts';
import { substituteTree, type Env } from './substitute.ts';

export const DEFAULT_CONFIG_PATH = './tributary.yaml';

/** The file to load: the argument, else $TRIBUTARY_CONFIG, else ./tributary.yaml; resolved to an absolute path. */
export function resolveConfigPath(path?: string, env: Env = process.env): string {
  const chosen = path || env.TRIBUTARY_CONFIG || DEFAULT_CONFIG_PATH;
  return resolve(chosen);
}

/** Reads, substitutes and validates the config file. Throws ConfigError, naming the file, on any problem. */
export function loadConfig(path?: string, env: Env = process.env): TributaryConfig {
  const file = resolveConfigPath(path, env);
  return parseConfig(readConfigText(file), env, file);
}

/** Parses config text; `sourceName` (usually the file path) heads any error message. */
export function parseConfig(text: string, env: Env = process.env, sourceName = '<inline config>'): TributaryConfig {
  const tree = parseYamlTree(text, sourceName);
  const { value, problems } = substituteTree(tree, env);
  if (problems.length > 0) throw new ConfigError(sourceName, problems);

  const result = TributaryConfigSchema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  // Problem lines are built without values; scrubbing known secrets as well guards against a key name or a
  // message we did not foresee carrying one.
  const secrets = collectSecrets(value);
  const lines = formatIssues(result.error.issues).map((line) => redactText(line, secrets));
  throw new ConfigError(sourceName, [...new Set(lines)]);
}

function readConfigText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, [readProblem(error)]);
  }
}

function readProblem(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return `file not found; pass a path, set TRIBUTARY_CONFIG, or create ${DEFAULT_CONFIG_PATH}`;
    case 'EISDIR':
      return 'this is a directory; expected a YAML file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied reading the file';
    default:
      return `the file cannot be read (${code ?? 'unknown error'})`;
  }
}

/** The source or sink named `name`, or one error listing the names the configuration has. */
export function configuredByName<T extends { name: string }>(entries: readonly T[], kind: 'source' | 'sink', name: string): T {
  const entry = entries.find((e) => e.name === name);
  if (entry) return entry;
  const names = entries.map((e) => e.name).join(', ') || 'none';
  throw new TributaryError('CONFIG_INVALID', `no ${kind} named "${name}" in the configuration (${kind}s: ${names})`);
}
