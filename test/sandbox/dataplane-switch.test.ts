import http from 'node:http';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { clientsFor, eventually, get, ingress, installVersion, namespace, readyAddresses, readyPodIPs, selectorOf, service, type Clients } from './dataplane-fixtures.js';

let sandbox: Sandbox;
let clients: Clients;
let ingressUrl: string;
const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);

beforeAll(async () => {
  sandbox = await startSandbox({ regions: ['eu-west'], readyDelayMs: 50, proxySyncDelayMs: 200 });
  clients = clientsFor(sandbox, sandbox.regions[0]!);
  ingressUrl = sandbox.regions[0]!.ingressUrl;
  await Promise.all([installVersion(clients, 'shop', 'v1'), installVersion(clients, 'shop', 'v2'), installVersion(clients, 'shop', 'v3', { replicas: 1, neverReady: true })]);
  await clients.core.createNamespacedService({ namespace, body: service('shop', selectorOf('shop', 'v1')) });
  await clients.networking.createNamespacedIngress({ namespace, body: ingress('shop', [{ path: '/', service: 'shop' }]) });
  const v1 = await readyPodIPs(clients, 'shop', 'v1');
  await eventually(async () => JSON.stringify(await readyAddresses(clients, 'shop')) === JSON.stringify(v1));
  // The proxy sees the slices only after its sync lag.
  await eventually(async () => (await get(`${ingressUrl}/`)).status === 200);
});

afterAll(async () => {
  await sandbox?.stop();
});

interface Tally {
  ok: number;
  failed: number;
  statuses: Record<string, number>;
  versions: Record<string, number>;
}

/** `loops` keep-alive clients hammering the live path while `during` runs, plus a short tail after it. */
async function underLoad(loops: number, during: () => Promise<void>, tailMs = 1500): Promise<Tally> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: loops });
  const tally: Tally = { ok: 0, failed: 0, statuses: {}, versions: {} };
  let running = true;
  const once = () =>
    new Promise<void>((resolve) => {
      http
        .get(`${ingressUrl}/`, { agent }, (res) => {
          res.resume();
          res.on('end', () => {
            const status = String(res.statusCode);
            tally.statuses[status] = (tally.statuses[status] ?? 0) + 1;
            if (res.statusCode === 200) {
              tally.ok++;
              const version = String(res.headers['x-app-version']);
              tally.versions[version] = (tally.versions[version] ?? 0) + 1;
            } else tally.failed++;
            resolve();
          });
        })
        .on('error', () => {
          tally.failed++;
          tally.statuses.error = (tally.statuses.error ?? 0) + 1;
          resolve();
        });
    });
  const workers = Array.from({ length: loops }, async () => {
    while (running) await once();
  });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  await during();
  await new Promise((resolve) => setTimeout(resolve, tailMs));
  running = false;
  await Promise.all(workers);
  agent.destroy();
  return tally;
}

describe('selector switch through the ingress under keep-alive load', () => {
  it('switches from v1 to v2 with zero failed requests while both versions run', async () => {
    const tally = await underLoad(8, async () => {
      await clients.core.patchNamespacedService({ namespace, name: 'shop', body: { spec: { selector: selectorOf('shop', 'v2') } } }, mergePatch);
      const v2 = await readyPodIPs(clients, 'shop', 'v2');
      await eventually(async () => JSON.stringify(await readyAddresses(clients, 'shop')) === JSON.stringify(v2));
    });
    expect(tally.failed).toBe(0);
    expect(tally.statuses).toEqual({ '200': tally.ok });
    expect(tally.versions.v1).toBeGreaterThan(0);
    expect(tally.versions.v2).toBeGreaterThan(0);
  });

  it('gives 503s when switched to a version without a ready pod, so the check can fail', async () => {
    const tally = await underLoad(8, async () => {
      await clients.core.patchNamespacedService({ namespace, name: 'shop', body: { spec: { selector: selectorOf('shop', 'v3') } } }, mergePatch);
      await eventually(async () => (await readyAddresses(clients, 'shop')).length === 0);
    });
    expect(tally.statuses['503']).toBeGreaterThan(0);
    expect(tally.versions.v2).toBeGreaterThan(0);
  });
});
