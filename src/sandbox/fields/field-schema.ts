/**
 * What structured-merge-diff needs to know of a field: is an object a struct (fixed fields), a
 * granular map (free keys, each owned on its own) or atomic (owned and replaced as a whole), and is
 * a list atomic, a set, or a map keyed by some of its items' fields. Written out for the fields of
 * the kinds the sandbox serves (from the `+listType`, `+listMapKey`, `+mapType` and
 * `+structType` markers of k8s.io/api 1.28); anything not listed is a struct or an atomic list,
 * which is also what a CRD schema without `x-kubernetes-list-type` means.
 */

export type MapShape = 'struct' | 'map' | 'atomic';
export type ListShape = { kind: 'atomic' } | { kind: 'set' } | { kind: 'map'; keys: string[] };

const workloads = new Set(['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'Job']);
const granularMaps = new Set(['nodeSelector', 'limits', 'requests', 'matchLabels', 'capacity', 'allocatable']);
const atomic: ListShape = { kind: 'atomic' };

/** The shape of the object at `path` (field names from the root; list items add nothing). */
export function mapShape(kind: string, path: readonly string[]): MapShape {
  const field = path.at(-1);
  if (field === undefined) return 'struct';
  const parent = path.at(-2);
  const topLevelSpec = path.length === 2 && path[0] === 'spec';
  // core/v1 ServiceSpec.Selector is +mapType=atomic; metav1.LabelSelector is +structType=atomic.
  if (field === 'selector' && topLevelSpec && (kind === 'Service' || workloads.has(kind))) return 'atomic';
  if (field === 'labelSelector' || field === 'namespaceSelector') return 'atomic';
  if ((field === 'labels' || field === 'annotations') && parent === 'metadata') return 'map';
  if (path.length === 1 && (kind === 'ConfigMap' || kind === 'Secret') && ['data', 'binaryData', 'stringData'].includes(field)) return 'map';
  if (granularMaps.has(field)) return 'map';
  return 'struct';
}

/** The shape of the list at `path`. */
export function listShape(kind: string, path: readonly string[]): ListShape {
  const field = path.at(-1);
  const parent = path.at(-2);
  if (field === 'finalizers') return { kind: 'set' };
  if (field === 'ownerReferences' && parent === 'metadata') return { kind: 'map', keys: ['uid'] };
  if (kind === 'HTTPRoute') return atomic;
  switch (field) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'env':
    case 'volumes':
    case 'imagePullSecrets':
    case 'resourceClaims':
      return { kind: 'map', keys: ['name'] };
    case 'volumeMounts':
      return { kind: 'map', keys: ['mountPath'] };
    case 'ports':
      if (parent === 'containers' || parent === 'initContainers' || parent === 'ephemeralContainers') return { kind: 'map', keys: ['containerPort', 'protocol'] };
      return kind === 'Service' && path.length === 2 && path[0] === 'spec' ? { kind: 'map', keys: ['port', 'protocol'] } : atomic;
    case 'conditions':
      return path[0] === 'status' ? { kind: 'map', keys: ['type'] } : atomic;
    case 'hostAliases':
    case 'podIPs':
    case 'hostIPs':
      return { kind: 'map', keys: ['ip'] };
    case 'topologySpreadConstraints':
      return { kind: 'map', keys: ['topologyKey', 'whenUnsatisfiable'] };
    default:
      return atomic;
  }
}

/** Key fields a list item may omit because the schema defaults them (`protocol` of ports). */
export const keyDefaults: Readonly<Record<string, unknown>> = { protocol: 'TCP' };
