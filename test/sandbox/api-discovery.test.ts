import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { kubeconfigYaml } from '../../src/sandbox/kubeconfig.js';
import { raw, startHarness } from './api-harness.js';

// shared/ sits beside the project (CI) or at /work/shared (a worktree).
const referenceDir = [path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/reference/kube-apiserver-1.28'), '/work/shared/reference/kube-apiserver-1.28'].find((dir) => existsSync(dir))!;

let h: Awaited<ReturnType<typeof startHarness>>;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.server.close();
});

describe('sandbox API discovery', () => {
  it('serves /version, /api and /apis like kube-apiserver 1.28', async () => {
    const version = await raw(h.server.url, 'GET', '/version');
    expect(version.json).toMatchObject({ major: '1', minor: '28', gitVersion: 'v1.28.0' });
    const api = await raw(h.server.url, 'GET', '/api');
    expect(api.json).toEqual({ kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: new URL(h.server.url).host }] });
    const apis = await raw(h.server.url, 'GET', '/apis');
    expect(apis.json.kind).toBe('APIGroupList');
    const groups = apis.json.groups as { name: string }[];
    const names = groups.map((g) => g.name);
    expect(names).toEqual(expect.arrayContaining(['apps', 'discovery.k8s.io', 'networking.k8s.io', 'gateway.networking.k8s.io']));
    expect(groups.find((g) => g.name === 'apps')).toEqual({
      name: 'apps',
      versions: [{ groupVersion: 'apps/v1', version: 'v1' }],
      preferredVersion: { groupVersion: 'apps/v1', version: 'v1' },
    });
  });

  it('lists resources per group version with the real verbs, short names and storage hashes', async () => {
    const core = await h.core.getAPIResources();
    expect(core.groupVersion).toBe('v1');
    const services = core.resources.find((r) => r.name === 'services');
    expect(services).toMatchObject({ singularName: 'service', namespaced: true, kind: 'Service', shortNames: ['svc'], categories: ['all'], storageVersionHash: '0/CO1lhkEBI=' });
    expect(services?.verbs).toEqual(['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']);
    expect(core.resources.find((r) => r.name === 'pods/status')).toMatchObject({ singularName: '', kind: 'Pod', verbs: ['get', 'patch', 'update'] });
    const apps = await raw(h.server.url, 'GET', '/apis/apps/v1');
    expect(apps.json).toMatchObject({ kind: 'APIResourceList', apiVersion: 'v1', groupVersion: 'apps/v1' });
    expect((apps.json.resources as { name: string }[]).find((r) => r.name === 'deployments')).toMatchObject({ shortNames: ['deploy'], storageVersionHash: '8aSe+NMegvE=' });
    const slices = await h.discovery.getAPIResources();
    expect(slices.resources[0]).toMatchObject({ name: 'endpointslices', kind: 'EndpointSlice', storageVersionHash: 'Nx3SIv6I0mE=' });
    const ingresses = await h.networking.getAPIResources();
    expect(ingresses.resources.map((r) => r.name)).toEqual(['ingresses', 'ingresses/status', 'networkpolicies']);
  });

  it('serves the namespaced kinds application charts use, listed as kube-apiserver 1.28 lists them', async () => {
    const recordedNetworking = JSON.parse(readFileSync(path.join(referenceDir, 'discovery_apis_networking_k8s_io_v1.json'), 'utf8')) as { resources: { name: string }[] };
    const networking = await raw(h.server.url, 'GET', '/apis/networking.k8s.io/v1');
    const served = networking.json.resources as { name: string }[];
    // Every namespaced resource of the recorded document (ingressclasses is cluster-scoped and not served).
    for (const resource of recordedNetworking.resources.filter((r) => r.name !== 'ingressclasses')) {
      expect(served.find((r) => r.name === resource.name)).toEqual(resource);
    }
    const core = await h.core.getAPIResources();
    const recordedCore = JSON.parse(readFileSync(path.join(referenceDir, 'discovery_api_v1.json'), 'utf8')) as { resources: { name: string }[] };
    for (const name of ['configmaps', 'secrets', 'serviceaccounts']) {
      expect(JSON.parse(JSON.stringify(core.resources.find((r) => r.name === name)))).toEqual(recordedCore.resources.find((r) => r.name === name));
    }
    const policy = await raw(h.server.url, 'GET', '/apis/policy/v1');
    expect(policy.json.resources).toEqual([
      { name: 'poddisruptionbudgets', singularName: 'poddisruptionbudget', namespaced: true, kind: 'PodDisruptionBudget', verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'], shortNames: ['pdb'], storageVersionHash: 'EVWiDmWqyJw=' },
      { name: 'poddisruptionbudgets/status', singularName: '', namespaced: true, kind: 'PodDisruptionBudget', verbs: ['get', 'patch', 'update'] },
    ]);
    const autoscaling = await raw(h.server.url, 'GET', '/apis/autoscaling/v2');
    expect((autoscaling.json.resources as unknown[])[0]).toEqual({
      name: 'horizontalpodautoscalers', singularName: 'horizontalpodautoscaler', namespaced: true, kind: 'HorizontalPodAutoscaler', verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'], shortNames: ['hpa'], categories: ['all'], storageVersionHash: 'qwQve8ut294=',
    });
    const rbac = await raw(h.server.url, 'GET', '/apis/rbac.authorization.k8s.io/v1');
    expect((rbac.json.resources as { name: string; storageVersionHash: string }[]).find((r) => r.name === 'roles')?.storageVersionHash).toBe('7FuwZcIIItM=');
    // The groups keep the recorded /apis order.
    const recordedGroups = (JSON.parse(readFileSync(path.join(referenceDir, 'discovery_apis.json'), 'utf8')) as { groups: { name: string }[] }).groups.map((g) => g.name);
    const names = ((await raw(h.server.url, 'GET', '/apis')).json.groups as { name: string }[]).map((g) => g.name).filter((n) => recordedGroups.includes(n));
    expect(names).toEqual(recordedGroups.filter((n) => names.includes(n)));
    expect(names).toEqual(expect.arrayContaining(['apps', 'autoscaling', 'networking.k8s.io', 'policy', 'rbac.authorization.k8s.io', 'discovery.k8s.io']));
  });

  it('answers unknown paths with 404 and unknown resources with a NotFound Status', async () => {
    expect((await raw(h.server.url, 'GET', '/nope')).status).toBe(404);
    const unknown = await raw(h.server.url, 'GET', '/api/v1/widgets');
    expect(unknown.json).toMatchObject({ kind: 'Status', reason: 'NotFound', code: 404, message: 'the server could not find the requested resource' });
  });

  it('lets KubernetesObjectApi resolve kinds through discovery, and creates namespace default at start', async () => {
    const ns = await h.objects.read({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
    expect(ns.metadata?.labels?.['kubernetes.io/metadata.name']).toBe('default');
    const route = await h.custom.createNamespacedCustomObject({ group: 'gateway.networking.k8s.io', version: 'v1', namespace: 'default', plural: 'httproutes', body: { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'r' }, spec: {} } });
    expect(await h.objects.read({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name: 'r', namespace: 'default' } })).toMatchObject({ metadata: { uid: (route as { metadata: { uid: string } }).metadata.uid } });
  });

  it('writes a kubeconfig with one context and a distinct user per region', () => {
    const config = parse(
      kubeconfigYaml(
        [
          { name: 'eu-west', url: 'https://127.0.0.1:1', token: 'a' },
          { name: 'us-east', url: 'https://127.0.0.1:2', token: 'b' },
        ],
        { namespace: 'production' },
      ),
    );
    expect(config['current-context']).toBe('eu-west');
    expect((config.users as { name: string }[]).map((u) => u.name)).toEqual(['cutover-eu-west', 'cutover-us-east']);
    expect(config.clusters[1].cluster).toEqual({ server: 'https://127.0.0.1:2', 'insecure-skip-tls-verify': true });
    expect(config.contexts[1].context).toEqual({ cluster: 'us-east', user: 'cutover-us-east', namespace: 'production' });
  });
});
