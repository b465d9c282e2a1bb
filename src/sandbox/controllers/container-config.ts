import { mustType } from '../resource-types.js';
import type { KubeObject, Store } from '../store.js';

const secrets = mustType('secrets');
const configMaps = mustType('configmaps');

/** Why a container cannot start yet: the waiting reason and message its status carries. */
export interface ContainerWaiting {
  container: string;
  reason: 'CreateContainerConfigError' | 'ContainerCreating';
  message?: string;
}

interface KeyRef {
  name?: string;
  key?: string;
  optional?: boolean;
}

interface ContainerSpec {
  name: string;
  env?: { name: string; valueFrom?: { secretKeyRef?: KeyRef; configMapKeyRef?: KeyRef } }[];
  envFrom?: { secretRef?: KeyRef; configMapRef?: KeyRef }[];
}

interface VolumeSpec {
  secret?: { secretName?: string; optional?: boolean; items?: { key: string }[] };
  configMap?: { name?: string; optional?: boolean; items?: { key: string }[] };
}

type Source = { type: typeof secrets; kind: 'Secret'; noun: 'secret' } | { type: typeof configMaps; kind: 'ConfigMap'; noun: 'configmap' };
const secretSource: Source = { type: secrets, kind: 'Secret', noun: 'secret' };
const configMapSource: Source = { type: configMaps, kind: 'ConfigMap', noun: 'configmap' };

/**
 * What the kubelet finds when it prepares a pod's containers, as kubelet_pods.go
 * makeEnvironmentVariables reports it: an `env` value or `envFrom` source naming a missing Secret
 * or ConfigMap (`secret "x" not found`), or a missing key (`couldn't find key k in Secret ns/x`),
 * unless marked optional, is CreateContainerConfigError. A Secret or ConfigMap volume that cannot
 * be mounted keeps the pod in ContainerCreating (the real kubelet reports FailedMount events).
 * Null when every reference resolves.
 */
export function containerWaiting(store: Store, pod: KubeObject): ContainerWaiting | null {
  const namespace = pod.metadata.namespace ?? '';
  const spec = (pod.spec ?? {}) as { containers?: ContainerSpec[]; volumes?: VolumeSpec[] };
  const lookup = (source: Source, name: string): Record<string, unknown> | null => {
    const found = store.get(source.type, namespace, name);
    if (!found) return null;
    return { ...((found.data as Record<string, unknown> | undefined) ?? {}), ...((found.binaryData as Record<string, unknown> | undefined) ?? {}) };
  };
  for (const container of spec.containers ?? []) {
    const configError = (message: string): ContainerWaiting => ({ container: container.name, reason: 'CreateContainerConfigError', message });
    for (const from of container.envFrom ?? []) {
      const [source, ref] = from.secretRef ? [secretSource, from.secretRef] : from.configMapRef ? [configMapSource, from.configMapRef] : [null, null];
      if (!source || !ref || ref.optional) continue;
      if (!lookup(source, ref.name ?? '')) return configError(`${source.noun} "${ref.name ?? ''}" not found`);
    }
    for (const variable of container.env ?? []) {
      const from = variable.valueFrom;
      const [source, ref] = from?.secretKeyRef ? [secretSource, from.secretKeyRef] : from?.configMapKeyRef ? [configMapSource, from.configMapKeyRef] : [null, null];
      if (!source || !ref || ref.optional) continue;
      const data = lookup(source, ref.name ?? '');
      if (!data) return configError(`${source.noun} "${ref.name ?? ''}" not found`);
      if (!(String(ref.key) in data)) return configError(`couldn't find key ${ref.key ?? ''} in ${source.kind} ${namespace}/${ref.name ?? ''}`);
    }
  }
  for (const volume of spec.volumes ?? []) {
    const [source, name, optional, items] = volume.secret
      ? [secretSource, volume.secret.secretName, volume.secret.optional, volume.secret.items]
      : volume.configMap
        ? [configMapSource, volume.configMap.name, volume.configMap.optional, volume.configMap.items]
        : [null, undefined, undefined, undefined];
    if (!source || optional) continue;
    const data = lookup(source, name ?? '');
    if (!data || (items ?? []).some((item) => !(item.key in data))) return { container: spec.containers?.[0]?.name ?? '', reason: 'ContainerCreating' };
  }
  return null;
}

interface PodStatusSeen {
  conditions?: { type: string; status: string; lastTransitionTime?: string }[];
  containerStatuses?: { state?: { waiting?: { reason?: string; message?: string } } }[];
  startTime?: string;
  qosClass?: string;
}

/**
 * The status a kubelet reports for a pod whose container it cannot create: Pending, not ready,
 * the waiting reason (and message) on the container's status. Null when the pod already says so.
 */
export function waitingPodStatus(pod: KubeObject, waiting: ContainerWaiting, now: string): Record<string, unknown> | null {
  const containers = (pod.spec as { containers?: { name: string; image?: string }[] } | undefined)?.containers ?? [];
  const previous = (pod.status ?? {}) as PodStatusSeen;
  const shown = previous.containerStatuses?.[0]?.state?.waiting;
  if (shown?.reason === waiting.reason && shown.message === waiting.message) return null;
  const since = (type: string, status: string): string => {
    const before = previous.conditions?.find((c) => c.type === type);
    return before?.status === status && before.lastTransitionTime ? before.lastTransitionTime : now;
  };
  const unready = { reason: 'ContainersNotReady', message: `containers with unready status: [${containers.map((c) => c.name).join(' ')}]` };
  return {
    phase: 'Pending',
    conditions: [
      { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: since('Initialized', 'True') },
      { type: 'Ready', status: 'False', lastProbeTime: null, lastTransitionTime: since('Ready', 'False'), ...unready },
      { type: 'ContainersReady', status: 'False', lastProbeTime: null, lastTransitionTime: since('ContainersReady', 'False'), ...unready },
      { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: since('PodScheduled', 'True') },
    ],
    hostIP: '127.0.0.1',
    startTime: previous.startTime ?? now,
    containerStatuses: containers.map((c) => ({
      name: c.name,
      state: { waiting: { reason: waiting.reason, ...(waiting.message !== undefined && c.name === waiting.container ? { message: waiting.message } : {}) } },
      lastState: {},
      ready: false,
      restartCount: 0,
      image: c.image ?? '',
      imageID: '',
      started: false,
    })),
    qosClass: previous.qosClass ?? 'BestEffort',
  };
}
