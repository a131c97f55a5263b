import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '#config/load.ts';
import { readText, readYaml, readYamlDocuments, repoPath } from './files.ts';

/**
 * deploy/k8s: the manifests parse, every container is probed, bounded and unprivileged, captures never run twice,
 * and the config loads with exactly the environment each Deployment gives its container.
 */

interface Probe {
  httpGet?: { path: string; port: string | number };
}
interface Container {
  name: string;
  image: string;
  args?: string[];
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string }[];
  envFrom?: ({ configMapRef: { name: string } } | { secretRef: { name: string } })[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; readOnlyRootFilesystem?: boolean; allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[] } };
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodSpec {
  securityContext?: { runAsNonRoot?: boolean; runAsUser?: number };
  containers: Container[];
  volumes?: { name: string; configMap?: { name: string } }[];
}
interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec?: {
    replicas?: number;
    strategy?: { type: string };
    selector?: { matchLabels?: Record<string, string> } & Record<string, string>;
    template?: { metadata: { labels: Record<string, string> }; spec: PodSpec };
    ports?: { port: number; targetPort: string | number }[];
    publishNotReadyAddresses?: boolean;
  };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
}

const kustomization = readYaml<{ resources: string[]; configMapGenerator: { name: string; files: string[] }[] }>('deploy/k8s/kustomization.yaml');
const manifests = kustomization.resources.flatMap((file) => readYamlDocuments(`deploy/k8s/${file}`) as unknown as Manifest[]);
const deployments = manifests.filter((m) => m.kind === 'Deployment');
const services = manifests.filter((m) => m.kind === 'Service');
const named = (kind: string, name: string) => manifests.find((m) => m.kind === kind && m.metadata.name === name);
const CONFIG = 'deploy/k8s/tributary.yaml';

/** A container's environment as the pod gets it: envFrom's ConfigMaps and Secrets, then `env`. */
function podEnv(container: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const source = 'configMapRef' in from ? named('ConfigMap', from.configMapRef.name) : named('Secret', from.secretRef.name);
    expect(source, JSON.stringify(from)).toBeDefined();
    Object.assign(env, source?.data, source?.stringData);
  }
  for (const variable of container.env ?? []) env[variable.name] = variable.value ?? '';
  return env;
}

