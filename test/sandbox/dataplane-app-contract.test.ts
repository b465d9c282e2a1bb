import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { clientsFor, eventually, get, ingress, installVersion, namespace, readyPodIPs, selectorOf, service, type Clients } from './dataplane-fixtures.js';

/**
 * The app contract of sandbox pods and route rewrites (issue 13, point 3): a pod answers only the
 * paths its app serves, sends a version header only where the app does, and routes pass the path
 * on unchanged unless they say to rewrite it (Gateway API URLRewrite, ingress-nginx rewrite-target).
 */

let sandbox: Sandbox;
let clients: Clients;
let ingressUrl: string;
const httpRoute = (name: string, spec: Record<string, unknown>) =>
  clients.custom.createNamespacedCustomObject({ group: 'gateway.networking.k8s.io', version: 'v1', namespace, plural: 'httproutes', body: { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name }, spec } });

beforeAll(async () => {
  sandbox = await startSandbox({ regions: ['eu-west'], readyDelayMs: 50, proxySyncDelayMs: 20 });
  clients = clientsFor(sandbox, sandbox.regions[0]!);
  ingressUrl = sandbox.regions[0]!.ingressUrl;
  // As cutover installs a version: readiness probe on the health path, routes /v1/ and / without rewrites.
  await installVersion(clients, 'shop', 'v1', { healthPath: '/healthz' });
  await clients.core.createNamespacedService({ namespace, body: service('shop', selectorOf('shop', 'v1')) });
  await clients.networking.createNamespacedIngress({ namespace, body: ingress('shop', [{ path: '/', service: 'shop' }]) });
  await clients.networking.createNamespacedIngress({ namespace, body: ingress('shop-v1', [{ path: '/v1/', service: 'shop-v1' }]) });
  await eventually(async () => (await get(`${ingressUrl}/v1/healthz`)).status === 200);
});

afterAll(async () => {
  await sandbox?.stop();
});

