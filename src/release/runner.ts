import type { AppSpec } from '../core/model.js';
import type { Plan, Step } from '../core/plan.js';
import type { Cluster } from '../kube/cluster.js';
import type { ProgressEvent, RegionReport, ReleaseResult, Reporter, StepOutcome } from '../core/events.js';
import type { ProbeTarget } from './live-probe.js';
import { isKubeError } from '../kube/errors.js';
import { executeStep, type StepContext, type StepRecord } from './steps.js';

/** One region as the runner sees it: its cluster and where its live traffic can be sampled. */
export interface RegionTarget {
  cluster: Cluster;
  probe: ProbeTarget;
}

export interface RunnerPolicy {
  readyTimeoutMs: number;
  verifyTimeoutMs: number;
  healthSamples: number;
  autoRollback: boolean;
  /** A region whose API cannot be reached after retries: switch the others back, or hold them and retry later. */
  onRegionUnreachable: 'rollback' | 'hold';
}

/**
 * The run stopped between steps without deciding anything: the worker is shutting down or lost
 * its lease. The cursor is saved; whoever resumes the job continues from it. No compensation
 * runs, because another worker may already own the release.
 */
export class RunInterrupted extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'RunInterrupted';
  }
}

/** The release holds at an unreachable region (policy `hold`); the caller retries it from the saved cursor. */
export class RunHeld extends Error {
  readonly transient = true;

  constructor(message: string) {
    super(message);
    this.name = 'RunHeld';
  }
}

interface PhaseFailure {
  message: string;
  unreachable: boolean;
}

/** Where a job stands: saved after every step so a retried job resumes instead of repeating. */
export interface RunCursor {
  phase: 'forward' | 'compensation';
  /** Steps of the current phase already finished. */
  completed: number;
  forwardSteps: Step[];
  compensationSteps: Step[];
  records: StepRecord[];
  failure: string | null;
  /** Regions the compensation cannot switch back, and why. */
  compensationNotes: string[];
}

export interface RunOptions {
  app: AppSpec;
  regions: ReadonlyMap<string, RegionTarget>;
  policy: RunnerPolicy;
  actor: string;
  reporter: Reporter;
  /** Inverse steps for what completed, in the order they must run (core's planCompensation). */
  compensate: (completed: Step[]) => { steps: Step[]; notes: string[] };
  cursor?: RunCursor | undefined;
  saveCursor?: ((cursor: RunCursor) => Promise<void>) | undefined;
  /** Called before every mutating step: throws when the caller's lease was lost (fencing). */
  guard?: (() => Promise<void>) | undefined;
  fence?: string | undefined;
  signal?: AbortSignal | undefined;
  /** On a hold, throw RunHeld (the caller retries from the cursor) instead of finishing with a held result. */
  retryHeld?: boolean | undefined;
  now?: () => Date;
}

const mutating = new Set<Step['kind']>(['install', 'bootstrap', 'switch', 'delete-version']);

/**
 * Execute a plan step by step, region by region, as the plan orders them. A failure after any
 * traffic switch runs the compensation (switch touched regions back, in reverse, and verify)
 * when the policy allows, and the result always says whether regions were left split.
 */
