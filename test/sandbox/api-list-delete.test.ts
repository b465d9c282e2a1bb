import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { raw, serviceManifest, startHarness, statusOf } from './api-harness.js';

/**
 * Paged lists, DELETE answers and endpoint address validation as kube-apiserver 1.28 gives them
 * (issue 13, point 4).
 */

let h: Awaited<ReturnType<typeof startHarness>>;
const ns = 'default';

beforeAll(async () => {
  h = await startHarness();
  for (const name of ['e', 'a', 'd', 'b', 'c']) {
    await h.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: `cm-${name}`, labels: { paged: 'yes', letter: name } }, data: { name } } });
  }
});
afterAll(async () => {
  await h.server.close();
});

describe('sandbox API: list pages', () => {
  // The real server returns `limit` items in key order, a continue token, and remainingItemCount
  // when no selector filters (etcd3 store GetList).
  it('answers limit items and metadata.continue, and the continue token yields the next page', async () => {
    const first = await h.core.listNamespacedConfigMap({ namespace: ns, limit: 2 });
    expect(first.items.map((cm) => cm.metadata?.name)).toEqual(['cm-a', 'cm-b']);
    expect(first.metadata?._continue).toEqual(expect.any(String));
    expect(first.metadata?.remainingItemCount).toBe(3);
    const second = await h.core.listNamespacedConfigMap({ namespace: ns, limit: 2, _continue: first.metadata!._continue! });
    expect(second.items.map((cm) => cm.metadata?.name)).toEqual(['cm-c', 'cm-d']);
    expect(second.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion);
    const last = await h.core.listNamespacedConfigMap({ namespace: ns, limit: 2, _continue: second.metadata!._continue! });
    expect(last.items.map((cm) => cm.metadata?.name)).toEqual(['cm-e']);
    expect(last.metadata?._continue).toBeUndefined();
    expect(last.metadata?.remainingItemCount).toBeUndefined();
  });

  it('pages a filtered list without remainingItemCount, and ignores limit for resourceVersion=0 (served from the watch cache)', async () => {
    const filtered = await raw(h.server.url, 'GET', `/api/v1/namespaces/${ns}/configmaps?labelSelector=letter%20in%20(a,c,e)&limit=1`);
    expect(filtered.json.items.map((cm: { metadata: { name: string } }) => cm.metadata.name)).toEqual(['cm-a']);
    expect(filtered.json.metadata.continue).toEqual(expect.any(String));
    expect(filtered.json.metadata).not.toHaveProperty('remainingItemCount');
    const cached = await raw(h.server.url, 'GET', `/api/v1/namespaces/${ns}/configmaps?limit=1&resourceVersion=0`);
    expect(cached.json.items).toHaveLength(5);
    expect(cached.json.metadata).not.toHaveProperty('continue');
  });

  it('answers 400 for a continue token it did not issue', async () => {
    const bad = await raw(h.server.url, 'GET', `/api/v1/namespaces/${ns}/configmaps?limit=1&continue=not-a-token`);
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ kind: 'Status', status: 'Failure', reason: 'BadRequest', code: 400, message: expect.stringMatching(/^continue key is not valid/) });
  });
});

describe('sandbox API: DELETE answers', () => {
  // registry/generic Store.finalizeDelete: a Status naming the resource (kind holds the plural), its group and uid.
  it('answers a Status for an object removed at once (ConfigMap, Deployment)', async () => {
    const cm = await h.core.readNamespacedConfigMap({ namespace: ns, name: 'cm-e' });
    const deleted = await raw(h.server.url, 'DELETE', `/api/v1/namespaces/${ns}/configmaps/cm-e`);
    expect(deleted.status).toBe(200);
    expect(deleted.json).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name: 'cm-e', kind: 'configmaps', uid: cm.metadata!.uid } });
    await h.apps.createNamespacedDeployment({
      namespace: ns,
      body: { metadata: { name: 'gone' }, spec: { selector: { matchLabels: { app: 'gone' } }, template: { metadata: { labels: { app: 'gone' } }, spec: { containers: [{ name: 'c', image: 'i' }] } } } },
    });
    const deployment = await raw(h.server.url, 'DELETE', `/apis/apps/v1/namespaces/${ns}/deployments/gone`);
    expect(deployment.json).toMatchObject({ kind: 'Status', status: 'Success', details: { name: 'gone', group: 'apps', kind: 'deployments' } });
  });

  // The Service registry returns the deleted object (ReturnDeletedObject), as delete_service_response.json shows.
  it('answers the object for a Service, as the recorded kube-apiserver does', async () => {
    await h.core.createNamespacedService({ namespace: ns, body: serviceManifest('bye', ns, { app: 'bye' }) });
    const deleted = await raw(h.server.url, 'DELETE', `/api/v1/namespaces/${ns}/services/bye`);
    expect(deleted.json).toMatchObject({ kind: 'Service', apiVersion: 'v1', metadata: { name: 'bye' } });
  });

  it('answers the object while finalizers keep it', async () => {
    await h.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'held', finalizers: ['example.com/hold'] } } });
    const deleted = await raw(h.server.url, 'DELETE', `/api/v1/namespaces/${ns}/configmaps/held`);
    expect(deleted.json).toMatchObject({ kind: 'ConfigMap', metadata: { name: 'held', deletionTimestamp: expect.any(String) } });
  });
});

describe('sandbox API: endpoint address validation', () => {
  // ValidateNonSpecialIP (pkg/apis/core/validation): endpoints may not be loopback, unspecified or link-local.
  it('refuses an EndpointSlice with a loopback address with the real 422', async () => {
    const slice = { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'manual' }, addressType: 'IPv4', endpoints: [{ addresses: ['127.1.0.5'] }], ports: [{ port: 8080 }] };
    const status = await statusOf(h.discovery.createNamespacedEndpointSlice({ namespace: ns, body: slice }));
    expect(status).toMatchObject({
      code: 422,
      reason: 'Invalid',
      message: 'EndpointSlice.discovery.k8s.io "manual" is invalid: endpoints[0].addresses[0]: Invalid value: "127.1.0.5": may not be in the loopback range (127.0.0.0/8, ::1/128)',
      details: { causes: [{ reason: 'FieldValueInvalid', field: 'endpoints[0].addresses[0]', message: 'Invalid value: "127.1.0.5": may not be in the loopback range (127.0.0.0/8, ::1/128)' }] },
    });
    const fine = await h.discovery.createNamespacedEndpointSlice({ namespace: ns, body: { ...slice, endpoints: [{ addresses: ['10.0.0.5'] }] } });
    expect(fine.endpoints[0]!.addresses).toEqual(['10.0.0.5']);
  });

  it('refuses core Endpoints with a loopback or link-local address', async () => {
    const endpoints = (ip: string) => ({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'manual' }, subsets: [{ addresses: [{ ip }], ports: [{ port: 8080 }] }] });
    const loopback = await statusOf(h.core.createNamespacedEndpoints({ namespace: ns, body: endpoints('127.0.0.1') }));
    expect(loopback.message).toBe('Endpoints "manual" is invalid: subsets[0].addresses[0].ip: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)');
    const linkLocal = await statusOf(h.core.createNamespacedEndpoints({ namespace: ns, body: endpoints('169.254.1.1') }));
    expect(linkLocal.details.causes[0]!.message).toBe('Invalid value: "169.254.1.1": may not be in the link-local range (169.254.0.0/16, fe80::/10)');
  });
});
