import { describe, expect, it } from 'vitest';
import { readText } from './files.ts';

/**
 * deploy/Dockerfile, read as instructions (there is no Docker engine here to build it): two stages from one pinned
 * Node image, the kafkajs patches in place before each `npm ci`, only dist/ and production dependencies in the
 * runtime image, a non-root user, a health check and the CLI as the entrypoint.
 */

interface Instruction {
  keyword: string;
  args: string;
}

/** The Dockerfile's instructions with continuation lines joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const joined = text.replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

const all = instructions(readText('deploy/Dockerfile'));
const stageStarts = all.flatMap((instruction, index) => (instruction.keyword === 'FROM' ? [index] : []));
const stages = stageStarts.map((start, i) => all.slice(start, stageStarts[i + 1]));
const [build = [], runtime = []] = stages;
const find = (stage: Instruction[], keyword: string, pattern: RegExp) => stage.findIndex((i) => i.keyword === keyword && pattern.test(i.args));

describe('deploy/Dockerfile', () => {
  it('builds in two stages from one Node 20 bookworm-slim image pinned to a full version', () => {
    const image = all.find((i) => i.keyword === 'ARG' && i.args.startsWith('NODE_IMAGE='))?.args.split('=')[1];
    expect(image).toMatch(/^node:20\.\d+\.\d+-bookworm-slim$/);
    expect(stages).toHaveLength(2);
    expect(build[0]?.args).toBe('${NODE_IMAGE} AS build');
    expect(runtime[0]?.args).toBe('${NODE_IMAGE} AS runtime');
  });

  it('copies the patches before each npm ci, whose postinstall applies them', () => {
    for (const [name, stage] of [['build', build], ['runtime', runtime]] as const) {
      const patches = find(stage, 'COPY', /^deploy\/patches /);
      const install = find(stage, 'RUN', /\bnpm ci\b/);
      expect(patches, name).toBeGreaterThan(0);
      expect(install, name).toBeGreaterThan(patches);
      expect(stage[install]?.args, name).not.toMatch(/--ignore-scripts/);
    }
    const postinstall = (JSON.parse(readText('package.json')) as { scripts: Record<string, string> }).scripts.postinstall;
    expect(postinstall).toContain('deploy/patches/apply.cjs');
  });

  it('bundles in the build stage, and ships dist with production dependencies only', () => {
    expect(find(build, 'RUN', /^npm run build$/)).toBeGreaterThan(find(build, 'RUN', /\bnpm ci\b/));
    expect(runtime[find(runtime, 'RUN', /\bnpm ci\b/)]?.args).toMatch(/--omit=dev/);
    const copies = runtime.filter((i) => i.keyword === 'COPY').map((i) => i.args);
    expect(copies).toEqual(['package.json package-lock.json ./', 'deploy/patches ./deploy/patches', '--from=build /app/dist ./dist']);
  });

  it('runs as the unprivileged node user, checks /health, and starts the CLI', () => {
    const user = runtime.filter((i) => i.keyword === 'USER').at(-1);
    expect(user?.args).toBe('node');
    const healthcheck = runtime.find((i) => i.keyword === 'HEALTHCHECK');
    expect(healthcheck?.args).toMatch(/\/health/);
    expect(runtime.find((i) => i.keyword === 'ENTRYPOINT')?.args).toBe('["node", "dist/tributary.js"]');
    expect(find(runtime, 'ENV', /^TRIBUTARY_CONFIG=/)).toBeGreaterThan(0);
  });

  it('keeps the build context small: .dockerignore leaves out node_modules, dist, .git and the local stack', () => {
    const ignored = readText('.dockerignore').split('\n').map((line) => line.trim());
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'dist', '.git', '.stack']));
    // …but not what the image is built from.
    for (const needed of ['package.json', 'package-lock.json', 'deploy/patches', 'connectors', 'schemas', 'services', 'tsconfig.json']) {
      expect(ignored, needed).not.toContain(needed);
    }
  });
});
