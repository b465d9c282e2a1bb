import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { clientsFor, eventually, installVersion, namespace, type Clients } from './dataplane-fixtures.js';

/**
 * `sandbox.cutover.dev/unready-pods: "1"` keeps one pod of a Deployment revision unready, as a
 * failing readiness probe would on a real cluster (issue 13, point 2: 1 of 3 target pods unready).
 */

let sandbox: Sandbox;
let clients: Clients;

beforeAll(async () => {
  sandbox = await startSandbox({ regions: ['eu-west'], readyDelayMs: 50, proxySyncDelayMs: 20 });
  clients = clientsFor(sandbox, sandbox.regions[0]!);
  await installVersion(clients, 'shop', 'v2', { replicas: 3, unreadyPods: 1, healthPath: '/healthz' });
});

afterAll(async () => {
  await sandbox?.stop();
});

const pods = async () => (await clients.core.listNamespacedPod({ namespace, labelSelector: 'app.kubernetes.io/version=v2' })).items.filter((p) => !p.metadata?.deletionTimestamp);
const isReady = (pod: { status?: { conditions?: { type: string; status: string }[] } }) => pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;

describe('pods kept unready on purpose', () => {
  it('runs 3 pods of which 2 turn Ready and 1 stays Running but unready (ContainersNotReady)', async () => {
    await new Promise((resolve) => setTimeout(resolve, 300));
    const all = await pods();
    expect(all).toHaveLength(3);
    expect(all.filter(isReady)).toHaveLength(2);
    const unready = all.find((p) => !isReady(p))!;
    expect(unready.status?.phase).toBe('Running');
    expect(unready.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'ContainersNotReady' });
    // The real controller: 2 of 3 available with maxUnavailable 25% (rounds down to 0) is not Available.
    const deployment = await clients.apps.readNamespacedDeployment({ namespace, name: 'shop-v2' });
    expect(deployment.status).toMatchObject({ replicas: 3, readyReplicas: 2, availableReplicas: 2, unavailableReplicas: 1 });
    expect(deployment.status?.conditions?.find((c) => c.type === 'Available')).toMatchObject({ status: 'False', reason: 'MinimumReplicasUnavailable' });
  });

  // The EndpointSlice controller lists every pod with an IP; an unready one is ready: false, serving: false.
  it('lists the unready pod in the EndpointSlice with ready false, as the real EndpointSlice controller does', async () => {
    const slice = await eventually(async () => {
      const [found] = (await clients.discovery.listNamespacedEndpointSlice({ namespace, labelSelector: 'kubernetes.io/service-name=shop-v2' })).items;
      return found?.endpoints?.length === 3 ? found : undefined;
    });
    const conditions = slice.endpoints.map((e) => e.conditions).sort((a, b) => Number(a?.ready) - Number(b?.ready));
    expect(conditions).toEqual([
      { ready: false, serving: false, terminating: false },
      { ready: true, serving: true, terminating: false },
      { ready: true, serving: true, terminating: false },
    ]);
  });

  it('holds a replacement unready when the unready pod is deleted, so the revision keeps 1 of 3 unready', async () => {
    const unready = (await pods()).find((p) => !isReady(p))!;
    await clients.core.deleteNamespacedPod({ namespace, name: unready.metadata!.name!, gracePeriodSeconds: 2 });
    await eventually(async () => {
      const all = await pods();
      return all.length === 3 && !all.some((p) => p.metadata!.name === unready.metadata!.name) && all.every((p) => p.status?.podIP) ? all : undefined;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await pods()).filter(isReady)).toHaveLength(2);
  });
});