describe('deploy/k8s', () => {
  it('lists files that exist and parse, each a Kubernetes object', () => {
    for (const file of [...kustomization.resources, ...kustomization.configMapGenerator.flatMap((g) => g.files)]) {
      expect(existsSync(repoPath(`deploy/k8s/${file}`)), file).toBe(true);
    }
    for (const manifest of manifests) {
      expect(manifest.apiVersion, JSON.stringify(manifest.metadata)).toBeTruthy();
      expect(manifest.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    }
    expect(kustomization.configMapGenerator).toContainEqual({ name: 'tributary-config', files: ['tributary.yaml'] });
  });

  it('probes every container on /health and /ready, bounds its resources and runs it unprivileged and read-only', () => {
    expect(deployments.length).toBeGreaterThan(0);
    for (const deployment of deployments) {
      const pod = deployment.spec?.template?.spec as PodSpec;
      for (const container of pod.containers) {
        const where = `${deployment.metadata.name}/${container.name}`;
        const port = container.ports?.[0];
        expect(container.livenessProbe?.httpGet?.path, where).toBe('/health');
        expect(container.readinessProbe?.httpGet?.path, where).toBe('/ready');
        for (const probe of [container.livenessProbe, container.readinessProbe, container.startupProbe].filter(Boolean)) {
          expect([port?.name, port?.containerPort], where).toContain(probe?.httpGet?.port);
        }
        for (const kind of ['requests', 'limits'] as const) {
          expect(container.resources?.[kind]?.cpu, `${where} ${kind}.cpu`).toBeTruthy();
          expect(container.resources?.[kind]?.memory, `${where} ${kind}.memory`).toBeTruthy();
        }
        expect(container.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot, where).toBe(true);
        expect(container.securityContext?.runAsUser ?? pod.securityContext?.runAsUser, where).not.toBe(0);
        expect(container.securityContext?.readOnlyRootFilesystem, where).toBe(true);
        expect(container.securityContext?.allowPrivilegeEscalation, where).toBe(false);
        expect(container.securityContext?.capabilities?.drop, where).toContain('ALL');
      }
    }
  });

  it('runs one replica of each capture, replaced only after the old one is gone', () => {
    const captures = deployments.filter((d) => d.spec?.template?.spec.containers[0]?.args?.[0] === 'capture');
    expect(captures.length).toBeGreaterThan(0);
    for (const capture of captures) {
      expect(capture.spec?.replicas, capture.metadata.name).toBe(1);
      expect(capture.spec?.strategy?.type, capture.metadata.name).toBe('Recreate');
    }
  });

  it('runs one capture per source and one sink per sink of the config, and the admin service behind a Service', () => {
    const container = deployments[0]?.spec?.template?.spec.containers[0] as Container;
    const config = parseConfig(readText(CONFIG), podEnv(container), CONFIG);
    const commands = deployments.map((d) => d.spec?.template?.spec.containers[0]?.args?.join(' ')).sort();
    expect(commands).toEqual(
      ['admin', ...config.sources.map((s) => `capture ${s.name}`), ...config.sinks.map((s) => `sink ${s.name}`)].sort(),
    );
    const admin = deployments.find((d) => d.spec?.template?.spec.containers[0]?.args?.[0] === 'admin') as Manifest;
    const adminService = services.find((s) => s.spec?.selector?.['app.kubernetes.io/component'] === 'admin');
    expect(adminService?.spec?.ports?.[0]?.port).toBe(config.admin.port);
    expect(admin.spec?.template?.metadata.labels).toMatchObject(adminService?.spec?.selector ?? { missing: true });
  });

  it('gives each container the config, which loads with the environment of its pod', () => {
    for (const deployment of deployments) {
      const pod = deployment.spec?.template?.spec as PodSpec;
      const container = pod.containers[0] as Container;
      const env = podEnv(container);
      const mount = container.volumeMounts?.find((m) => m.mountPath === '/etc/tributary');
      expect(pod.volumes?.find((v) => v.name === mount?.name)?.configMap?.name, deployment.metadata.name).toBe('tributary-config');
      expect(env.TRIBUTARY_CONFIG).toBe('/etc/tributary/tributary.yaml');
      const config = parseConfig(readText(CONFIG), env, CONFIG);
      // The process's own endpoint is where its probes and health check look.
      const [verb, name] = container.args ?? [];
      const http = verb === 'admin' ? config.admin : [...config.sources, ...config.sinks].find((e) => e.name === name)?.http;
      expect(http?.port, deployment.metadata.name).toBe(container.ports?.[0]?.containerPort);
      expect(Number(env.TRIBUTARY_HEALTH_PORT)).toBe(http?.port);
      if (verb !== 'admin') expect(http?.host).toBe('0.0.0.0');
    }
  });

  it('lets the admin service reach every process through a Service that publishes not-ready pods', () => {
    const admin = deployments.find((d) => d.spec?.template?.spec.containers[0]?.args?.[0] === 'admin') as Manifest;
    const config = parseConfig(readText(CONFIG), podEnv(admin.spec?.template?.spec.containers[0] as Container), CONFIG);
    for (const [verb, entry] of [...config.sources.map((s) => ['capture', s] as const), ...config.sinks.map((s) => ['sink', s] as const)]) {
      const service = named('Service', entry.http?.host ?? '');
      expect(service, `${entry.name}: Service ${entry.http?.host}`).toBeDefined();
      expect(service?.spec?.ports?.[0]?.port, entry.name).toBe(entry.http?.port);
      expect(service?.spec?.publishNotReadyAddresses, entry.name).toBe(true);
      const target = deployments.find((d) => d.spec?.template?.spec.containers[0]?.args?.join(' ') === `${verb} ${entry.name}`);
      expect(target?.spec?.template?.metadata.labels, entry.name).toMatchObject(service?.spec?.selector ?? { missing: true });
    }
  });
});
