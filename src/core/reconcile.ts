import type { RegionState } from './model.js';
import type { Step } from './plan.js';

/**
 * Reconcile, never replay. A job that runs again (a retry, a resume after a crash or a hold) has
 * its plan and its own record of what it did; the clusters say what is. These pure functions
 * decide what remains from both: a step already true in the cluster is dropped, a region that is
 * neither where the plan left it nor where this job put it was changed by someone else, and the
 * job stops there instead of overwriting it (argo-rollouts reconciles from observed state the
 * same way, `rollout/service.go` reconcileActiveService).
 */

/** What this job's records say it finished, per region, in the phase being reconciled. */
export interface JobProgress {
  /** Regions whose switch this job wrote (step ok). */
  switched: ReadonlySet<string>;
  verified: ReadonlySet<string>;
  baked: ReadonlySet<string>;
  /** Per region: time already spent baking since its verify finished (a resumed bake only waits the rest). */
  bakeElapsedMs: ReadonlyMap<string, number>;
}

/** A region found on a version the job neither expected nor put there. */
export interface OutsideChange {
  region: string;
  /** What the job expected live: the plan's `from`, or its target once it had switched the region. */
  expected: string | null;
  live: string | null;
  promotedBy: string | null;
  /** The selector differs from what cutover recorded (a hand edit), not another cutover release. */
  changedOutside: boolean;
}

export type Reconciled = { ok: true; steps: Step[] } | { ok: false; changes: OutsideChange[] };

type SwitchStep = Extract<Step, { kind: 'switch' }>;

/**
 * The forward steps still to run. Per region: live on the target → its switch is done (whoever
 * did it) and only an unfinished verify or bake remains; live on the plan's `from` → switch it,
 * unless this job already had (then someone switched it back); anything else → an outside change.
 * Regions without a switch in the plan were on the target when planned and must still be.
 */
export function reconcileForward(planned: readonly Step[], states: readonly RegionState[], done: JobProgress): Reconciled {
  const byRegion = new Map(states.map((s) => [s.region, s]));
  const changes: OutsideChange[] = [];
  const pendingSwitch = new Set<string>();
  // On the target with the switch not recorded: the job died between its patch and its record.
  // The switch step runs again (a no-op write) so the record, and a compensation, include it.
  const unrecorded = new Set<string>();
  for (const region of regionsOf(planned)) {
    const state = byRegion.get(region);
    if (!state) continue;
    const sw = planned.find((s): s is SwitchStep => s.kind === 'switch' && s.region === region);
    const target = targetOf(planned, region);
    const live = state.live?.version ?? null;
    if (live === target) {
      if (sw && !done.switched.has(region)) unrecorded.add(region);
      continue;
    }
    if (sw && live === sw.from && !done.switched.has(region)) {
      pendingSwitch.add(region);
      continue;
    }
    const expected = sw && !done.switched.has(region) ? sw.from : target;
    changes.push(outsideChange(state, expected));
  }
  if (changes.length > 0) return { ok: false, changes };

  const steps: Step[] = [];
  for (const step of planned) {
    const { region } = step;
    switch (step.kind) {
      case 'precheck':
        // Checked again in the attempt that switches: the target may have changed since.
        if (pendingSwitch.has(region)) steps.push(step);
        break;
      case 'switch':
        if (pendingSwitch.has(region) || unrecorded.has(region)) steps.push(step);
        break;
      case 'verify':
        if (pendingSwitch.has(region) || !done.verified.has(region)) steps.push(step);
        break;
      case 'bake': {
        if (done.baked.has(region) && !pendingSwitch.has(region)) break;
        const remaining = pendingSwitch.has(region) ? step.durationMs : Math.max(0, step.durationMs - (done.bakeElapsedMs.get(region) ?? 0));
        steps.push({ ...step, durationMs: remaining });
        break;
      }
      default:
        steps.push(step);
    }
  }
  return { ok: true, steps };
}

/**
 * The compensation steps still to run. A region already back on its old version is done (its
 * verify runs if it has not); a region on neither the failed target nor its old version was
 * changed by someone else meanwhile: it is left alone and said.
 */
export function reconcileCompensation(planned: readonly Step[], states: readonly RegionState[], done: Pick<JobProgress, 'switched' | 'verified'>): { steps: Step[]; changes: OutsideChange[] } {
  const byRegion = new Map(states.map((s) => [s.region, s]));
  const steps: Step[] = [];
  const changes: OutsideChange[] = [];
  const skipped = new Set<string>();
  for (const step of planned) {
    const state = byRegion.get(step.region);
    if (step.kind === 'switch') {
      const live = state?.live?.version ?? null;
      if (!state || skipped.has(step.region)) continue;
      if (live === step.to) continue;
      if (live === step.from) steps.push(step);
      else {
        changes.push(outsideChange(state, step.from));
        skipped.add(step.region);
      }
      continue;
    }
    if (skipped.has(step.region)) continue;
    if (step.kind === 'verify' && done.verified.has(step.region) && !steps.some((s) => s.kind === 'switch' && s.region === step.region)) continue;
    steps.push(step);
  }
  return { steps, changes };
}

/** The version a region must serve at the end of the forward phase. */
function targetOf(planned: readonly Step[], region: string): string | null {
  for (const step of planned) {
    if (step.region !== region) continue;
    if (step.kind === 'switch') return step.to;
    if (step.kind === 'verify' || step.kind === 'precheck') return step.version;
  }
  return null;
}

function regionsOf(steps: readonly Step[]): string[] {
  return [...new Set(steps.map((s) => s.region))];
}

function outsideChange(state: RegionState, expected: string | null): OutsideChange {
  return {
    region: state.region,
    expected,
    live: state.live?.version ?? null,
    promotedBy: state.live?.promotedBy ?? null,
    changedOutside: state.live?.changedOutside ?? false,
  };
}

/** "eu-west was changed outside this release: live is v3, promoted by bob (expected v2)". */
export function describeOutsideChange(change: OutsideChange): string {
  const by = change.changedOutside ? 'unknown (the selector was changed without cutover)' : (change.promotedBy ?? 'unknown');
  return `${change.region} was changed outside this release: live is ${change.live ?? 'nothing'}, promoted by ${by} (this release expected ${change.expected ?? 'nothing'})`;
}
