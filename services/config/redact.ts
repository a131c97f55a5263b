/**
 * Keeping secrets out of logs and error messages. `redact` masks a structure before it is printed; `collectSecrets`
 * lists the secret values of a config so `redactText` can scrub free text (driver errors, stack traces) that may
 * echo them back.
 */

export const MASK = '***';

const SECRET_KEY = /pass(word|wd)?$|secret|token|api_?key|salt/i;
const MIN_SECRET_LENGTH = 3;

/**
 * `scheme://user:password@`: the password runs to the LAST `@` before whitespace or a quote, so an unescaped `@`
 * inside it is masked too (over-masking a path with `@` beats leaking half a password).
 */
const URL_USERINFO = /([A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s:@/'"]*:)([^\s'"]*)@/g;

/** Whether a value stored under `key` (inside `parentKey`) is a secret. */
export function isSecretKey(key: string, parentKey?: string): boolean {
  if (SECRET_KEY.test(key)) return true;
  // tls.key is a private-key file path: not a credential itself, but it says where one lives.
  return key.toLowerCase() === 'key' && parentKey?.toLowerCase() === 'tls';
}

/** Replaces the password part of every `scheme://user:password@host` in a string. */
export function redactUrlPasswords(text: string): string {
  return text.replace(URL_USERINFO, `$1${MASK}@`);
}

/** Deep copy with secret-keyed values replaced by `***` and URL passwords masked in every string. */
export function redact(value: unknown): unknown {
  const seen = new WeakSet<object>();
  const walk = (node: unknown, parentKey: string | undefined): unknown => {
    if (typeof node === 'string') return redactUrlPasswords(node);
    if (typeof node !== 'object' || node === null) return node;
    if (seen.has(node)) return '[Circular]';
    seen.add(node);
    if (Array.isArray(node)) return node.map((item) => walk(item, parentKey));
    if (!isPlainObject(node)) return node;
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(node)) {
      out[key] = isSecretKey(key, parentKey) && child !== undefined && child !== null ? MASK : walk(child, key);
    }
    return out;
  };
  return walk(value, undefined);
}

/**
 * Replaces every occurrence of each secret (length ≥ 3, as written and %-encoded) and any URL password by `***`.
 * Longer secrets go first so one that contains another is masked whole.
 */
export function redactText(text: string, secrets: readonly string[]): string {
  const variants = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < MIN_SECRET_LENGTH) continue;
    variants.add(secret);
    variants.add(encodeURIComponent(secret));
  }
  let out = text;
  for (const secret of [...variants].sort((a, b) => b.length - a.length)) out = out.split(secret).join(MASK);
  return redactUrlPasswords(out);
}

/**
 * Every secret value in a config (parsed or raw): values under secret-named keys and passwords inside URLs, both
 * as written and decoded. tls.key is left out: it is a file path, and scrubbing paths would only hide clues.
 */
export function collectSecrets(config: unknown): string[] {
  const secrets = new Set<string>();
  const walk = (node: unknown, underSecretKey: boolean): void => {
    if (typeof node === 'string' || typeof node === 'number') {
      const text = String(node);
      if (underSecretKey) addWithDecoded(secrets, text);
      for (const match of text.matchAll(URL_USERINFO)) addWithDecoded(secrets, match[2] ?? '');
      return;
    }
    if (Array.isArray(node)) {
      for (const item of node) walk(item, underSecretKey);
      return;
    }
    if (!isPlainObject(node)) return;
    for (const [key, child] of Object.entries(node)) walk(child, underSecretKey || SECRET_KEY.test(key));
  };
  walk(config, false);
  return [...secrets];
}

function addWithDecoded(secrets: Set<string>, secret: string): void {
  if (secret === '') return;
  secrets.add(secret);
  try {
    secrets.add(decodeURIComponent(secret));
  } catch {
    // Not valid %-encoding: the text as written is what could leak.
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
