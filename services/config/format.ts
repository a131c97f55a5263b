import type { z } from 'zod';

type Issue = z.core.$ZodIssue;
type PathKey = PropertyKey;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const ALLOWED_MARKER = /\(allowed: ([^)]*)\)$/;

/** `['sources', 1, 'connection', 'port']` → `sources[1].connection.port`; the root is `(top level)`. */
export function formatPath(path: readonly PathKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && IDENTIFIER.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out === '' ? '(top level)' : out;
}

/**
 * Message for strict objects' unknown keys. The allowed list rides inside the message because zod's final issue
 * keeps only `keys` and `message`; `formatIssues` reads it back to suggest the nearest spelling.
 */
export function unknownKeysMessage(allowed: readonly string[]): string {
  return `unknown key (allowed: ${allowed.join(', ')})`;
}

/** A type name for messages: says what kind of thing was received without ever showing it. */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/**
 * Turns zod issues into one line each: `key.path: what was expected, what kind of thing was received`. Built from
 * the issue's structured fields rather than passed through, so no input value can reach the text. Parse with
 * `{ reportInput: true }` so received types and missing keys can be told apart.
 */
export function formatIssues(issues: readonly Issue[], prefix: readonly PathKey[] = []): string[] {
  return issues.flatMap((issue) => formatIssue(issue, [...prefix, ...issue.path]));
}

function formatIssue(issue: Issue, path: PathKey[]): string[] {
  const at = formatPath(path);
  const input = (issue as { input?: unknown }).input;
  switch (issue.code) {
    case 'invalid_type': {
      const expected = expectedName(issue.expected);
      if (input === undefined) return [`${at}: missing required key (expected ${expected})`];
      const hint =
        issue.expected === 'string' && (typeof input === 'number' || typeof input === 'boolean')
          ? ' (quote the value in YAML to keep it a string)'
          : '';
      return [`${at}: expected ${expected}, received ${typeName(input)}${hint}`];
    }
    case 'invalid_value': {
      const options = issue.values.map((v) => JSON.stringify(v)).join(' | ');
      const expected = issue.values.length === 1 ? options : `one of ${options}`;
      if (input === undefined) return [`${at}: missing required key (expected ${expected})`];
      return [`${at}: expected ${expected}${typeof input === 'string' ? '' : `, received ${typeName(input)}`}`];
    }
    case 'unrecognized_keys': {
      const allowed = ALLOWED_MARKER.exec(issue.message)?.[1]?.split(', ') ?? [];
      return issue.keys.map((key) => {
        const near = nearest(key, allowed);
        const suggestion = near ? ` — did you mean "${near}"?` : '';
        const list = allowed.length > 0 ? ` (allowed here: ${allowed.join(', ')})` : '';
        return `${formatPath([...path, key])}: unknown key${suggestion}${list}`;
      });
    }
    case 'invalid_union':
      return formatUnion(issue, path, input);
    case 'too_small':
      return [`${at}: ${sizeMessage(issue.origin, 'min', Number(issue.minimum), issue.inclusive ?? true)}`];
    case 'too_big':
      return [`${at}: ${sizeMessage(issue.origin, 'max', Number(issue.maximum), issue.inclusive ?? true)}`];
    default:
      // invalid_format, custom, not_multiple_of...: messages come from our own schema or are value-free in zod 4.
      return [`${at}: ${issue.message}`];
  }
}

function formatUnion(issue: z.core.$ZodIssueInvalidUnion, path: PathKey[], input: unknown): string[] {
  const at = formatPath(path);
  // Discriminated union whose `type` matched no option: zod points the path at the discriminator.
  if ((issue as { note?: string }).note === 'No matching discriminator' || issue.errors.length === 0) {
    const options = ((issue as { options?: unknown[] }).options ?? []).map((o) => JSON.stringify(o)).join(' | ');
    const discriminator = (issue as { discriminator?: string }).discriminator;
    const value = discriminator && isRecord(input) ? input[discriminator] : input;
    if (value === undefined) return [`${at}: missing required key (expected one of ${options})`];
    return [`${at}: unknown ${discriminator ?? 'value'}; expected one of ${options}`];
  }
  // Branches that failed only because the value had the wrong shape tell us nothing beyond their expected type;
  // a branch that got further is the one the author meant, so report its issues instead.
  const deeper = issue.errors.filter((branch) => !isRootMismatch(branch));
  if (deeper.length === 0) {
    const expected = [...new Set(issue.errors.flatMap((branch) => branch.map(rootExpectation)))];
    if (input === undefined) return [`${at}: missing required key (expected ${expected.join(' or ')})`];
    return [`${at}: expected ${expected.join(' or ')}, received ${typeName(input)}`];
  }
  const best = deeper.reduce((a, b) => (b.length < a.length ? b : a));
  return formatIssues(best, path);
}

function isRootMismatch(branch: readonly Issue[]): boolean {
  return branch.every((i) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value'));
}

function rootExpectation(issue: Issue): string {
  if (issue.code === 'invalid_type') return expectedName(issue.expected);
  if (issue.code === 'invalid_value') return issue.values.map((v) => JSON.stringify(v)).join(' or ');
  return 'another form';
}

function expectedName(expected: string): string {
  return expected === 'int' ? 'integer' : expected;
}

function sizeMessage(origin: string, bound: 'min' | 'max', limit: number, inclusive: boolean): string {
  if (origin === 'array' || origin === 'set') {
    if (bound === 'min' && limit === 1) return 'must not be empty';
    return `expected ${bound === 'min' ? 'at least' : 'at most'} ${limit} item${limit === 1 ? '' : 's'}`;
  }
  if (origin === 'string') {
    if (bound === 'min' && limit === 1) return 'must not be empty';
    return `expected ${bound === 'min' ? 'at least' : 'at most'} ${limit} characters`;
  }
  const op = bound === 'min' ? (inclusive ? '>=' : '>') : inclusive ? '<=' : '<';
  return `expected a number ${op} ${limit}`;
}

/** Closest allowed key by case-insensitive edit distance ≤ 2, for "did you mean" hints. */
function nearest(key: string, allowed: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of allowed) {
    const distance = editDistance(key.toLowerCase(), name.toLowerCase());
    if (distance <= 2 && (!best || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
