import { ConfigError } from './errors.ts';
import { formatPath } from './format.ts';

/**
 * `${VAR}` / `${VAR:-default}` substitution over the string scalars of an already-parsed YAML tree. Working on the
 * tree rather than the raw text means a value full of `:`, `#` or quotes cannot change the document's structure.
 *
 * Shell semantics: `${VAR}` accepts an empty value; `${VAR:-default}` uses the default when VAR is unset OR empty.
 * `$${` is a literal `${`. Defaults may themselves contain references: `${A:-${B:-x}}`.
 */

export type Env = Readonly<Record<string, string | undefined>>;

export interface SubstitutionResult {
  value: unknown;
  problems: string[];
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/** Substitutes every string scalar (keys are left alone) and collects one problem per failed reference. */
export function substituteTree(tree: unknown, env: Env = process.env): SubstitutionResult {
  const problems: string[] = [];
  const walk = (node: unknown, path: PropertyKey[]): unknown => {
    if (typeof node === 'string') return substituteString(node, env, formatPath(path), problems);
    if (Array.isArray(node)) return node.map((item, index) => walk(item, [...path, index]));
    if (isPlainObject(node)) {
      const out: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(node)) out[key] = walk(value, [...path, key]);
      return out;
    }
    return node;
  };
  const value = walk(tree, []);
  return { value, problems };
}

/** Like `substituteTree`, but throws a ConfigError naming `source` when any reference fails. */
export function substituteEnv(tree: unknown, env: Env = process.env, source = 'configuration'): unknown {
  const { value, problems } = substituteTree(tree, env);
  if (problems.length > 0) throw new ConfigError(source, problems);
  return value;
}

/** Substitutes one string; `where` names the key path in problem messages, which are appended to `problems`. */
export function substituteString(text: string, env: Env, where: string, problems: string[]): string {
  if (!text.includes('$')) return text;
  const found: Problem[] = [];
  const out = expand({ text, pos: 0 }, env, where, found, false);
  problems.push(...found.map((p) => p.message));
  return out;
}

interface Scanner {
  text: string;
  pos: number;
}

/** `unset` problems inside a default only count when the default is actually used. */
interface Problem {
  message: string;
  unset: boolean;
}

/** Expands until the end of text, or (inside a default) until the closing brace, which it consumes. */
function expand(scanner: Scanner, env: Env, where: string, problems: Problem[], inDefault: boolean): string {
  const { text } = scanner;
  let out = '';
  while (scanner.pos < text.length) {
    if (text.startsWith('$${', scanner.pos)) {
      out += '${';
      scanner.pos += 3;
    } else if (text.startsWith('${', scanner.pos)) {
      scanner.pos += 2;
      const reference = readReference(scanner, env, where, problems);
      if (reference === undefined) return out;
      out += reference;
    } else if (inDefault && text[scanner.pos] === '}') {
      scanner.pos += 1;
      return out;
    } else {
      out += text[scanner.pos];
      scanner.pos += 1;
    }
  }
  if (inDefault) problems.push(syntax(`${where}: unterminated \${…} reference (missing "}")`));
  return out;
}

/** Reads `NAME}` or `NAME:-default}` after a `${`; undefined means the rest of the string is unusable. */
function readReference(scanner: Scanner, env: Env, where: string, problems: Problem[]): string | undefined {
  const name = NAME.exec(scanner.text.slice(scanner.pos))?.[0];
  if (name === undefined) {
    problems.push(
      syntax(`${where}: invalid \${…} reference; expected \${NAME} or \${NAME:-default} (write $\${ for a literal \${)`),
    );
    return undefined;
  }
  scanner.pos += name.length;
  const value = env[name];
  if (scanner.text[scanner.pos] === '}') {
    scanner.pos += 1;
    if (value !== undefined) return value;
    problems.push({
      message: `${where}: environment variable ${name} is not set; export ${name}=… or write \${${name}:-default} to give a default`,
      unset: true,
    });
    return '';
  }
  if (scanner.text.startsWith(':-', scanner.pos)) {
    scanner.pos += 2;
    // The default is scanned even when unused, to find its end and report syntax mistakes in it.
    const inner: Problem[] = [];
    const fallback = expand(scanner, env, where, inner, true);
    const useDefault = value === undefined || value === '';
    problems.push(...inner.filter((p) => useDefault || !p.unset));
    return useDefault ? fallback : value;
  }
  if (scanner.pos >= scanner.text.length) {
    problems.push(syntax(`${where}: unterminated \${${name} reference (missing "}")`));
  } else {
    problems.push(syntax(`${where}: invalid \${${name}…} reference; expected \${${name}} or \${${name}:-default}`));
  }
  return undefined;
}

function syntax(message: string): Problem {
  return { message, unset: false };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
