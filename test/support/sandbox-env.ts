import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { runCli } from '../../src/cli.js';
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
  /** More fields for every app (e.g. `install`), or per app by name. */
  appFields?: Record<string, unknown> | ((app: string) => Record<string, unknown>);
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
    // Probes on a free port: test files run side by side.
    web: { metricsPort: 0 },
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
          ...(typeof options.appFields === 'function' ? options.appFields(name) : options.appFields),
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

/** What an operator does by hand: `kubectl patch svc <app> -p '{"spec":{"selector":{<version key>: <version>}}}'`. */
export async function patchSelectorByHand(sandbox: Sandbox, region: string, app: string, version: string, namespace = 'production'): Promise<void> {
  const core = loadKubeConfig({ path: sandbox.kubeconfigPath, context: region }).makeApiClient(CoreV1Api);
  await core.patchNamespacedService(
    { name: app, namespace, body: { spec: { selector: { 'app.kubernetes.io/version': version } } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

/** `cutover <argv>` in this process against the world's config and clusters: exit code and printed lines. */
export async function cliIn(world: SandboxEnv, ...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, { out: (l) => out.push(l), err: (l) => err.push(l), env: { CUTOVER_CONFIG: world.configPath }, clusters: world.clusters });
  return { code, out, err };
}
