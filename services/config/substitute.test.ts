import { describe, expect, it } from 'vitest';
import { ConfigError } from './errors.ts';
import { substituteEnv, substituteTree } from './substitute.ts';

const one = (text: string, env: Record<string, string | undefined>) => substituteTree({ v: text }, env);

describe('substituteTree', () => {
  it('replaces ${VAR} and ${VAR:-default}', () => {
    expect(one('${HOST}:${PORT:-9092}', { HOST: 'kafka' }).value).toEqual({ v: 'kafka:9092' });
    expect(one('${HOST}:${PORT:-9092}', { HOST: 'kafka', PORT: '19092' }).value).toEqual({ v: 'kafka:19092' });
  });

  it('treats an empty value as set for ${VAR} but takes the default for ${VAR:-d}', () => {
    const { value, problems } = one('[${EMPTY}|${EMPTY:-fallback}]', { EMPTY: '' });
    expect(problems).toEqual([]);
    expect(value).toEqual({ v: '[|fallback]' });
  });

  it('keeps $${ as a literal ${ and leaves other dollars alone', () => {
    expect(one('$${NOT_A_VAR} costs $5, $HOME stays', {}).value).toEqual({ v: '${NOT_A_VAR} costs $5, $HOME stays' });
  });

  it('does not re-expand substituted values', () => {
    expect(one('${A}', { A: '${B}' }).value).toEqual({ v: '${B}' });
  });

  it('allows defaults with colons, slashes and nested references', () => {
    expect(one('${URL:-http://127.0.0.1:18081/apis/ccompat/v7}', {}).value).toEqual({
      v: 'http://127.0.0.1:18081/apis/ccompat/v7',
    });
    expect(one('${A:-${B:-x}}', { B: 'b' }).value).toEqual({ v: 'b' });
    // An unused default's unset variables are not an error, as in the shell.
    expect(one('${A:-${B}}', { A: 'a' }).problems).toEqual([]);
  });

  it('reports an unset variable with its name, key path and a fix', () => {
    const { problems } = substituteTree({ sources: [{ connection: { password: '${DB_PASSWORD}' } }] }, {});
    expect(problems).toEqual([
      'sources[0].connection.password: environment variable DB_PASSWORD is not set; export DB_PASSWORD=… or write ${DB_PASSWORD:-default} to give a default',
    ]);
  });

  it('reports malformed references without echoing the text', () => {
    const { problems } = substituteTree({ a: '${', b: '${1X}', c: '${X:-hunter2', d: '${X-y}' }, {});
    expect(problems).toEqual([
      'a: invalid ${…} reference; expected ${NAME} or ${NAME:-default} (write $${ for a literal ${)',
      'b: invalid ${…} reference; expected ${NAME} or ${NAME:-default} (write $${ for a literal ${)',
      'c: unterminated ${…} reference (missing "}")',
      'd: invalid ${X…} reference; expected ${X} or ${X:-default}',
    ]);
    expect(problems.join('\n')).not.toContain('hunter2');
  });

  it('substitutes only string scalars, not keys or other types', () => {
    const tree = { '${K}': '${V}', n: 5, b: true, z: null, list: ['${V}', 1] };
    expect(substituteTree(tree, { K: 'key', V: 'value' }).value).toEqual({
      '${K}': 'value',
      n: 5,
      b: true,
      z: null,
      list: ['value', 1],
    });
  });

  it('does not mutate its input', () => {
    const tree = { a: ['${V}'] };
    substituteTree(tree, { V: 'x' });
    expect(tree).toEqual({ a: ['${V}'] });
  });
});

describe('substituteEnv', () => {
  it('throws a ConfigError listing every missing variable', () => {
    let caught: unknown;
    try {
      substituteEnv({ a: '${ONE}', b: ['${TWO}'] }, {}, 'app.yaml');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const error = caught as ConfigError;
    expect(error.problems).toHaveLength(2);
    expect(error.message).toContain('app.yaml');
    expect(error.message).toContain('a: environment variable ONE is not set');
    expect(error.message).toContain('b[0]: environment variable TWO is not set');
  });

  it('defaults to process.env', () => {
    process.env.TRIBUTARY_TEST_SUBSTITUTE = 'from-env';
    try {
      expect(substituteEnv({ a: '${TRIBUTARY_TEST_SUBSTITUTE}' })).toEqual({ a: 'from-env' });
    } finally {
      delete process.env.TRIBUTARY_TEST_SUBSTITUTE;
    }
  });
});
