import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as k8s from '@kubernetes/client-node';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { clientsFor, deployment, eventually, namespace, type Clients } from './dataplane-fixtures.js';

/**
 * The kubelet honours a container's references as a real one does: an env value or envFrom source
 * naming a Secret or ConfigMap (or a key) that does not exist keeps the container from being
 * created (CreateContainerConfigError, with the kubelet's message), and it starts once the object
 * appears.
 */

let sandbox: Sandbox;
let clients: Clients;

beforeAll(async () => {
  sandbox = await startSandbox({ regions: ['eu-west'], readyDelayMs: 50, proxySyncDelayMs: 20 });
  clients = clientsFor(sandbox, sandbox.regions[0]!);
});

afterAll(async () => {
  await sandbox?.stop();
});

type Container = k8s.V1Container;

async function install(name: string, change: (container: Container) => void): Promise<void> {
  const manifest = deployment('app', name, { replicas: 1 });
  change(manifest.spec!.template.spec!.containers[0]!);
  await clients.apps.createNamespacedDeployment({ namespace, body: manifest });
}

const podOf = (version: string) =>
  eventually(async () => {
    const [pod] = (await clients.core.listNamespacedPod({ namespace, labelSelector: `app.kubernetes.io/version=${version}` })).items;
    return pod?.status?.containerStatuses?.[0] ? pod : undefined;
  });

describe('container references to Secrets and ConfigMaps', () => {
  it('keeps a pod whose env names a missing Secret Pending with CreateContainerConfigError, then starts it once the Secret exists', async () => {
    await install('s1', (c) => {
      c.env = [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'shop-secrets', key: 'password' } } }];
    });
    const pod = await podOf('s1');
    expect(pod.status?.phase).toBe('Pending');
    expect(pod.status?.containerStatuses?.[0]).toMatchObject({ ready: false, started: false, restartCount: 0, state: { waiting: { reason: 'CreateContainerConfigError', message: 'secret "shop-secrets" not found' } } });
    expect(pod.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False', reason: 'ContainersNotReady' });
    expect(pod.status?.podIP).toBeUndefined();

    // The Secret without the key: still not created, now for the key.
    await clients.core.createNamespacedSecret({ namespace, body: { metadata: { name: 'shop-secrets' }, stringData: { user: 'shop' } } });
    const keyless = await eventually(async () => {
      const found = await podOf('s1');
      return found.status?.containerStatuses?.[0]?.state?.waiting?.message?.startsWith("couldn't") ? found : undefined;
    });
    expect(keyless.status?.containerStatuses?.[0]?.state?.waiting?.message).toBe(`couldn't find key password in Secret ${namespace}/shop-secrets`);

    await clients.core.replaceNamespacedSecret({ namespace, name: 'shop-secrets', body: { metadata: { name: 'shop-secrets' }, stringData: { user: 'shop', password: 'hunter2' } } });
    const running = await eventually(async () => {
      const found = await podOf('s1');
      return found.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? found : undefined;
    });
    expect(running.status?.phase).toBe('Running');
    expect(running.status?.podIP).toMatch(/^127\./);
  });

  it('reports a missing ConfigMap of envFrom, and ignores references marked optional', async () => {
    await install('c1', (c) => {
      c.envFrom = [{ configMapRef: { name: 'shop-config' } }, { secretRef: { name: 'maybe', optional: true } }];
    });
    const pod = await podOf('c1');
    expect(pod.status?.containerStatuses?.[0]?.state?.waiting).toEqual({ reason: 'CreateContainerConfigError', message: 'configmap "shop-config" not found' });
    await clients.core.createNamespacedConfigMap({ namespace, body: { metadata: { name: 'shop-config' }, data: { MODE: 'live' } } });
    await eventually(async () => ((await podOf('c1')).status?.phase === 'Running' ? true : undefined));
  });

  it('keeps a pod with a missing Secret volume in ContainerCreating', async () => {
    const manifest = deployment('app', 'v1vol', { replicas: 1 });
    manifest.spec!.template.spec!.volumes = [{ name: 'certs', secret: { secretName: 'no-such-certs' } }];
    await clients.apps.createNamespacedDeployment({ namespace, body: manifest });
    const pod = await podOf('v1vol');
    expect(pod.status?.phase).toBe('Pending');
    expect(pod.status?.containerStatuses?.[0]?.state).toEqual({ waiting: { reason: 'ContainerCreating' } });
  });
});
