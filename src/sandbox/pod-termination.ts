import { mustType } from './resource-types.js';
import { timestamp, type KubeObject, type Store } from './store.js';

const pods = mustType('pods');

/**
 * Graceful pod deletion, as the API server starts it: the pod gets `deletionTimestamp` (now +
 * grace) and `deletionGracePeriodSeconds`, stays in the store as terminating, and the sandbox
 * kubelet removes it once its server has drained. A grace of 0 removes it at once.
 * Deleting an already terminating pod answers the terminating pod unchanged.
 */
export function markPodTerminating(store: Store, namespace: string, name: string, graceSeconds: number | undefined, now: Date): KubeObject {
  const pod = store.mustGet(pods, namespace, name);
  if (pod.metadata.deletionTimestamp) return pod;
  const spec = (pod.spec ?? {}) as { terminationGracePeriodSeconds?: number };
  const grace = graceSeconds ?? spec.terminationGracePeriodSeconds ?? 30;
  if (grace <= 0) return store.delete(pods, namespace, name);
  pod.metadata.deletionTimestamp = timestamp(new Date(now.getTime() + grace * 1000));
  pod.metadata.deletionGracePeriodSeconds = grace;
  return store.update(pods, pod);
}
