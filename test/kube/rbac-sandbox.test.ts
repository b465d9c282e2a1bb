/**
 * Least privilege against the sandbox's RBAC: the conformance suite passes as the cutover
 * ServiceAccount of config/rbac.yaml (applied through the API), and requests outside a Role get
 * the 403 Status a real kube-apiserver answers.
 */
import { dirname, join } from 'node:path';
import { CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toKubeError } from '../../src/kube/errors.js';
import { KubeCluster } from '../../src/kube/kube-cluster.js';
import { loadKubeConfig } from '../../src/kube/load-kubeconfig.js';
import { mustType } from '../../src/sandbox/resource-types.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { applyManifests, readManifests } from '../support/apply-manifests.js';
import { conformanceApp, describeClusterConformance } from './conformance-cases.js';

const rbacYaml = new URL('../../config/rbac.yaml', import.meta.url);
const cutoverAccount = { namespace: 'production', name: 'cutover' };

describeClusterConformance('sandbox as the cutover ServiceAccount of config/rbac.yaml', async () => {
  const sandbox = await startSandbox({ regions: ['eu-west'], readyDelayMs: 200, proxySyncDelayMs: 50, graceScale: 0.1 });
  const region = sandbox.regions[0]!;
  try {
    await applyManifests(loadKubeConfig({ path: sandbox.kubeconfigPath, context: region.name }), await readManifests(rbacYaml));
    const path = join(dirname(sandbox.kubeconfigPath), 'kubeconfig-cutover');
    await sandbox.writeKubeconfig(path, { serviceAccount: cutoverAccount });
    const kubeconfig = loadKubeConfig({ path, context: region.name });
    const namespace = 'production';
    // The suite below really runs restricted: the Role grants no secrets.
    const denied = await kubeconfig.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace }).then(
      () => null,
      (error: unknown) => toKubeError(error),
    );
    if (denied?.code !== 'forbidden') throw new Error(`expected the ServiceAccount kubeconfig to be restricted, got ${String(denied)}`);
    return {
      region: region.name,
      namespace,
      kubeconfig,
      cluster: (options = {}) => new KubeCluster({ region: region.name, namespace, kubeconfig, pollIntervalMs: 50, ...options }),
      app: (name) => conformanceApp(name),
      ingressUrl: region.ingressUrl,
      gatewayApi: true,
      faults: region.faults,
      readyTimeoutMs: 10_000,
      teardown: () => sandbox.stop(),
    };
  } catch (error) {
    await sandbox.stop();
    throw error;
  }
});

