import type { AppSpec, RegionState } from './model.js';
import { refused, type PlanResult } from './plan.js';
import type { PlanPolicy } from './policy.js';
import { planTrafficSwitch } from './plan-switch.js';
import { bootstrapRefusal, splitDescription } from './refusals.js';
import { versionRefusal } from './version.js';

export interface RollbackRequest {
  app: AppSpec;
  environment: string;
  /** A retained version to go back to; absent: each region's recorded previous version. */
  toVersion?: string | null;
}

/**
 * Switch live traffic back to the recorded previous version (or a named retained one), with the
 * same precheck and verify as a promotion. No bake: rollback is the emergency exit. Without a
 * named version every region must agree on what is live and on its rollback target, so a
 * rollback never splits regions further.
 */
export function planRollback(states: readonly RegionState[], request: RollbackRequest, policy: Pick<PlanPolicy, 'bakeSeconds' | 'minReadyReplicas'>): PlanResult {
  const { app } = request;
  const named = request.toVersion ?? null;
  if (named !== null) {
    const invalid = versionRefusal(app, named);
    if (invalid) return refused(invalid);
  }
  const notBootstrapped = states.map((s) => bootstrapRefusal(s, app.name)).filter((r) => r !== null);
  if (notBootstrapped.length > 0) return refused(...notBootstrapped);

  const target = named ?? recordedTarget(states, app.name);
  if (typeof target !== 'string') return refused(target.refusal);
  // Where the target is not even installed, the switch plan's refusal says so instead.
  const neverLive = states.filter((s) => s.versions.some((v) => v.version === target) && !wasLive(s, target)).map((s) => s.region);
  if (neverLive.length > 0) {
    return refused(
      `${target} has never been live in ${neverLive.join(' and ')} of ${request.environment}: a rollback only goes back to a version that was live before; a version that never was is promoted, with its approval and bake: \`/release promote ${app.name} ${target}\``,
    );
  }
  const notes = states.length > 1 && policy.bakeSeconds > 0 ? ['no bake between regions: a rollback is the emergency exit'] : [];
  return planTrafficSwitch(states, {
    action: 'rollback',
    app,
    environment: request.environment,
    version: target,
    role: named === null ? 'the rollback target' : '',
    minReady: policy.minReadyReplicas,
    bakeMs: 0,
    // No gates either: the emergency exit is never held back by metrics.
    gates: [],
    notes,
  });
}

function recordedTarget(states: readonly RegionState[], app: string): string | { refusal: string } {
  const nameOne = `name the version to roll back to: \`/release rollback ${app} <version>\``;
  const split = splitDescription(states);
  if (split) {
    const undone = partialSwitchOrigin(states);
    return undone ?? { refusal: `regions are on different versions (${split}): ${nameOne}` };
  }
  const missing = states.filter((s) => !s.live?.previousVersion).map((s) => s.region);
  if (missing.length > 0) {
    return { refusal: `${missing.join(' and ')} ${missing.length > 1 ? 'have' : 'has'} no recorded previous version of ${app}: ${nameOne}` };
  }
  const targets = new Set(states.map((s) => s.live?.previousVersion));
  if (targets.size > 1) {
    const listed = states.map((s) => `${s.region}: ${s.live?.previousVersion}`).join(', ');
    return { refusal: `regions record different rollback targets (${listed}): ${nameOne}` };
  }
  const [only] = [...targets];
  return only ?? { refusal: `${app} has no regions to roll back` };
}

/**
 * Regions left half-way through a switch (some on B whose rollback target is A, the others still
 * on A, e.g. a promotion stopped or superseded between regions): rolling back means undoing it,
 * so the target is A. Any other split needs a named version.
 */
function partialSwitchOrigin(states: readonly RegionState[]): string | null {
  const live = [...new Set(states.map((s) => s.live?.version ?? null))];
  if (live.length !== 2 || live.includes(null)) return null;
  for (const [origin, moved] of [live, [...live].reverse()] as [string, string][]) {
    if (states.every((s) => s.live?.version === origin || (s.live?.version === moved && s.live.previousVersion === origin))) return origin;
  }
  return null;
}

/**
 * Whether a region has served `version` before (or serves it now): it is live or the recorded
 * rollback target, or its Deployment carries the time it stopped being live.
 */
function wasLive(state: RegionState, version: string): boolean {
  if (state.live?.version === version || state.live?.previousVersion === version) return true;
  return state.versions.some((v) => v.version === version && v.retiredAt !== null);
}
