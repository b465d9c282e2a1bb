/** One row of the sandbox's resource table: what the store keys by and discovery documents list. */
export interface ResourceType {
  group: string; // '' for the core group
  version: string;
  resource: string; // plural, as in the URL
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames: string[];
  subresources: 'status'[];
  /** metadata.generation moves when anything outside metadata and status changes. */
  hasGeneration: boolean;
  verbs: string[];
  /**
   * DELETE of an object removed at once answers the object (the registry's ReturnDeletedObject:
   * pods, services, serviceaccounts, namespaces, custom resources); other kinds answer a Status.
   */
  returnsDeletedObject: boolean;
}

const allVerbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

function row(partial: Omit<ResourceType, 'verbs' | 'shortNames' | 'subresources' | 'hasGeneration' | 'returnsDeletedObject'> & Partial<ResourceType>): ResourceType {
  return { verbs: allVerbs, shortNames: [], subresources: [], hasGeneration: false, returnsDeletedObject: false, ...partial };
}

export const resourceTypes: readonly ResourceType[] = [
  row({ group: '', version: 'v1', resource: 'namespaces', singular: 'namespace', kind: 'Namespace', namespaced: false, shortNames: ['ns'], subresources: ['status'], returnsDeletedObject: true, verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] }),
  row({ group: '', version: 'v1', resource: 'pods', singular: 'pod', kind: 'Pod', namespaced: true, shortNames: ['po'], subresources: ['status'], returnsDeletedObject: true }),
  row({ group: '', version: 'v1', resource: 'services', singular: 'service', kind: 'Service', namespaced: true, shortNames: ['svc'], subresources: ['status'], returnsDeletedObject: true, verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'] }),
  row({ group: '', version: 'v1', resource: 'endpoints', singular: 'endpoints', kind: 'Endpoints', namespaced: true, shortNames: ['ep'] }),
  row({ group: '', version: 'v1', resource: 'configmaps', singular: 'configmap', kind: 'ConfigMap', namespaced: true, shortNames: ['cm'] }),
  row({ group: '', version: 'v1', resource: 'secrets', singular: 'secret', kind: 'Secret', namespaced: true }),
  row({ group: '', version: 'v1', resource: 'events', singular: 'event', kind: 'Event', namespaced: true, shortNames: ['ev'] }),
  row({ group: '', version: 'v1', resource: 'serviceaccounts', singular: 'serviceaccount', kind: 'ServiceAccount', namespaced: true, shortNames: ['sa'], returnsDeletedObject: true }),
  row({ group: 'apps', version: 'v1', resource: 'deployments', singular: 'deployment', kind: 'Deployment', namespaced: true, shortNames: ['deploy'], subresources: ['status'], hasGeneration: true }),
  row({ group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', singular: 'endpointslice', kind: 'EndpointSlice', namespaced: true }),
  row({ group: 'networking.k8s.io', version: 'v1', resource: 'ingresses', singular: 'ingress', kind: 'Ingress', namespaced: true, shortNames: ['ing'], subresources: ['status'], hasGeneration: true }),
  row({ group: 'networking.k8s.io', version: 'v1', resource: 'networkpolicies', singular: 'networkpolicy', kind: 'NetworkPolicy', namespaced: true, shortNames: ['netpol'], hasGeneration: true }),
  row({ group: 'policy', version: 'v1', resource: 'poddisruptionbudgets', singular: 'poddisruptionbudget', kind: 'PodDisruptionBudget', namespaced: true, shortNames: ['pdb'], subresources: ['status'], hasGeneration: true }),
  row({ group: 'autoscaling', version: 'v2', resource: 'horizontalpodautoscalers', singular: 'horizontalpodautoscaler', kind: 'HorizontalPodAutoscaler', namespaced: true, shortNames: ['hpa'], subresources: ['status'] }),
  row({ group: 'gateway.networking.k8s.io', version: 'v1', resource: 'httproutes', singular: 'httproute', kind: 'HTTPRoute', namespaced: true, subresources: ['status'], hasGeneration: true, returnsDeletedObject: true }),
  row({ group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'roles', singular: 'role', kind: 'Role', namespaced: true }),
  row({ group: 'rbac.authorization.k8s.io', version: 'v1', resource: 'rolebindings', singular: 'rolebinding', kind: 'RoleBinding', namespaced: true }),
];

export function resourceTypeOf(group: string, version: string, resource: string): ResourceType | undefined {
  return resourceTypes.find((t) => t.group === group && t.version === version && t.resource === resource);
}

export function resourceTypeByKind(apiVersion: string, kind: string): ResourceType | undefined {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  return resourceTypes.find((t) => t.group === group && t.version === version && t.kind === kind);
}

/** Shorthands for the controllers, so they never spell a resource name twice. */
export function mustType(resource: string): ResourceType {
  const found = resourceTypes.find((t) => t.resource === resource);
  if (!found) throw new Error(`sandbox: unknown resource ${resource}`);
  return found;
}
