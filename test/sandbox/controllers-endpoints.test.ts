import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { clientsFor, deployment, eventually, installVersion, namespace, readyPodIPs, type Clients } from './dataplane-fixtures.js';

/**
 * The core/v1 Endpoints objects the real endpoints controller (kube-controller-manager 1.28) still
 * writes for every Service with a selector (issue 13, point 4: the sandbox answered 404).
 */

let sandbox: Sandbox;
let clients: Clients;
const appLabel = { 'app.kubernetes.io/name': 'shop' };

beforeAll(async () => {
  sandbox = await startSandbox({ regions: ['eu-west'], readyDelayMs: 50, proxySyncDelayMs: 20 });
  clients = clientsFor(sandbox, sandbox.regions[0]!);
  await installVersion(clients, 'shop', 'v1');
  await clients.apps.createNamespacedDeployment({ namespace, body: deployment('shop', 'v2', { replicas: 1, neverReady: true }) });
  await clients.core.createNamespacedService({
    namespace,
    body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'shop', labels: { team: 'web' } }, spec: { selector: appLabel, ports: [{ name: 'http', port: 80, targetPort: 'http' }] } },
  });
});

afterAll(async () => {
  await sandbox?.stop();
});

describe('endpoints controller', () => {
  it('writes an Endpoints object named after the Service: ready pods as addresses, unready ones as notReadyAddresses', async () => {
    const ready = await readyPodIPs(clients, 'shop', 'v1');
    const endpoints = await eventually(async () => {
      const found = await clients.core.readNamespacedEndpoints({ namespace, name: 'shop' });
      const subset = found.subsets?.[0];
      return subset?.addresses?.length === 2 && subset.notReadyAddresses?.length === 1 ? found : undefined;
    });
    expect(endpoints.metadata?.labels).toEqual({ team: 'web' });
    expect(endpoints.metadata?.annotations?.['endpoints.kubernetes.io/last-change-trigger-time']).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect(endpoints.metadata?.ownerReferences).toBeUndefined();
    const [subset, ...more] = endpoints.subsets!;
    expect(more).toEqual([]);
    expect(subset!.addresses!.map((a) => a.ip)).toEqual(ready);
    expect(subset!.addresses![0]).toEqual({ ip: ready[0], nodeName: 'eu-west-node-1', targetRef: { kind: 'Pod', namespace, name: expect.stringMatching(/^shop-v1-/), uid: expect.any(String) } });
    expect(subset!.notReadyAddresses![0]!.targetRef?.name).toMatch(/^shop-v2-/);
    expect(subset!.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
    expect(endpoints.metadata?.managedFields?.[0]).toMatchObject({ manager: 'kube-controller-manager', operation: 'Update' });
  });

  it('is listed in discovery as the real /api/v1 lists it', async () => {
    const core = await clients.core.getAPIResources();
    expect(core.resources.find((r) => r.name === 'endpoints')).toEqual({
      name: 'endpoints',
      singularName: 'endpoints',
      namespaced: true,
      kind: 'Endpoints',
      verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
      shortNames: ['ep'],
      storageVersionHash: 'fWeeMqaN/OA=',
    });
  });

  it('leaves a terminating pod out (its EndpointSlice entry stays, serving and terminating)', async () => {
    const pods = await clients.core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/version=v1' });
    const victim = pods.items[0]!;
    await clients.core.deleteNamespacedPod({ namespace, name: victim.metadata!.name!, gracePeriodSeconds: 5 });
    await eventually(async () => {
      const found = await clients.core.readNamespacedEndpoints({ namespace, name: 'shop' });
      return !(found.subsets ?? []).some((s) => [...(s.addresses ?? []), ...(s.notReadyAddresses ?? [])].some((a) => a.targetRef?.name === victim.metadata!.name));
    });
    const slices = await clients.discovery.listNamespacedEndpointSlice({ namespace, labelSelector: 'kubernetes.io/service-name=shop' });
    const inSlice = slices.items.flatMap((s) => s.endpoints ?? []).find((e) => e.targetRef?.name === victim.metadata!.name);
    expect(inSlice?.conditions).toEqual({ ready: false, serving: true, terminating: true });
  });

  it('keeps an Endpoints object without subsets for a Service that selects nothing, leaves Services without a selector alone, and deletes it with the Service', async () => {
    await clients.core.createNamespacedService({ namespace, body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'nobody' }, spec: { selector: { app: 'nobody' }, ports: [{ port: 80 }] } } });
    const empty = await eventually(() => clients.core.readNamespacedEndpoints({ namespace, name: 'nobody' }));
    expect(empty.subsets).toBeUndefined();
    await clients.core.createNamespacedService({ namespace, body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'external' }, spec: { ports: [{ port: 80 }] } } });
    await clients.core.createNamespacedEndpoints({ namespace, body: { metadata: { name: 'external' }, subsets: [{ addresses: [{ ip: '10.9.9.9' }], ports: [{ port: 80 }] }] } });
    await clients.core.deleteNamespacedService({ namespace, name: 'nobody' });
    await eventually(async () => (await clients.core.listNamespacedEndpoints({ namespace })).items.every((e) => e.metadata?.name !== 'nobody'));
    const external = await clients.core.readNamespacedEndpoints({ namespace, name: 'external' });
    expect(external.subsets?.[0]?.addresses).toEqual([{ ip: '10.9.9.9' }]);
  });
});
