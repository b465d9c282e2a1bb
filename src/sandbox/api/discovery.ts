import { createHash } from 'node:crypto';
import { resourceTypes, type ResourceType } from '../resource-types.js';

/** `GET /version`, as the recorded kube-apiserver answers. */
export const versionInfo = {
  major: '1',
  minor: '28',
  gitVersion: 'v1.28.0',
  gitCommit: '8bfc72d03e2130f1bee566d692596931b0ff57cf',
  gitTreeState: 'archive',
  buildDate: '2026-11-27T04:23:52Z',
  goVersion: 'go1.21.13',
  compiler: 'gc',
  platform: 'linux/amd64',
};

/** Group order of the real `/apis` document; groups the sandbox adds come after. */
const groupOrder = ['apps', 'events.k8s.io', 'autoscaling', 'networking.k8s.io', 'policy', 'rbac.authorization.k8s.io', 'discovery.k8s.io'];

const categories: Record<string, string[]> = { pods: ['all'], services: ['all'], deployments: ['all'], replicasets: ['all'], horizontalpodautoscalers: ['all'], httproutes: ['gateway-api'] };

/** Connect subresources the sandbox serves, as the real discovery document lists them. */
const connectSubresources: Record<string, { name: string; singularName: string; kind: string; verbs: string[] }[]> = {
  services: [{ name: 'services/proxy', singularName: '', kind: 'ServiceProxyOptions', verbs: ['create', 'delete', 'get', 'patch', 'update'] }],
};

/** Storage versions that differ from the served one in 1.28 (the hash is of the storage version). */
const storageVersions: Record<string, string> = { 'discovery.k8s.io/EndpointSlice': 'v1beta1' };

export function apiVersions(serverAddress: string): unknown {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function groups(): string[] {
  const names = [...new Set(resourceTypes.filter((t) => t.group !== '').map((t) => t.group))];
  const rank = (g: string): number => (groupOrder.includes(g) ? groupOrder.indexOf(g) : groupOrder.length);
  return names.sort((a, b) => rank(a) - rank(b));
}

export function apiGroup(name: string): unknown {
  const versions = [...new Set(resourceTypes.filter((t) => t.group === name).map((t) => t.version))];
  if (versions.length === 0) return undefined;
  const entries = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
  return { kind: 'APIGroup', apiVersion: 'v1', name, versions: entries, preferredVersion: entries[0] };
}

export function apiGroupList(): unknown {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: groups().map((name) => {
      const { kind: _k, apiVersion: _a, ...group } = apiGroup(name) as Record<string, unknown>;
      return group;
    }),
  };
}

function storageVersionHash(type: ResourceType): string {
  const version = storageVersions[`${type.group}/${type.kind}`] ?? type.version;
  return createHash('sha256').update(`${type.group}/${version}/${type.kind}`).digest().subarray(0, 8).toString('base64');
}

/** `GET /api/v1` or `/apis/<group>/<version>`; undefined for a group/version the sandbox lacks. */
export function apiResourceList(group: string, version: string): unknown {
  const types = resourceTypes.filter((t) => t.group === group && t.version === version);
  if (types.length === 0) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const type of types) {
    resources.push({
      name: type.resource,
      singularName: type.singular,
      namespaced: type.namespaced,
      kind: type.kind,
      verbs: type.verbs,
      ...(type.shortNames.length ? { shortNames: type.shortNames } : {}),
      ...(categories[type.resource] ? { categories: categories[type.resource] } : {}),
      storageVersionHash: storageVersionHash(type),
    });
    for (const sub of type.subresources) {
      resources.push({ name: `${type.resource}/${sub}`, singularName: '', namespaced: type.namespaced, kind: type.kind, verbs: ['get', 'patch', 'update'] });
    }
    for (const connect of connectSubresources[type.resource] ?? []) resources.push({ ...connect, namespaced: type.namespaced });
  }
  resources.sort((a, b) => String(a.name).localeCompare(String(b.name)));
  // The core group's document has no apiVersion field; the named groups' documents do.
  return group === ''
    ? { kind: 'APIResourceList', groupVersion: version, resources }
    : { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: `${group}/${version}`, resources };
}
