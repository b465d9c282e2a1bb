import type { AppSpec, RegionState } from './model.js';
import { refused, type PlanResult, type Step } from './plan.js';
import type { PlanPolicy } from './policy.js';
import { isBootstrapped, targetRefusal } from './refusals.js';
import { versionRefusal } from './version.js';

export interface BootstrapRequest {
  app: AppSpec;
  environment: string;
  /** Version the new live Service selects; absent: no live version until the first promotion. */
  initialVersion?: string | null;
}

/**
 * Create the static live Service and route where they are missing. Regions already bootstrapped
 * are left alone (bootstrap never changes live traffic there). With an initial version, the
 * regions being bootstrapped need it installed and ready, and are verified after.
 */
export function planBootstrap(
  states: readonly RegionState[],
  request: BootstrapRequest,
  policy: Pick<PlanPolicy, 'minReadyReplicas'> = { minReadyReplicas: 1 },
): PlanResult {
  const { app } = request;
  const initialVersion = request.initialVersion ?? null;
  if (initialVersion !== null) {
    const invalid = versionRefusal(app, initialVersion);
    if (invalid) return refused(invalid);
  }
  if (states.length === 0) return refused(`${request.environment} has no regions`);

  const steps: Step[] = [];
  const notes: string[] = [];
  const reasons: string[] = [];
  for (const state of states) {
    if (isBootstrapped(state)) {
      const live = state.live?.version ?? null;
      const ignored = initialVersion !== null && initialVersion !== live ? `; ${initialVersion} is not applied there, promote it instead` : '';
      notes.push(`${state.region}: already bootstrapped (live ${live ?? 'nothing'}), skipping${ignored}`);
      continue;
    }
    if (state.live !== null) {
      // The live Service exists (bootstrap never changes it): only the live route is missing.
      notes.push(`${state.region}: live Service exists (live ${state.live.version ?? 'nothing'}), creating the missing live route`);
      steps.push({ kind: 'bootstrap', region: state.region, initialVersion: state.live.version });
      continue;
    }
    if (initialVersion !== null) {
      const notReady = targetRefusal(state, initialVersion, policy.minReadyReplicas);
      if (notReady) {
        reasons.push(notReady);
        continue;
      }
    }
    steps.push({ kind: 'bootstrap', region: state.region, initialVersion });
    if (initialVersion !== null) steps.push({ kind: 'verify', region: state.region, version: initialVersion });
    else notes.push(`${state.region}: no initial version, so live traffic gets 503 until the first promotion`);
  }
  if (reasons.length > 0) return refused(...reasons);
  if (steps.length === 0) notes.push(`${app.name} is already bootstrapped in every region of ${request.environment}`);
  return {
    ok: true,
    plan: { action: 'bootstrap', app: app.name, environment: request.environment, version: initialVersion, regions: states.map((s) => s.region), steps, notes },
  };
}
