import type { Action } from './plan.js';

/**
 * Which lease a job must hold before it acts, so that across every worker replica:
 * - at most one traffic-changing job (promote, rollback, cleanup, bootstrap) runs per app and
 *   environment;
 * - installs of different versions run in parallel, and never block a rollback;
 * - cleanup never deletes a version someone is installing (it takes that version's install lease).
 */
export type LeaseNeed =
  | { scope: 'traffic'; app: string; environment: string }
  | { scope: 'install'; app: string; environment: string; version: string };

export interface LeaseRequest {
  kind: Action;
  app: string;
  environment: string;
  /** deploy, promote: the version; rollback: the named target if any; bootstrap: initial version. */
  version?: string | null;
}

/** The one lease a job of this kind needs. A deploy without a version is a programming error. */
export function leaseNeededFor(request: LeaseRequest): LeaseNeed {
  const { kind, app, environment } = request;
  if (kind === 'deploy') {
    if (!request.version) throw new Error('a deploy job always names its version');
    return { scope: 'install', app, environment, version: request.version };
  }
  return { scope: 'traffic', app, environment };
}

/** Cleanup takes the install lease of each version it deletes, skipping versions being installed. */
export function leaseForDeletion(app: string, environment: string, version: string): LeaseNeed {
  return { scope: 'install', app, environment, version };
}

/** Versions a running job must mark "in use" so cleanup leaves them alone. */
export function versionsToMarkInUse(request: LeaseRequest): string[] {
  switch (request.kind) {
    case 'deploy':
    case 'promote':
    case 'rollback':
    case 'bootstrap':
      return request.version ? [request.version] : [];
    case 'cleanup':
      return [];
  }
}

/** Two needs conflict when they name the same lease. */
export function leasesConflict(a: LeaseNeed, b: LeaseNeed): boolean {
  if (a.app !== b.app || a.environment !== b.environment || a.scope !== b.scope) return false;
  return a.scope === 'traffic' || (b.scope === 'install' && a.version === b.version);
}

/** How a waiting job names the holder to its user: "promote shop v41". */
export function describeJob(request: LeaseRequest): string {
  return [request.kind, request.app, request.version ?? null, `in ${request.environment}`].filter((part) => part !== null).join(' ');
}

/**
 * Whether a request of kind `incoming` supersedes the job of kind `holding` that holds the same
 * lease, instead of waiting behind it. Only the emergency exit does: a rollback supersedes a
 * promotion (running, retrying or holding at an unreachable region) and a cleanup. Everything
 * else waits its turn; installs of other versions conflict with nothing.
 */
export function supersedes(incoming: Action, holding: string): boolean {
  return incoming === 'rollback' && (holding === 'promote' || holding === 'cleanup');
}
