import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { clientsFor, deployment, eventually, get, namespace, type Clients } from './dataplane-fixtures.js';

let sandbox: Sandbox;
let clients: Clients;

beforeAll(async () => {
  sandbox = await startSandbox({ regions: ['eu-west'], readyDelayMs: 150, proxySyncDelayMs: 20, graceScale: 0.2 });
  clients = clientsFor(sandbox, sandbox.regions[0]!);
});

afterAll(async () => {
  await sandbox?.stop();
});

const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
const labelSelector = (version: string) => `app.kubernetes.io/name=shop,app.kubernetes.io/version=${version}`;

async function activePods(version: string) {
  const pods = await clients.core.listNamespacedPod({ namespace, labelSelector: labelSelector(version) });
  return pods.items.filter((p) => !p.metadata?.deletionTimestamp);
}

describe('Deployment controller', () => {
  it('creates pods named <deployment>-<hash>-<suffix>, labelled with pod-template-hash and owned by the Deployment', async () => {
    const created = await clients.apps.createNamespacedDeployment({ namespace, body: deployment('shop', 'v1', { replicas: 2 }) });
    const pods = await eventually(async () => {
      const items = await activePods('v1');
      return items.length === 2 ? items : undefined;
    });
    for (const pod of pods) {
      const hash = pod.metadata!.labels!['pod-template-hash']!;
      expect(hash).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{6,10}$/);
      expect(pod.metadata!.name).toMatch(new RegExp(`^shop-v1-${hash}-[a-z0-9]{5}$`));
      expect(pod.metadata!.ownerReferences).toEqual([
        expect.objectContaining({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'shop-v1', uid: created.metadata!.uid, controller: true }),
      ]);
      expect(pod.spec!.serviceAccountName).toBe('default');
    }
  });

  it('reports the Deployment available with the status fields a real controller writes', async () => {
    const status = await eventually(async () => {
      const d = await clients.apps.readNamespacedDeploymentStatus({ namespace, name: 'shop-v1' });
      return d.status?.availableReplicas === 2 ? d.status : undefined;
    });
    expect(status).toMatchObject({ observedGeneration: 1, replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2 });
    expect(status.unavailableReplicas).toBeUndefined();
    const byType = Object.fromEntries((status.conditions ?? []).map((c) => [c.type, c]));
    expect(byType.Available).toMatchObject({ status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' });
    expect(byType.Progressing).toMatchObject({ status: 'True', reason: 'NewReplicaSetAvailable' });
    expect(byType.Progressing!.message).toMatch(/^ReplicaSet "shop-v1-[a-z0-9]+" has successfully progressed\.$/);
  });

  it('runs each pod as an HTTP server on its own loopback address that answers with its version', async () => {
    const pods = await activePods('v1');
    const ips = pods.map((p) => p.status!.podIP!);
    expect(new Set(ips).size).toBe(2);
    for (const pod of pods) {
      const ip = pod.status!.podIP!;
      expect(ip).toMatch(/^127\.\d+\.\d+\.\d+$/);
      expect(ip).not.toBe('127.0.0.1');
      expect(pod.status).toMatchObject({ phase: 'Running', hostIP: '127.0.0.1', qosClass: 'BestEffort' });
      expect(pod.status!.containerStatuses![0]).toMatchObject({ name: 'shop', ready: true, started: true, restartCount: 0 });
      const answer = await get(`http://${ip}:8080/v1/any/path`);
      expect(answer.status).toBe(200);
      expect(answer.headers['x-app-version']).toBe('v1');
      expect(JSON.parse(answer.body)).toEqual({ version: 'v1', pod: pod.metadata!.name, region: 'eu-west', path: '/v1/any/path' });
    }
  });

  it('reports a pod Running but not Ready first, then Ready after its delay (seen on a watch)', async () => {
    const seen: { ip?: string; ready?: string }[] = [];
    const watch = new k8s.Watch(clients.kc);
    const request = await watch.watch(`/api/v1/namespaces/${namespace}/pods`, { labelSelector: labelSelector('v9') }, (_type, pod: { status?: { podIP?: string; conditions?: { type: string; status: string }[] } }) => {
      seen.push({ ip: pod.status?.podIP, ready: pod.status?.conditions?.find((c) => c.type === 'Ready')?.status });
    }, () => undefined);
    try {
      await clients.apps.createNamespacedDeployment({ namespace, body: deployment('shop', 'v9', { replicas: 1, readyAfterMs: 300 }) });
      await eventually(() => seen.some((s) => s.ready === 'True'));
      const firstRunning = seen.findIndex((s) => s.ip && s.ready === 'False');
      const firstReady = seen.findIndex((s) => s.ready === 'True');
      expect(firstRunning).toBeGreaterThanOrEqual(0);
      expect(firstRunning).toBeLessThan(firstReady);
    } finally {
      request.abort();
    }
  });

  it('keeps a never-ready pod unready and the Deployment unavailable', async () => {
    await clients.apps.createNamespacedDeployment({ namespace, body: deployment('shop', 'v8', { replicas: 1, neverReady: true }) });
    const status = await eventually(async () => {
      const d = await clients.apps.readNamespacedDeploymentStatus({ namespace, name: 'shop-v8' });
      return d.status?.replicas === 1 ? d.status : undefined;
    });
    const pods = await eventually(async () => {
      const items = await activePods('v8');
      return items[0]?.status?.podIP ? items : undefined;
    });
    expect(pods[0]!.status!.conditions!.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'ContainersNotReady' });
    expect(status).toMatchObject({ updatedReplicas: 1, unavailableReplicas: 1 });
    expect(status.conditions!.find((c) => c.type === 'Available')).toMatchObject({ status: 'False', reason: 'MinimumReplicasUnavailable' });
  });

  it('scales up and down, terminating surplus pods gracefully', async () => {
    await clients.apps.patchNamespacedDeployment(
      { namespace, name: 'shop-v1', body: { spec: { replicas: 3 } } },
      mergePatch,
    );
    await eventually(async () => (await activePods('v1')).length === 3 && (await clients.apps.readNamespacedDeployment({ namespace, name: 'shop-v1' })).status?.readyReplicas === 3);
    await clients.apps.patchNamespacedDeployment(
      { namespace, name: 'shop-v1', body: { spec: { replicas: 1 } } },
      mergePatch,
    );
    const d = await eventually(async () => {
      const read = await clients.apps.readNamespacedDeployment({ namespace, name: 'shop-v1' });
      const all = await clients.core.listNamespacedPod({ namespace, labelSelector: labelSelector('v1') });
      return all.items.length === 1 && read.status?.replicas === 1 ? read : undefined;
    });
    expect(d.status).toMatchObject({ observedGeneration: 3, replicas: 1, readyReplicas: 1, availableReplicas: 1 });
  });

  it('replaces pods on a template change: new hash, old pods go once new ones are ready', async () => {
    const before = (await activePods('v1')).map((p) => p.metadata!.labels!['pod-template-hash']);
    await clients.apps.patchNamespacedDeployment(
      { namespace, name: 'shop-v1', body: { spec: { template: { metadata: { annotations: { 'example.com/restartedAt': 'now' } } } } } },
      mergePatch,
    );
    const pods = await eventually(async () => {
      const all = await clients.core.listNamespacedPod({ namespace, labelSelector: labelSelector('v1') });
      return all.items.length === 1 && all.items[0]!.metadata!.labels!['pod-template-hash'] !== before[0] ? all.items : undefined;
    });
    expect(pods[0]!.metadata!.annotations).toMatchObject({ 'example.com/restartedAt': 'now' });
    const d = await eventually(async () => {
      const read = await clients.apps.readNamespacedDeployment({ namespace, name: 'shop-v1' });
      return read.status?.conditions?.find((c) => c.type === 'Progressing')?.reason === 'NewReplicaSetAvailable' ? read : undefined;
    });
    expect(d.metadata!.annotations!['deployment.kubernetes.io/revision']).toBe('2');
  });

  it('deletes the pods of a deleted Deployment (garbage collection), gracefully', async () => {
    await clients.apps.deleteNamespacedDeployment({ namespace, name: 'shop-v1' });
    await eventually(async () => (await clients.core.listNamespacedPod({ namespace, labelSelector: labelSelector('v1') })).items.length === 0);
  });
});