describe('app contract of a sandbox pod', () => {
  it('answers /<version>/…, its readiness probe path and / with 200 and the version header, anything else with 404', async () => {
    const [ip] = await readyPodIPs(clients, 'shop', 'v1');
    for (const path of ['/v1/app.js', '/v1/', '/healthz', '/']) {
      const answer = await get(`http://${ip}:8080${path}`);
      expect([path, answer.status, answer.headers['x-app-version']]).toEqual([path, 200, 'v1']);
    }
    for (const path of ['/checkout', '/v1', '/v2/app.js', '/healthz/more']) {
      const answer = await get(`http://${ip}:8080${path}`);
      expect([path, answer.status, answer.headers['x-app-version']]).toEqual([path, 404, undefined]);
      expect(answer.body).toBe('404 page not found\n');
    }
  });

  it('keeps working for what cutover checks: /<version>/<health> through the version route, <health> through the live route', async () => {
    const checkRoute = await get(`${ingressUrl}/v1/healthz`);
    expect(checkRoute.status).toBe(200);
    expect(checkRoute.headers['x-app-version']).toBe('v1');
    // The route did not strip its prefix: the pod saw the whole path.
    expect(JSON.parse(checkRoute.body)).toMatchObject({ path: '/v1/healthz' });
    const verify = await get(`${ingressUrl}/healthz`);
    expect([verify.status, verify.headers['x-app-version']]).toEqual([200, 'v1']);
    expect((await get(`${ingressUrl}/checkout`)).status).toBe(404);
  });

  it('sends the version header only where the app says so, under the name it says', async () => {
    await installVersion(clients, 'plain', 'v1', { replicas: 1, versionHeader: '' });
    await installVersion(clients, 'named', 'v1', { replicas: 1, healthPath: '/ready', versionHeader: 'X-Version' });
    const [plain] = await readyPodIPs(clients, 'plain', 'v1');
    const [named] = await readyPodIPs(clients, 'named', 'v1');
    const none = await get(`http://${plain}:8080/v1/app.js`);
    expect(none.status).toBe(200);
    expect(none.headers['x-app-version']).toBeUndefined();
    expect((await get(`http://${named}:8080/ready`)).headers['x-version']).toBe('v1');
  });

  it('answers the share of 500s its error-rate annotation says, spread evenly, with the version header; its health path never fails', async () => {
    await installVersion(clients, 'flaky', 'v1', { replicas: 1, healthPath: '/healthz', errorRate: 0.05 });
    const [ip] = await readyPodIPs(clients, 'flaky', 'v1');
    const statuses: number[] = [];
    for (let i = 0; i < 100; i++) {
      const answer = await get(`http://${ip}:8080/v1/app.js`);
      statuses.push(answer.status);
      if (answer.status === 500) expect(answer.headers['x-app-version']).toBe('v1');
    }
    expect(statuses.filter((s) => s === 500)).toHaveLength(5);
    expect(statuses.slice(0, 20).filter((s) => s === 500)).toHaveLength(1);
    for (let i = 0; i < 40; i++) expect((await get(`http://${ip}:8080/healthz`)).status).toBe(200);
  });

  it('never turns Ready when its app does not serve the readiness probe path (the probe gets a 404)', async () => {
    await installVersion(clients, 'broken', 'v1', { replicas: 1, healthPath: '/healthz', serves: '/{version}/*', neverReady: true });
    const pod = await eventually(async () => (await clients.core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/name=broken' })).items.find((p) => p.status?.podIP));
    const ip = pod.status!.podIP!;
    expect((await get(`http://${ip}:8080/healthz`)).status).toBe(404);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const again = await clients.core.readNamespacedPod({ namespace, name: pod.metadata!.name! });
    expect(again.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
  });
});

describe('route rewrites', () => {
  // An app built to be served at the root (no version prefix): it 404s on /v2/... unless the route strips it.
  const rootApp = { replicas: 1, healthPath: '/healthz', serves: '/app.js, {health}, /' };

  it('passes the path on unchanged by default, so a root app behind /v2/ answers 404', async () => {
    await installVersion(clients, 'root', 'v2', rootApp);
    await clients.networking.createNamespacedIngress({ namespace, body: ingress('root-plain', [{ path: '/v2/', service: 'root-v2' }]) });
    const answer = await eventually(async () => {
      const a = await get(`${ingressUrl}/v2/app.js`);
      return a.status !== 503 ? a : undefined;
    });
    expect(answer.status).toBe(404);
  });

  it('strips the prefix with ingress-nginx rewrite-target and a regex path, keeping the query string', async () => {
    await installVersion(clients, 'root', 'v3', rootApp);
    const rewritten = ingress('root-rewrite', [{ path: '/v3(/|$)(.*)', pathType: 'ImplementationSpecific', service: 'root-v3' }]);
    rewritten.metadata!.annotations = { 'nginx.ingress.kubernetes.io/rewrite-target': '/$2' };
    await clients.networking.createNamespacedIngress({ namespace, body: rewritten });
    const answer = await eventually(async () => {
      const a = await get(`${ingressUrl}/v3/app.js?session=7`);
      return a.status === 200 ? a : undefined;
    });
    expect(JSON.parse(answer.body)).toMatchObject({ version: 'v3', path: '/app.js?session=7' });
    expect(JSON.parse((await get(`${ingressUrl}/v3`)).body)).toMatchObject({ version: 'v3', path: '/' });
    expect(JSON.parse((await get(`${ingressUrl}/v3/healthz`)).body)).toMatchObject({ version: 'v3', path: '/healthz' });
    // nginx matches regex locations case-insensitively (~*).
    expect(JSON.parse((await get(`${ingressUrl}/V3/app.js`)).body)).toMatchObject({ version: 'v3', path: '/app.js' });
  });

  it('makes every path of the host a regex once one Ingress of that host asks for it, as ingress-nginx does', async () => {
    await installVersion(clients, 'any', 'v5', { replicas: 1, serves: '*' });
    await clients.networking.createNamespacedIngress({ namespace, body: ingress('any-v5', [{ path: '/v5/', service: 'any-v5' }]) });
    const inside = await eventually(async () => {
      const a = await get(`${ingressUrl}/v5/x`);
      return a.status === 200 ? a : undefined;
    });
    expect(inside.headers['x-app-version']).toBe('v5');
    // As a Prefix path /v5/ would match /v5; as the regex ^/v5/ it does not, so / (the live v1 app) answers.
    const bare = await get(`${ingressUrl}/v5`);
    expect([bare.status, bare.headers['x-app-version']]).toEqual([404, undefined]);
  });

  it('strips the prefix with a Gateway API URLRewrite ReplacePrefixMatch filter, and replaces the path with ReplaceFullPath', async () => {
    await installVersion(clients, 'root', 'v4', rootApp);
    await httpRoute('root-v4', {
      hostnames: ['gw.shop.example'],
      rules: [
        {
          matches: [{ path: { type: 'PathPrefix', value: '/v4/' } }],
          filters: [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplacePrefixMatch', replacePrefixMatch: '/' } } }],
          backendRefs: [{ name: 'root-v4', port: 80 }],
        },
        {
          matches: [{ path: { type: 'Exact', value: '/status' } }],
          filters: [{ type: 'URLRewrite', urlRewrite: { path: { type: 'ReplaceFullPath', replaceFullPath: '/healthz' } } }],
          backendRefs: [{ name: 'root-v4', port: 80 }],
        },
      ],
    });
    const host = { host: 'gw.shop.example' };
    const answer = await eventually(async () => {
      const a = await get(`${ingressUrl}/v4/app.js`, host);
      return a.status === 200 ? a : undefined;
    });
    expect(JSON.parse(answer.body)).toMatchObject({ version: 'v4', path: '/app.js' });
    for (const [path, seen] of [['/v4', '/'], ['/v4/', '/'], ['/status', '/healthz']] as const) {
      expect(JSON.parse((await get(`${ingressUrl}${path}`, host)).body)).toMatchObject({ path: seen });
    }
  });
});
