import type { GateReading } from './gates.js';
import type { Action, Plan, Step } from './plan.js';

/** Figures measured in one region during a promotion or rollback. */
export interface RegionTimings {
  /** Round trip of the selector merge patch (0 when the region was already on the target). */
  patchMs: number | null;
  /** From the patch until the Service's EndpointSlices held only ready target pods. */
  endpointsMs: number | null;
  /** From the patch until live traffic sampled through the region's URL answered with the target only. */
  dataPlaneMs: number | null;
  /** Whole time spent on this region, bake excluded. */
  totalMs: number;
}

export interface RegionHealth {
  readyPods: number;
  /** Target pods the EndpointSlices list as not ready: reported, not waited for. */
  unreadyPods?: number;
  /** Versions seen in the sampled live responses, with counts. */
  samples: Record<string, number>;
  failedSamples: number;
}

export interface RegionReport {
  region: string;
  from: string | null;
  to: string | null;
  outcome: 'switched' | 'already-live' | 'installed' | 'cleaned' | 'restored' | 'failed' | 'not-started';
  timings: RegionTimings;
  health: RegionHealth | null;
  detail: string | null;
  /** What the region's live Service said when it was read again after the last step (traffic actions). */
  after?: RegionAfter | undefined;
  /** The health gates' last readings in this region's bake: query, value, condition, verdict. */
  gates?: GateReading[] | undefined;
}

/** A region's live version as observed after a release, or why it could not be read. */
export type RegionAfter = { live: string | null; changedOutside: boolean; promotedBy: string | null } | { unknown: string };

/**
 * succeeded: every region serves the target, as observed at the end. rolled-back: it failed and
 * every region is back where it was. stopped: a region was changed outside the release, which
 * stopped without overwriting it. superseded: a newer release (an emergency rollback) took it
 * over. failed: anything else; `split` says loudly when regions were left on different versions.
 */
export type ReleaseOutcome = 'succeeded' | 'failed' | 'rolled-back' | 'stopped' | 'superseded' | 'refused';

export interface ReleaseResult {
  outcome: ReleaseOutcome;
  action: Action;
  app: string;
  environment: string;
  version: string | null;
  regions: RegionReport[];
  /** Why it failed or was refused, in words a user reads. */
  reasons: string[];
  /** True when regions were left on different versions; always said loudly. */
  split: boolean;
  /** The release stopped at an unreachable region and holds the others (policy `hold`); resuming retries it. */
  held?: boolean;
  /** What the compensation restored, when it ran. */
  compensation: { ran: boolean; restored: string[]; failed: string[] } | null;
  totalMs: number;
}

export type StepOutcome = 'ok' | 'skipped' | 'failed';

/** Everything the runner reports, in order. Reporters (CLI, log, Slack thread) render these. */
export type ProgressEvent =
  | { type: 'planned'; plan: Plan; resumedAt: number }
  | { type: 'step-started'; index: number; step: Step; phase: 'forward' | 'compensation' }
  | { type: 'step-finished'; index: number; step: Step; phase: 'forward' | 'compensation'; outcome: StepOutcome; durationMs: number; detail: string }
  | { type: 'compensating'; reason: string }
  /** A region is unreachable and the policy holds the switched ones: the release is retried from here. */
  | { type: 'holding'; reason: string }
  /** Stop-the-line: the release halted at a step boundary and waits for `/release resume`; reason says who stopped it and why. */
  | { type: 'stopped'; reason: string }
  | { type: 'finished'; result: ReleaseResult };

export interface Reporter {
  report(event: ProgressEvent): void | Promise<void>;
}
