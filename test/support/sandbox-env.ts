import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { parseConfig, type Config } from '../../src/config/index.js';
import { loadKubeConfig } from '../../src/kube/load-kubeconfig.js';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/sandbox.js';
import { ClusterDirectory } from '../../src/wiring/release-environment.js';

export interface SandboxEnv {
  sandbox: Sandbox;
  config: Config;
  configPath: string;
  dir: string;
  clusters: ClusterDirectory;
  stop(): Promise<void>;
}

export interface SandboxEnvOptions {
  sandbox?: SandboxOptions;
  apps?: string[];
  replicas?: number;
  /** YAML lines appended under the production environment's `policy:` (indented 6 spaces). */
  policy?: Record<string, unknown>;
  prefix?: string;
  /** The production environment's `prometheus.url` (health gates, drain-aware cleanup). */
  prometheusUrl?: string;
}

/**
 * A two-region sandbox and a config file that targets it, as a user would write one: the tests
 * drive the product through the same config loader and kubeconfig as production.
 */
export async function startSandboxEnv(options: SandboxEnvOptions = {}): Promise<SandboxEnv> {
  const dir = await mkdtemp(path.join(tmpdir(), 'cutover-test-'));
  const sandbox = await startSandbox({ readyDelayMs: 100, proxySyncDelayMs: 50, graceScale: 0.2, kubeconfigPath: path.join(dir, 'kubeconfig'), ...options.sandbox });
  const yaml = configYaml(sandbox, options);
  const configPath = path.join(dir, 'cutover.yaml');
  await writeFile(configPath, yaml);
  const config = parseConfig(yaml, {}, configPath);
  return { sandbox, config, configPath, dir, clusters: new ClusterDirectory(), stop: () => sandbox.stop() };
}

export function configYaml(sandbox: Sandbox, options: SandboxEnvOptions = {}): string {
  const apps = options.apps ?? ['shop'];
  const policy = {
    bakeSeconds: 0,
    readyTimeoutSeconds: 20,
    verifyTimeoutSeconds: 4,
    healthSamples: 5,
    lockTtlSeconds: 10,
    retention: { keep: 1, minAgeSinceLiveHours: 0, graceAfterInstallHours: 0 },
    ...options.policy,
  };
  const regions = sandbox.regions.map((r) => ({
    name: r.name,
    kubeconfig: sandbox.kubeconfigPath,
    context: r.name,
    namespace: 'production',
    liveUrl: r.ingressUrl,
  }));
  const config = {
    redis: { prefix: options.prefix ?? 'cutover-test' },
    apps: Object.fromEntries(
      apps.map((name) => [
        name,
        {
          image: `registry.example.com/${name}:{version}`,
          replicas: options.replicas ?? 2,
          terminationGracePeriodSeconds: 2,
          healthPath: '/healthz',
          // Apps sharing a namespace need routes of their own: one host each.
          ...(apps.length > 1 ? { hosts: [`${name}.example.com`] } : {}),
        },
      ]),
    ),
    environments: {
      production: {
        defaultFor: ['deploy', 'promote', 'rollback', 'cleanup', 'status', 'history', 'bootstrap'],
        regions,
        policy,
        ...(options.prometheusUrl ? { prometheus: { url: options.prometheusUrl, timeoutSeconds: 2 } } : {}),
      },
    },
  };
  // JSON is YAML: the loader reads it through the same path as a hand-written file.
  return JSON.stringify(config, null, 2);
}

/** The version each region's live Service selects, read through the API as an operator would. */
export async function liveSelectors(sandbox: Sandbox, app = 'shop', namespace = 'production'): Promise<Record<string, string | undefined>> {
  const entries = await Promise.all(
    sandbox.regions.map(async (region) => {
      const core = loadKubeConfig({ path: sandbox.kubeconfigPath, context: region.name }).makeApiClient(CoreV1Api);
      const service = await core.readNamespacedService({ name: app, namespace });
      return [region.name, service.spec?.selector?.['app.kubernetes.io/version']] as const;
    }),
  );
  return Object.fromEntries(entries);
}

/** The fencing token (cutover.dev/fence) each region's live Service carries, 0 when none. */
export async function fenceTokens(sandbox: Sandbox, app = 'shop', namespace = 'production'): Promise<Record<string, number>> {
  const entries = await Promise.all(
    sandbox.regions.map(async (region) => {
      const core = loadKubeConfig({ path: sandbox.kubeconfigPath, context: region.name }).makeApiClient(CoreV1Api);
      const service = await core.readNamespacedService({ name: app, namespace });
      return [region.name, Number(service.metadata?.annotations?.['cutover.dev/fence'] ?? 0)] as const;
    }),
  );
  return Object.fromEntries(entries);
}