export async function runPlan(plan: Plan, options: RunOptions): Promise<ReleaseResult> {
  const started = performance.now();
  const cursor: RunCursor = options.cursor ?? { phase: 'forward', completed: 0, forwardSteps: plan.steps, compensationSteps: [], records: [], failure: null, compensationNotes: [] };
  const emit = async (event: ProgressEvent): Promise<void> => {
    await options.reporter.report(event);
  };
  const context: StepContext = {
    app: options.app,
    regions: options.regions,
    policy: options.policy,
    actor: options.actor,
    fence: options.fence,
    signal: options.signal,
    now: options.now ?? (() => new Date()),
    records: cursor.records,
  };
  await emit({ type: 'planned', plan: { ...plan, steps: cursor.forwardSteps }, resumedAt: cursor.phase === 'forward' ? cursor.completed : cursor.forwardSteps.length });

  let held = false;
  if (cursor.phase === 'forward') {
    cursor.failure = null;
    const failed = await runPhase('forward', cursor.forwardSteps, cursor, context, options, emit);
    if (failed !== null) {
      const failure = failed.message;
      cursor.failure = failure;
      const completedSwitches = switchesToUndo(cursor);
      held = failed.unreachable && options.policy.onRegionUnreachable === 'hold' && completedSwitches.length > 0;
      if (held) {
        // The failing step is not marked done: resuming from this cursor retries the region.
        await options.saveCursor?.(cursor);
        if (options.retryHeld) {
          await emit({ type: 'holding', reason: failure });
          throw new RunHeld(`holding: ${failure}`);
        }
      } else if (completedSwitches.length > 0 && options.policy.autoRollback && isTrafficAction(plan)) {
        cursor.phase = 'compensation';
        cursor.completed = 0;
        const compensation = options.compensate(completedSwitches);
        cursor.compensationSteps = compensation.steps;
        cursor.compensationNotes = compensation.notes;
        await options.saveCursor?.(cursor);
        await emit({ type: 'compensating', reason: failure });
      }
    }
  }
  if (cursor.phase === 'compensation') {
    await runPhase('compensation', cursor.compensationSteps, cursor, context, options, emit);
  }

  const result = summarize(plan, cursor, performance.now() - started);
  if (held) {
    result.held = true;
    result.reasons.push('holding the regions already switched, as policy onRegionUnreachable is "hold": the region is retried when the release resumes');
  }
  await emit({ type: 'finished', result });
  return result;
}

async function runPhase(
  phase: 'forward' | 'compensation',
  steps: Step[],
  cursor: RunCursor,
  context: StepContext,
  options: RunOptions,
  emit: (event: ProgressEvent) => Promise<void>,
): Promise<PhaseFailure | null> {
  for (let index = cursor.completed; index < steps.length; index++) {
    const step = steps[index]!;
    if (options.signal?.aborted) throw new RunInterrupted(`stopped before step ${index + 1} (${step.kind} in ${step.region}): the worker is shutting down`);
    if (mutating.has(step.kind)) {
      try {
        await options.guard?.();
      } catch (error) {
        throw new RunInterrupted(`stopped before step ${index + 1} (${step.kind} in ${step.region}): ${error instanceof Error ? error.message : String(error)}`, error);
      }
    }
    await emit({ type: 'step-started', index, step, phase });
    const stepStarted = performance.now();
    let outcome: StepOutcome;
    let detail: string;
    let unreachable = false;
    try {
      const record = await executeStep(step, context);
      cursor.records.push({ ...record, phase });
      outcome = record.outcome;
      detail = record.detail;
    } catch (error) {
      if (options.signal?.aborted) throw new RunInterrupted(`interrupted during step ${index + 1} (${step.kind} in ${step.region}): the worker is shutting down`, error);
      outcome = 'failed';
      detail = error instanceof Error ? error.message : String(error);
      unreachable = isKubeError(error, 'unreachable');
      cursor.records.push({ step, phase, outcome, detail, durationMs: performance.now() - stepStarted, startedAtMs: Date.now() - (performance.now() - stepStarted), measures: {} });
    }
    const durationMs = performance.now() - stepStarted;
    await emit({ type: 'step-finished', index, step, phase, outcome, durationMs, detail });
    if (outcome === 'failed') {
      // Compensation keeps going so every region it can restore is restored; forward stops.
      if (phase === 'forward') {
        await options.saveCursor?.(cursor);
        // Adapter errors already name their region; say it once.
        const message = detail.startsWith(`${step.region}: `) ? detail : `${step.region}: ${detail}`;
        return { message, unreachable };
      }
    }
    cursor.completed = index + 1;
    await options.saveCursor?.(cursor);
  }
  return null;
}

function isTrafficAction(plan: Plan): boolean {
  return plan.action === 'promote' || plan.action === 'rollback';
}

/** Switch steps of the forward phase that may have changed traffic (including a failed patch: its outcome is unknown). */
function switchesToUndo(cursor: RunCursor): Step[] {
  return cursor.records.filter((r) => r.phase === 'forward' && r.step.kind === 'switch' && r.outcome !== 'skipped').map((r) => r.step);
}

