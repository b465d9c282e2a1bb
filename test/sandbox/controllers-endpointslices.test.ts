import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { clientsFor, eventually, get, installVersion, namespace, readyAddresses, readyPodIPs, selectorOf, service, type Clients } from './dataplane-fixtures.js';

let sandbox: Sandbox;
let clients: Clients;
const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

beforeAll(async () => {
  sandbox = await startSandbox({ regions: ['us-east'], readyDelayMs: 100, proxySyncDelayMs: 20, graceScale: 1 });
  clients = clientsFor(sandbox, sandbox.regions[0]!);
  await installVersion(clients, 'shop', 'v1', { graceSeconds: 2 });
  await installVersion(clients, 'shop', 'v2');
  await clients.core.createNamespacedService({ namespace, body: service('shop', selectorOf('shop', 'v1')) });
});

afterAll(async () => {
  await sandbox?.stop();
});

async function slicesOf(name: string) {
  return (await clients.discovery.listNamespacedEndpointSlice({ namespace, labelSelector: `kubernetes.io/service-name=${name}` })).items;
}

describe('EndpointSlice controller', () => {
  it('publishes one slice per Service, labelled, owned by the Service, with resolved ports and ready pods', async () => {
    const v1 = await readyPodIPs(clients, 'shop', 'v1');
    await eventually(async () => JSON.stringify(await readyAddresses(clients, 'shop')) === JSON.stringify(v1));
    const [slice, ...rest] = await slicesOf('shop');
    const svc = await clients.core.readNamespacedService({ namespace, name: 'shop' });
    expect(rest).toEqual([]);
    expect(slice!.metadata!.name).toMatch(/^shop-[a-z0-9]{5}$/);
    expect(slice!.metadata!.labels).toMatchObject({ 'kubernetes.io/service-name': 'shop', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' });
    expect(slice!.metadata!.ownerReferences).toEqual([expect.objectContaining({ kind: 'Service', name: 'shop', uid: svc.metadata!.uid, controller: true })]);
    expect(slice!.addressType).toBe('IPv4');
    expect(slice!.ports).toEqual([{ name: 'http', protocol: 'TCP', port: 8080 }]);
    for (const endpoint of slice!.endpoints) {
      expect(endpoint.conditions).toEqual({ ready: true, serving: true, terminating: false });
      expect(endpoint.targetRef).toMatchObject({ kind: 'Pod', namespace });
    }
  });

  it('follows a selector patch to the target version pods only', async () => {
    await clients.core.patchNamespacedService({ namespace, name: 'shop', body: { spec: { selector: selectorOf('shop', 'v2') } } }, mergePatch);
    const v2 = await readyPodIPs(clients, 'shop', 'v2');
    await eventually(async () => JSON.stringify(await readyAddresses(clients, 'shop')) === JSON.stringify(v2));
    const names = (await slicesOf('shop')).flatMap((s) => s.endpoints.map((e) => e.targetRef!.name!));
    expect(names.every((name) => name.startsWith('shop-v2-'))).toBe(true);
    expect(names).toHaveLength(2);
  });

  it('leaves a Service without selector alone and keeps an empty slice for a selector matching nothing', async () => {
    await clients.core.createNamespacedService({ namespace, body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'external' }, spec: { ports: [{ port: 80 }] } } });
    await clients.core.createNamespacedService({ namespace, body: service('nobody', selectorOf('shop', 'v404')) });
    const placeholder = await eventually(async () => (await slicesOf('nobody'))[0]);
    expect(placeholder.endpoints ?? []).toEqual([]);
    expect(await slicesOf('external')).toEqual([]);
  });

  it('shows a deleted pod as terminating (ready false, serving true) while it drains, then drops it and stops its server', async () => {
    const [victim] = (await clients.core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/version=v1' })).items;
    const ip = victim!.status!.podIP!;
    const deleted = await clients.core.deleteNamespacedPod({ namespace, name: victim!.metadata!.name! });
    expect(deleted.metadata!.deletionTimestamp).toBeDefined();
    const endpointOf = async () => (await slicesOf('shop-v1')).flatMap((s) => s.endpoints).find((e) => e.targetRef?.name === victim!.metadata!.name);
    const terminating = await eventually(async () => {
      const endpoint = await endpointOf();
      return endpoint?.conditions?.terminating ? endpoint : undefined;
    });
    expect(terminating.conditions).toEqual({ ready: false, serving: true, terminating: true });
    expect((await get(`http://${ip}:8080/`)).status).toBe(200);
    await eventually(async () => (await endpointOf()) === undefined && (await clients.core.listNamespacedPod({ namespace, fieldSelector: `metadata.name=${victim!.metadata!.name}` })).items.length === 0);
    await expect(get(`http://${ip}:8080/`)).rejects.toThrow(/ECONNREFUSED/);
  });

  // The real controller requeues the Services that selected the pod before and after a change
  // (GetPodServiceMemberships of the old and the new pod), so a relabelled pod leaves its old slice.
  it('moves a relabelled pod from the slice of the Service it left to the one it joined', async () => {
    const pod = (labels: Record<string, string>): k8s.V1Pod => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'lonely', labels }, spec: { containers: [{ name: 'app', image: 'registry.example.com/lonely:v1', ports: [{ containerPort: 8080 }] }] } });
    await clients.core.createNamespacedService({ namespace, body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'track-a' }, spec: { selector: { track: 'a' }, ports: [{ port: 80, targetPort: 8080 }] } } });
    await clients.core.createNamespacedService({ namespace, body: { apiVersion: 'v1', kind: 'Service', metadata: { name: 'track-b' }, spec: { selector: { track: 'b' }, ports: [{ port: 80, targetPort: 8080 }] } } });
    await clients.core.createNamespacedPod({ namespace, body: pod({ app: 'lonely', track: 'a' }) });
    const names = async (service: string) => (await slicesOf(service)).flatMap((s) => (s.endpoints ?? []).map((e) => e.targetRef?.name));
    await eventually(async () => (await names('track-a')).includes('lonely'));
    await clients.core.patchNamespacedPod({ namespace, name: 'lonely', body: { metadata: { labels: { track: 'b' } } } }, mergePatch);
    await eventually(async () => (await names('track-b')).includes('lonely'));
    await eventually(async () => (await names('track-a')).length === 0);
    await clients.core.deleteNamespacedPod({ namespace, name: 'lonely', gracePeriodSeconds: 0 });
  });

  it('removes the slices of a deleted Service', async () => {
    await clients.core.deleteNamespacedService({ namespace, name: 'shop' });
    await eventually(async () => (await slicesOf('shop')).length === 0);
  });
});
