import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.js';
import { ensureHelm } from '../../src/demo/helm-binary.js';
import { loadKubeConfig } from '../../src/kube/load-kubeconfig.js';
import { createQueueRunner } from '../../src/wiring/queue-runner.js';
import { namespaceObjects, objectsOfVersion } from '../support/namespace-objects.js';
import { liveSelectors, startSandboxEnv, type SandboxEnv } from '../support/sandbox-env.js';
import { deleteKeys, testPrefix, testRedis } from '../queue/redis-fixture.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

/**
 * The example chart released through the CLI in both sandbox regions, as CI would: deploy (a
 * region without the chart's Secret fails with the kubelet's reason), bootstrap, promote,
 * rollback, status with each version's objects, a dry run with the rendered objects, and cleanup
 * through the queue and a real worker process, which leaves nothing of the removed version.
 */

const prefix = testPrefix();
let world: SandboxEnv;
let worker: WorkerProcess | undefined;

beforeAll(async () => {
  const helm = await ensureHelm();
  world = await startSandboxEnv({
    prefix,
    appFields: { install: { kind: 'helm', chart: 'examples/charts/shop', helmBinary: helm, values: { podAnnotations: { 'sandbox.cutover.dev/ready-after-ms': '100' } } } },
  });
  worker = await startWorkerProcess(world.configPath);
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  const redis = testRedis();
  await deleteKeys(redis, prefix);
  redis.disconnect();
  await world?.stop();
});

async function cli(...argv: string[]): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const code = await runCli(argv, { out: (l) => out.push(l), err: (l) => out.push(l), env: { CUTOVER_CONFIG: world.configPath, USER: 'ci' }, clusters: world.clusters, queue: createQueueRunner() });
  return { code, out: out.join('\n') };
}

const secretIn = (region: string) =>
  loadKubeConfig({ path: world.sandbox.kubeconfigPath, context: region })
    .makeApiClient(CoreV1Api)
    .createNamespacedSecret({ namespace: 'production', body: { metadata: { name: 'shop-secrets' }, stringData: { 'db-password': 'hunter2' } } });

const objectsIn = (region: string) => namespaceObjects(world.sandbox.kubeconfigPath, region, 'production');

describe('the example Helm chart through the CLI, in both regions', () => {
  it('fails the deploy in a region where the Secret the chart references is missing, with the reason', async () => {
    await secretIn('eu-west');
    const failed = await cli('deploy', 'shop', 'v1');
    expect(failed.code).toBe(1);
    expect(failed.out).toMatch(/us-east: v1 cannot start: pod shop-v1-\S+: CreateContainerConfigError: secret "shop-secrets" not found/);
    // Once the platform team creates it, the same command finishes the install.
    await secretIn('us-east');
    expect((await cli('deploy', 'shop', 'v1')).code).toBe(0);
  });

  it('shows the rendered objects and the server-side dry run of a deploy, changing nothing', async () => {
    const before = await objectsIn('eu-west');
    const dry = await cli('deploy', 'shop', 'v2', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.out).toContain('eu-west: chart examples/charts/shop: 7 objects, server-side dry run: all accepted');
    expect(dry.out).toContain('ok      PodDisruptionBudget shop-v2');
    const hpa = dry.out.slice(dry.out.indexOf('kind: HorizontalPodAutoscaler'));
    expect(hpa.slice(0, hpa.indexOf('---'))).toMatch(/name: shop-v2\n {2}namespace: production\n[\s\S]*scaleTargetRef:/);
    expect(await objectsIn('eu-west')).toEqual(before);
  });

  it('bootstraps, deploys, promotes and rolls back', async () => {
    expect((await cli('bootstrap', 'shop', 'v1')).code).toBe(0);
    expect((await cli('deploy', 'shop', 'v2')).code).toBe(0);
    const promoted = await cli('promote', 'shop', 'v2');
    expect(promoted.code, promoted.out).toBe(0);
    expect(await liveSelectors(world.sandbox)).toEqual({ 'eu-west': 'v2', 'us-east': 'v2' });
    expect((await cli('rollback', 'shop')).code).toBe(0);
    expect(await liveSelectors(world.sandbox)).toEqual({ 'eu-west': 'v1', 'us-east': 'v1' });
  });

  it('shows what each version installed in status', async () => {
    const status = await cli('status', 'shop');
    expect(status.code).toBe(0);
    expect(status.out).toContain('objects: ServiceAccount/shop-v2, ConfigMap/shop-v2-config, Service/shop-v2, PodDisruptionBudget/shop-v2, Deployment/shop-v2, HorizontalPodAutoscaler/shop-v2, Ingress/shop-v2');
  });

  it('cleans up through the queue: the removed version leaves no object in any namespaced kind of either region', async () => {
    expect((await cli('deploy', 'shop', 'v3')).code).toBe(0);
    expect((await cli('promote', 'shop', 'v3')).code).toBe(0);
    // Live v3, rollback target v1: v2 goes.
    const cleanup = await cli('cleanup', 'shop', '--queue');
    expect(cleanup.code, cleanup.out).toBe(0);
    for (const region of ['eu-west', 'us-east']) {
      await expect.poll(async () => objectsOfVersion(await objectsIn(region), 'shop', 'v2').map((o) => `${o.kind}/${o.name}`), { timeout: 15_000 }).toEqual([]);
      const kept = objectsOfVersion(await objectsIn(region), 'shop', 'v1').map((o) => o.kind);
      expect(kept).toEqual(expect.arrayContaining(['ConfigMap', 'Deployment', 'HorizontalPodAutoscaler', 'PodDisruptionBudget', 'Service', 'ServiceAccount']));
    }
  });
});