function summarize(plan: Plan, cursor: RunCursor, totalMs: number): ReleaseResult {
  const reports = new Map<string, RegionReport>();
  for (const region of plan.regions) {
    reports.set(region, {
      region,
      from: null,
      to: null,
      outcome: 'not-started',
      timings: { patchMs: null, endpointsMs: null, dataPlaneMs: null, totalMs: 0 },
      health: null,
      detail: null,
    });
  }
  for (const record of cursor.records) {
    const report = reports.get(record.step.region);
    if (!report) continue;
    if (record.step.kind !== 'bake') report.timings.totalMs += record.durationMs;
    applyRecord(report, record);
  }
  const failedCompensation = cursor.records.filter((r) => r.phase === 'compensation' && r.outcome === 'failed').map((r) => r.step.region);
  const restored = [...new Set(cursor.records.filter((r) => r.phase === 'compensation' && r.step.kind === 'switch' && r.outcome !== 'failed').map((r) => r.step.region))].filter(
    (region) => !failedCompensation.includes(region),
  );
  const unrestorable = cursor.compensationNotes.length > 0 ? cursor.forwardSteps.filter((s) => s.kind === 'switch' && s.from === null).map((s) => s.region) : [];
  const compensation = cursor.phase === 'compensation' ? { ran: true, restored, failed: [...new Set([...failedCompensation, ...unrestorable])] } : null;
  for (const region of restored) {
    const report = reports.get(region)!;
    report.outcome = 'restored';
  }
  const outcome = cursor.failure === null ? 'succeeded' : compensation && compensation.failed.length === 0 ? 'rolled-back' : 'failed';
  const onTarget = plan.regions.filter((region) => mayBeOnTarget(region, cursor));
  const split = isTrafficAction(plan) && outcome !== 'succeeded' && onTarget.length > 0 && onTarget.length < reports.size;
  return {
    outcome,
    action: plan.action,
    app: plan.app,
    environment: plan.environment,
    version: plan.version,
    regions: [...reports.values()],
    reasons: cursor.failure ? [cursor.failure, ...cursor.compensationNotes] : [],
    split,
    compensation,
    totalMs,
  };
}

/**
 * Whether a region's live selector may point at the run's target, from what the steps did rather
 * than from the region's reported outcome (a failed verify after a switch reports "failed", yet
 * the selector moved). A switch back that went through clears it; a failed one leaves it unknown,
 * which counts as on target so that a possible split is always said.
 */
function mayBeOnTarget(region: string, cursor: RunCursor): boolean {
  const last = (phase: 'forward' | 'compensation'): StepRecord | undefined =>
    cursor.records.findLast((r) => r.phase === phase && r.step.region === region && r.step.kind === 'switch');
  const forward = last('forward');
  const back = last('compensation');
  if (back && back.outcome !== 'failed') return false;
  if (forward && forward.outcome !== 'skipped') return forward.outcome === 'ok' || back !== undefined;
  // No switch planned here: a region the plan only verifies was already live on the target.
  const planned = cursor.forwardSteps.filter((s) => s.region === region);
  return planned.some((s) => s.kind === 'verify') && !planned.some((s) => s.kind === 'switch');
}

function applyRecord(report: RegionReport, record: StepRecord): void {
  const { step, measures } = record;
  if (record.outcome === 'failed') {
    report.detail = record.detail;
    if (record.phase === 'forward') report.outcome = 'failed';
  }
  if (record.phase === 'compensation') return;
  switch (step.kind) {
    case 'switch':
      report.from = step.from;
      report.to = step.to;
      if (record.outcome !== 'failed') report.outcome = 'switched';
      if (measures.patchMs !== undefined) report.timings.patchMs = measures.patchMs;
      break;
    case 'verify':
      if (measures.endpointsMs !== undefined) report.timings.endpointsMs = measures.endpointsMs;
      if (measures.dataPlaneMs !== undefined) report.timings.dataPlaneMs = measures.dataPlaneMs;
      if (measures.health) report.health = measures.health;
      if (report.to === null) report.to = step.version;
      if (report.outcome === 'not-started' && record.outcome !== 'failed') report.outcome = 'already-live';
      break;
    case 'install':
    case 'wait-ready':
    case 'check-route':
      report.to = step.version;
      if (record.outcome !== 'failed' && report.outcome !== 'failed') report.outcome = 'installed';
      if (measures.health) report.health = measures.health;
      break;
    case 'delete-version':
      if (record.outcome !== 'failed' && report.outcome !== 'failed') report.outcome = 'cleaned';
      break;
    default:
      break;
  }
}
