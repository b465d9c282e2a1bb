/**
 * The Cluster port's conformance cases, shared by every target: the sandbox (default) and any real
 * cluster (see conformance.test.ts for how to point it at one). They read as the release
 * procedure: install, wait, bootstrap, switch, verify endpoints, delete.
 */
import { AppsV1Api, CoreV1Api, CustomObjectsApi, NetworkingV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppSpec } from '../../src/core/model.js';
import { annotations, defaultLabelKeys } from '../../src/core/names.js';
import type { Cluster } from '../../src/kube/cluster.js';
import { KubeError, toKubeError } from '../../src/kube/errors.js';
import { fenceAnnotation } from '../../src/kube/manifests.js';
import type { RetryPolicy } from '../../src/kube/retry.js';

export interface FaultControl {
  set(patch: Partial<{ errorRate: number; latencyMs: number; unreachable: boolean }>): void;
}

export interface ConformanceEnv {
  region: string;
  namespace: string;
  kubeconfig: KubeConfig;
  /** A fresh adapter for this target, optionally with its own retry policy. */
  cluster(options?: { retry?: Partial<RetryPolicy>; requestTimeoutMs?: number; pollIntervalMs?: number }): Cluster;
  /** An app spec whose pods turn ready on this target. */
  app(name: string): AppSpec;
  /** Where the region's ingress answers (null: not reachable from the tests). */
  ingressUrl: string | null;
  /** The cluster serves gateway.networking.k8s.io/v1 HTTPRoutes. */
  gatewayApi: boolean;
  /** Fault injection; null on real clusters (fault cases are skipped). */
  faults: FaultControl | null;
  readyTimeoutMs: number;
  teardown(): Promise<void>;
}

/** Builds an app spec from what every target needs; targets override image, port and annotations. */
export function conformanceApp(name: string, overrides: Partial<AppSpec> = {}): AppSpec {
  return {
    name,
    image: 'registry.example.com/conformance:{version}',
    containerPort: 8080,
    replicas: 2,
    env: { GREETING: 'hello' },
    healthPath: '/healthz',
    versionHeader: 'x-app-version',
    routing: 'ingress',
    hosts: [],
    labelKeys: defaultLabelKeys,
    terminationGracePeriodSeconds: 1,
    podAnnotations: {},
    ...overrides,
  };
}

