import type { LeaseNeed } from '../core/exclusion.js';
import type { Action } from '../core/plan.js';

/** One queue carries every release job; the job name is its kind. */
export const releaseQueueName = 'releases';

export type JobKind = Action;
export const jobKinds: readonly JobKind[] = ['deploy', 'promote', 'rollback', 'cleanup', 'bootstrap'];

export function isJobKind(name: string): name is JobKind {
  return (jobKinds as readonly string[]).includes(name);
}

/** Redis key of the lease a need names. */
export function leaseKey(prefix: string, need: LeaseNeed): string {
  return need.scope === 'traffic'
    ? `${prefix}:lease:traffic:${need.app}:${need.environment}`
    : `${prefix}:lease:install:${need.app}:${need.environment}:${need.version}`;
}

/** Sorted set of versions being installed or promoted, scored by when each mark expires. */
export function inUseKey(prefix: string, app: string, environment: string): string {
  return `${prefix}:in-use:${app}:${environment}`;
}

export function auditKey(prefix: string): string {
  return `${prefix}:audit`;
}

export function cleanupSchedulerId(app: string, environment: string): string {
  return `cleanup:${app}:${environment}`;
}
