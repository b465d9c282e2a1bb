import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { clientsFor, eventually, get, ingress, installVersion, namespace, readyPodIPs, selectorOf, service, type Clients } from './dataplane-fixtures.js';

let sandbox: Sandbox;
let clients: Clients;
let ingressUrl: string;
const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });

beforeAll(async () => {
  // A long proxy sync lag makes the window where the proxy still routes to a gone pod observable.
  sandbox = await startSandbox({ regions: ['eu-west'], readyDelayMs: 50, proxySyncDelayMs: 600, graceScale: 0.1 });
  clients = clientsFor(sandbox, sandbox.regions[0]!);
  ingressUrl = sandbox.regions[0]!.ingressUrl;
  // Apps that answer every path (`serves: '*'`), so these tests see the routing alone.
  await Promise.all([installVersion(clients, 'shop', 'v1', { serves: '*' }), installVersion(clients, 'shop', 'v2', { serves: '*' })]);
  await clients.core.createNamespacedService({ namespace, body: service('shop', selectorOf('shop', 'v1')) });
  await clients.networking.createNamespacedIngress({ namespace, body: ingress('shop', [{ path: '/', service: 'shop' }]) });
  await clients.networking.createNamespacedIngress({
    namespace,
    body: ingress('shop-versions', [
      { path: '/v1/', service: 'shop-v1' },
      { path: '/v2/', service: 'shop-v2' },
      { path: '/v2/exact', pathType: 'Exact', service: 'shop-v1' },
      { path: '/', service: 'shop-v2', host: 'v2.shop.example' },
    ]),
  });
  // The proxy sees Services and slices only after its sync lag.
  for (const path of ['/v1/x', '/v2/x', '/checkout']) await eventually(async () => (await get(`${ingressUrl}${path}`)).status === 200);
});

afterAll(async () => {
  agent.destroy();
  await sandbox?.stop();
});

describe('ingress data plane', () => {
  it('routes version paths to the version Services, the rest to the live Service, with keep-alive', async () => {
    const v1 = await get(`${ingressUrl}/v1/app.js`, { agent });
    const v2 = await get(`${ingressUrl}/v2/app.js`, { agent });
    const live = await get(`${ingressUrl}/checkout`, { agent });
    expect([v1.status, v2.status, live.status]).toEqual([200, 200, 200]);
    expect(v1.headers['x-app-version']).toBe('v1');
    expect(v2.headers['x-app-version']).toBe('v2');
    expect(live.headers['x-app-version']).toBe('v1');
    expect(v2.headers['x-sandbox-region']).toBe('eu-west');
    expect(JSON.parse(v2.body)).toMatchObject({ version: 'v2', region: 'eu-west', path: '/v2/app.js' });
    expect(v2.headers.connection).toBe('keep-alive');
  });

  it('picks the longest match: an Exact path beats the /v2/ prefix, a prefix matches whole segments only', async () => {
    expect((await get(`${ingressUrl}/v2/exact`)).headers['x-app-version']).toBe('v1');
    expect((await get(`${ingressUrl}/v2/exact/more`)).headers['x-app-version']).toBe('v2');
    expect((await get(`${ingressUrl}/v2`)).headers['x-app-version']).toBe('v2');
    expect((await get(`${ingressUrl}/v2x`)).headers['x-app-version']).toBe('v1');
  });

  it('matches rules with a host on the Host header', async () => {
    expect((await get(`${ingressUrl}/checkout`, { host: 'v2.shop.example' })).headers['x-app-version']).toBe('v2');
    expect((await get(`${ingressUrl}/checkout`, { host: 'other.example' })).headers['x-app-version']).toBe('v1');
  });

  it('balances round robin over the ready endpoints', async () => {
    const pods = new Set<string>();
    for (let i = 0; i < 6; i++) pods.add((JSON.parse((await get(`${ingressUrl}/v1/`, { agent })).body) as { pod: string }).pod);
    expect(pods.size).toBe(2);
  });

  it('routes HTTPRoute rules (PathPrefix and Exact) alongside Ingress rules', async () => {
    await clients.custom.createNamespacedCustomObject({
      group: 'gateway.networking.k8s.io',
      version: 'v1',
      namespace,
      plural: 'httproutes',
      body: {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: 'shop-api' },
        spec: {
          hostnames: ['api.shop.example'],
          rules: [
            { matches: [{ path: { type: 'PathPrefix', value: '/api' } }], backendRefs: [{ name: 'shop-v2', port: 80 }] },
            { matches: [{ path: { type: 'Exact', value: '/api/legacy' } }], backendRefs: [{ name: 'shop-v1', port: 80 }] },
          ],
        },
      },
    });
    const answer = await eventually(async () => {
      const a = await get(`${ingressUrl}/api/orders`, { host: 'api.shop.example' });
      return a.headers['x-app-version'] === 'v2' ? a : undefined;
    });
    expect(answer.status).toBe(200);
    expect((await get(`${ingressUrl}/api/legacy`, { host: 'api.shop.example' })).headers['x-app-version']).toBe('v1');
    expect((await get(`${ingressUrl}/api/orders`, { host: 'www.shop.example' })).headers['x-app-version']).toBe('v1');
  });

  it('answers 503 when the backend Service has no ready endpoint', async () => {
    await installVersion(clients, 'shop', 'v3', { replicas: 1, neverReady: true, serves: '*' });
    await clients.networking.createNamespacedIngress({ namespace, body: ingress('shop-v3', [{ path: '/v3/', service: 'shop-v3' }]) });
    const answer = await eventually(async () => {
      const a = await get(`${ingressUrl}/v3/`);
      return a.status === 503 ? a : undefined;
    });
    expect(answer.body).toMatch(/no ready endpoints/);
    expect(answer.headers['x-sandbox-region']).toBe('eu-west');
  });

  it('answers 502 when it routes to a pod that is gone (the proxy view still lags)', async () => {
    const ips = await readyPodIPs(clients, 'shop', 'v1');
    const pods = (await clients.core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/version=v1' })).items;
    // Force-delete both pods: their servers stop at once, while the proxy keeps the old endpoints for its sync lag.
    await Promise.all(pods.map((p) => clients.core.deleteNamespacedPod({ namespace, name: p.metadata!.name!, gracePeriodSeconds: 0 })));
    await eventually(async () => (await Promise.allSettled(ips.map((ip) => get(`http://${ip}:8080/`)))).every((r) => r.status === 'rejected'));
    const answer = await eventually(async () => {
      const a = await get(`${ingressUrl}/v1/gone`);
      return a.status === 502 ? a : undefined;
    }, 3000);
    expect(answer.body).toMatch(/Bad Gateway/);
    // Once the replacement pods are ready and the view catches up, traffic flows again.
    await eventually(async () => (await get(`${ingressUrl}/v1/back`)).status === 200);
  });
});
