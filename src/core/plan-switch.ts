import type { AppSpec, RegionState } from './model.js';
import { refused, type Action, type PlanResult, type Step } from './plan.js';
import { bootstrapRefusal, splitDescription, targetRefusal } from './refusals.js';

export interface SwitchPlanInput {
  action: Extract<Action, 'promote' | 'rollback'>;
  app: AppSpec;
  environment: string;
  version: string;
  /** How the target is named in refusals, e.g. "the rollback target". */
  role: string;
  minReady: number;
  bakeMs: number;
  /** Health gate names: each switched region then bakes (the last one too) while they are evaluated. */
  gates: readonly string[];
  notes: string[];
}

/**
 * Shared by promotion and rollback: per region, in order, precheck -> switch -> verify, and a
 * bake after a switched region when a later region still has to switch. A region already live on
 * the target is verified, not switched. Every region must be bootstrapped and have the target ready.
 */
export function planTrafficSwitch(states: readonly RegionState[], input: SwitchPlanInput): PlanResult {
  const { app, version, minReady } = input;
  if (states.length === 0) return refused(`${input.environment} has no regions`);
  const reasons: string[] = [];
  for (const state of states) {
    const reason = bootstrapRefusal(state, app.name) ?? targetRefusal(state, version, minReady, input.role);
    if (reason) reasons.push(reason);
  }
  if (reasons.length > 0) return refused(...reasons);
  const toSwitch = states.map((s) => s.live?.version !== version);
  if (!toSwitch.includes(true)) return refused(`${version} is already live in every region of ${input.environment}`);

  const notes = [...input.notes];
  const split = splitDescription(states);
  if (split) notes.push(`regions are on different versions before this ${input.action}: ${split}`);

  // Every region is prechecked before the first switch (the runner runs them side by side), so a
  // target that is missing or unhealthy anywhere stops the release before traffic moves at all.
  const gated = input.gates.length > 0;
  const gates = gated ? { gates: [...input.gates] } : {};
  const steps: Step[] = states.map((state) => ({ kind: 'precheck', region: state.region, version, minReady, ...gates }));
  states.forEach((state, index) => {
    const { region } = state;
    const live = state.live;
    if (toSwitch[index]) {
      steps.push({ kind: 'switch', region, from: live?.version ?? null, to: version, rollbackTargetBefore: live?.previousVersion ?? null });
    } else {
      notes.push(`${region}: already on ${version}, verifying only`);
    }
    steps.push({ kind: 'verify', region, version });
    const laterSwitch = toSwitch.slice(index + 1).includes(true);
    // A region with no live version before has nothing to switch back to (and answered 503 until
    // now, which its gate's window would count): its bake is not gated.
    if (toSwitch[index] && gated && live?.version != null) steps.push({ kind: 'bake', region, durationMs: input.bakeMs, version, ...gates });
    else if (toSwitch[index] && laterSwitch && input.bakeMs > 0) steps.push({ kind: 'bake', region, durationMs: input.bakeMs, version });
  });
  const outside = states.filter((s) => s.live?.changedOutside).map((s) => `${s.region}: the live selector (${s.live?.version ?? 'none'}) was changed without cutover; cutover had made ${s.live?.previousVersion ?? 'nothing'} live`);
  notes.push(...outside);
  return {
    ok: true,
    plan: { action: input.action, app: app.name, environment: input.environment, version, regions: states.map((s) => s.region), steps, notes },
  };
}
