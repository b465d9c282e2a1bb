import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findApp, findEnvironment } from '../../src/config/index.js';
import type { ProgressEvent, ReleaseResult } from '../../src/core/events.js';
import type { Action } from '../../src/core/plan.js';
import { startTraffic } from '../../src/demo/traffic.js';
import { KubeCluster } from '../../src/kube/kube-cluster.js';
import { loadKubeConfig } from '../../src/kube/load-kubeconfig.js';
import { executeRelease, observeEnvironment, previewRelease } from '../../src/release/release.js';
import { RunInterrupted, type RunCursor } from '../../src/release/runner.js';
import { ClusterDirectory } from '../../src/wiring/release-environment.js';
import { startSandboxEnv, type SandboxEnv, liveSelectors as liveSelectorsOf } from '../support/sandbox-env.js';

let world: SandboxEnv;

beforeAll(async () => {
  world = await startSandboxEnv();
});
afterAll(async () => {
  await world?.stop();
});

function environment(clusters: ClusterDirectory = world.clusters) {
  return clusters.environment(findEnvironment(world.config, 'production')!, findApp(world.config, 'shop')!);
}

async function release(action: Action, version: string | null, onEvent?: (event: ProgressEvent) => void | Promise<void>, clusters?: ClusterDirectory): Promise<ReleaseResult> {
  const { env, app } = environment(clusters);
  return executeRelease({ action, app, version, actor: 'test' }, env, { reporter: { report: (e) => onEvent?.(e) } });
}

function api(region: string) {
  const kubeconfig = loadKubeConfig({ path: world.sandbox.kubeconfigPath, context: region });
  return { core: kubeconfig.makeApiClient(CoreV1Api), apps: kubeconfig.makeApiClient(AppsV1Api) };
}

const liveSelectors = () => liveSelectorsOf(world.sandbox);

