import type { KubeObject } from '../store.js';

/** Plain equality selector match, as Service selectors and Deployment matchLabels use. */
export function matchesLabels(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  for (const key in selector) {
    if (labels?.[key] !== selector[key]) return false;
  }
  return true;
}

export function isOwnedBy(object: KubeObject, ownerUid: string): boolean {
  return object.metadata.ownerReferences?.some((ref) => ref.uid === ownerUid) ?? false;
}

interface Condition {
  type: string;
  status: string;
}

export function conditionStatus(object: KubeObject, type: string): string | undefined {
  const status = object.status as { conditions?: Condition[] } | undefined;
  return status?.conditions?.find((c) => c.type === type)?.status;
}

export function isPodReady(pod: KubeObject): boolean {
  return conditionStatus(pod, 'Ready') === 'True';
}

export function isTerminating(object: KubeObject): boolean {
  return object.metadata.deletionTimestamp !== undefined && object.metadata.deletionTimestamp !== null;
}

/** Newest first by creationTimestamp, then by name (stable). */
export function newestFirst(a: KubeObject, b: KubeObject): number {
  const byTime = (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '');
  return byTime !== 0 ? byTime : b.metadata.name.localeCompare(a.metadata.name);
}
