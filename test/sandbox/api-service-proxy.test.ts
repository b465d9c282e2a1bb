import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { clientsFor, eventually, installVersion, namespace, selectorOf, service, type Clients } from './dataplane-fixtures.js';

/**
 * The API server's service proxy, `/api/v1/namespaces/<ns>/services/<name>[:<port>]/proxy/<path>`,
 * as kube-apiserver 1.28 serves it (Service registry ResourceLocation, apimachinery's proxy
 * transport): it forwards to one ready address of the Service's Endpoints and relays the pod's
 * answer; 503 ServiceUnavailable when there is none; RBAC `services/proxy`.
 */

let sandbox: Sandbox;
let clients: Clients;
let base: string;
let admin: string;
const account = { namespace, name: 'prober' };

const call = async (path: string, token = admin, init: RequestInit = {}) => {
  const response = await fetch(`${base}${path}`, { ...init, redirect: 'manual', headers: { authorization: `Bearer ${token}` } });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json: json as Record<string, unknown> };
};
const proxy = (id: string, rest = '', token?: string) => call(`/api/v1/namespaces/${namespace}/services/${id}/proxy${rest}`, token);

beforeAll(async () => {
  sandbox = await startSandbox({ regions: ['eu-west'], readyDelayMs: 50, proxySyncDelayMs: 20, serviceAccounts: [account] });
  const region = sandbox.regions[0]!;
  clients = clientsFor(sandbox, region);
  base = region.apiUrl.replace('https:', 'http:');
  admin = region.token;
  await installVersion(clients, 'shop', 'v1', { replicas: 3, unreadyPods: 1, healthPath: '/healthz' });
  await clients.core.createNamespacedService({ namespace, body: service('shop', selectorOf('shop', 'v1')) });
  await eventually(async () => (await proxy('shop:80', '/healthz')).status === 200);
});

afterAll(async () => {
  await sandbox?.stop();
});

describe('service proxy', () => {
  it('forwards to a ready pod and relays its status, headers and body; <name>:<port>, <name>:<port name> and http:<name>:<port> all work', async () => {
    for (const id of ['shop:80', 'shop:http', 'http:shop:80']) {
      const answer = await proxy(id, '/healthz?probe=1');
      expect([id, answer.status, answer.headers.get('x-app-version')]).toEqual([id, 200, 'v1']);
      expect(answer.json).toMatchObject({ version: 'v1', region: 'eu-west', path: '/healthz?probe=1' });
    }
    const missing = await proxy('shop:80', '/checkout');
    expect([missing.status, missing.text]).toEqual([404, '404 page not found\n']);
    // Through the real client too.
    const viaClient = await clients.core.connectGetNamespacedServiceProxyWithPath({ name: 'shop:80', namespace, path: 'v1/app.js' });
    expect(typeof viaClient === 'string' ? JSON.parse(viaClient) : viaClient).toMatchObject({ version: 'v1', path: '/v1/app.js' });
  });

  it('only reaches ready endpoints (the unready third pod never answers)', async () => {
    const pods = (await clients.core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/name=shop' })).items;
    const unready = pods.find((p) => !p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))!;
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) seen.add(((await proxy('shop:80', '/healthz')).json as { pod: string }).pod);
    expect(seen.size).toBe(2);
    expect(seen.has(unready.metadata!.name!)).toBe(false);
  });

  it('redirects an empty path to .../proxy/ (301), as the real proxy does for GET', async () => {
    const answer = await proxy('shop:80');
    expect(answer.status).toBe(301);
    expect(answer.headers.get('location')).toBe(`/api/v1/namespaces/${namespace}/services/shop:80/proxy/`);
  });

  it('answers 503 with the real Status when the Service has no ready endpoint, or the port has no name match', async () => {
    await installVersion(clients, 'dark', 'v1', { replicas: 1, neverReady: true });
    await clients.core.createNamespacedService({ namespace, body: service('dark', selectorOf('dark', 'v1')) });
    await eventually(() => clients.core.readNamespacedEndpoints({ namespace, name: 'dark' }));
    const dark = await proxy('dark:80', '/');
    expect(dark.status).toBe(503);
    expect(dark.json).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'no endpoints available for service "dark"', reason: 'ServiceUnavailable', code: 503 });
    // <name> alone asks for the unnamed port; shop's only port is named http.
    expect((await proxy('shop', '/healthz')).json).toMatchObject({ code: 503, message: 'no endpoints available for service "shop"' });
    expect((await proxy('shop:8443', '/healthz')).json).toMatchObject({ code: 503, reason: 'ServiceUnavailable', message: 'no service port 8443 found for service "shop"' });
  });

  it('answers 503 "error trying to reach service" when the endpoint refuses the connection', async () => {
    await clients.core.createNamespacedService({
      namespace,
      body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'wrong-port' }, spec: { selector: selectorOf('shop', 'v1'), ports: [{ name: 'http', port: 80, targetPort: 9090 }] } },
    });
    const answer = await eventually(async () => {
      const a = await proxy('wrong-port:80', '/healthz');
      return a.status === 503 && String(a.json.message).startsWith('error trying to reach service') ? a : undefined;
    });
    expect(answer.json).toMatchObject({ kind: 'Status', reason: 'ServiceUnavailable', code: 503, message: expect.stringMatching(/^error trying to reach service: dial tcp 127\.\d+\.\d+\.\d+:9090: connect: connection refused$/) });
  });

  it('answers 404 for an unknown Service (services or endpoints not found) and 400 for a malformed id', async () => {
    expect((await proxy('ghost:80', '/')).json).toMatchObject({ kind: 'Status', code: 404, reason: 'NotFound', message: 'services "ghost" not found' });
    expect((await proxy('ghost', '/')).json).toMatchObject({ code: 404, reason: 'NotFound', message: 'endpoints "ghost" not found' });
    expect((await proxy('ftp:shop:80', '/')).json).toMatchObject({ code: 400, reason: 'BadRequest', message: 'invalid service request "ftp:shop:80"' });
  });

  it('needs RBAC services/proxy get for a ServiceAccount token', async () => {
    await clients.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: account.name } } });
    const token = sandbox.serviceAccountToken(account);
    const rbac = clients.kc.makeApiClient((await import('@kubernetes/client-node')).RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({ namespace, body: { metadata: { name: 'prober' }, rules: [{ apiGroups: [''], resources: ['services'], verbs: ['get'] }] } });
    await rbac.createNamespacedRoleBinding({
      namespace,
      body: { metadata: { name: 'prober' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'prober' }, subjects: [{ kind: 'ServiceAccount', name: account.name, namespace }] },
    });
    const denied = await proxy('shop:80', '/healthz', token);
    expect(denied.status).toBe(403);
    expect(denied.json).toMatchObject({
      reason: 'Forbidden',
      message: `services "shop:80" is forbidden: User "system:serviceaccount:${namespace}:prober" cannot get resource "services/proxy" in API group "" in the namespace "${namespace}"`,
    });
    await rbac.patchNamespacedRole(
      { namespace, name: 'prober', body: [{ op: 'add', path: '/rules/-', value: { apiGroups: [''], resources: ['services/proxy'], verbs: ['get'] } }] },
    );
    expect((await proxy('shop:80', '/healthz', token)).status).toBe(200);
  });

  it('is listed in discovery as the services/proxy subresource', async () => {
    const core = await clients.core.getAPIResources();
    expect(core.resources.find((r) => r.name === 'services/proxy')).toEqual({ name: 'services/proxy', singularName: '', namespaced: true, kind: 'ServiceProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update'] });
  });
});
