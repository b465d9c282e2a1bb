import type { AppSpec, RegionState } from './model.js';
import { refused, type PlanResult } from './plan.js';
import type { PlanPolicy } from './policy.js';
import { planTrafficSwitch } from './plan-switch.js';
import { versionRefusal } from './version.js';

export interface PromotionRequest {
  app: AppSpec;
  environment: string;
  version: string;
}

/** Move live traffic to `version`, region by region in configured order, baking between regions. */
export function planPromotion(states: readonly RegionState[], request: PromotionRequest, policy: Pick<PlanPolicy, 'bakeSeconds' | 'minReadyReplicas' | 'gates'>): PlanResult {
  const invalid = versionRefusal(request.app, request.version);
  if (invalid) return refused(invalid);
  return planTrafficSwitch(states, {
    action: 'promote',
    app: request.app,
    environment: request.environment,
    version: request.version,
    role: '',
    minReady: policy.minReadyReplicas,
    bakeMs: policy.bakeSeconds * 1000,
    gates: (policy.gates ?? []).map((gate) => gate.name),
    notes: [],
  });
}
