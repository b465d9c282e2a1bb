import type { V1Deployment, V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import type { InstalledVersion, LiveState } from '../core/model.js';
import type { LabelKeys } from '../core/names.js';
import { annotations } from '../core/names.js';
import type { EndpointView } from './cluster.js';
import { fenceAnnotation, noLiveVersion } from './manifests.js';

/**
 * Pure readings of API objects. They accept objects from typed list calls (timestamps as Date)
 * and from watch events (raw JSON, timestamps as strings) alike.
 */

export function liveStateOf(service: V1Service, keys: LabelKeys): LiveState {
  const selected = service.spec?.selector?.[keys.version];
  const notes = service.metadata?.annotations ?? {};
  const version = selected === undefined || selected === noLiveVersion ? null : selected;
  // cutover writes the selector and its live-version annotation in one patch; when they differ,
  // something else moved the selector, and what cutover had made live is the rollback target.
  const recorded = notes[annotations.liveVersion] ?? null;
  const changedOutside = recorded !== version;
  return {
    version,
    previousVersion: changedOutside ? recorded : (notes[annotations.previousVersion] ?? null),
    promotedAt: changedOutside ? null : (notes[annotations.promotedAt] ?? null),
    promotedBy: changedOutside ? null : (notes[annotations.promotedBy] ?? null),
    changedOutside,
    fence: fenceOf(notes[fenceAnnotation]),
  };
}

function fenceOf(value: string | undefined): number | null {
  if (value === undefined || !/^\d+$/.test(value)) return null;
  return Number(value);
}

export interface Rollout {
  desired: number;
  ready: number;
  updated: number;
  /** The controller has seen the current spec (status is not stale). */
  observed: boolean;
}

export function rolloutOf(deployment: V1Deployment): Rollout {
  const generation = deployment.metadata?.generation;
  const observedGeneration = deployment.status?.observedGeneration;
  return {
    desired: deployment.spec?.replicas ?? 1,
    ready: deployment.status?.readyReplicas ?? 0,
    updated: deployment.status?.updatedReplicas ?? 0,
    observed: generation === undefined || (observedGeneration !== undefined && observedGeneration >= generation),
  };
}

/** Enough ready pods of the current template, as seen by a controller that is up to date. */
export function isRolledOut(rollout: Rollout, minReady: number): boolean {
  return rollout.observed && rollout.ready >= minReady && rollout.updated >= minReady;
}

export function describeRollout(name: string, rollout: Rollout, minReady: number): string {
  const stale = rollout.observed ? '' : ', status not yet observed by the controller';
  return `${name}: ${rollout.ready}/${rollout.desired} ready, ${rollout.updated} updated (need ${minReady})${stale}`;
}

export function installedVersionOf(deployment: V1Deployment, keys: LabelKeys, present: { hasService: boolean; hasRoute: boolean }): InstalledVersion | null {
  const version = deployment.metadata?.labels?.[keys.version];
  if (!version) return null;
  const rollout = rolloutOf(deployment);
  return {
    version,
    desiredReplicas: rollout.desired,
    readyReplicas: rollout.ready,
    updatedReplicas: rollout.updated,
    createdAt: isoOf(deployment.metadata?.creationTimestamp),
    retiredAt: deployment.metadata?.annotations?.[annotations.retiredAt] ?? null,
    hasService: present.hasService,
    hasRoute: present.hasRoute,
  };
}

function isoOf(value: Date | string | undefined): string {
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'string') {
    const parsed = new Date(value);
    return Number.isNaN(parsed.getTime()) ? value : parsed.toISOString();
  }
  return '';
}

/** Endpoints of a Service's slices; `versionOf` maps a pod name to its version label. */
export function endpointViewsOf(slices: V1EndpointSlice[], versionOf: (pod: string) => string | null): EndpointView[] {
  const views: EndpointView[] = [];
  for (const slice of slices) {
    for (const endpoint of slice.endpoints ?? []) {
      const pod = endpoint.targetRef?.kind === 'Pod' || endpoint.targetRef?.kind === undefined ? (endpoint.targetRef?.name ?? '') : '';
      const terminating = endpoint.conditions?.terminating ?? false;
      // EndpointSlice API: an unset `ready` means ready, unless the endpoint is terminating; an
      // unset `serving` is the same as `ready`.
      const ready = endpoint.conditions?.ready ?? !terminating;
      views.push({
        pod,
        ip: endpoint.addresses[0] ?? '',
        version: pod ? versionOf(pod) : null,
        ready,
        serving: endpoint.conditions?.serving ?? ready,
        terminating,
      });
    }
  }
  return views;
}

/** Pod names the slices refer to. */
export function podsOf(slices: V1EndpointSlice[]): string[] {
  return slices.flatMap((slice) => (slice.endpoints ?? []).map((e) => e.targetRef?.name ?? '')).filter((name) => name !== '');
}

/**
 * At least `minReady` ready, non-terminating pods of `version`, and no endpoint of another version
 * that still takes traffic. Unready pods of the target do not hold it up: the real EndpointSlice
 * controller lists every selected pod, ready or not.
 */
export function endpointsConverged(views: EndpointView[], version: string, minReady = 1): boolean {
  const ready = views.filter((e) => e.version === version && e.ready && !e.terminating).length;
  const others = views.some((e) => e.version !== version && (e.ready || e.serving));
  return ready >= Math.max(1, minReady) && !others;
}

export function describeEndpoints(views: EndpointView[]): string {
  if (views.length === 0) return 'no endpoints';
  const counts = new Map<string, number>();
  for (const view of views) {
    const state = view.terminating ? 'terminating' : view.ready ? 'ready' : 'not ready';
    const key = `${view.version ?? 'unknown version'} ${state}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts].map(([key, count]) => `${count} ${key}`).join(', ');
}
