import { formatDuration, hourMs } from './durations.js';
import type { AppSpec, InstalledVersion, RegionState } from './model.js';
import type { PlanResult, Step } from './plan.js';
import type { RetentionPolicy } from './policy.js';
import { compareNewestFirst } from './version.js';

export interface VersionVerdict {
  version: string;
  reason: string;
}

export interface RetentionChoice {
  delete: VersionVerdict[];
  keep: VersionVerdict[];
}

/** A version's requests over the idle window, as the metrics said, or why they are not known. */
export type VersionTraffic = { requests: number } | { unknown: string };

/** Per region, per version: what the idle query answered. */
export type TrafficByRegion = ReadonlyMap<string, ReadonlyMap<string, VersionTraffic>>;

/**
 * Which installed versions of one region may go. Kept: the live version, the rollback target,
 * versions a running job uses, the `keep` newest, versions live less than `minAgeSinceLiveHours`
 * ago and versions installed less than `graceAfterInstallHours` ago; with `retention.idle`, also
 * every version that had requests within the window, or whose traffic is unknown (never deleted
 * on a guess). Newest first in both lists. With `traffic`, every reason says the version's traffic.
 */
export function chooseVersionsToDelete(state: RegionState, retention: RetentionPolicy, now: Date, inUse: readonly string[], traffic?: ReadonlyMap<string, VersionTraffic>): RetentionChoice {
  const sorted = [...state.versions].sort(compareNewestFirst);
  const choice: RetentionChoice = { delete: [], keep: [] };
  if (state.live === null) {
    choice.keep = sorted.map((v) => ({ version: v.version, reason: 'region not bootstrapped, so what is live is unknown' }));
    return choice;
  }
  sorted.forEach((installed, index) => {
    const seen = traffic?.get(installed.version);
    const recent = retention.idle ? describeTraffic(seen, retention.idle.windowMinutes) : null;
    const keepReason = reasonToKeep(installed, index, state, retention, now, inUse) ?? (retention.idle ? reasonToKeepForTraffic(seen, retention.idle.windowMinutes) : null);
    if (keepReason) choice.keep.push({ version: installed.version, reason: recent && !keepReason.includes(recent) ? `${keepReason}; ${recent}` : keepReason });
    else choice.delete.push({ version: installed.version, reason: recent ? `${reasonToDelete(installed, retention, now)}, ${recent}` : reasonToDelete(installed, retention, now) });
  });
  return choice;
}

/** Drain-aware cleanup: requests within the window, or traffic not known, keep a version. */
function reasonToKeepForTraffic(traffic: VersionTraffic | undefined, windowMinutes: number): string | null {
  if (traffic === undefined) return 'traffic not read, so it may still serve sessions';
  if ('unknown' in traffic) return `${describeTraffic(traffic, windowMinutes)}, so it may still serve sessions`;
  if (traffic.requests > 0) return `${describeTraffic(traffic, windowMinutes)}: still serving sessions`;
  return null;
}

/** "12 requests in the last 30 min", "no requests in the last 30 min", "traffic unknown (...)". */
export function describeTraffic(traffic: VersionTraffic | undefined, windowMinutes: number): string {
  const window = `in the last ${formatDuration(windowMinutes * 60_000)}`;
  if (traffic === undefined) return 'traffic not read';
  if ('unknown' in traffic) return `traffic unknown (${traffic.unknown})`;
  if (traffic.requests <= 0) return `no requests ${window}`;
  // increase() extrapolates, so counts come fractional: a version with any request shows at least 1.
  const n = Math.max(1, Math.round(traffic.requests));
  return `${n} request${n === 1 ? '' : 's'} ${window}`;
}

function reasonToKeep(installed: InstalledVersion, index: number, state: RegionState, retention: RetentionPolicy, now: Date, inUse: readonly string[]): string | null {
  const { version } = installed;
  if (state.live?.version === version) return 'live';
  if (state.live?.previousVersion === version) return 'rollback target';
  if (inUse.includes(version)) return 'in use by a running job';
  if (index < retention.keep) return `one of the ${retention.keep} newest`;
  const installedAge = ageMs(installed.createdAt, now);
  if (installedAge === null) return 'install time unknown';
  if (installed.retiredAt !== null) {
    const retiredAge = ageMs(installed.retiredAt, now);
    if (retiredAge === null) return 'time it was last live unknown';
    if (retiredAge < retention.minAgeSinceLiveHours * hourMs) {
      return `last live ${formatDuration(retiredAge)} ago (kept ${retention.minAgeSinceLiveHours} h after)`;
    }
  }
  if (installedAge < retention.graceAfterInstallHours * hourMs) {
    return `installed ${formatDuration(installedAge)} ago (grace ${retention.graceAfterInstallHours} h)`;
  }
  return null;
}

function reasonToDelete(installed: InstalledVersion, retention: RetentionPolicy, now: Date): string {
  const beyond = `beyond the ${retention.keep} newest`;
  const retiredAge = installed.retiredAt === null ? null : ageMs(installed.retiredAt, now);
  if (retiredAge !== null) return `${beyond}, last live ${formatDuration(retiredAge)} ago`;
  return `${beyond}, never live, installed ${formatDuration(ageMs(installed.createdAt, now) ?? 0)} ago`;
}

/** Null for an unparseable time; a time in the future counts as now. */
function ageMs(iso: string, now: Date): number | null {
  const at = Date.parse(iso);
  return Number.isNaN(at) ? null : Math.max(0, now.getTime() - at);
}

export interface CleanupRequest {
  app: AppSpec;
  environment: string;
}

/**
 * Delete, region by region, what retention lets go; the notes say what stays and why (the dry
 * run), with each version's recent traffic when `retention.idle` is on.
 */
export function planCleanup(
  states: readonly RegionState[],
  request: CleanupRequest,
  policy: { retention: RetentionPolicy },
  now: Date,
  inUse: readonly string[],
  traffic?: TrafficByRegion,
): PlanResult {
  const steps: Step[] = [];
  const notes: string[] = [];
  for (const state of states) {
    const choice = chooseVersionsToDelete(state, policy.retention, now, inUse, traffic?.get(state.region));
    for (const gone of choice.delete) steps.push({ kind: 'delete-version', region: state.region, version: gone.version, reason: gone.reason });
    for (const kept of choice.keep) notes.push(`${state.region}: keeping ${kept.version} (${kept.reason})`);
  }
  if (steps.length === 0) notes.push(`nothing to delete for ${request.app.name} in ${request.environment}`);
  return {
    ok: true,
    plan: { action: 'cleanup', app: request.app.name, environment: request.environment, version: null, regions: states.map((s) => s.region), steps, notes },
  };
}
