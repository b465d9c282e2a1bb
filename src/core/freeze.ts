import { isMember, mention, type GroupMembers, type People } from './authorization.js';
import { formatDuration } from './durations.js';

/**
 * Freezes and stops as data, decided purely: times are epoch milliseconds passed in. A freeze
 * refuses deploy, promote and cleanup in its scope while it is in force (rollback and bootstrap
 * never: a rollback is how a frozen environment gets out of trouble). A stop halts running
 * traffic changes of its scope at their next step boundary until someone resumes.
 */

/** `all` or one app. */
export type Scope = string;
export const allApps: Scope = 'all';

export interface Freeze {
  scope: Scope;
  environment: string;
  reason: string;
  /** In force from (inclusive) ... until (exclusive). */
  from: number;
  until: number;
  /** Who froze it (ad-hoc), or `config` for a configured window. */
  by: string;
  source: 'config' | 'ad-hoc';
}

export interface Stop {
  scope: Scope;
  environment: string;
  reason: string;
  by: string;
  at: number;
  /** Stopped with `--rollback`: a halted promotion compensates instead of waiting. */
  rollback: boolean;
}

/** The actions a freeze refuses. */
export const frozenActions: readonly string[] = ['deploy', 'promote', 'cleanup'];
/** The actions a stop halts (a rollback is how one recovers, it is never stopped). */
export const stoppedActions: readonly string[] = ['deploy', 'promote', 'cleanup', 'bootstrap'];

export function appliesTo(scope: Scope, app: string): boolean {
  return scope === allApps || scope === app;
}

/** Freezes of `app` in force at `t`, soonest-ending last. */
export function freezesInForce(freezes: readonly Freeze[], app: string | null, t: number): Freeze[] {
  return freezes.filter((f) => (app === null || appliesTo(f.scope, app)) && f.from <= t && t < f.until).sort((a, b) => b.until - a.until);
}

/** "frozen until 14:00 UTC by <@U1>: incident 4711" */
export function describeFreeze(freeze: Freeze, t: number): string {
  const who = freeze.source === 'config' ? 'a configured freeze window' : `${mention(freeze.by)}`;
  const what = freeze.scope === allApps ? `every app in ${freeze.environment}` : `${freeze.scope} in ${freeze.environment}`;
  return `${what} is frozen by ${who} for another ${formatDuration(Math.max(0, freeze.until - t))} (until ${new Date(freeze.until).toISOString()}): ${freeze.reason}`;
}

/** "<@U1> stopped shop in production: incident" */
export function describeStop(stop: Stop): string {
  const what = stop.scope === allApps ? `every app in ${stop.environment}` : `${stop.scope} in ${stop.environment}`;
  return `${mention(stop.by)} stopped ${what}${stop.rollback ? ' (with rollback)' : ''}: ${stop.reason}`;
}

/** Why `action` on `app` may not run at `t` because of a freeze, or null. */
export function freezeRefusal(action: string, app: string, t: number, freezes: readonly Freeze[]): string | null {
  if (!frozenActions.includes(action)) return null;
  const active = freezesInForce(freezes, app, t);
  if (active.length === 0) return null;
  return `${action} is refused: ${active.map((f) => describeFreeze(f, t)).join('; ')}. A rollback is still allowed`;
}

/** The stop halting `action` on `app`, if any. */
export function stopFor(action: string, app: string, stops: readonly Stop[]): Stop | null {
  if (!stoppedActions.includes(action)) return null;
  return stops.find((s) => appliesTo(s.scope, app)) ?? null;
}

/** Why `user` may not freeze, unfreeze, stop or resume, or null. */
export function mayFreeze(user: string, freezers: People, groupMembers: GroupMembers): string | null {
  if (isMember(user, freezers, groupMembers)) return null;
  return `${mention(user)} may not freeze, stop or lift them here: only the environment's freezers may`;
}

/** Why `user` may not override a freeze (break glass), or null. */
export function mayOverride(user: string, breakGlass: People, groupMembers: GroupMembers): string | null {
  if (isMember(user, breakGlass, groupMembers)) return null;
  return `${mention(user)} may not override a freeze here: only the environment's breakGlass users may`;
}

/** "2h", "90m", "1h30m", "45s", "1d" in milliseconds, or null when unreadable. At most 30 days. */
export function parseDurationText(text: string): number | null {
  const match = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?:in)?)?(?:(\d+)s)?$/i.exec(text.trim());
  if (!match || text.trim() === '') return null;
  const [d, h, m, s] = match.slice(1).map((v) => Number(v ?? 0)) as [number, number, number, number];
  const ms = (((d * 24 + h) * 60 + m) * 60 + s) * 1000;
  return ms > 0 && ms <= 30 * 24 * 3_600_000 ? ms : null;
}
