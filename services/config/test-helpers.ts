import { expect } from 'vitest';
import { ConfigError } from './errors.ts';

/** Runs `fn`, asserts it throws a ConfigError, and returns it for closer inspection. */
export function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, but nothing was thrown');
}

/** Smallest valid document, to which tests append their sources and sinks. */
export const MINIMAL_YAML = `kafka:
  brokers: kafka-1:9092
schemaRegistry:
  url: http://registry:8081
`;
