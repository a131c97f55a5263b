import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { summarizeConfig } from '#config/check.ts';
import { loadConfig } from '#config/load.ts';
import type { Env } from '#config/substitute.ts';
import { containerEnv, readCompose, readYamlDocuments, repoPath } from './files.ts';

/**
 * Every tributary.yaml of the repository passes what `tributary config check` checks (loadConfig: substitution and
 * the schema), with the environment its deployment gives it. A new one fails here until it says where its
 * environment comes from.
 */

function findConfigs(directory: string): string[] {
  return readdirSync(repoPath(directory), { withFileTypes: true }).flatMap((entry) => {
    const path = `${directory}/${entry.name}`;
    if (entry.isDirectory()) return findConfigs(path);
    return entry.name === 'tributary.yaml' ? [path] : [];
  });
}

/** The environment of the compose demo's Tributary containers (all alike but for the admin's process addresses). */
function composeEnv(): Env {
  const admin = Object.values(readCompose().services).find((s) => s.command?.[0] === 'admin');
  return containerEnv(admin ?? {});
}

/** The Kubernetes pods' environment from the ConfigMap and Secret they load it from. */
function kubernetesEnv(): Env {
  const objects = ['deploy/k8s/servers.yaml', 'deploy/k8s/secret.yaml'].flatMap((file) => readYamlDocuments(file));
  return Object.assign({}, ...objects.map((o) => ({ ...(o.data as object), ...(o.stringData as object) })), {
    TRIBUTARY_CONFIG: '/etc/tributary/tributary.yaml',
  }) as Env;
}

const ENVIRONMENTS: Record<string, () => Env> = {
  // The local stack's config has a default for everything (.stack/env holds the same addresses).
  'tributary.yaml': () => ({}),
  'deploy/compose/tributary.yaml': composeEnv,
  'deploy/k8s/tributary.yaml': kubernetesEnv,
};

const configs = ['tributary.yaml', ...findConfigs('deploy')];

describe('every tributary.yaml', () => {
  it('is known to this test, with its environment', () => {
    expect(configs.filter((file) => !(file in ENVIRONMENTS))).toEqual([]);
    expect(configs).toEqual(expect.arrayContaining(Object.keys(ENVIRONMENTS)));
  });

  for (const file of configs) {
    it(`${file} passes the config check`, () => {
      const env = ENVIRONMENTS[file]?.() ?? {};
      const config = loadConfig(repoPath(file), env);
      expect(summarizeConfig(config, file)).toMatch(/^Configuration OK/);
      expect(config.sources.length + config.sinks.length).toBeGreaterThan(0);
    });
  }

  it('the deployments share the local config\'s topic prefix and sink topic patterns where the roles are the same', () => {
    const local = loadConfig(repoPath('tributary.yaml'), {});
    for (const file of ['deploy/compose/tributary.yaml', 'deploy/k8s/tributary.yaml']) {
      const deployed = loadConfig(repoPath(file), ENVIRONMENTS[file]?.() ?? {});
      expect(deployed.kafka.topicPrefix, file).toBe(local.kafka.topicPrefix);
      for (const sink of local.sinks) {
        const same = deployed.sinks.find((s) => s.name === sink.name);
        if (same) expect(same.topics, `${file} ${sink.name}`).toEqual(sink.topics);
      }
      const postgres = (c: typeof local) => c.sources.find((s) => s.type === 'postgres');
      expect(postgres(deployed)?.name, file).toBe(postgres(local)?.name);
      expect(postgres(deployed)?.include, file).toEqual(postgres(local)?.include);
    }
  });

  it('a deployment config that is missing a secret fails the check, naming the variable', () => {
    const env = { ...composeEnv(), TRIBUTARY_ADMIN_TOKEN: undefined };
    expect(() => loadConfig(repoPath('deploy/compose/tributary.yaml'), env)).toThrow(/TRIBUTARY_ADMIN_TOKEN/);
  });
});
