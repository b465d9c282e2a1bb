import type { V1Pod } from '@kubernetes/client-node';

/**
 * Waiting reasons of a container that waiting will not fix: a missing Secret or ConfigMap, an
 * image that cannot be pulled, a container that keeps crashing. Argo CD's pod health check calls a
 * pod with such a reason Degraded (reasons starting with "Err" or ending in "Error" or "BackOff").
 */
function isStuck(reason: string): boolean {
  return reason.startsWith('Err') || reason.endsWith('Error') || reason.endsWith('BackOff');
}

/** "pod shop-v42-7c9f-abcde: CreateContainerConfigError: secret \"shop-secrets\" not found", or null. Pure. */
export function podStartFailure(pods: readonly V1Pod[]): string | null {
  for (const pod of pods) {
    if (pod.metadata?.deletionTimestamp) continue;
    for (const status of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) {
      const waiting = status.state?.waiting;
      if (waiting?.reason && isStuck(waiting.reason)) {
        return `pod ${pod.metadata?.name ?? ''}: ${waiting.reason}${waiting.message ? `: ${waiting.message}` : ''}`;
      }
    }
  }
  return null;
}
