import type { InstalledVersion, RegionState } from './model.js';

/** Guards shared by the plans: each returns the sentence a user reads, or null when all is well. */

export function findVersion(state: RegionState, version: string): InstalledVersion | undefined {
  return state.versions.find((v) => v.version === version);
}

export function isBootstrapped(state: RegionState): boolean {
  return state.live !== null && state.liveRouteExists;
}

export function bootstrapRefusal(state: RegionState, app: string): string | null {
  return isBootstrapped(state) ? null : `${state.region} is not bootstrapped for ${app}: run \`/release bootstrap ${app}\` first`;
}

/** Installed with its Service and route, and at least `minReady` ready pods. */
export function isReady(installed: InstalledVersion | undefined, minReady: number): boolean {
  return installed !== undefined && installed.hasService && installed.hasRoute && installed.readyReplicas >= minReady;
}

/** Why `version` cannot take live traffic in this region now, or null. */
export function targetRefusal(state: RegionState, version: string, minReady: number, role = ''): string | null {
  const installed = findVersion(state, version);
  const what = role ? `${version} (${role})` : version;
  if (!installed) return `${what} is not installed in ${state.region}`;
  if (!installed.hasService || !installed.hasRoute) {
    const missing = [installed.hasService ? null : 'Service', installed.hasRoute ? null : 'version route'].filter((m) => m !== null).join(' and ');
    return `${what} is only partly installed in ${state.region} (no ${missing}): deploy it again`;
  }
  if (installed.readyReplicas < minReady) {
    return `${what} has ${installed.readyReplicas}/${installed.desiredReplicas} ready pods in ${state.region} (at least ${minReady} needed)`;
  }
  return null;
}

/** "eu-west: v42, us-east: v41" when regions disagree on what is live, else null. */
export function splitDescription(states: readonly RegionState[]): string | null {
  const live = states.filter((s) => s.live !== null).map((s) => ({ region: s.region, version: s.live?.version ?? null }));
  const distinct = new Set(live.map((l) => l.version));
  if (distinct.size <= 1) return null;
  return live.map((l) => `${l.region}: ${l.version ?? 'nothing'}`).join(', ');
}
