import { PatchStrategy, setHeaderOptions, type V1Deployment } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploymentManifest, raw, serviceManifest, startHarness, statusOf } from './api-harness.js';

let h: Awaited<ReturnType<typeof startHarness>>;
const ns = 'default';
const v1 = { 'app.kubernetes.io/name': 'shop', 'app.kubernetes.io/version': 'v1' };

beforeAll(async () => {
  h = await startHarness();
  await h.core.createNamespacedService({ namespace: ns, body: serviceManifest('shop', ns, v1) });
  await h.apps.createNamespacedDeployment({ namespace: ns, body: deploymentManifest('shop-v1', ns, v1) });
});
afterAll(async () => {
  await h.server.close();
});

describe('sandbox API: patch', () => {
  it('merge-patches a Service selector and an annotation (PatchStrategy.MergePatch header)', async () => {
    const before = await h.core.readNamespacedService({ name: 'shop', namespace: ns });
    const patched = await h.core.patchNamespacedService(
      { name: 'shop', namespace: ns, body: { metadata: { annotations: { 'cutover.dev/live-version': 'v2' } }, spec: { selector: { 'app.kubernetes.io/version': 'v2' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(patched.spec?.selector).toEqual({ 'app.kubernetes.io/name': 'shop', 'app.kubernetes.io/version': 'v2' });
    expect(patched.metadata?.annotations).toEqual({ 'cutover.dev/live-version': 'v2' });
    expect(patched.spec?.clusterIP).toBe(before.spec?.clusterIP);
    expect(Number(patched.metadata?.resourceVersion)).toBeGreaterThan(Number(before.metadata?.resourceVersion));
    const removed = await h.core.patchNamespacedService(
      { name: 'shop', namespace: ns, body: { metadata: { annotations: { 'cutover.dev/live-version': null } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(removed.metadata?.annotations).toBeUndefined();
  });

  it('merge patch with a stale metadata.resourceVersion is a 409 Conflict', async () => {
    const status = await statusOf(
      h.core.patchNamespacedService({ name: 'shop', namespace: ns, body: { metadata: { resourceVersion: '1' }, spec: { selector: v1 } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)),
    );
    expect(status).toMatchObject({ code: 409, reason: 'Conflict' });
  });

  it('applies a JSON patch (the client default) and answers 422 when an operation cannot apply', async () => {
    const patched = await h.core.patchNamespacedService({
      name: 'shop',
      namespace: ns,
      body: [
        { op: 'test', path: '/spec/ports/0/port', value: 80 },
        { op: 'replace', path: '/spec/selector/app.kubernetes.io~1version', value: 'v3' },
        { op: 'add', path: '/metadata/labels/tier', value: 'web' },
      ],
    });
    expect(patched.spec?.selector?.['app.kubernetes.io/version']).toBe('v3');
    expect(patched.metadata?.labels?.tier).toBe('web');
    const status = await statusOf(h.core.patchNamespacedService({ name: 'shop', namespace: ns, body: [{ op: 'remove', path: '/spec/nothing' }] }));
    expect(status).toMatchObject({ code: 422, reason: 'Invalid' });
  });

  it('strategic-merge-patches containers by name, ports by key, and honours $patch: delete', async () => {
    const patched = await h.apps.patchNamespacedDeployment(
      {
        name: 'shop-v1',
        namespace: ns,
        body: {
          spec: {
            template: {
              spec: {
                containers: [
                  { name: 'shop', image: 'registry.example.com/shop:v1.1', env: [{ name: 'APP_VERSION', value: 'v1' }] },
                  { name: 'sidecar', image: 'registry.example.com/sidecar:1' },
                ],
              },
            },
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    const containers = patched.spec?.template.spec?.containers ?? [];
    expect(containers.map((c) => c.name)).toEqual(['shop', 'sidecar']);
    expect(containers[0]).toMatchObject({ image: 'registry.example.com/shop:v1.1', ports: [{ containerPort: 8080, protocol: 'TCP' }], env: [{ name: 'APP_VERSION', value: 'v1' }] });
    expect(patched.metadata?.generation).toBe(2);
    const removed = await h.apps.patchNamespacedDeployment(
      { name: 'shop-v1', namespace: ns, body: { spec: { template: { spec: { containers: [{ name: 'sidecar', $patch: 'delete' }] } } } } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    expect(removed.spec?.template.spec?.containers.map((c) => c.name)).toEqual(['shop']);
    const service = await h.core.patchNamespacedService(
      { name: 'shop', namespace: ns, body: { spec: { ports: [{ port: 80, name: 'web' }] } } },
      setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
    );
    expect(service.spec?.ports).toEqual([{ name: 'web', protocol: 'TCP', port: 80, targetPort: 8080 }]);
  });

  it('patches the status subresource without touching spec', async () => {
    const patched = await h.apps.patchNamespacedDeploymentStatus(
      { name: 'shop-v1', namespace: ns, body: { spec: { replicas: 9 }, status: { readyReplicas: 2, replicas: 2 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    expect(patched.status).toMatchObject({ readyReplicas: 2, replicas: 2 });
    expect(patched.spec?.replicas).toBe(2);
  });

  it('server-side applies with a fieldManager: creates when absent, merges when present', async () => {
    const manifest = deploymentManifest('shop-v2', ns, { 'app.kubernetes.io/name': 'shop', 'app.kubernetes.io/version': 'v2' }) as V1Deployment;
    const created = await h.objects.patch(manifest, undefined, undefined, 'cutover', true, PatchStrategy.ServerSideApply);
    expect(created.metadata?.generation).toBe(1);
    manifest.spec!.replicas = 4;
    const applied = await h.objects.patch(manifest, undefined, undefined, 'cutover', true, PatchStrategy.ServerSideApply);
    expect(applied.spec?.replicas).toBe(4);
    expect(applied.metadata?.uid).toBe(created.metadata?.uid);
    const noManager = await raw(h.server.url, 'PATCH', `/apis/apps/v1/namespaces/${ns}/deployments/shop-v2`, { contentType: 'application/apply-patch+yaml', body: JSON.stringify(manifest) });
    expect(noManager.json).toMatchObject({ code: 422, reason: 'Invalid', message: 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch' });
  });

  it('answers 415 for an unknown patch type and 400 for a malformed patch, with the real bodies', async () => {
    const unsupported = await raw(h.server.url, 'PATCH', `/api/v1/namespaces/${ns}/services/shop`, { contentType: 'application/xml', body: '<x/>' });
    expect(unsupported.status).toBe(415);
    expect(unsupported.json).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: '415: Unsupported Media Type', reason: 'UnsupportedMediaType', details: {}, code: 415 });
    const malformed = await raw(h.server.url, 'PATCH', `/api/v1/namespaces/${ns}/services/shop`, { contentType: 'application/merge-patch+json', body: '{bad' });
    expect(malformed.status).toBe(400);
    expect(malformed.json).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: "error decoding patch: invalid character 'b' looking for beginning of object key string",
      reason: 'BadRequest',
      code: 400,
    });
  });

  it('answers 401 Unauthorized without the bearer token or with a wrong one', async () => {
    for (const auth of [null, 'Bearer wrong']) {
      const response = await raw(h.server.url, 'GET', `/api/v1/namespaces/${ns}/services`, { auth });
      expect(response.status).toBe(401);
      expect(response.json).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 });
    }
  });
});
