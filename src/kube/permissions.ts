/**
 * Every API verb the adapter uses, per resource. `config/rbac.yaml` grants exactly these (a test
 * compares them), and each call in kube-cluster.ts names its entry, so a new call that is not
 * listed here does not compile.
 */
export const permissions = {
  deployments: { group: 'apps', verbs: ['get', 'list', 'watch', 'create', 'patch', 'delete'] },
  services: { group: '', verbs: ['get', 'list', 'create', 'patch', 'delete'] },
  ingresses: { group: 'networking.k8s.io', verbs: ['get', 'list', 'create', 'patch', 'delete'] },
  httproutes: { group: 'gateway.networking.k8s.io', verbs: ['get', 'list', 'create', 'patch', 'delete'] },
  endpointslices: { group: 'discovery.k8s.io', verbs: ['list', 'watch'] },
  pods: { group: '', verbs: ['list'] },
  'services/proxy': { group: '', verbs: ['get'] },
} as const;

export type PermittedResource = keyof typeof permissions;

/** One permitted (resource, verb) pair. */
export type Permission = {
  [R in PermittedResource]: { resource: R; verb: (typeof permissions)[R]['verbs'][number] };
}[PermittedResource];

/**
 * What the web process (the Slack app) reads, and all it may do: `status`, dry runs and the plan an
 * approval request shows are observations (`KubeCluster.observe`), and /readyz asks `GET /version`,
 * which every authenticated identity may. It never writes: the workers make every change, each
 * after its own observation. `config/rbac.yaml` gives the web identity a read-only Role (get, list,
 * watch on these resources); a test keeps it read-only and enough for these calls.
 */
export const webReads = {
  deployments: ['list'],
  services: ['get', 'list'],
  ingresses: ['get', 'list'],
  httproutes: ['get', 'list'],
} as const satisfies Partial<{ [R in PermittedResource]: readonly (typeof permissions)[R]['verbs'][number][] }>;

/** Why each grant exists, for the README and for reviewers of the Role. */
export const permissionReasons: Record<PermittedResource, string> = {
  deployments: 'install (server-side apply creates or patches), observe (list), wait for ready (list + watch), name-collision check (get), retired-at annotation (patch), delete a version',
  services: 'live Service read and selector patch, version Services applied, listed and deleted; bootstrap creates the live Service',
  ingresses: 'version and live routes when apps route through Ingress (remove if all apps use a Gateway)',
  httproutes: 'version and live routes when apps route through a Gateway (remove if all apps use Ingress)',
  endpointslices: 'verify that only target pods serve a Service (list + watch)',
  pods: 'map an EndpointSlice endpoint to its pod version label',
  'services/proxy': 'verify.via service-proxy: sample the live and version Services through the API server, with no route to the ingress',
};

/**
 * What installs from manifests or a Helm chart need on top (the second Role of config/rbac.yaml):
 * the inventory ConfigMaps, and the kinds such charts render. A chart's kind that is not granted
 * is refused before anything is applied (the server-side dry run answers 403). Writing Roles and
 * RoleBindings also needs the permissions they grant (RBAC's escalation check). Secrets are not
 * granted: a chart that makes its own Secrets needs them added (config/rbac.yaml shows how).
 */
export const installPermissions = {
  configmaps: { group: '', verbs: ['get', 'list', 'create', 'patch', 'delete'] },
  serviceaccounts: { group: '', verbs: ['get', 'create', 'patch', 'delete'] },
  poddisruptionbudgets: { group: 'policy', verbs: ['get', 'create', 'patch', 'delete'] },
  horizontalpodautoscalers: { group: 'autoscaling', verbs: ['get', 'create', 'patch', 'delete'] },
  networkpolicies: { group: 'networking.k8s.io', verbs: ['get', 'create', 'patch', 'delete'] },
  roles: { group: 'rbac.authorization.k8s.io', verbs: ['get', 'create', 'patch', 'delete'] },
  rolebindings: { group: 'rbac.authorization.k8s.io', verbs: ['get', 'create', 'patch', 'delete'] },
} as const;

export const installPermissionReasons: Record<keyof typeof installPermissions, string> = {
  configmaps: 'the inventory of each version (list: status reads them all at once), and the ConfigMaps charts render',
  serviceaccounts: "a chart's ServiceAccount per version",
  poddisruptionbudgets: "a chart's PodDisruptionBudget per version",
  horizontalpodautoscalers: "a chart's HorizontalPodAutoscaler per version",
  networkpolicies: "a chart's NetworkPolicy per version",
  roles: "a chart's Role per version (also needs what the Role grants)",
  rolebindings: "a chart's RoleBinding per version (also needs what it binds)",
};