/** The version header of the first answer from `url`, retried while the proxy catches up. */
async function versionAnswering(url: string): Promise<string | null> {
  let last: string | null = null;
  for (let attempt = 0; attempt < 50; attempt++) {
    const response = await fetch(url).catch(() => null);
    last = response?.ok ? response.headers.get('x-app-version') : null;
    await response?.body?.cancel();
    if (last) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return last;
}

export function describeClusterConformance(name: string, makeEnv: () => Promise<ConformanceEnv>, options: { testTimeoutMs?: number } = {}): void {
  describe(`Cluster conformance: ${name}`, { timeout: options.testTimeoutMs ?? 20_000 }, () => {
    let env: ConformanceEnv;
    let cluster: Cluster;
    let core: CoreV1Api;
    let shop: AppSpec;
    const at = new Date('2026-01-02T03:04:05.000Z');

    beforeAll(async () => {
      env = await makeEnv();
      cluster = env.cluster();
      core = env.kubeconfig.makeApiClient(CoreV1Api);
      shop = env.app('shop');
    }, 60_000);

    afterAll(async () => {
      await env?.teardown();
    }, 60_000);

    it('installs a version, and installing it again changes nothing', async () => {
      await cluster.installVersion(shop, 'v1', 'alice');
      await cluster.installVersion(shop, 'v1', 'alice');
      const state = await cluster.observe(shop);
      expect(state.versions.map((v) => v.version)).toEqual(['v1']);
      expect(state.versions[0]).toMatchObject({ version: 'v1', desiredReplicas: 2, hasService: true, hasRoute: true, retiredAt: null });
      expect(state.live).toBeNull();
    });

    it('waits until the version has ready pods', async () => {
      const installed = await cluster.waitForReady(shop, 'v1', 2, { timeoutMs: env.readyTimeoutMs });
      expect(installed).toMatchObject({ version: 'v1', readyReplicas: 2, hasService: true, hasRoute: true });
    });

    it('bootstraps the live Service and route once', async () => {
      const first = await cluster.bootstrap(shop, 'v1');
      expect(first.created).toEqual([`Service/${shop.name}`, `Ingress/${shop.name}`]);
      const second = await cluster.bootstrap(shop, 'v1');
      expect(second.created).toEqual([]);
    });

    it('observes the live version, the live route and the installed versions', async () => {
      const state = await cluster.observe(shop);
      expect(state).toMatchObject({ region: env.region, liveRouteExists: true, live: { version: 'v1', previousVersion: null } });
      expect(state.versions.map((v) => v.version)).toEqual(['v1']);
    });

    it('switches the selector once, records who, when and the rollback target, and is a no-op the second time', async () => {
      // Polling so slow that only the watch can see the changes in time.
      const watching = env.cluster({ pollIntervalMs: 3_600_000 });
      await cluster.installVersion(shop, 'v2', 'alice');
      await watching.waitForReady(shop, 'v2', 2, { timeoutMs: env.readyTimeoutMs });

      const first = await cluster.switchSelector(shop, { to: 'v2', from: 'v1', by: 'bob', at, fence: 7 });
      expect(first.patched).toBe(true);
      expect(first.patchMs).toBeGreaterThan(0);
      const again = await cluster.switchSelector(shop, { to: 'v2', from: 'v1', by: 'bob', at });
      expect(again).toEqual({ patched: false, patchMs: 0 });
      const converged = await watching.waitForEndpoints(shop, shop.name, 'v2', { timeoutMs: env.readyTimeoutMs });
      expect(converged.endpoints.map((e) => e.version)).toEqual(['v2', 'v2']);

      const state = await cluster.observe(shop);
      expect(state.live).toEqual({ version: 'v2', previousVersion: 'v1', promotedAt: at.toISOString(), promotedBy: 'bob', changedOutside: false, fence: 7 });
      expect(state.versions.find((v) => v.version === 'v1')?.retiredAt).toBe(at.toISOString());
      const service = await core.readNamespacedService({ name: shop.name, namespace: env.namespace });
      expect(service.spec?.selector).toEqual({ [defaultLabelKeys.name]: shop.name, [defaultLabelKeys.version]: 'v2' });
      expect(service.metadata?.annotations).toMatchObject({ [annotations.liveVersion]: 'v2', [fenceAnnotation]: '7' });
    });

    it('waits until the live Service is served only by pods of the target version', async () => {
      const result = await cluster.waitForEndpoints(shop, shop.name, 'v2', { timeoutMs: env.readyTimeoutMs });
      expect(result.endpoints.length).toBe(2);
      expect(result.endpoints.every((e) => e.version === 'v2' && e.ready && !e.terminating)).toBe(true);
      const listed = await cluster.endpoints(shop.name);
      expect(new Set(listed.map((e) => e.version))).toEqual(new Set(['v2']));
    });

    it('routes live traffic and the version path through the objects it created', async (context) => {
      if (!env.ingressUrl) return context.skip();
      expect(await versionAnswering(`${env.ingressUrl}/`)).toBe('v2');
      expect(await versionAnswering(`${env.ingressUrl}/v1/`)).toBe('v1');
    });

    it('reports what it saw last when endpoints do not converge in time', async () => {
      const failure = await cluster.waitForEndpoints(shop, shop.name, 'v1', { timeoutMs: 300 }).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(KubeError);
      expect(failure).toMatchObject({ code: 'timeout' });
      expect((failure as KubeError).message).toContain('2 v2 ready');
    });

    it('refuses to delete the live version and the rollback target, whoever asks, and deletes another one (twice is fine)', async () => {
      await expect(cluster.deleteVersion(shop, 'v2')).rejects.toMatchObject({ code: 'live-version' });
      await expect(cluster.deleteVersion(shop, 'v1')).rejects.toMatchObject({ code: 'rollback-target' });
      await cluster.installVersion(shop, 'v9', 'alice');
      await cluster.deleteVersion(shop, 'v9');
      await cluster.deleteVersion(shop, 'v9');
      const state = await cluster.observe(shop);
      expect(state.versions.map((v) => v.version)).toEqual(['v2', 'v1']);
    });

    it('refuses a version whose resource names are another version\'s, naming the object and its labels', async () => {
      await cluster.installVersion(shop, 'v3.1', 'alice');
      const failure = await cluster.installVersion(shop, 'v3-1', 'alice').catch((e: unknown) => e);
      expect(failure).toMatchObject({ code: 'not-owned' });
      expect((failure as Error).message).toMatch(new RegExp(`Deployment ${shop.name}-v3-1 \\(labels .*app\\.kubernetes\\.io/version=v3\\.1.*\\).*not cutover's ${shop.name} v3-1`));
      await cluster.deleteVersion(shop, 'v3.1');
    });

    it('routes versions through a Gateway with HTTPRoutes when the app says so', async (context) => {
      if (!env.gatewayApi) return context.skip();
      const api = env.app('api');
      const gatewayApp: AppSpec = { ...api, routing: 'gateway', gateway: { name: 'public' } };
      await cluster.installVersion(gatewayApp, 'v1', 'alice');
      expect(await cluster.bootstrap(gatewayApp, 'v1')).toEqual({ created: [`Service/${api.name}`, `HTTPRoute/${api.name}`] });
      const state = await cluster.observe(gatewayApp);
      expect(state).toMatchObject({ liveRouteExists: true, live: { version: 'v1' } });
      expect(state.versions).toMatchObject([{ version: 'v1', hasService: true, hasRoute: true }]);
      await cluster.switchSelector(gatewayApp, { to: 'v1', from: null, by: 'bob', at });
      await cluster.bootstrap(gatewayApp, null);
      await expect(cluster.deleteVersion(gatewayApp, 'v1')).rejects.toMatchObject({ code: 'live-version' });
    });

    it('refuses malformed versions before any API call', async () => {
      await expect(cluster.installVersion(shop, 'v1;rm -rf', 'alice')).rejects.toMatchObject({ code: 'invalid' });
    });

    it('says "bootstrap first" when switching an app without a live Service', async () => {
      const other = env.app('ghost');
      await expect(cluster.switchSelector(other, { to: 'v1', from: null, by: 'bob', at })).rejects.toMatchObject({ code: 'not-bootstrapped', status: 404 });
    });

    it('maps the API server\'s 404, 409 and 422 answers to typed errors', async () => {
      const notFound = await core.readNamespacedService({ name: 'does-not-exist', namespace: env.namespace }).catch((e: unknown) => toKubeError(e));
      expect(notFound).toMatchObject({ code: 'not-found', status: 404, transient: false });

      const live = await core.readNamespacedService({ name: shop.name, namespace: env.namespace });
      const stale = { metadata: { resourceVersion: live.metadata!.resourceVersion, annotations: { 'conformance/touch': '1' } } };
      const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
      await core.patchNamespacedService({ name: shop.name, namespace: env.namespace, body: stale }, merge);
      const conflict = await core.patchNamespacedService({ name: shop.name, namespace: env.namespace, body: stale }, merge).catch((e: unknown) => toKubeError(e));
      expect(conflict).toMatchObject({ code: 'conflict', status: 409, transient: true });

      const exists = await core
        .createNamespacedService({ namespace: env.namespace, body: { apiVersion: 'v1', kind: 'Service', metadata: { name: shop.name }, spec: { ports: [{ port: 80 }] } } })
        .catch((e: unknown) => toKubeError(e));
      expect(exists).toMatchObject({ code: 'already-exists', status: 409, transient: false });

      const invalid = await core
        .createNamespacedService({ namespace: env.namespace, body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'Bad_Name' }, spec: { ports: [{ port: 80 }] } } })
        .catch((e: unknown) => toKubeError(e));
      expect(invalid).toMatchObject({ code: 'invalid', status: 422, transient: false });
      expect((invalid as KubeError).causes.map((c) => c.field)).toContain('metadata.name');
    });

    it('retries injected API faults (30% errors) through a whole release', async (context) => {
      if (!env.faults) return context.skip();
      const faulty = env.cluster({ retry: { attempts: 10, baseMs: 10, capMs: 100 } });
      const cart = env.app('cart');
      env.faults.set({ errorRate: 0.3 });
      try {
        await faulty.installVersion(cart, 'v1', 'alice');
        await faulty.installVersion(cart, 'v2', 'alice');
        await faulty.installVersion(cart, 'v3', 'alice');
        await faulty.bootstrap(cart, 'v1');
        await faulty.waitForReady(cart, 'v2', 2, { timeoutMs: env.readyTimeoutMs });
        const switched = await faulty.switchSelector(cart, { to: 'v2', from: 'v1', by: 'bob', at });
        expect(switched.patched).toBe(true);
        const converged = await faulty.waitForEndpoints(cart, cart.name, 'v2', { timeoutMs: env.readyTimeoutMs });
        expect(converged.endpoints.every((e) => e.version === 'v2')).toBe(true);
        await faulty.deleteVersion(cart, 'v3');
        const state = await faulty.observe(cart);
        expect(state.live?.version).toBe('v2');
        expect(state.versions.map((v) => v.version).sort()).toEqual(['v1', 'v2']);
      } finally {
        env.faults.set({ errorRate: 0 });
      }
    });

    it('gives up on an unreachable region with code "unreachable" after retrying', async (context) => {
      if (!env.faults) return context.skip();
      const impatient = env.cluster({ retry: { attempts: 3, baseMs: 5, capMs: 20 } });
      env.faults.set({ unreachable: true });
      try {
        const failure = await impatient.observe(shop).catch((e: unknown) => e);
        expect(failure).toBeInstanceOf(KubeError);
        expect(failure).toMatchObject({ code: 'unreachable', transient: true, region: env.region });
      } finally {
        env.faults.set({ unreachable: false });
      }
    });
  });
}