describe('RBAC in the sandbox', () => {
  let sandbox: Sandbox;
  let base: string;
  let adminToken: string;
  let testerToken: string;
  const tester = { namespace: 'team', name: 'tester' };
  const user = 'system:serviceaccount:team:tester';

  /** One raw request, so the exact Status body can be compared. */
  async function call(method: string, path: string, token: string, body?: unknown, contentType = 'application/json') {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': contentType }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, json: (await response.json().catch(() => null)) as Record<string, unknown> | null };
  }

  const forbidden = (message: string, details: Record<string, string>) => ({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason: 'Forbidden',
    details,
    code: 403,
  });

  async function setRules(rules: unknown[]): Promise<void> {
    const role = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'tester', namespace: 'team' }, rules };
    const answer = await call('PATCH', '/apis/rbac.authorization.k8s.io/v1/namespaces/team/roles/tester?fieldManager=test&force=true', adminToken, role, 'application/apply-patch+yaml');
    expect(answer.status).toBeLessThan(300);
  }

  beforeAll(async () => {
    sandbox = await startSandbox({ regions: ['eu-west'], extraNamespaces: ['team'], readyDelayMs: 50, serviceAccounts: [{ ...tester, token: 'tester-token' }] });
    const region = sandbox.regions[0]!;
    base = region.apiUrl.replace('https:', 'http:');
    adminToken = region.token;
    testerToken = sandbox.serviceAccountToken(tester);
    expect(testerToken).toBe('tester-token');
    const admin = loadKubeConfig({ path: sandbox.kubeconfigPath, context: region.name });
    await applyManifests(admin, [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'tester', namespace: 'team' } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'tester', namespace: 'team' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'tester' },
        subjects: [{ kind: 'ServiceAccount', name: 'tester' }],
      } as never,
    ]);
    await setRules([{ apiGroups: [''], resources: ['services'], verbs: ['get', 'list', 'create'] }]);
  });

  afterAll(async () => {
    await sandbox?.stop();
  });

  it('the admin token stays unrestricted', async () => {
    expect((await call('GET', '/api/v1/namespaces/team/secrets', adminToken)).status).toBe(200);
    expect((await call('GET', '/api/v1/namespaces', adminToken)).status).toBe(200);
  });

  it('a ServiceAccount gets what its Role grants in its namespace', async () => {
    const created = await call('POST', '/api/v1/namespaces/team/services', testerToken, { metadata: { name: 'shop' }, spec: { ports: [{ port: 80 }] } });
    expect(created.status).toBe(201);
    expect((await call('GET', '/api/v1/namespaces/team/services/shop', testerToken)).status).toBe(200);
    expect((await call('GET', '/api/v1/namespaces/team/services', testerToken)).status).toBe(200);
    // Discovery is open to every authenticated user, as system:discovery grants it.
    expect((await call('GET', '/apis/apps/v1', testerToken)).status).toBe(200);
  });

  it('answers a verb outside the Role with the real 403 Status, naming user, verb, resource, group and namespace', async () => {
    const patched = await call('PATCH', '/api/v1/namespaces/team/services/shop', testerToken, { metadata: { labels: { a: 'b' } } }, 'application/merge-patch+json');
    expect(patched.json).toEqual(
      forbidden(`services "shop" is forbidden: User "${user}" cannot patch resource "services" in API group "" in the namespace "team"`, { name: 'shop', kind: 'services' }),
    );
    expect(patched.status).toBe(403);
  });

  it('forbids listing secrets, deleting the namespace, and anything at the cluster scope', async () => {
    const secrets = await call('GET', '/api/v1/namespaces/team/secrets', testerToken);
    expect(secrets.json).toEqual(forbidden(`secrets is forbidden: User "${user}" cannot list resource "secrets" in API group "" in the namespace "team"`, { kind: 'secrets' }));
    const namespace = await call('DELETE', '/api/v1/namespaces/team', testerToken);
    expect(namespace.json).toEqual(
      forbidden(`namespaces "team" is forbidden: User "${user}" cannot delete resource "namespaces" in API group "" in the namespace "team"`, { name: 'team', kind: 'namespaces' }),
    );
    const all = await call('GET', '/api/v1/namespaces', testerToken);
    expect(all.json).toEqual(forbidden(`namespaces is forbidden: User "${user}" cannot list resource "namespaces" in API group "" at the cluster scope`, { kind: 'namespaces' }));
    const elsewhere = await call('GET', '/api/v1/namespaces/production/services', testerToken);
    expect(elsewhere.status).toBe(403);
    expect(sandbox.regions[0]!.store.get(mustType('namespaces'), undefined, 'team')?.metadata.deletionTimestamp).toBeUndefined();
  });

  it('the kube adapter turns the 403 into a forbidden error naming the missing permission', async () => {
    const kubeconfig = loadKubeConfig({ path: sandbox.kubeconfigPath, context: 'eu-west' });
    kubeconfig.users = kubeconfig.users.map((u) => ({ ...u, token: testerToken }));
    const core = kubeconfig.makeApiClient(CoreV1Api);
    const failure = await core
      .patchNamespacedService({ name: 'shop', namespace: 'team', body: { metadata: { labels: { a: 'b' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch))
      .catch((error: unknown) => toKubeError(error));
    expect(failure).toMatchObject({ code: 'forbidden', status: 403, transient: false, permission: { verb: 'patch', resource: 'services', group: '', namespace: 'team' } });
    expect((failure as Error).message).toContain('missing permission: "patch" on services in namespace "team"');
  });

  it('matches subresources, apiGroups, wildcards and resourceNames as RBAC does', async () => {
    await setRules([
      { apiGroups: ['apps'], resources: ['deployments/status'], verbs: ['get'] },
      { apiGroups: [''], resources: ['configmaps'], resourceNames: ['allowed'], verbs: ['get'] },
      { apiGroups: ['*'], resources: ['*'], verbs: ['watch'] },
    ]);
    const deployment = { metadata: { name: 'web' }, spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } } };
    expect((await call('POST', '/apis/apps/v1/namespaces/team/deployments', adminToken, deployment)).status).toBe(201);
    expect((await call('GET', '/apis/apps/v1/namespaces/team/deployments/web/status', testerToken)).status).toBe(200);
    const whole = await call('GET', '/apis/apps/v1/namespaces/team/deployments/web', testerToken);
    expect(whole.json).toEqual(
      forbidden(`deployments.apps "web" is forbidden: User "${user}" cannot get resource "deployments" in API group "apps" in the namespace "team"`, { name: 'web', group: 'apps', kind: 'deployments' }),
    );
    const statusPatch = await call('PATCH', '/apis/apps/v1/namespaces/team/deployments/web/status', testerToken, { status: {} }, 'application/merge-patch+json');
    expect(statusPatch.json?.message).toBe(`deployments.apps "web" is forbidden: User "${user}" cannot patch resource "deployments/status" in API group "apps" in the namespace "team"`);
    expect((await call('GET', '/api/v1/namespaces/team/configmaps/allowed', testerToken)).status).toBe(404);
    expect((await call('GET', '/api/v1/namespaces/team/configmaps/other', testerToken)).status).toBe(403);
    // A list has no name, so a rule limited to resourceNames does not grant it.
    expect((await call('GET', '/api/v1/namespaces/team/configmaps', testerToken)).status).toBe(403);
    const watch = await fetch(`${base}/api/v1/namespaces/team/pods?watch=true&timeoutSeconds=1`, { headers: { authorization: `Bearer ${testerToken}` } });
    expect(watch.status).toBe(200);
    await watch.body?.cancel();
  });

  it('a server-side apply that would create needs "create" besides "patch"', async () => {
    await setRules([{ apiGroups: [''], resources: ['configmaps'], verbs: ['patch'] }]);
    const apply = (name: string) =>
      call('PATCH', `/api/v1/namespaces/team/configmaps/${name}?fieldManager=t`, testerToken, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name } }, 'application/apply-patch+yaml');
    const denied = await apply('fresh');
    expect(denied.json).toEqual(forbidden('configmaps "fresh" is forbidden: ', { name: 'fresh', kind: 'configmaps' }));
    await setRules([{ apiGroups: [''], resources: ['configmaps'], verbs: ['patch', 'create'] }]);
    expect((await apply('fresh')).status).toBe(201);
  });

  it('the adapter names "create" when installing needs it but the Role only grants "patch"', async () => {
    await setRules([
      { apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'patch'] },
      // The ownership check reads each object the install would write first.
      { apiGroups: [''], resources: ['services'], verbs: ['get'] },
      { apiGroups: ['networking.k8s.io'], resources: ['ingresses'], verbs: ['get'] },
    ]);
    const kubeconfig = loadKubeConfig({ path: sandbox.kubeconfigPath, context: 'eu-west' });
    kubeconfig.users = kubeconfig.users.map((u) => ({ ...u, token: testerToken }));
    const cluster = new KubeCluster({ region: 'eu-west', namespace: 'team', kubeconfig });
    const failure = await cluster.installVersion(conformanceApp('cart'), 'v1', 'alice').catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'forbidden', permission: { verb: 'create', resource: 'deployments', group: 'apps', namespace: 'team' } });
    expect((failure as Error).message).toBe('eu-west: missing permission: "create" on deployments.apps in namespace "team" (grant it in the Role of config/rbac.yaml)');
  });

  it('says why when a binding names a Role that does not exist', async () => {
    await call('DELETE', '/apis/rbac.authorization.k8s.io/v1/namespaces/team/roles/tester', adminToken);
    const denied = await call('GET', '/api/v1/namespaces/team/services/shop', testerToken);
    expect(denied.json?.message).toBe(
      `services "shop" is forbidden: User "${user}" cannot get resource "services" in API group "" in the namespace "team": RBAC: role.rbac.authorization.k8s.io "tester" not found`,
    );
  });

  it('only the admin steers faults; a token whose ServiceAccount does not exist is 401', async () => {
    const steer = await call('PUT', '/sandbox/faults', testerToken, { errorRate: 1 });
    expect(steer.json).toMatchObject({ code: 403, reason: 'Forbidden', message: `forbidden: User "${user}" cannot put path "/sandbox/faults"` });
    const ghost = sandbox.serviceAccountToken({ namespace: 'team', name: 'ghost' });
    expect((await call('GET', '/api/v1/namespaces/team/services', ghost)).status).toBe(401);
  });
});

