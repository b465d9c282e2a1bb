import { PatchStrategy, Watch, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mustType } from '../../src/sandbox/resource-types.js';
import { raw, serviceManifest, startHarness } from './api-harness.js';

let h: Awaited<ReturnType<typeof startHarness>>;
const ns = 'default';
const v1 = { 'app.kubernetes.io/name': 'shop', 'app.kubernetes.io/version': 'v1' };

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.server.close();
});

interface Seen {
  type: string;
  name: string;
  selector?: Record<string, string>;
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
}

function startWatch(path: string, query: Record<string, string>) {
  const events: Seen[] = [];
  let ended: unknown = 'open';
  const controller = new Watch(h.kc).watch(
    path,
    query,
    (type: string, object: { metadata: { name: string }; spec?: { selector?: Record<string, string> } }) => {
      events.push({ type, name: object.metadata.name, selector: object.spec?.selector });
    },
    (error: unknown) => {
      ended = error;
    },
  );
  return { events, controller, ended: () => ended };
}

describe('sandbox API: watch', () => {
  it('streams ADDED, MODIFIED and DELETED from a resourceVersion through client-node Watch', async () => {
    const { metadata } = await h.core.listNamespacedService({ namespace: ns });
    const watch = startWatch(`/api/v1/namespaces/${ns}/services`, { resourceVersion: metadata!.resourceVersion! });
    await h.core.createNamespacedService({ namespace: ns, body: serviceManifest('shop', ns, v1) });
    await h.core.patchNamespacedService(
      { name: 'shop', namespace: ns, body: { spec: { selector: { 'app.kubernetes.io/version': 'v2' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await h.core.deleteNamespacedService({ name: 'shop', namespace: ns });
    await until(() => watch.events.length >= 3);
    expect(watch.events).toEqual([
      { type: 'ADDED', name: 'shop', selector: v1 },
      { type: 'MODIFIED', name: 'shop', selector: { ...v1, 'app.kubernetes.io/version': 'v2' } },
      { type: 'DELETED', name: 'shop', selector: { ...v1, 'app.kubernetes.io/version': 'v2' } },
    ]);
    (await watch.controller).abort();
  });

  it('starts with the current objects as ADDED without a resourceVersion, and follows a label selector', async () => {
    await h.core.createNamespacedService({ namespace: ns, body: { ...serviceManifest('one', ns, v1), metadata: { name: 'one', namespace: ns, labels: { tier: 'web' } } } });
    const watch = startWatch(`/api/v1/namespaces/${ns}/services`, { labelSelector: 'tier=web' });
    await until(() => watch.events.length >= 1);
    await h.core.patchNamespacedService({ name: 'one', namespace: ns, body: { metadata: { labels: { tier: 'db' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await h.core.patchNamespacedService({ name: 'one', namespace: ns, body: { metadata: { labels: { tier: 'web' } } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch));
    await until(() => watch.events.length >= 3);
    expect(watch.events.map((e) => e.type)).toEqual(['ADDED', 'DELETED', 'ADDED']);
    (await watch.controller).abort();
  });

  it('answers a too old resourceVersion with an ERROR event carrying 410 Expired', async () => {
    const namespaces = mustType('namespaces');
    // Push resourceVersion 1 out of the store's bounded watch history, as etcd compaction does.
    for (let i = 0; i < 5001; i++) {
      const current = h.store.mustGet(namespaces, undefined, 'default');
      h.store.update(namespaces, { ...current, metadata: { ...current.metadata, annotations: { n: String(i) } } });
    }
    const response = await raw(h.server.url, 'GET', `/api/v1/namespaces/${ns}/services?watch=true&resourceVersion=1`);
    expect(response.status).toBe(200);
    const event = JSON.parse(response.text.trim());
    expect(event).toMatchObject({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Expired', code: 410 } });
    expect(event.object.message).toMatch(/^too old resource version: 1 \(\d+\)$/);
  });

  it('ends the stream after timeoutSeconds, and closing the server ends open watches', async () => {
    const timed = startWatch(`/api/v1/namespaces/${ns}/pods`, { timeoutSeconds: '1' });
    await until(() => timed.ended() !== 'open');
    expect(timed.ended()).toBeNull();
    const other = await startHarness();
    const open = new Watch(other.kc);
    let done: unknown = 'open';
    await open.watch(
      `/api/v1/namespaces/${ns}/services`,
      {},
      () => undefined,
      (error: unknown) => {
        done = error;
      },
    );
    await other.server.close();
    await until(() => done !== 'open');
    expect(done).toBeNull();
  });
});
