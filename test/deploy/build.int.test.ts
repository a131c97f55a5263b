import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoPath, ROOT } from './files.ts';

/**
 * `npm run build` bundles the CLI into dist/, which runs without tsx (the Docker image's entrypoint). No server is
 * needed; it lives with the integration tests because the build takes a few seconds.
 */

const run = promisify(execFile);
const node = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  run(process.execPath, ['dist/tributary.js', ...args], { cwd: ROOT, env: { ...process.env, ...env } });

beforeAll(async () => {
  await run('npm', ['run', 'build'], { cwd: ROOT });
}, 120_000);

describe('npm run build', () => {
  it('writes the CLI, the producer thread beside it and the Avro schemas the code reads at run time', () => {
    const files = readdirSync(repoPath('dist'));
    expect(files).toEqual(expect.arrayContaining(['tributary.js', 'tributary.js.map', 'producer-thread.js']));
    for (const avsc of readdirSync(repoPath('schemas')).filter((f) => f.endsWith('.avsc'))) expect(files, avsc).toContain(avsc);
  });

  it('resolves every #alias, and imports nothing of tsx', () => {
    const code = readdirSync(repoPath('dist'))
      .filter((f) => f.endsWith('.js'))
      .map((f) => readFileSync(repoPath(`dist/${f}`), 'utf8'))
      .join('\n');
    const specifiers = [...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']([^"']+)["']/g)].map((m) => m[1] as string);
    expect(specifiers.length).toBeGreaterThan(10);
    expect(specifiers.filter((s) => s.startsWith('#'))).toEqual([]);
    expect(specifiers.filter((s) => s === 'tsx' || s.startsWith('tsx/'))).toEqual([]);
    // The one mention of tsx is the development path of the producer thread, which the built code never takes
    // (services/kafka/threaded-producer.ts: BUILT).
    expect(code).toMatch(/BUILT = import\.meta\.url\.endsWith\("\.js"\)/);
  });

  it('runs: --help and config check on tributary.yaml exit 0', async () => {
    const help = await node(['--help']);
    expect(help.stdout).toMatch(/Usage: tributary/);
    const check = await node(['config', 'check', '--config', 'tributary.yaml']);
    expect(check.stdout).toMatch(/^Configuration OK/);
  });

  it('checks the compose demo config with the environment compose gives it', async () => {
    expect(existsSync(repoPath('deploy/compose/tributary.yaml'))).toBe(true);
    const check = await node(['config', 'check'], {
      TRIBUTARY_CONFIG: 'deploy/compose/tributary.yaml',
      TRIBUTARY_ADMIN_TOKEN: 'a-token-of-sixteen-characters',
      MYSQL_SOURCE_PASSWORD: 'x',
      MYSQL_TARGET_PASSWORD: 'x',
      POSTGRES_PASSWORD: 'x',
      MSSQL_SA_PASSWORD: 'x',
    });
    expect(check.stdout).toMatch(/sources \(2\)/);
    expect(check.stdout).not.toContain('a-token-of-sixteen-characters');
  });

  it('fails config check with exit code 1 on a broken config', async () => {
    await expect(node(['config', 'check', '--config', 'no-such-file.yaml'])).rejects.toMatchObject({ code: 1 });
  });
});
