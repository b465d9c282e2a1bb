/**
 * waitUntil against the sandbox's API server through client-node's real list and Watch: a watch
 * broken by an injected fault is followed by a new list and a new watch (not by polling for the
 * rest of the wait), and a watch the Role does not allow gives way to polling that still converges.
 * What is awaited is a ConfigMap the test flips, so the test decides when the wait may end.
 */
import { dirname, join } from 'node:path';
import { CoreV1Api, Watch, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadKubeConfig } from '../../src/kube/load-kubeconfig.js';
import { waitUntil, type StartWatch } from '../../src/kube/wait-until.js';
import type { FaultSettings } from '../../src/sandbox/faults.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { applyManifests } from '../support/apply-manifests.js';

const namespace = 'production';
let sandbox: Sandbox;
let admin: KubeConfig;

beforeAll(async () => {
  sandbox = await startSandbox({ regions: ['eu-west'] });
  admin = loadKubeConfig({ path: sandbox.kubeconfigPath, context: 'eu-west' });
});
afterAll(async () => {
  await sandbox?.stop();
});

async function flag(name: string, state: 'wait' | 'go'): Promise<void> {
  const core = admin.makeApiClient(CoreV1Api);
  const body: V1ConfigMap = { metadata: { name, namespace, labels: { flag: name } }, data: { state } };
  if (state === 'wait') await core.createNamespacedConfigMap({ namespace, body });
  else await core.replaceNamespacedConfigMap({ name, namespace, body });
}

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; !check(); i++) {
    if (i > 2000) throw new Error(`never happened: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

type Entry = 'list' | 'list-failed' | 'watch' | 'watch-open' | 'watch-failed' | 'event';

/** Waits for the flag to say go, logging every list and watch request it makes. */
function waitForFlag(kubeconfig: KubeConfig, name: string, hooks: { afterList?: (count: number) => void } = {}) {
  const log: Entry[] = [];
  const core = kubeconfig.makeApiClient(CoreV1Api);
  const watcher = new Watch(kubeconfig);
  let source: 'list' | 'event' = 'list';
  let lists = 0;
  const start: StartWatch = async (path, query, onEvent, onDone) => {
    log.push('watch');
    let failed = false;
    const handle = await watcher.watch(
      path,
      query,
      (type, object) => {
        log.push('event');
        source = 'event';
        onEvent(type, object);
      },
      (error) => {
        if (error) {
          failed = true;
          log.push('watch-failed');
        }
        onDone(error);
      },
    );
    if (!failed) log.push('watch-open');
    return handle;
  };
  const done = waitUntil<V1ConfigMap, 'list' | 'event'>({
    what: `ConfigMap ${name} saying go`,
    list: async () => {
      try {
        const listed = await core.listNamespacedConfigMap({ namespace, labelSelector: `flag=${name}` });
        log.push('list');
        source = 'list';
        hooks.afterList?.(++lists);
        return { items: listed.items, resourceVersion: listed.metadata?.resourceVersion };
      } catch (error) {
        log.push('list-failed');
        throw error;
      }
    },
    watch: { path: `/api/v1/namespaces/${namespace}/configmaps`, query: { labelSelector: `flag=${name}` }, start },
    keyOf: (item) => item.metadata?.name ?? '',
    evaluate: async (items) => {
      const state = items.find((item) => item.metadata?.name === name)?.data?.state;
      return state === 'go' ? { done: true, value: source } : { done: false, seen: `state ${state ?? '(none)'}` };
    },
    timeoutMs: 30_000,
    pollIntervalMs: 20,
  });
  return { log, done };
}

describe('waitUntil after a watch failure', () => {
  const faults: [string, Partial<FaultSettings>][] = [
    ['the API answers 5xx or 429', { errorRate: 1 }],
    ['the API is unreachable (connections reset)', { unreachable: true }],
  ];

  it.each(faults)('%s: lists again and watches again once the fault clears, and the change arrives by watch', async (_name, fault) => {
    const region = sandbox.regions[0]!;
    const name = `flag-${Object.keys(fault)[0]!.toLowerCase()}`;
    await flag(name, 'wait');
    // The first watch request meets the fault.
    const { log, done } = waitForFlag(admin, name, { afterList: (count) => count === 1 && region.faults.set(fault) });
    try {
      await until('the first watch to fail', () => log.includes('watch-failed'));
    } finally {
      region.faults.set({ errorRate: 0, unreachable: false });
    }
    const failedAt = log.indexOf('watch-failed');
    // Polling would list again and again without another watch request.
    await until('a new watch, or ten lists without one', () => log.slice(failedAt).includes('watch-open') || log.slice(failedAt).filter((e) => e === 'list').length >= 10);
    const after = log.slice(failedAt);
    expect(after).toContain('watch-open');
    expect(after.indexOf('list')).toBeLessThan(after.indexOf('watch-open'));

    await flag(name, 'go');
    expect(await done).toBe('event');
    expect(log.filter((e) => e === 'watch').length).toBeGreaterThanOrEqual(2);
  });
});

describe('waitUntil when the Role does not allow watch', () => {
  it('gives way to polling after one refused watch, and still sees the change', async () => {
    const account = { namespace, name: 'lister' };
    await applyManifests(admin, [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: account.name, namespace } },
      { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'list-configmaps', namespace }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }] } as never,
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'lister', namespace },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'list-configmaps' },
        subjects: [{ kind: 'ServiceAccount', name: account.name, namespace }],
      } as never,
    ]);
    const path = join(dirname(sandbox.kubeconfigPath), 'kubeconfig-lister');
    await sandbox.writeKubeconfig(path, { serviceAccount: account });
    const lister = loadKubeConfig({ path, context: 'eu-west' });

    await flag('flag-rbac', 'wait');
    const { log, done } = waitForFlag(lister, 'flag-rbac');
    await until('the watch to be refused and three lists after it', () => log.includes('watch-failed') && log.slice(log.indexOf('watch-failed')).filter((e) => e === 'list').length >= 3);
    await flag('flag-rbac', 'go');
    expect(await done).toBe('list');
    expect(log.filter((e) => e === 'watch')).toHaveLength(1);
  });
});
