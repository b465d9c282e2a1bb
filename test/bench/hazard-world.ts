/**
 * The world bench:hazards runs in: one app `shop` released by cutover in two environments over the
 * same two sandbox regions, `production` (no gates) and `guarded` (an error-ratio health gate and
 * drain-aware cleanup, both on a real Prometheus), versions v1..v5 installed (v3's pods never turn
 * ready, v4 answers 20% 500s), and the seed's kubectl job pointed at the same clusters.
 */
import { AppsV1Api, CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { findApp, findEnvironment, parseConfig } from '../../src/config/index.js';
import type { ProgressEvent, ReleaseResult } from '../../src/core/events.js';
import type { Action } from '../../src/core/plan.js';
import { loadKubeConfig } from '../../src/kube/load-kubeconfig.js';
import { executeRelease, observeEnvironment } from '../../src/release/release.js';
import type { Sandbox } from '../../src/sandbox/sandbox.js';
import { ClusterDirectory } from '../../src/wiring/release-environment.js';
import { mustSucceed, sleep } from './bench-support.js';
import type { SeedTarget } from './seed-job.js';

const namespace = 'production';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
type EnvName = 'production' | 'guarded';

/** The live route's 5xx ratio in a region over the last 3 s (no 5xx: 0, not "no data"). */
const errorRatio =
  '(sum(rate(nginx_ingress_controller_requests{ingress="{{app}}",region="{{region}}",status=~"5.."}[3s])) or vector(0)) / sum(rate(nginx_ingress_controller_requests{ingress="{{app}}",region="{{region}}"}[3s]))';
/** The default idle query with the region label this bench's Prometheus adds. */
const idleQuery =
  'sum(increase(nginx_ingress_controller_requests{namespace="{{namespace}}",service="{{service}}",region="{{region}}"}[{{window}}])) or on() (0 * sum(nginx_ingress_controller_requests{namespace="{{namespace}}",region="{{region}}"}))';

export interface HazardWorld {
  sandbox: Sandbox;
  regionNames: string[];
  seed: SeedTarget;
  release(env: EnvName, action: Action, version: string | null, onEvent?: (event: ProgressEvent) => void): Promise<ReleaseResult>;
  /** Installs v1..v5 and bootstraps on v1; then breaks v3 (never ready) and v4 (20% 500s). */
  prepare(): Promise<void>;
  /** Both regions live on `version` through cutover (a no-op where they already are). */
  resetTo(version: string): Promise<void>;
  ensureInstalled(version: string): Promise<void>;
  installedEverywhere(version: string): Promise<boolean>;
  goneEverywhere(version: string): Promise<boolean>;
  liveVersions(): Promise<Record<string, string | null>>;
  setUnreachable(region: string, unreachable: boolean): void;
}

export async function hazardWorld(sandbox: Sandbox, prometheusUrl: string): Promise<HazardWorld> {
  const regions = sandbox.regions.map((r) => ({ name: r.name, kubeconfig: sandbox.kubeconfigPath, context: r.name, namespace, liveUrl: r.ingressUrl }));
  const policy = { bakeSeconds: 0, readyTimeoutSeconds: 30, verifyTimeoutSeconds: 10, healthSamples: 5, retention: { keep: 1, minAgeSinceLiveHours: 0, graceAfterInstallHours: 0 } };
  const config = parseConfig(
    JSON.stringify({
      apps: { shop: { image: 'registry.example.com/shop:{version}', replicas: 2, terminationGracePeriodSeconds: 2, healthPath: '/healthz' } },
      environments: {
        production: { regions, policy },
        guarded: {
          regions,
          prometheus: { url: prometheusUrl, timeoutSeconds: 2 },
          policy: {
            ...policy,
            bakeSeconds: 4,
            gateIntervalSeconds: 0.5,
            gates: { 'error-ratio': { query: errorRatio, condition: '< 0.02', onNoData: 'pass' } },
            retention: { ...policy.retention, idle: { windowMinutes: 4 / 60, query: idleQuery } },
          },
        },
      },
    }),
    {},
    'hazards.bench.json',
  );
  const clusters = new ClusterDirectory();
  const envs = Object.fromEntries((['production', 'guarded'] as const).map((name) => [name, clusters.environment(findEnvironment(config, name)!, findApp(config, 'shop')!)])) as Record<EnvName, ReturnType<ClusterDirectory['environment']>>;
  const { app } = envs.production;
  const apis = new Map(sandbox.regions.map((r) => {
    const kubeconfig = loadKubeConfig({ path: sandbox.kubeconfigPath, context: r.name });
    return [r.name, { core: kubeconfig.makeApiClient(CoreV1Api), apps: kubeconfig.makeApiClient(AppsV1Api) }] as const;
  }));
  const release = (env: EnvName, action: Action, version: string | null, onEvent?: (event: ProgressEvent) => void): Promise<ReleaseResult> =>
    executeRelease({ action, app: envs[env].app, version, actor: 'bench' }, envs[env].env, { reporter: { report: (event) => onEvent?.(event) } });
  const observe = () => observeEnvironment(envs.production.env, app);
  const installedEverywhere = async (version: string): Promise<boolean> => (await observe()).every((s) => s.versions.some((v) => v.version === version));

  /** Patch every region's Deployment of `version`, then wait until its rollout is done (or, for never-ready pods, started). */
  const patchVersion = async (version: string, spec: Record<string, unknown>, waitReady: boolean): Promise<void> => {
    for (const { apps } of apis.values()) await apps.patchNamespacedDeployment({ name: `${app.name}-${version}`, namespace, body: { spec } }, mergePatch);
    for (const { apps } of apis.values()) {
      for (let i = 0; i < 200; i++) {
        const d = await apps.readNamespacedDeployment({ name: `${app.name}-${version}`, namespace });
        const want = d.spec?.replicas ?? 0;
        const s = d.status ?? {};
        if ((s.observedGeneration ?? 0) >= (d.metadata?.generation ?? 0) && (s.updatedReplicas ?? 0) === want && (s.replicas ?? 0) === want && (!waitReady || (s.readyReplicas ?? 0) === want)) break;
        await sleep(100);
      }
    }
  };

  return {
    sandbox,
    regionNames: sandbox.regions.map((r) => r.name),
    seed: { kubeconfigPath: sandbox.kubeconfigPath, namespace, app: app.name, labelKeys: app.labelKeys },
    release,
    async prepare() {
      await mustSucceed(release('production', 'deploy', 'v1'), 'deploy v1');
      await mustSucceed(release('production', 'bootstrap', 'v1'), 'bootstrap v1');
      for (const v of ['v2', 'v3', 'v4', 'v5']) await mustSucceed(release('production', 'deploy', v), `deploy ${v}`);
      // v3: pods that never turn ready (scaled to 0 first: a rolling update would keep the ready ones).
      await patchVersion('v3', { replicas: 0, template: { metadata: { annotations: { 'sandbox.cutover.dev/never-ready': 'true' } } } }, false);
      await patchVersion('v3', { replicas: 2 }, false);
      // v4: a bad build, 20% of its answers 500 while its health path stays fine.
      await patchVersion('v4', { template: { metadata: { annotations: { 'sandbox.cutover.dev/error-rate': '0.2' } } } }, true);
    },
    async resetTo(version) {
      const live = await observe();
      if (live.every((s) => s.live?.version === version)) return;
      await mustSucceed(release('production', 'promote', version), `reset to ${version}`);
    },
    async ensureInstalled(version) {
      if (!(await installedEverywhere(version))) await mustSucceed(release('production', 'deploy', version), `deploy ${version}`);
    },
    installedEverywhere,
    goneEverywhere: async (version) => (await observe()).every((s) => s.versions.every((v) => v.version !== version)),
    async liveVersions() {
      const entries = await Promise.all(
        [...apis.entries()].map(async ([region, { core }]) => [region, (await core.readNamespacedService({ name: app.name, namespace })).spec?.selector?.[app.labelKeys.version] ?? null] as const),
      );
      return Object.fromEntries(entries);
    },
    setUnreachable(region, unreachable) {
      sandbox.regions.find((r) => r.name === region)!.faults.set({ unreachable });
    },
  };
}
