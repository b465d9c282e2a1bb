/**
 * The release engine with least privilege: every region's kubeconfig holds the cutover
 * ServiceAccount's token (config/rbac.yaml applied through the API). A promotion works; with
 * `patch` on services taken out of the Role, the promotion stops and names the missing permission.
 */
import { join } from 'node:path';
import { CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findApp, findEnvironment } from '../../src/config/index.js';
import type { ReleaseResult } from '../../src/core/events.js';
import type { Action } from '../../src/core/plan.js';
import { loadKubeConfig } from '../../src/kube/load-kubeconfig.js';
import { executeRelease } from '../../src/release/release.js';
import { summaryLines } from '../../src/release/summary-text.js';
import { applyManifests, readManifests } from '../support/apply-manifests.js';
import { startSandboxEnv, type SandboxEnv } from '../support/sandbox-env.js';

let world: SandboxEnv;
let adminKubeconfig: string;

beforeAll(async () => {
  world = await startSandboxEnv({ sandbox: { kubeconfigServiceAccount: { namespace: 'production', name: 'cutover' } } });
  adminKubeconfig = join(world.dir, 'kubeconfig-admin');
  await world.sandbox.writeKubeconfig(adminKubeconfig);
  const rbac = await readManifests(new URL('../../config/rbac.yaml', import.meta.url));
  for (const region of world.sandbox.regions) await applyManifests(admin(region.name), rbac);
});
afterAll(async () => {
  await world?.stop();
});

function admin(region: string) {
  return loadKubeConfig({ path: adminKubeconfig, context: region });
}

async function release(action: Action, version: string | null): Promise<ReleaseResult> {
  const { env, app } = world.clusters.environment(findEnvironment(world.config, 'production')!, findApp(world.config, 'shop')!);
  return executeRelease({ action, app, version, actor: 'test' }, env, { reporter: { report: () => undefined } });
}

async function liveSelectors(): Promise<string[]> {
  return Promise.all(
    world.sandbox.regions.map(async (r) => {
      const service = await admin(r.name).makeApiClient(CoreV1Api).readNamespacedService({ name: 'shop', namespace: 'production' });
      return service.spec?.selector?.['app.kubernetes.io/version'] ?? '';
    }),
  );
}

describe('releases as the cutover ServiceAccount', () => {
  it('deploys, bootstraps and promotes with only the verbs of config/rbac.yaml', async () => {
    const restricted = await loadKubeConfig({ path: world.sandbox.kubeconfigPath, context: 'eu-west' })
      .makeApiClient(CoreV1Api)
      .listNamespacedSecret({ namespace: 'production' })
      .then(() => 'allowed', (error: { code?: number }) => error.code);
    expect(restricted).toBe(403);
    expect((await release('deploy', 'v1')).outcome).toBe('succeeded');
    expect((await release('bootstrap', 'v1')).outcome).toBe('succeeded');
    expect((await release('deploy', 'v2')).outcome).toBe('succeeded');
    expect((await release('promote', 'v2')).outcome).toBe('succeeded');
    expect(await liveSelectors()).toEqual(['v2', 'v2']);
  });

  it('without "patch" on services, a promotion stops, names the missing permission and leaves traffic alone', async () => {
    for (const region of world.sandbox.regions) {
      const rbac = admin(region.name).makeApiClient(RbacAuthorizationV1Api);
      const role = await rbac.readNamespacedRole({ name: 'cutover', namespace: 'production' });
      role.rules = role.rules!.map((rule) => (rule.resources?.includes('services') ? { ...rule, verbs: rule.verbs.filter((verb) => verb !== 'patch') } : rule));
      await rbac.replaceNamespacedRole({ name: 'cutover', namespace: 'production', body: role });
    }
    const result = await release('promote', 'v1');
    expect(result.outcome).not.toBe('succeeded');
    expect(result.split).toBe(false);
    expect(result.reasons[0]).toBe('eu-west: missing permission: "patch" on services in namespace "production" (grant it in the Role of config/rbac.yaml)');
    expect(summaryLines(result).join('\n')).toContain('"patch" on services');
    expect(result.regions.find((r) => r.region === 'us-east')?.outcome).toBe('not-started');
    expect(await liveSelectors()).toEqual(['v2', 'v2']);
  });
});
