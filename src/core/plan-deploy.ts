import type { AppSpec, RegionState } from './model.js';
import { refused, type PlanResult, type Step } from './plan.js';
import type { PlanPolicy } from './policy.js';
import { findVersion, isReady } from './refusals.js';
import { versionRefusal } from './version.js';

export interface DeployRequest {
  app: AppSpec;
  environment: string;
  version: string;
}

/**
 * Install a version in every region, in order: install, wait until ready, check its version route.
 * Live traffic is untouched, so an environment that is not bootstrapped can still be deployed to.
 */
export function planDeploy(states: readonly RegionState[], request: DeployRequest, policy: Pick<PlanPolicy, 'minReadyReplicas'>): PlanResult {
  const { app, version } = request;
  const invalid = versionRefusal(app, version);
  if (invalid) return refused(invalid);
  if (states.length === 0) return refused(`${request.environment} has no regions`);

  const minReady = policy.minReadyReplicas;
  const steps: Step[] = [];
  const notes: string[] = [];
  const installing = states.filter((state) => !isReady(findVersion(state, version), minReady));
  // Ownership is checked in every region before the first install (the runner checks them side by side).
  for (const state of installing) steps.push({ kind: 'check-names', region: state.region, version });
  for (const state of states) {
    const installed = findVersion(state, version);
    if (isReady(installed, minReady)) {
      notes.push(`${state.region}: ${version} already installed and ready (${installed?.readyReplicas}/${installed?.desiredReplicas}), skipping install`);
    } else {
      if (installed) {
        const missing = [installed.hasService ? null : 'Service', installed.hasRoute ? null : 'version route'].filter((m) => m !== null);
        const condition = missing.length > 0 ? `only partly installed (no ${missing.join(' and ')})` : `installed but not ready (${installed.readyReplicas}/${installed.desiredReplicas})`;
        notes.push(`${state.region}: ${version} is ${condition}, applying it again`);
      }
      steps.push({ kind: 'install', region: state.region, version }, { kind: 'wait-ready', region: state.region, version, minReady });
    }
    steps.push({ kind: 'check-route', region: state.region, version });
  }
  return {
    ok: true,
    plan: { action: 'deploy', app: app.name, environment: request.environment, version, regions: states.map((s) => s.region), steps, notes },
  };
}
