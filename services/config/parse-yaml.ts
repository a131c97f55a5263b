import { LineCounter, parseDocument, type YAMLError } from 'yaml';
import { ConfigError } from './errors.ts';
import { typeName } from './format.ts';

const EMPTY_FILE_PROBLEM = 'the file is empty; expected a YAML mapping with at least kafka: and schemaRegistry:';
/** One syntax slip often cascades into a dozen follow-on errors; the first few are the useful ones. */
const MAX_SYNTAX_PROBLEMS = 5;

/** Parses YAML text into a plain tree whose top level is a mapping, or throws a ConfigError naming `sourceName`. */
export function parseYamlTree(text: string, sourceName: string): Record<string, unknown> {
  if (text.trim() === '') throw new ConfigError(sourceName, [EMPTY_FILE_PROBLEM]);
  const lineCounter = new LineCounter();
  // prettyErrors would append the offending source lines to messages, and those lines may hold secrets.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true });
  if (doc.errors.length > 0) {
    const lines = text.split('\n');
    const problems = doc.errors.slice(0, MAX_SYNTAX_PROBLEMS).map((error) => {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      return `line ${line}, column ${col}: YAML syntax error: ${safeMessage(error)}${hint(lines[line - 1] ?? '')}`;
    });
    const more = doc.errors.length - MAX_SYNTAX_PROBLEMS;
    if (more > 0) problems.push(`… and ${more} more YAML errors, probably caused by the first`);
    throw new ConfigError(sourceName, problems);
  }
  let tree: unknown;
  try {
    tree = doc.toJS();
  } catch (error) {
    const reason = error instanceof Error ? error.message : 'unknown error';
    throw new ConfigError(sourceName, [`YAML cannot be converted: ${reason}`]);
  }
  // A file of only comments parses to null.
  if (tree === null || tree === undefined) throw new ConfigError(sourceName, [EMPTY_FILE_PROBLEM]);
  if (typeof tree !== 'object' || Array.isArray(tree)) {
    throw new ConfigError(sourceName, [`expected a YAML mapping at the top level, received ${typeName(tree)}`]);
  }
  return tree as Record<string, unknown>;
}

/**
 * Some yaml messages quote the offending source after `: ` ("Unexpected scalar token in YAML stream: \"...\"") or
 * inline (bad escape sequences); that text could be a secret, so it is cut.
 */
function safeMessage(error: YAMLError): string {
  if (error.code === 'BAD_DQ_ESCAPE') return 'invalid escape sequence in a double-quoted string';
  return error.message.split(': ')[0] ?? error.code;
}

/** Unquoted `${VAR}` inside `{ }` or `[ ]` is the commonest way substitution breaks YAML syntax. */
function hint(sourceLine: string): string {
  return /(^|[^$])[{[].*\$\{/.test(sourceLine) ? ' (quote ${…} references inside { } or [ ], e.g. port: "${PORT}")' : '';
}