/**
 * Delete everything the suite created for these apps (Deployments, Services, Ingresses and
 * HTTPRoutes cutover labelled as theirs), one object at a time with the Role's own verbs (list and
 * delete): the teardown in an existing namespace.
 */
export async function removeApps(kubeconfig: KubeConfig, namespace: string, apps: AppSpec[], gatewayApi: boolean): Promise<void> {
  const appsApi = kubeconfig.makeApiClient(AppsV1Api);
  const core = kubeconfig.makeApiClient(CoreV1Api);
  const networking = kubeconfig.makeApiClient(NetworkingV1Api);
  const custom = kubeconfig.makeApiClient(CustomObjectsApi);
  const route = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes', namespace };
  for (const app of apps) {
    const labelSelector = `${app.labelKeys.name}=${app.name},app.kubernetes.io/managed-by=cutover`;
    const names = (list: { items: { metadata?: { name?: string } }[] }) => list.items.map((i) => i.metadata?.name ?? '').filter((n) => n !== '');
    for (const name of names(await appsApi.listNamespacedDeployment({ namespace, labelSelector }))) await appsApi.deleteNamespacedDeployment({ name, namespace });
    for (const name of names(await core.listNamespacedService({ namespace, labelSelector }))) await core.deleteNamespacedService({ name, namespace });
    for (const name of names(await networking.listNamespacedIngress({ namespace, labelSelector }))) await networking.deleteNamespacedIngress({ name, namespace });
    if (gatewayApi) {
      const routes = (await custom.listNamespacedCustomObject({ ...route, labelSelector })) as { items: { metadata?: { name?: string } }[] };
      for (const name of names(routes)) await custom.deleteNamespacedCustomObject({ ...route, name });
    }
  }
}
