import { z } from 'zod';
import { unknownKeysMessage } from './format.ts';

/**
 * Building blocks shared by the config schemas. Numeric and boolean fields also accept their string spelling
 * because `${VAR}` substitution always yields strings; coercing by the field's type (not by how the text looks)
 * keeps a password such as `12345` a string.
 */

/** A strict object whose unknown-key error carries the allowed keys, so the message can suggest a spelling. */
export function strictObject<T extends z.core.$ZodLooseShape>(shape: T) {
  const allowed = Object.keys(shape);
  return z.strictObject(shape, {
    error: (issue) => (issue.code === 'unrecognized_keys' ? unknownKeysMessage(allowed) : undefined),
  });
}

const NUMBER_TEXT = /^[+-]?\d+(\.\d+)?$/;

function numberFromText(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const text = value.trim().replaceAll('_', '');
  return NUMBER_TEXT.test(text) ? Number(text) : value;
}

function booleanFromText(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const text = value.trim().toLowerCase();
  if (text === 'true') return true;
  if (text === 'false') return false;
  return value;
}

/** An integer in [min, max], also accepting its decimal string form. */
export function integer(min: number, max: number = Number.MAX_SAFE_INTEGER) {
  return z.preprocess(numberFromText, z.int().min(min).max(max));
}

/** A boolean, also accepting `"true"` / `"false"`. */
export function flag() {
  return z.preprocess(booleanFromText, z.boolean());
}

export const TCP_PORT_MAX = 65_535;

export function port() {
  return integer(1, TCP_PORT_MAX);
}

/** Names of sources and sinks: they end up in topic names, slot names and metrics labels. */
export const IDENTIFIER = /^[A-Za-z0-9_-]+$/;

export function identifier() {
  return z.string().regex(IDENTIFIER, 'expected letters, digits, "_" or "-" only');
}

/** Characters Kafka allows in topic names. */
export const TOPIC_CHARS = /^[A-Za-z0-9._-]+$/;
const TOPIC_MAX_LENGTH = 249;

export function topicName() {
  return z
    .string()
    .min(1)
    .max(TOPIC_MAX_LENGTH)
    .regex(TOPIC_CHARS, 'expected Kafka topic characters only: letters, digits, ".", "_" or "-"');
}

const HOST_PORT = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(\d{1,5})$/;

export function isHostPort(text: string): boolean {
  const match = HOST_PORT.exec(text);
  const portNumber = Number(match?.[1]);
  return match !== null && portNumber >= 1 && portNumber <= TCP_PORT_MAX;
}

export function hostPort() {
  return z.string().refine(isHostPort, 'expected host:port, e.g. kafka-1:9092');
}

export function httpUrl() {
  return z.string().refine(isHttpUrl, 'expected an http:// or https:// URL');
}

export function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== '';
  } catch {
    return false;
  }
}

/** `*` and `?` wildcards on both sides of exactly one dot: `shop.*`, `*.orders_20??`. */
const TABLE_PATTERN = /^[^.\s]+\.[^.\s]+$/;

export function tablePattern() {
  return z
    .string()
    .regex(TABLE_PATTERN, 'expected a db.table pattern such as shop.* or *.orders (wildcards: * and ?)');
}

/** Compiles a user regex and reports only the engine's reason, not the pattern. */
export function regexProblem(pattern: string): string | undefined {
  try {
    new RegExp(pattern);
    return undefined;
  } catch (error) {
    const reason = error instanceof Error ? (error.message.split(': ').pop() ?? 'syntax error') : 'syntax error';
    return `not a valid regular expression (${reason})`;
  }
}

export function regexString() {
  return z
    .string()
    .min(1)
    .superRefine((pattern, ctx) => {
      const problem = regexProblem(pattern);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });
}
