import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findApp, findEnvironment, parseConfig, type Config } from '../../src/config/index.js';
import type { ProgressEvent, ReleaseResult } from '../../src/core/events.js';
import type { Action } from '../../src/core/plan.js';
import { startTraffic, type Traffic } from '../../src/demo/traffic.js';
import { loadKubeConfig } from '../../src/kube/load-kubeconfig.js';
import { executeRelease } from '../../src/release/release.js';
import type { RunningPrometheus } from '../../src/sandbox/prometheus.js';
import { ClusterDirectory } from '../../src/wiring/release-environment.js';
import { prometheusForTests, scrapeSandbox } from '../support/prometheus.js';
import { configYaml, liveSelectors, startSandboxEnv, type SandboxEnv } from '../support/sandbox-env.js';
import { freePort } from '../../src/sandbox/free-port.js';

/**
 * Health gates (issue 18): a real Prometheus scrapes the sandbox's ingress metrics while users hit
 * both regions; promotions gate each switched region's bake on PromQL. A version that answers 5%
 * 5xx (its health path still 200, so verify passes) fails its gate in eu-west, which is switched
 * back before us-east is touched.
 */

const hasPrometheus = await prometheusForTests('test/release/health-gates.test.ts');

/** The live route's 5xx ratio in one region over the last 3 s (`or vector(0)`: no 5xx is 0, not "no data"). */
const errorRatio =
  '(sum(rate(nginx_ingress_controller_requests{ingress="{{app}}",region="{{region}}",status=~"5.."}[3s])) or vector(0)) / sum(rate(nginx_ingress_controller_requests{ingress="{{app}}",region="{{region}}"}[3s]))';

