import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { V1Deployment, V1Pod } from '@kubernetes/client-node';
import { deploymentManifest, raw, serviceManifest, startHarness, statusOf } from './api-harness.js';

let h: Awaited<ReturnType<typeof startHarness>>;
const ns = 'shop';
const v1 = { 'app.kubernetes.io/name': 'shop', 'app.kubernetes.io/version': 'v1' };
const v2 = { 'app.kubernetes.io/name': 'shop', 'app.kubernetes.io/version': 'v2' };

beforeAll(async () => {
  h = await startHarness();
  await h.core.createNamespace({ body: { metadata: { name: ns } } });
});
afterAll(async () => {
  await h.server.close();
});

describe('sandbox API: create, get, list', () => {
  it('creates a Service with the defaults the real server fills in', async () => {
    const created = await h.core.createNamespacedService({ namespace: ns, body: serviceManifest('shop', ns, v1) });
    expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(created.metadata?.resourceVersion)).toBeGreaterThan(0);
    expect(created.spec).toMatchObject({
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }],
      type: 'ClusterIP',
      sessionAffinity: 'None',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      internalTrafficPolicy: 'Cluster',
    });
    expect(created.spec?.clusterIPs).toEqual([created.spec?.clusterIP]);
    const read = await h.core.readNamespacedService({ name: 'shop', namespace: ns });
    expect(read.metadata?.resourceVersion).toBe(created.metadata?.resourceVersion);
  });

  it('creates a Deployment with generation 1 and the real defaults', async () => {
    const created = await h.apps.createNamespacedDeployment({ namespace: ns, body: deploymentManifest('shop-v1', ns, v1) });
    expect(created.metadata?.generation).toBe(1);
    expect(created.spec).toMatchObject({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } }, revisionHistoryLimit: 10, progressDeadlineSeconds: 600 });
    expect(created.spec?.template.spec).toMatchObject({ restartPolicy: 'Always', terminationGracePeriodSeconds: 30, dnsPolicy: 'ClusterFirst', schedulerName: 'default-scheduler' });
    expect(created.spec?.template.spec?.containers[0]).toMatchObject({ imagePullPolicy: 'IfNotPresent', terminationMessagePath: '/dev/termination-log', ports: [{ containerPort: 8080, protocol: 'TCP' }] });
    expect(created.spec?.template.spec?.containers[0]?.readinessProbe).toMatchObject({ httpGet: { scheme: 'HTTP' }, timeoutSeconds: 1, periodSeconds: 10 });
  });

  it('answers 409 AlreadyExists for a second create', async () => {
    const status = await statusOf(h.core.createNamespacedService({ namespace: ns, body: serviceManifest('shop', ns, v1) }));
    expect(status).toEqual({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'services "shop" already exists', reason: 'AlreadyExists', details: { name: 'shop', kind: 'services' }, code: 409 });
  });

  it('answers 404 for a missing object and for a missing namespace', async () => {
    const missing = await statusOf(h.apps.readNamespacedDeployment({ name: 'nope', namespace: ns }));
    expect(missing).toMatchObject({ reason: 'NotFound', code: 404, message: 'deployments.apps "nope" not found', details: { name: 'nope', group: 'apps', kind: 'deployments' } });
    const noNamespace = await statusOf(h.core.createNamespacedService({ namespace: 'ghost', body: serviceManifest('x', 'ghost', v1) }));
    expect(noNamespace).toMatchObject({ reason: 'NotFound', code: 404, message: 'namespaces "ghost" not found', details: { name: 'ghost', kind: 'namespaces' } });
  });

  it('lists with equality- and set-based label selectors and a name field selector', async () => {
    await h.core.createNamespacedService({ namespace: ns, body: { ...serviceManifest('shop-v1', ns, v1), metadata: { name: 'shop-v1', namespace: ns, labels: v1 } } });
    await h.core.createNamespacedService({ namespace: ns, body: { ...serviceManifest('shop-v2', ns, v2), metadata: { name: 'shop-v2', namespace: ns, labels: v2 } } });
    const names = async (labelSelector?: string, fieldSelector?: string) =>
      (await h.core.listNamespacedService({ namespace: ns, labelSelector, fieldSelector })).items.map((s) => s.metadata?.name);
    expect(await names()).toEqual(['shop', 'shop-v1', 'shop-v2']);
    expect(await names('app.kubernetes.io/version=v1')).toEqual(['shop-v1']);
    expect(await names('app.kubernetes.io/version==v2')).toEqual(['shop-v2']);
    expect(await names('app.kubernetes.io/name=shop,app.kubernetes.io/version!=v1')).toEqual(['shop', 'shop-v2']);
    expect(await names('app.kubernetes.io/version in (v1, v2)')).toEqual(['shop-v1', 'shop-v2']);
    expect(await names('app.kubernetes.io/version notin (v1)')).toEqual(['shop', 'shop-v2']);
    expect(await names('app.kubernetes.io/version')).toEqual(['shop-v1', 'shop-v2']);
    expect(await names('!app.kubernetes.io/version')).toEqual(['shop']);
    expect(await names(undefined, 'metadata.name=shop-v2')).toEqual(['shop-v2']);
    const list = await raw(h.server.url, 'GET', `/api/v1/namespaces/${ns}/services?labelSelector=app.kubernetes.io%2Fversion%3Dv1`);
    expect(list.json).toMatchObject({ kind: 'ServiceList', apiVersion: 'v1', metadata: { resourceVersion: expect.any(String) } });
    expect(list.json.items[0].kind).toBeUndefined();
    const all = await h.core.listServiceForAllNamespaces();
    expect(all.items).toHaveLength(3);
    const bad = await raw(h.server.url, 'GET', `/api/v1/namespaces/${ns}/services?labelSelector=${encodeURIComponent('a in (b')}`);
    expect(bad.json).toMatchObject({ reason: 'BadRequest', code: 400 });
  });

  it('answers 409 Conflict for an update with a stale resourceVersion; no resourceVersion updates unconditionally', async () => {
    const current = await h.core.readNamespacedService({ name: 'shop', namespace: ns });
    const stale = structuredClone(current);
    current.metadata!.annotations = { note: 'first' };
    const updated = await h.core.replaceNamespacedService({ name: 'shop', namespace: ns, body: current });
    expect(updated.metadata?.resourceVersion).not.toBe(stale.metadata?.resourceVersion);
    expect(updated.spec?.clusterIP).toBe(stale.spec?.clusterIP);
    stale.metadata!.annotations = { note: 'second' };
    const status = await statusOf(h.core.replaceNamespacedService({ name: 'shop', namespace: ns, body: stale }));
    expect(status).toEqual({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'Operation cannot be fulfilled on services "shop": the object has been modified; please apply your changes to the latest version and try again',
      reason: 'Conflict',
      details: { name: 'shop', kind: 'services' },
      code: 409,
    });
    delete stale.metadata!.resourceVersion;
    const unconditional = await h.core.replaceNamespacedService({ name: 'shop', namespace: ns, body: stale });
    expect(unconditional.metadata?.annotations).toEqual({ note: 'second' });
  });

  it('answers 422 Invalid with causes for bad names, bad label values and missing fields', async () => {
    const bad = serviceManifest('Bad_Name', ns, v1);
    bad.metadata.labels = { 'app.kubernetes.io/name': 'bad value!' };
    const status = await statusOf(h.core.createNamespacedService({ namespace: ns, body: bad }));
    expect(status.code).toBe(422);
    expect(status.reason).toBe('Invalid');
    expect(status.message).toMatch(/^Service "Bad_Name" is invalid: \[metadata\.name: Invalid value: "Bad_Name": a DNS-1035 label must consist/);
    expect(status.details).toMatchObject({ name: 'Bad_Name', kind: 'Service' });
    expect(status.details.causes).toEqual([
      expect.objectContaining({ reason: 'FieldValueInvalid', field: 'metadata.name', message: expect.stringContaining('Invalid value: "Bad_Name": a DNS-1035 label') }),
      expect.objectContaining({ reason: 'FieldValueInvalid', field: 'metadata.labels', message: expect.stringContaining('Invalid value: "bad value!": a valid label must be an empty string') }),
    ]);
    const noSelector = deploymentManifest('shop-x', ns, v1) as V1Deployment;
    (noSelector.spec as Partial<NonNullable<V1Deployment['spec']>>).selector = undefined;
    noSelector.spec!.template.spec!.containers[0]!.image = '';
    const deployment = await statusOf(h.apps.createNamespacedDeployment({ namespace: ns, body: noSelector }));
    expect(deployment).toMatchObject({ code: 422, reason: 'Invalid', details: { name: 'shop-x', group: 'apps', kind: 'Deployment' } });
    expect(deployment.message).toMatch(/^Deployment\.apps "shop-x" is invalid: \[spec\.selector: Required value, /);
    expect(deployment.details.causes.map((c) => c.field)).toEqual(['spec.selector', 'spec.template.metadata.labels', 'spec.template.spec.containers[0].image']);
    const mismatch = deploymentManifest('shop-y', ns, v1);
    mismatch.spec.selector = { matchLabels: v2 };
    const mismatched = await statusOf(h.apps.createNamespacedDeployment({ namespace: ns, body: mismatch }));
    expect(mismatched.details.causes).toEqual([
      { reason: 'FieldValueInvalid', field: 'spec.template.metadata.labels', message: 'Invalid value: map[string]string{"app.kubernetes.io/name":"shop", "app.kubernetes.io/version":"v1"}: `selector` does not match template `labels`' },
    ]);
    const wrongKind = await statusOf(h.core.createNamespacedService({ namespace: ns, body: { apiVersion: 'apps/v1', kind: 'Service', metadata: { name: 'noports' } } }));
    expect(wrongKind).toMatchObject({ code: 400, reason: 'BadRequest' });
    const portless = await statusOf(h.core.createNamespacedService({ namespace: ns, body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'noports' }, spec: { selector: v1 } } }));
    expect(portless).toMatchObject({ code: 422, message: 'Service "noports" is invalid: spec.ports: Required value', details: { causes: [{ reason: 'FieldValueRequired', message: 'Required value', field: 'spec.ports' }] } });
  });

  it('moves generation on spec changes only, and keeps status out of normal updates', async () => {
    const deployment = await h.apps.readNamespacedDeployment({ name: 'shop-v1', namespace: ns });
    deployment.metadata!.labels = { ...deployment.metadata!.labels, extra: 'yes' };
    const relabelled = await h.apps.replaceNamespacedDeployment({ name: 'shop-v1', namespace: ns, body: deployment });
    expect(relabelled.metadata?.generation).toBe(1);
    relabelled.spec!.replicas = 3;
    relabelled.status = { replicas: 99 };
    const scaled = await h.apps.replaceNamespacedDeployment({ name: 'shop-v1', namespace: ns, body: relabelled });
    expect(scaled.metadata?.generation).toBe(2);
    expect(scaled.status?.replicas).toBeUndefined();
    scaled.status = { replicas: 3, observedGeneration: 2 };
    scaled.spec!.replicas = 7;
    const withStatus = await h.apps.replaceNamespacedDeploymentStatus({ name: 'shop-v1', namespace: ns, body: scaled });
    expect(withStatus.status).toEqual({ replicas: 3, observedGeneration: 2 });
    expect(withStatus.spec?.replicas).toBe(3);
    expect(withStatus.metadata?.generation).toBe(2);
  });

  it('validates without storing under dryRun=All', async () => {
    const dry = await h.core.createNamespacedService({ namespace: ns, dryRun: 'All', body: serviceManifest('dry', ns, v1) });
    expect(dry.spec?.type).toBe('ClusterIP');
    expect(await statusOf(h.core.readNamespacedService({ name: 'dry', namespace: ns }))).toMatchObject({ code: 404 });
  });

  it('deletes a pod gracefully (deletionTimestamp set, still readable) and a Service at once (answers the object)', async () => {
    const pod: V1Pod = { metadata: { name: 'shop-pod', labels: v1 }, spec: { containers: [{ name: 'shop', image: 'registry.example.com/shop:v1' }] } };
    const created = await h.core.createNamespacedPod({ namespace: ns, body: pod });
    expect(created.status).toEqual({ phase: 'Pending', qosClass: 'BestEffort' });
    expect(created.spec).toMatchObject({ serviceAccountName: 'default', enableServiceLinks: true, priority: 0 });
    const deleted = (await h.core.deleteNamespacedPod({ name: 'shop-pod', namespace: ns, body: { gracePeriodSeconds: 20 } }));
    expect(deleted.metadata?.deletionTimestamp).toBeDefined();
    expect(deleted.metadata?.deletionGracePeriodSeconds).toBe(20);
    const still = await h.core.readNamespacedPod({ name: 'shop-pod', namespace: ns });
    expect(still.metadata?.deletionTimestamp).toBeDefined();
    const now = (await h.core.deleteNamespacedPod({ name: 'shop-pod', namespace: ns, gracePeriodSeconds: 0 }));
    expect(now.metadata?.name).toBe('shop-pod');
    expect(await statusOf(h.core.readNamespacedPod({ name: 'shop-pod', namespace: ns }))).toMatchObject({ code: 404 });
    const service = await raw(h.server.url, 'DELETE', `/api/v1/namespaces/${ns}/services/shop-v1`);
    expect(service.status).toBe(200);
    expect(service.json).toMatchObject({ kind: 'Service', apiVersion: 'v1', metadata: { name: 'shop-v1' } });
    expect(await statusOf(h.core.readNamespacedService({ name: 'shop-v1', namespace: ns }))).toMatchObject({ code: 404 });
  });

  it('serves ingresses, endpointslices and httproutes (through CustomObjectsApi)', async () => {
    const ingress = await h.networking.createNamespacedIngress({
      namespace: ns,
      body: { metadata: { name: 'shop' }, spec: { rules: [{ http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'shop', port: { number: 80 } } } }] } }] } },
    });
    expect(ingress.status).toEqual({ loadBalancer: {} });
    const slice = await h.discovery.createNamespacedEndpointSlice({ namespace: ns, body: { metadata: { name: 'shop-abc', labels: { 'kubernetes.io/service-name': 'shop' } }, addressType: 'IPv4', endpoints: [] } });
    expect(slice.addressType).toBe('IPv4');
    const route = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'shop' }, spec: { rules: [{ backendRefs: [{ name: 'shop', port: 80 }] }] } };
    await h.custom.createNamespacedCustomObject({ group: 'gateway.networking.k8s.io', version: 'v1', namespace: ns, plural: 'httproutes', body: route });
    const routes = (await h.custom.listNamespacedCustomObject({ group: 'gateway.networking.k8s.io', version: 'v1', namespace: ns, plural: 'httproutes' })) as { items: { kind: string }[] };
    expect(routes.items).toHaveLength(1);
    expect(routes.items[0]?.kind).toBe('HTTPRoute');
  });
});
