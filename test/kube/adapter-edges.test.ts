/**
 * Edges of the adapter that the sandbox does not produce on demand: a 403 from a Role that lacks a
 * verb, a 401, a 409 between the read and the patch of a switch, a refused connection. The far
 * side is a small HTTP server answering like kube-apiserver (bodies from the recorded references);
 * the client is the real @kubernetes/client-node.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultLabelKeys } from '../../src/core/names.js';
import { KubeCluster } from '../../src/kube/kube-cluster.js';
import { conformanceApp } from './conformance-cases.js';

interface Seen {
  method: string;
  path: string;
  contentType: string | undefined;
  body: unknown;
}

type Answer = { status: number; body: unknown; headers?: Record<string, string> };

const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function fakeApi(answer: (request: Seen, index: number) => Answer): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const request: Seen = { method: req.method ?? 'GET', path: req.url ?? '/', contentType: req.headers['content-type'], body: text ? JSON.parse(text) : undefined };
      seen.push(request);
      const { status, body, headers } = answer(request, seen.length - 1);
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(body));
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function clusterAt(url: string): KubeCluster {
  const kubeconfig = new KubeConfig();
  kubeconfig.loadFromOptions({
    clusters: [{ name: 'fake', server: url, skipTLSVerify: true }],
    users: [{ name: 'fake', token: 'secret-token' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
    currentContext: 'fake',
  });
  return new KubeCluster({ region: 'eu-west', namespace: 'production', kubeconfig, retry: { baseMs: 1, capMs: 5 } });
}

function status(code: number, reason: string, message: string): Answer {
  return { status: code, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code } };
}

function liveService(version: string, resourceVersion: string, annotations: Record<string, string> = {}): Answer {
  return {
    status: 200,
    body: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'shop', namespace: 'production', resourceVersion, annotations, labels: { [defaultLabelKeys.name]: 'shop', 'app.kubernetes.io/managed-by': 'cutover' } },
      spec: { selector: { [defaultLabelKeys.name]: 'shop', [defaultLabelKeys.version]: version } },
    },
  };
}

const shop = conformanceApp('shop');
const at = new Date('2026-01-02T03:04:05.000Z');

describe('KubeCluster against API answers the sandbox does not give on demand', () => {
  it('names the missing permission when the Role lacks a verb', async () => {
    const api = await fakeApi((request) =>
      request.method === 'PATCH'
        ? status(403, 'Forbidden', 'services "shop" is forbidden: User "system:serviceaccount:production:cutover" cannot patch resource "services" in API group "" in the namespace "production"')
        : liveService('v1', '10'),
    );
    const failure = await clusterAt(api.url).switchSelector(shop, { to: 'v2', from: 'v1', by: 'bob', at }).catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: 'forbidden', transient: false, permission: { verb: 'patch', resource: 'services', group: '', namespace: 'production' } });
    expect((failure as Error).message).toBe('eu-west: missing permission: "patch" on services in namespace "production" (grant it in the Role of config/rbac.yaml)');
  });

  it('says the credentials were rejected on 401, without repeating them', async () => {
    const api = await fakeApi(() => status(401, 'Unauthorized', 'Unauthorized'));
    const failure = await clusterAt(api.url).observe(shop).catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: 'unauthorized', transient: false });
    expect((failure as Error).message).not.toContain('secret-token');
  });

  it('re-reads and decides again when the Service changed between the read and the patch', async () => {
    const reads = [liveService('v1', '10'), liveService('v1', '11')];
    let patches = 0;
    const api = await fakeApi((request) => {
      if (request.method === 'GET' && request.path.includes('/services/shop')) return reads.shift() ?? liveService('v2', '12');
      if (request.method === 'PATCH' && request.path.includes('/services/shop')) {
        patches++;
        if (patches === 1) return status(409, 'Conflict', 'Operation cannot be fulfilled on services "shop": the object has been modified; please apply your changes to the latest version and try again');
        return liveService('v2', '12');
      }
      return status(404, 'NotFound', 'deployments.apps "shop-v1" not found');
    });
    const result = await clusterAt(api.url).switchSelector(shop, { to: 'v2', from: 'v1', by: 'bob', at });
    expect(result.patched).toBe(true);
    const servicePatches = api.seen.filter((r) => r.method === 'PATCH' && r.path.includes('/services/shop'));
    expect(servicePatches.map((r) => (r.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion)).toEqual(['10', '11']);
    expect(servicePatches.every((r) => r.contentType === 'application/merge-patch+json')).toBe(true);
    expect(servicePatches[1]!.body).toMatchObject({
      spec: { selector: { [defaultLabelKeys.version]: 'v2' } },
      metadata: { annotations: { 'cutover.dev/live-version': 'v2', 'cutover.dev/previous-version': 'v1', 'cutover.dev/promoted-by': 'bob', 'cutover.dev/promoted-at': at.toISOString() } },
    });
    // the outgoing version's Deployment gets retired-at, after the switch (404 here: ignored)
    const last = api.seen.at(-1)!;
    expect(last).toMatchObject({ method: 'PATCH', contentType: 'application/merge-patch+json' });
    expect(last.path).toContain('/deployments/shop-v1');
  });

  it('does not patch when a concurrent writer already switched to the target', async () => {
    const reads = [liveService('v1', '10'), liveService('v2', '11')];
    const api = await fakeApi((request) => {
      if (request.method === 'GET') return reads.shift()!;
      return status(409, 'Conflict', 'Operation cannot be fulfilled on services "shop": the object has been modified');
    });
    const result = await clusterAt(api.url).switchSelector(shop, { to: 'v2', from: 'v1', by: 'bob', at });
    expect(result).toEqual({ patched: false, patchMs: 0 });
    expect(api.seen.filter((r) => r.method === 'PATCH')).toHaveLength(1);
  });

  const conflict = status(409, 'Conflict', 'Operation cannot be fulfilled on services "shop": the object has been modified; please apply your changes to the latest version and try again');

  it('stops, without patching, when the 409 came from someone switching the selector to another version', async () => {
    const reads = [liveService('v1', '10'), liveService('v3', '11', { 'cutover.dev/live-version': 'v3', 'cutover.dev/promoted-by': 'carol' })];
    const api = await fakeApi((request) => (request.method === 'GET' ? reads.shift()! : conflict));
    const failure = await clusterAt(api.url).switchSelector(shop, { to: 'v2', from: 'v1', by: 'bob', at }).catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: 'changed-outside', found: { version: 'v3', promotedBy: 'carol' } });
    expect((failure as Error).message).toBe('eu-west was changed outside this release: live is v3, promoted by carol (this release expected v1)');
    expect(api.seen.filter((r) => r.method === 'PATCH')).toHaveLength(1);
  });

  it('never writes over a version it did not expect, and says who put it there', async () => {
    const api = await fakeApi(() => liveService('v3', '10'));
    const failure = await clusterAt(api.url).switchSelector(shop, { to: 'v2', from: 'v1', by: 'bob', at }).catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: 'changed-outside', found: { version: 'v3', changedOutside: true } });
    expect((failure as Error).message).toContain('promoted by unknown (the selector was changed without cutover)');
    expect(api.seen.filter((r) => r.method === 'PATCH')).toHaveLength(0);
  });

  it('refuses to write when the Service carries a newer fencing token than its lease', async () => {
    const api = await fakeApi(() => liveService('v1', '10', { 'cutover.dev/live-version': 'v1', 'cutover.dev/fence': '12' }));
    const failure = await clusterAt(api.url).switchSelector(shop, { to: 'v2', from: 'v1', by: 'bob', at, fence: 11 }).catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: 'fenced', found: { fence: 12 } });
    expect((failure as Error).message).toMatch(/written by a newer release \(fencing token 12, this job holds 11\)/);
    expect(api.seen.filter((r) => r.method === 'PATCH')).toHaveLength(0);
  });

  it('writes its own token with the switch when no newer one is there', async () => {
    const api = await fakeApi((request) => (request.method === 'GET' ? liveService('v1', '10', { 'cutover.dev/live-version': 'v1', 'cutover.dev/fence': '11' }) : liveService('v2', '11')));
    await clusterAt(api.url).switchSelector(shop, { to: 'v2', from: 'v1', by: 'bob', at, fence: 11 });
    const patch = api.seen.find((r) => r.method === 'PATCH' && r.path.includes('/services/shop'));
    expect(patch?.body).toMatchObject({ metadata: { resourceVersion: '10', annotations: { 'cutover.dev/fence': '11' } } });
  });

  it('a Service that keeps changing (unrelated writers) gives a clear "busy" error, not raw 409 text', async () => {
    let version = 10;
    const api = await fakeApi((request) => (request.method === 'GET' ? liveService('v1', String(version++)) : conflict));
    const failure = await clusterAt(api.url).switchSelector(shop, { to: 'v2', from: 'v1', by: 'bob', at }).catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: 'busy', transient: false });
    expect((failure as Error).message).toBe(
      'eu-west: the live Service shop kept changing while cutover switched it (5 conflicting writes in a row by something else, such as a controller that edits its annotations); the selector was not switched. Find what keeps writing it, then try again',
    );
    expect(api.seen.filter((r) => r.method === 'PATCH')).toHaveLength(5);
  });

  it('retries a 429 (honouring Retry-After) and then succeeds', async () => {
    const api = await fakeApi((_request, index) =>
      index === 0
        ? { ...status(429, 'TooManyRequests', 'the server has received too many requests and has asked us to try again later'), headers: { 'retry-after': '0' } }
        : { status: 200, body: { kind: 'EndpointSliceList', apiVersion: 'discovery.k8s.io/v1', metadata: { resourceVersion: '1' }, items: [] } },
    );
    expect(await clusterAt(api.url).endpoints('shop')).toEqual([]);
    expect(api.seen.map((r) => r.path)).toEqual([
      '/apis/discovery.k8s.io/v1/namespaces/production/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dshop',
      '/apis/discovery.k8s.io/v1/namespaces/production/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dshop',
    ]);
  });

  it('reports a refused connection as unreachable after retrying', async () => {
    const api = await fakeApi(() => ({ status: 200, body: {} }));
    await new Promise((resolve) => servers.pop()!.close(resolve));
    const failure = await clusterAt(api.url).observe(shop).catch((e: unknown) => e);
    expect(failure).toMatchObject({ code: 'unreachable', transient: true, region: 'eu-west' });
    expect((failure as Error).message).toContain('ECONNREFUSED');
  });
});