describe('a release, step by step, against two sandbox regions', () => {
  it('refuses to promote a version that is not installed, and changes nothing', async () => {
    const result = await release('promote', 'v1');
    expect(result.outcome).toBe('refused');
    expect(result.reasons.join(' ')).toMatch(/not bootstrapped|not installed/);
  });

  it('deploys v1 to every region without touching live traffic', async () => {
    const result = await release('deploy', 'v1');
    expect(result.outcome).toBe('succeeded');
    expect(result.regions.map((r) => [r.region, r.outcome])).toEqual([
      ['eu-west', 'installed'],
      ['us-east', 'installed'],
    ]);
    const { env, app } = environment();
    const states = await observeEnvironment(env, app);
    expect(states.every((s) => s.live === null && s.versions.some((v) => v.version === 'v1' && v.readyReplicas === 2))).toBe(true);
  });

  it('bootstraps the live Service on v1, and a second bootstrap changes nothing', async () => {
    expect((await release('bootstrap', 'v1')).outcome).toBe('succeeded');
    expect(await liveSelectors()).toEqual({ 'eu-west': 'v1', 'us-east': 'v1' });
    const again = await release('bootstrap', null);
    expect(again.outcome === 'succeeded' || again.outcome === 'refused').toBe(true);
    expect(await liveSelectors()).toEqual({ 'eu-west': 'v1', 'us-east': 'v1' });
  });

  it('refuses to promote v2 before it is installed, naming the region', async () => {
    const result = await release('promote', 'v2');
    expect(result.outcome).toBe('refused');
    expect(result.reasons.join(' ')).toContain('v2');
    expect(await liveSelectors()).toEqual({ 'eu-west': 'v1', 'us-east': 'v1' });
  });

  it('promotes v2 region by region under load with no failed request, and reports timings', async () => {
    expect((await release('deploy', 'v2')).outcome).toBe('succeeded');
    const traffic = startTraffic({
      targets: world.sandbox.regions.map((r) => ({ url: r.ingressUrl, region: r.name })),
      concurrency: 4,
      sessionVersions: () => ['v1', 'v2'],
    });
    const order: string[] = [];
    const result = await release('promote', 'v2', (event) => {
      if (event.type === 'step-finished') order.push(`${event.step.region}:${event.step.kind}`);
    });
    await new Promise((r) => setTimeout(r, 300));
    const seen = await traffic.stop();

    expect(result.outcome).toBe('succeeded');
    expect(order).toEqual(['eu-west:precheck', 'us-east:precheck', 'eu-west:switch', 'eu-west:verify', 'us-east:switch', 'us-east:verify']);
    for (const region of result.regions) {
      expect(region.outcome).toBe('switched');
      expect(region.from).toBe('v1');
      expect(region.to).toBe('v2');
      expect(region.timings.patchMs).toBeGreaterThan(0);
      expect(region.timings.endpointsMs).toBeGreaterThan(0);
      expect(region.timings.dataPlaneMs).toBeGreaterThanOrEqual(region.timings.endpointsMs!);
      expect(region.health?.samples.v2).toBeGreaterThanOrEqual(5);
    }
    expect(await liveSelectors()).toEqual({ 'eu-west': 'v2', 'us-east': 'v2' });
    expect(seen.sent).toBeGreaterThan(100);
    expect(seen.failures).toEqual({});
    expect(seen.failed).toBe(0);
    expect(seen.wrongVersion).toBe(0);
    expect(seen.versions.v1).toBeGreaterThan(0);
    expect(seen.versions.v2).toBeGreaterThan(0);
  });

  it('promoting the live version again is refused as already live', async () => {
    const result = await release('promote', 'v2');
    expect(result.outcome).toBe('refused');
    expect(result.reasons.join(' ')).toMatch(/already live/);
  });

  it('rolls back to the recorded previous version in every region', async () => {
    const result = await release('rollback', null);
    expect(result.outcome).toBe('succeeded');
    expect(result.regions.map((r) => [r.from, r.to])).toEqual([
      ['v2', 'v1'],
      ['v2', 'v1'],
    ]);
    expect(await liveSelectors()).toEqual({ 'eu-west': 'v1', 'us-east': 'v1' });
  });

  it('rolls region 1 back when region 2 fails its verify, and says what was restored', async () => {
    const { apps } = api('us-east');
    const result = await release('promote', 'v2', async (event) => {
      // us-east's v2 pods disappear between its precheck and its switch: verify cannot pass.
      if (event.type === 'step-finished' && event.step.region === 'us-east' && event.step.kind === 'precheck') {
        await apps.patchNamespacedDeployment(
          { name: 'shop-v2', namespace: 'production', body: [{ op: 'replace', path: '/spec/replicas', value: 0 }] },
        );
      }
    });
    expect(result.outcome).toBe('rolled-back');
    expect(result.split).toBe(false);
    expect(result.compensation?.restored.sort()).toEqual(['eu-west', 'us-east']);
    expect(result.reasons[0]).toMatch(/^us-east:/);
    expect(await liveSelectors()).toEqual({ 'eu-west': 'v1', 'us-east': 'v1' });
    await apps.patchNamespacedDeployment({ name: 'shop-v2', namespace: 'production', body: [{ op: 'replace', path: '/spec/replicas', value: 2 }] });
  });

  it('rolls region 1 back when region 2 becomes unreachable mid-promotion', async () => {
    expect((await release('deploy', 'v2')).outcome).toBe('succeeded');
    const usEast = world.sandbox.regions[1]!;
    const result = await release('promote', 'v2', (event) => {
      if (event.type === 'step-finished' && event.step.region === 'eu-west' && event.step.kind === 'verify') usEast.faults.set({ unreachable: true });
    });
    usEast.faults.set({ unreachable: false });
    // us-east went away while its switch was being sent: whether that write landed is unknown, and
    // the region cannot be read afterwards, so the result does not claim a clean rollback.
    expect(result.outcome).toBe('failed');
    expect(result.compensation?.restored).toEqual(['eu-west']);
    expect(result.reasons[0]).toMatch(/us-east: .*unreachable/);
    expect(result.regions.map((r) => r.after)).toEqual([{ live: 'v1', changedOutside: false, promotedBy: 'test' }, { unknown: expect.stringMatching(/unreachable/) }]);
    expect(result.split).toBe(true);
    expect(await liveSelectors()).toEqual({ 'eu-west': 'v1', 'us-east': 'v1' });
  });

  it('retries transient API errors (30% of requests) to a successful promotion', async () => {
    // 10 tries per call, as the conformance case: with 5 (the default) a call fails for good with
    // 0.3^5 = 0.24% here, and one promotion in about 15 would fail on chance alone.
    const patient = new ClusterDirectory((region) => new KubeCluster({ region: region.name, namespace: region.namespace, kubeconfig: loadKubeConfig({ path: region.kubeconfig!, context: region.context! }), retry: { attempts: 10, baseMs: 10, capMs: 100 } }));
    for (const region of world.sandbox.regions) region.faults.set({ errorRate: 0.3 });
    try {
      const result = await release('promote', 'v2', undefined, patient);
      expect(result.outcome).toBe('succeeded');
    } finally {
      for (const region of world.sandbox.regions) region.faults.set({ errorRate: 0 });
    }
    expect(await liveSelectors()).toEqual({ 'eu-west': 'v2', 'us-east': 'v2' });
  });

  it('cleanup keeps the live version and the rollback target, and deletes the rest; the dry run says so first', async () => {
    expect((await release('deploy', 'v0')).outcome).toBe('succeeded');
    expect((await release('deploy', 'v3')).outcome).toBe('succeeded');
    const { env, app } = environment();
    const preview = await previewRelease({ action: 'cleanup', app, version: null, actor: 'test' }, env);
    expect(preview.ok).toBe(true);
    if (!preview.ok) return;
    const doomed = preview.plan.steps.map((s) => (s.kind === 'delete-version' ? `${s.region}:${s.version}` : s.kind));
    // keep 1 newest (v3), live (v2), rollback target (v1): v0 goes.
    expect(doomed.sort()).toEqual(['eu-west:v0', 'us-east:v0']);

    const result = await release('cleanup', null);
    expect(result.outcome).toBe('succeeded');
    const states = await observeEnvironment(env, app);
    for (const state of states) expect(state.versions.map((v) => v.version).sort()).toEqual(['v1', 'v2', 'v3']);
  });

  it('a compensation puts back the rollback target recorded before the failed promotion', async () => {
    const { apps } = api('us-east');
    const result = await release('promote', 'v3', async (event) => {
      if (event.type === 'step-finished' && event.step.region === 'us-east' && event.step.kind === 'precheck') {
        await apps.patchNamespacedDeployment({ name: 'shop-v3', namespace: 'production', body: [{ op: 'replace', path: '/spec/replicas', value: 0 }] });
      }
    });
    await apps.patchNamespacedDeployment({ name: 'shop-v3', namespace: 'production', body: [{ op: 'replace', path: '/spec/replicas', value: 2 }] });
    expect(result.outcome).toBe('rolled-back');
    expect(await liveSelectors()).toEqual({ 'eu-west': 'v2', 'us-east': 'v2' });
    for (const region of world.sandbox.regions) {
      const service = await api(region.name).core.readNamespacedService({ name: 'shop', namespace: 'production' });
      // Not v3, the version that just failed: `rollback` must still go to v1.
      expect(service.metadata?.annotations?.['cutover.dev/previous-version']).toBe('v1');
    }
    const { env, app } = environment();
    await Promise.all(env.regions.map(({ target }) => target.cluster.waitForReady(app, 'v3', 2, { timeoutMs: 10_000 })));
  });

  it('with onRegionUnreachable "hold", keeps region 1 switched, says so, and finishes when resumed', async () => {
    const { env, app } = environment();
    const holding = { ...env, policy: { ...env.policy, onRegionUnreachable: 'hold' as const } };
    const usEast = world.sandbox.regions[1]!;
    let cursor: RunCursor | undefined;
    const request = { action: 'promote' as const, app, version: 'v3', actor: 'test' };
    const first = await executeRelease(request, holding, {
      reporter: {
        report: (event) => {
          if (event.type === 'step-finished' && event.step.region === 'eu-west' && event.step.kind === 'verify') usEast.faults.set({ unreachable: true });
        },
      },
      saveCursor: async (c) => {
        cursor = structuredClone(c);
      },
    });
    usEast.faults.set({ unreachable: false });
    expect(first.outcome).toBe('failed');
    expect(first.held).toBe(true);
    expect(first.split).toBe(true);
    expect(first.compensation).toBeNull();
    expect(await liveSelectors()).toEqual({ 'eu-west': 'v3', 'us-east': 'v2' });

    const resumed = await executeRelease(request, holding, { reporter: { report: () => undefined }, cursor });
    expect(resumed.outcome).toBe('succeeded');
    expect(resumed.split).toBe(false);
    expect(await liveSelectors()).toEqual({ 'eu-west': 'v3', 'us-east': 'v3' });
  });

  it('stops between steps without compensating when interrupted, and a resumed run finishes the release', async () => {
    const { env, app } = environment();
    const stop = new AbortController();
    let cursor: RunCursor | undefined;
    const request = { action: 'promote' as const, app, version: 'v2', actor: 'test' };
    const interrupted = executeRelease(request, env, {
      signal: stop.signal,
      reporter: {
        report: (event) => {
          if (event.type === 'step-finished' && event.step.region === 'eu-west' && event.step.kind === 'switch') stop.abort();
        },
      },
      saveCursor: async (c) => {
        cursor = structuredClone(c);
      },
    });
    await expect(interrupted).rejects.toBeInstanceOf(RunInterrupted);
    expect(await liveSelectors()).toEqual({ 'eu-west': 'v2', 'us-east': 'v3' });
    expect(cursor?.records.map((r) => `${r.step.region}:${r.step.kind}:${r.outcome}`)).toEqual(['eu-west:precheck:ok', 'us-east:precheck:ok', 'eu-west:switch:ok']);

    const steps: string[] = [];
    const resumed = await executeRelease(request, env, {
      cursor,
      reporter: { report: (e) => void (e.type === 'step-finished' && steps.push(`${e.step.region}:${e.step.kind}`)) },
    });
    expect(resumed.outcome).toBe('succeeded');
    // The resumed run looked first: eu-west is already on v2 (only its verify remains), us-east is
    // still where the plan found it, so it is prechecked again in this attempt and switched.
    expect(steps).toEqual(['us-east:precheck', 'eu-west:verify', 'us-east:switch', 'us-east:verify']);
    expect(resumed.regions.map((r) => `${r.region}:${r.from}->${r.to}:${r.outcome}`)).toEqual(['eu-west:v3->v2:switched', 'us-east:v3->v2:switched']);
    expect(await liveSelectors()).toEqual({ 'eu-west': 'v2', 'us-east': 'v2' });
  });
});