describe('the web identity of config/rbac.yaml (cutover-web, Role cutover-read)', () => {
  let sandbox: Sandbox;
  let web: KubeCluster;
  let worker: KubeCluster;
  const app = conformanceApp('shop');

  beforeAll(async () => {
    sandbox = await startSandbox({ regions: ['eu-west'], readyDelayMs: 50, proxySyncDelayMs: 20, graceScale: 0.1 });
    const region = sandbox.regions[0]!;
    await applyManifests(loadKubeConfig({ path: sandbox.kubeconfigPath, context: region.name }), await readManifests(rbacYaml));
    const as = async (account: string): Promise<KubeCluster> => {
      const path = join(dirname(sandbox.kubeconfigPath), `kubeconfig-${account}`);
      await sandbox.writeKubeconfig(path, { serviceAccount: { namespace: 'production', name: account } });
      return new KubeCluster({ region: region.name, namespace: 'production', kubeconfig: loadKubeConfig({ path, context: region.name }), pollIntervalMs: 50 });
    };
    web = await as('cutover-web');
    worker = await as('cutover');
    // The workers install and bootstrap, as they do in production.
    for (const version of ['v1', 'v2']) {
      await worker.installVersion(app, version, 'setup');
      await worker.waitForReady(app, version, 1, { timeoutMs: 10_000 });
    }
    await worker.bootstrap(app, 'v1');
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it('reads what status, dry runs and approval requests need, and answers /readyz', async () => {
    const state = await web.observe(app);
    expect(state.live?.version).toBe('v1');
    expect(state.versions.map((v) => v.version).sort()).toEqual(['v1', 'v2']);
    await web.ping();
  });

  it('cannot change the cluster: a selector switch, an install and a delete get 403, and nothing changed', async () => {
    const switched = await web.switchSelector(app, { from: 'v1', to: 'v2', by: 'web', at: new Date() }).catch((error: unknown) => error);
    expect(switched).toMatchObject({ code: 'forbidden', status: 403, permission: { verb: 'patch', resource: 'services', namespace: 'production' } });
    expect((switched as Error).message).toContain('missing permission: "patch" on services in namespace "production"');
    expect(await web.installVersion(app, 'v3', 'web').catch((error: unknown) => error)).toMatchObject({ code: 'forbidden', status: 403 });
    expect(await web.deleteVersion(app, 'v2').catch((error: unknown) => error)).toMatchObject({ code: 'forbidden', status: 403 });
    const state = await web.observe(app);
    expect(state.live?.version).toBe('v1');
    expect(state.versions.map((v) => v.version).sort()).toEqual(['v1', 'v2']);
  });
});
