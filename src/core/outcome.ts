import type { RegionAfter, ReleaseOutcome } from './events.js';
import type { Action } from './plan.js';
import { describeOutsideChange } from './reconcile.js';

/** How the run itself ended, before anyone looked at the clusters again. */
export type RunEnding = 'completed' | 'failed' | 'held' | 'stopped' | 'superseded';

export interface TrafficJudgement {
  action: Extract<Action, 'promote' | 'rollback'>;
  app: string;
  environment: string;
  /** The version the release moves traffic to. */
  target: string;
  ending: RunEnding;
  /** The compensation ran (switching the touched regions back). */
  compensated: boolean;
  /** Per region, what was live before this release: where a compensation puts it back. */
  before: ReadonlyMap<string, string | null>;
  /** Per region, in release order, what the live Service said after the last step. */
  after: readonly { region: string; after: RegionAfter }[];
  /**
   * Regions whose selector this release wrote or tried to write. An unreadable region it never
   * touched is taken to be where it was before (and said to be unreadable); one it touched is unknown.
   */
  touched: ReadonlySet<string>;
}

export interface Judged {
  outcome: ReleaseOutcome;
  split: boolean;
  /** Sentences to add to the result's reasons: what the clusters say and how to resolve a split. */
  reasons: string[];
}

/**
 * The outcome of a promotion or rollback from what the clusters say after it, not from what the
 * steps did: "succeeded" only when every region serves the target; a split is always said, with
 * the commands that put every region on one version.
 */
export function judgeTrafficRelease(input: TrafficJudgement): Judged {
  const unreadable = input.after.flatMap(({ region, after }) => ('unknown' in after ? [{ region, reason: after.unknown }] : []));
  const presumed = (region: string) => ({ region, live: input.before.get(region) ?? null, changedOutside: false, promotedBy: null });
  const known = input.after.flatMap(({ region, after }) => ('unknown' in after ? (input.touched.has(region) ? [] : [presumed(region)]) : [{ region, ...after }]));
  const unknown = unreadable.filter((u) => input.touched.has(u.region));
  const versions = [...new Set(known.map((k) => k.live))];
  const split = versions.length > 1 || (unknown.length > 0 && input.after.length > 1);
  const reasons: string[] = unreadable.map((u) =>
    input.touched.has(u.region)
      ? `${u.region} could not be read after the release (${u.reason}): what it serves is unknown`
      : `${u.region} could not be read after the release (${u.reason}); this release did not change it`,
  );

  let outcome: ReleaseOutcome;
  switch (input.ending) {
    case 'superseded':
      outcome = 'superseded';
      break;
    case 'stopped':
      outcome = 'stopped';
      break;
    case 'held':
      outcome = 'failed';
      break;
    case 'completed': {
      const moved = known.filter((k) => k.live !== input.target);
      reasons.push(...moved.map((k) => `${describeOutsideChange({ region: k.region, expected: input.target, live: k.live, promotedBy: k.promotedBy, changedOutside: k.changedOutside })}, after cutover had verified it`));
      outcome = moved.length > 0 ? 'stopped' : unknown.length > 0 ? 'failed' : 'succeeded';
      break;
    }
    case 'failed': {
      const restored = unknown.length === 0 && known.every((k) => k.live === (input.before.get(k.region) ?? null));
      outcome = input.compensated && restored ? 'rolled-back' : 'failed';
      break;
    }
  }
  if (split) reasons.push(splitResolution(input, known));
  return { outcome, split, reasons };
}

function splitResolution(input: TrafficJudgement, known: readonly { region: string; live: string | null }[]): string {
  const where = known.map((k) => `${k.region}: ${k.live ?? 'nothing'}`).join(', ');
  const candidates = [...new Set(known.map((k) => k.live).filter((v): v is string => v !== null))];
  const commands = candidates.map((v) => `\`/release promote ${input.app} ${v} --env ${input.environment}\` (CLI: \`cutover promote ${input.app} ${v} --env ${input.environment}\`)`);
  const resolve = commands.length > 0 ? `: to put every region on one version, run ${commands.join(' or ')}` : '';
  return `SPLIT: the regions serve different versions now (${where || 'unknown'})${resolve}`;
}

/** What a region's live Service said at the end: "now on v42", or why it is unknown. */
export function describeAfter(after: RegionAfter): string {
  if ('unknown' in after) return `now: unknown (${after.unknown})`;
  return `now on ${after.live ?? 'nothing'}${after.changedOutside ? ' (changed without cutover)' : ''}`;
}
