import type { LiveState } from '../core/model.js';
import { describeOutsideChange } from '../core/reconcile.js';
import type { SwitchRequest } from './cluster.js';
import { KubeError } from './errors.js';

/**
 * Why a selector switch must not write, given the live Service as just read, or null when it may.
 * The token check comes first: a newer lease holder's write is not "outside" this release, it
 * supersedes it.
 */
export function switchRefusal(region: string, service: string, live: LiveState, request: Pick<SwitchRequest, 'from' | 'to' | 'fence'>): KubeError | null {
  const found = { version: live.version, promotedBy: live.promotedBy, changedOutside: live.changedOutside ?? false, fence: live.fence ?? null };
  if (request.fence !== undefined && found.fence !== null && found.fence > request.fence) {
    return new KubeError(
      'fenced',
      `${region}: the live Service ${service} was written by a newer release (fencing token ${found.fence}, this job holds ${request.fence}): this job no longer owns the release and does not write`,
      { region, found },
    );
  }
  if (live.version !== request.from) {
    const change = { region, expected: request.from, live: found.version, promotedBy: found.promotedBy, changedOutside: found.changedOutside };
    return new KubeError('changed-outside', describeOutsideChange(change), { region, found });
  }
  return null;
}