describe.skipIf(!hasPrometheus)('health gates against a real Prometheus', () => {
  let world: SandboxEnv;
  let prometheus: RunningPrometheus;
  let traffic: Traffic;
  const clusters = new ClusterDirectory();

  const configWith = (policy: Record<string, unknown>, prometheusUrl = prometheus.url): Config =>
    parseConfig(configYaml(world.sandbox, { policy: { gateIntervalSeconds: 0.5, ...policy }, prometheusUrl }), {}, 'health-gates.yaml');
  const gated = (bakeSeconds: number, gates: Record<string, unknown> = { 'error-ratio': { query: errorRatio, condition: '< 0.01' } }) => configWith({ bakeSeconds, gates });

  async function release(config: Config, action: Action, version: string | null, onEvent?: (event: ProgressEvent) => void | Promise<void>): Promise<ReleaseResult> {
    const { env, app } = clusters.environment(findEnvironment(config, 'production')!, findApp(config, 'shop')!);
    return executeRelease({ action, app, version, actor: 'test' }, env, { reporter: { report: (e) => onEvent?.(e) } });
  }
  const steps = (events: string[]) => (event: ProgressEvent) => {
    if (event.type === 'step-finished') events.push(`${event.phase === 'compensation' ? '↩ ' : ''}${event.step.region}:${event.step.kind}${event.outcome === 'failed' ? ' FAILED' : ''}`);
  };
  const api = (region: string) => {
    const kubeconfig = loadKubeConfig({ path: world.sandbox.kubeconfigPath, context: region });
    return { core: kubeconfig.makeApiClient(CoreV1Api), apps: kubeconfig.makeApiClient(AppsV1Api) };
  };
  const liveServiceVersion = async (region: string) => (await api(region).core.readNamespacedService({ name: 'shop', namespace: 'production' })).metadata?.resourceVersion;

  /** A bad build: v3's pods answer 5% of their requests with 500 (the sandbox's error-rate annotation), rolled out in every region. */
  async function makeBad(version: string): Promise<void> {
    for (const region of world.sandbox.regions) {
      const { apps, core } = api(region.name);
      const name = `shop-${version}`;
      const deployment = await apps.readNamespacedDeployment({ name, namespace: 'production' });
      const annotations = { ...deployment.spec?.template.metadata?.annotations, 'sandbox.cutover.dev/error-rate': '0.05' };
      await apps.patchNamespacedDeployment({ name, namespace: 'production', body: [{ op: 'add', path: '/spec/template/metadata/annotations', value: annotations }] });
      for (;;) {
        const pods = (await core.listNamespacedPod({ namespace: 'production', labelSelector: `app.kubernetes.io/version=${version}` })).items;
        const bad = pods.filter((p) => p.metadata?.annotations?.['sandbox.cutover.dev/error-rate'] === '0.05' && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
        if (bad.length === 2 && pods.length === 2) break;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  beforeAll(async () => {
    world = await startSandboxEnv();
    prometheus = await scrapeSandbox(world.sandbox);
    const plain = configWith({});
    for (const [action, version] of [['deploy', 'v1'], ['bootstrap', 'v1'], ['deploy', 'v2'], ['deploy', 'v3']] as const) {
      const result = await release(plain, action, version);
      if (result.outcome !== 'succeeded') throw new Error(`setup ${action} ${version}: ${result.reasons.join('; ')}`);
    }
    await makeBad('v3');
    // Users on the live route of both regions: the data the gates read.
    traffic = startTraffic({ targets: world.sandbox.regions.map((r) => ({ url: r.ingressUrl, region: r.name })), concurrency: 2, pauseMs: 5 });
  }, 120_000);

  afterAll(async () => {
    await traffic?.stop();
    await prometheus?.stop();
    await world?.stop();
  });

  it('promotes a healthy version: every switched region bakes under its gates, the last one too, and the result shows the values', async () => {
    const order: string[] = [];
    const result = await release(gated(2), 'promote', 'v2', steps(order));
    expect(result.outcome, result.reasons.join('; ')).toBe('succeeded');
    expect(order).toEqual(['eu-west:precheck', 'us-east:precheck', 'eu-west:switch', 'eu-west:verify', 'eu-west:bake', 'us-east:switch', 'us-east:verify', 'us-east:bake']);
    for (const region of result.regions) {
      expect(region.gates).toHaveLength(1);
      expect(region.gates![0]).toMatchObject({ gate: 'error-ratio', condition: '< 0.01', verdict: 'pass' });
      expect(region.gates![0]!.query).toContain(`region="${region.region}"`);
      expect(region.gates![0]!.value).toBeLessThan(0.01);
    }
    expect(traffic.counters().failed).toBe(0);
  }, 60_000);

  it('switches eu-west back when v3 answers 5% 5xx, before us-east is touched, showing the query, the value and the threshold', async () => {
    const usEastBefore = await liveServiceVersion('us-east');
    const order: string[] = [];
    const result = await release(gated(15), 'promote', 'v3', steps(order));
    expect(result.outcome).toBe('rolled-back');
    expect(order).toEqual(['eu-west:precheck', 'us-east:precheck', 'eu-west:switch', 'eu-west:verify', 'eu-west:bake FAILED', '↩ eu-west:switch', '↩ eu-west:verify']);
    expect(result.reasons[0]).toMatch(/^eu-west: health gate failed [\d.]+ s into the bake: gate error-ratio: 0\.\d+ is not < 0\.01 \(query: \(sum\(rate\(nginx_ingress_controller_requests\{ingress="shop",region="eu-west",status=~"5\.\."\}\[3s\]\)\) or vector\(0\)\) \/ .*\)$/);
    const reading = result.regions.find((r) => r.region === 'eu-west')!.gates![0]!;
    expect(reading).toMatchObject({ gate: 'error-ratio', verdict: 'fail' });
    expect(reading.value).toBeGreaterThanOrEqual(0.01);
    expect(result.compensation?.restored).toEqual(['eu-west']);
    expect(await liveSelectors(world.sandbox)).toEqual({ 'eu-west': 'v2', 'us-east': 'v2' });
    // us-east's live Service was never written.
    expect(await liveServiceVersion('us-east')).toBe(usEastBefore);
    expect(traffic.counters().failures['HTTP 500']).toBeGreaterThan(0);
  }, 60_000);

  it('fails a gate whose query answers no number at the end of the bake (onNoData: fail), and passes it with onNoData: pass', async () => {
    const query = 'sum(rate(nginx_ingress_controller_requests{ingress="nothing-{{app}}",region="{{region}}"}[3s]))';
    const failing = await release(gated(1, { quiet: { query, condition: '< 1' } }), 'promote', 'v1');
    expect(failing.outcome).toBe('rolled-back');
    expect(failing.reasons[0]).toMatch(/^eu-west: health gate failed .*gate quiet: no data \(the query answered no number\) fails the gate \(onNoData: fail\) \(query: sum\(rate\(nginx_ingress_controller_requests\{ingress="nothing-shop",region="eu-west"\}/);
    const passing = await release(gated(1, { quiet: { query, condition: '< 1', onNoData: 'pass' } }), 'promote', 'v1');
    expect(passing.outcome).toBe('succeeded');
    expect(await liveSelectors(world.sandbox)).toEqual({ 'eu-west': 'v1', 'us-east': 'v1' });
  }, 60_000);

  it("moves no traffic when a gate's query is refused by Prometheus (a typo), quoting Prometheus' reason", async () => {
    const order: string[] = [];
    const result = await release(gated(1, { typo: { query: 'sum(rate(nginx_ingress_controller_requests[1m])', condition: '< 1' } }), 'promote', 'v2', steps(order));
    expect(result.outcome).toBe('failed');
    expect(order).toEqual(['eu-west:precheck FAILED', 'us-east:precheck FAILED']);
    expect(result.reasons[0]).toMatch(/^eu-west: health gates cannot be evaluated, so traffic is not moved: gate typo could not be evaluated: Prometheus at .* refused the query \(HTTP 400, bad_data\): .*parse error/);
    expect(await liveSelectors(world.sandbox)).toEqual({ 'eu-west': 'v1', 'us-east': 'v1' });
  }, 60_000);

  it('moves no traffic when Prometheus is unreachable before the first switch', async () => {
    const nobody = await freePort();
    const result = await release(configWith({ bakeSeconds: 1, gates: { 'error-ratio': { query: errorRatio, condition: '< 0.01' } } }, `http://127.0.0.1:${nobody}`), 'promote', 'v2');
    expect(result.outcome).toBe('failed');
    expect(result.reasons[0]).toContain(`eu-west: health gates cannot be evaluated, so traffic is not moved: gate error-ratio could not be evaluated: Prometheus at http://127.0.0.1:${nobody} is unreachable: ECONNREFUSED`);
    expect(result.regions.every((r) => r.from === null)).toBe(true);
    expect(await liveSelectors(world.sandbox)).toEqual({ 'eu-west': 'v1', 'us-east': 'v1' });
  }, 60_000);

  // Last: it stops the Prometheus the other tests use.
  it('fails the gate closed when Prometheus goes away during the bake: eu-west is switched back', async () => {
    const order: string[] = [];
    const result = await release(gated(3), 'promote', 'v2', async (event) => {
      steps(order)(event);
      if (event.type === 'step-finished' && event.step.kind === 'verify' && event.step.region === 'eu-west' && event.phase === 'forward') await prometheus.stop();
    });
    expect(result.outcome).toBe('rolled-back');
    expect(order).toEqual(['eu-west:precheck', 'us-east:precheck', 'eu-west:switch', 'eu-west:verify', 'eu-west:bake FAILED', '↩ eu-west:switch', '↩ eu-west:verify']);
    expect(result.reasons[0]).toMatch(/^eu-west: health gate failed .*gate error-ratio could not be evaluated: Prometheus at .* is unreachable: ECONNREFUSED; a gate that cannot be evaluated fails/);
    expect(await liveSelectors(world.sandbox)).toEqual({ 'eu-west': 'v1', 'us-east': 'v1' });
  }, 60_000);
});

