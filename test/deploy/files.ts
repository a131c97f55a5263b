import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { substituteString } from '#config/substitute.ts';

/** Reading the deployment files the tests check, relative to the repository root. */

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function repoPath(relative: string): string {
  return `${ROOT}${relative}`;
}

export function readText(relative: string): string {
  return readFileSync(repoPath(relative), 'utf8');
}

/** One YAML document; `merge` resolves `<<:` keys as Compose does. */
export function readYaml<T = Record<string, unknown>>(relative: string): T {
  return parse(readText(relative), { merge: true }) as T;
}

/** Every document of a multi-document YAML file (Kubernetes manifests), failing on any parse error. */
export function readYamlDocuments(relative: string): Record<string, unknown>[] {
  const documents = parseAllDocuments(readText(relative), { prettyErrors: true });
  const list = Array.isArray(documents) ? documents : [documents];
  for (const document of list) {
    if (document.errors.length > 0) throw new Error(`${relative}: ${document.errors.map((e) => e.message).join('; ')}`);
  }
  return list.map((document) => document.toJS() as Record<string, unknown> | null).filter((d): d is Record<string, unknown> => d !== null);
}

/**
 * Compose's `${VAR:-default}` with no variable set: the demo's defaults, as `docker compose up` would use them. The
 * config's own substitution has the same syntax; an unset variable without a default is empty, as in Compose (its
 * problem report is not wanted here).
 */
export function composeDefaults(value: string): string {
  return substituteString(value, {}, 'docker-compose.yml', []);
}

export interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  entrypoint?: string[];
  environment?: Record<string, string | number>;
  healthcheck?: { test: string[] | string };
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
  ports?: string[];
  profiles?: string[];
  configs?: { source: string; target: string }[];
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  configs?: Record<string, { content?: string; file?: string; environment?: string }>;
}

export function readCompose(): ComposeFile {
  return readYaml<ComposeFile>('docker-compose.yml');
}

/** A compose service's environment as the container gets it with nothing set in the shell. */
export function containerEnv(service: ComposeService): Record<string, string> {
  return Object.fromEntries(Object.entries(service.environment ?? {}).map(([key, value]) => [key, composeDefaults(String(value))]));
}
