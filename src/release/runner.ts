import type { AppSpec, RegionState } from '../core/model.js';
import type { Plan, Step } from '../core/plan.js';
import type { Cluster } from '../kube/cluster.js';
import type { ProgressEvent, RegionAfter, ReleaseResult, Reporter } from '../core/events.js';
import { judgeTrafficRelease, type RunEnding } from '../core/outcome.js';
import { describeOutsideChange, reconcileCompensation, reconcileForward, type JobProgress } from '../core/reconcile.js';
import type { Sampler } from './live-probe.js';
import type { MetricsSource } from './metrics.js';
import type { GateDefinition } from '../core/gates.js';
import type { IdlePolicy } from '../core/policy.js';
import { isKubeError } from '../kube/errors.js';
import { executeStep, type StepContext, type StepRecord } from './steps.js';
import { summarize } from './summarize.js';
import { GateFailed } from './gate-watch.js';

/** One region as the runner sees it: its cluster and how its traffic is sampled. */
export interface RegionTarget {
  cluster: Cluster;
  /** null: `verify.via: endpoints`, verification reads EndpointSlices only and samples no traffic. */
  sampler: Sampler | null;
  /** The region's Prometheus (health gates, drain-aware cleanup); absent: none configured. */
  metrics?: MetricsSource | null | undefined;
}

export interface RunnerPolicy {
  readyTimeoutMs: number;
  verifyTimeoutMs: number;
  healthSamples: number;
  /** Ready target pods a verified region needs behind its live Service. */
  minReadyReplicas: number;
  autoRollback: boolean;
  /** A region whose API cannot be reached after retries: switch the others back, or hold them and retry later. */
  onRegionUnreachable: 'rollback' | 'hold';
  /** Health gates a gated bake evaluates (plans name the ones they use). */
  gates?: readonly GateDefinition[] | undefined;
  /** How often a gated bake evaluates its gates (default 10 s). */
  gateIntervalMs?: number | undefined;
  /** Drain-aware cleanup: a deletion reads the version's traffic again right before it deletes. */
  idle?: IdlePolicy | undefined;
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

/**
 * The abort reason a caller gives when a newer release took this one over (an emergency
 * rollback): the run stops at the next step boundary, touches no region again and reports
 * "superseded" with this message.
 */
export class RunSuperseded extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunSuperseded';
  }
}

type FailureKind = 'failed' | 'unreachable' | 'outside' | 'superseded';

interface PhaseFailure {
  message: string;
  kind: FailureKind;
}

/**
 * What a job has done so far: saved after every step. It explains and compensates; it never
 * replaces looking: a resumed run reconciles the plan with a fresh observation first.
 */
export interface RunCursor {
  phase: 'forward' | 'compensation';
  /** Steps of the current phase recorded so far: for people and logs; a resume never trusts it. */
  completed: number;
  /** The plan as first made: the `from` each region was expected on, the order, the bakes. */
  forwardSteps: Step[];
  compensationSteps: Step[];
  records: StepRecord[];
  failure: string | null;
  /** Regions the compensation cannot switch back, and why. */
  compensationNotes: string[];
  /** The run held at an unreachable region (policy hold): resuming retries it. */
  held?: boolean;
}

export interface RunOptions {
  app: AppSpec;
  regions: ReadonlyMap<string, RegionTarget>;
  policy: RunnerPolicy;
  actor: string;
  reporter: Reporter;
  /** This attempt's one observation of every region: prechecks and reconciliation read it. */
  observed: readonly RegionState[];
  /** Inverse steps for what completed, in the order they must run (core's planCompensation). */
  compensate: (completed: Step[]) => { steps: Step[]; notes: string[] };
  cursor?: RunCursor | undefined;
  saveCursor?: ((cursor: RunCursor) => Promise<void>) | undefined;
  /** Called before every mutating step: throws when the caller's lease was lost (fencing). */
  guard?: (() => Promise<void>) | undefined;
  /** Fencing token of the caller's lease, written with and checked by every selector switch. */
  fence?: number | undefined;
  /** Aborted with a RunSuperseded reason: stop and report superseded; any other reason: RunInterrupted. */
  signal?: AbortSignal | undefined;
  /** On a hold, throw RunHeld (the caller retries from the cursor) instead of finishing with a held result. */
  retryHeld?: boolean | undefined;
  now?: () => Date;
}

const mutating = new Set<Step['kind']>(['install', 'bootstrap', 'switch', 'delete-version']);
/** Read-only checks that run in every region at once, before the first change. */
const sideBySide = new Set<Step['kind']>(['precheck', 'check-names']);

/**
 * Execute a plan step by step, region by region, as the plan orders them (a resumed run first
 * reconciles it with this attempt's observation). A failure after any traffic switch runs the
 * compensation when the policy allows; a region changed by someone else stops the run without
 * overwriting anything. The result comes from the clusters, read again after the last step.
 */
export async function runPlan(plan: Plan, options: RunOptions): Promise<ReleaseResult> {
  const started = performance.now();
  const resumed = options.cursor !== undefined;
  const cursor: RunCursor = options.cursor ?? { phase: 'forward', completed: 0, forwardSteps: plan.steps, compensationSteps: [], records: [], failure: null, compensationNotes: [] };
  const emit = async (event: ProgressEvent): Promise<void> => {
    await options.reporter.report(event);
  };
  const context: StepContext = {
    app: options.app,
    regions: options.regions,
    observed: new Map(options.observed.map((s) => [s.region, s])),
    policy: options.policy,
    actor: options.actor,
    fence: options.fence,
    signal: options.signal,
    now: options.now ?? (() => new Date()),
    records: cursor.records,
  };

  let ending: RunEnding = 'completed';
  let held = false;
  if (cursor.phase === 'forward') {
    cursor.failure = null;
    cursor.held = false;
    let steps = cursor.forwardSteps;
    let failed: PhaseFailure | null = null;
    if (resumed) {
      const reconciled = reconcileForward(cursor.forwardSteps, options.observed, progressOf(cursor.records, 'forward', Date.now()));
      if (reconciled.ok) {
        steps = reconciled.steps;
      } else {
        steps = [];
        failed = { kind: 'outside', message: reconciled.changes.map(describeOutsideChange).join('; ') };
      }
    }
    const earlier = resumed ? finishedSteps(cursor.records) : [];
    await emit({ type: 'planned', plan: { ...plan, steps: [...earlier, ...steps] }, resumedAt: earlier.length });
    failed ??= await runPhase('forward', steps, earlier.length, cursor, context, options, emit);
    if (failed !== null) {
      cursor.failure = failed.message;
      const completedSwitches = switchesToUndo(cursor);
      if (failed.kind === 'outside' || failed.kind === 'superseded') {
        // Someone else moved traffic (a person, another tool, a newer release): leave it to them.
        ending = failed.kind === 'outside' ? 'stopped' : 'superseded';
        await options.saveCursor?.(cursor);
      } else if (failed.kind === 'unreachable' && options.policy.onRegionUnreachable === 'hold' && completedSwitches.length > 0) {
        held = true;
        ending = 'held';
        cursor.held = true;
        await options.saveCursor?.(cursor);
        if (options.retryHeld) {
          await emit({ type: 'holding', reason: failed.message });
          throw new RunHeld(`holding: ${failed.message}`);
        }
      } else {
        ending = 'failed';
        if (completedSwitches.length > 0 && options.policy.autoRollback && isTrafficAction(plan)) {
          cursor.phase = 'compensation';
          cursor.completed = 0;
          const compensation = options.compensate(completedSwitches);
          cursor.compensationSteps = compensation.steps;
          cursor.compensationNotes = compensation.notes;
          await options.saveCursor?.(cursor);
          await emit({ type: 'compensating', reason: failed.message });
        }
      }
    }
  } else {
    ending = 'failed';
    await emit({ type: 'planned', plan: { ...plan, steps: cursor.forwardSteps }, resumedAt: cursor.forwardSteps.length });
  }
  if (cursor.phase === 'compensation') {
    let steps = cursor.compensationSteps;
    if (resumed && options.cursor?.phase === 'compensation') {
      const done = cursor.records.filter((r) => r.phase === 'compensation');
      const reconciled = reconcileCompensation(cursor.compensationSteps, options.observed, progressOf(done, 'compensation', Date.now()));
      steps = reconciled.steps;
      cursor.compensationNotes.push(...reconciled.changes.map((c) => `${describeOutsideChange(c)}: left as it is`));
    }
    const failed = await runPhase('compensation', steps, 0, cursor, context, options, emit);
    if (failed?.kind === 'superseded') ending = 'superseded';
  }

  const result = summarize(plan, cursor, performance.now() - started);
  if (held) {
    result.held = true;
    result.reasons.push('holding the regions already switched, as policy onRegionUnreachable is "hold": the region is retried when the release resumes');
  }
  if (isTrafficAction(plan) && plan.version !== null) {
    const after = await observeAfter(plan.regions, options);
    for (const report of result.regions) report.after = after.get(report.region);
    const judged = judgeTrafficRelease({
      action: plan.action as 'promote' | 'rollback',
      app: plan.app,
      environment: plan.environment,
      target: plan.version,
      ending,
      compensated: cursor.phase === 'compensation',
      before: liveBefore(cursor.forwardSteps),
      after: plan.regions.map((region) => ({ region, after: after.get(region) ?? { unknown: 'not read' } })),
      touched: new Set(cursor.records.filter((r) => r.step.kind === 'switch' && r.outcome !== 'skipped').map((r) => r.step.region)),
    });
    result.outcome = judged.outcome;
    result.split = judged.split;
    result.reasons.push(...judged.reasons);
  } else if (ending === 'stopped' || ending === 'superseded') {
    result.outcome = ending;
  }
  await emit({ type: 'finished', result });
  return result;
}

async function runPhase(
  phase: 'forward' | 'compensation',
  steps: readonly Step[],
  firstIndex: number,
  cursor: RunCursor,
  context: StepContext,
  options: RunOptions,
  emit: (event: ProgressEvent) => Promise<void>,
): Promise<PhaseFailure | null> {
  let phaseFailure: PhaseFailure | null = null;
  const givenUp = new Set<string>();
  for (let at = 0; at < steps.length; ) {
    // Consecutive checks of one kind run side by side: every region is checked before the first change.
    const kind = steps[at]!.kind;
    const batch = sideBySide.has(kind) ? takeWhile(steps, at, (s) => s.kind === kind) : [steps[at]!];
    const indexOf = (offset: number): number => firstIndex + at + offset;
    const stopped = stopBefore(options, batch[0]!, indexOf(0));
    if (stopped) return stopped;
    if (phase === 'compensation' && givenUp.has(batch[0]!.region)) {
      at += 1;
      continue;
    }
    if (batch.some((s) => mutating.has(s.kind))) {
      try {
        await options.guard?.();
      } catch (error) {
        throw new RunInterrupted(`stopped before step ${indexOf(0) + 1} (${batch[0]!.kind} in ${batch[0]!.region}): ${messageOf(error)}`, error);
      }
    }
    await Promise.all(batch.map((step, offset) => emit({ type: 'step-started', index: indexOf(offset), step, phase })));
    const outcomes = await Promise.all(batch.map((step) => runStep(step, phase, context)));
    let failure: PhaseFailure | null = null;
    for (const [offset, done] of outcomes.entries()) {
      const step = batch[offset]!;
      if (done.interrupted) throw done.interrupted;
      cursor.records.push(done.record);
      cursor.completed = cursor.records.filter((r) => r.phase === cursor.phase).length;
      await emit({ type: 'step-finished', index: indexOf(offset), step, phase, outcome: done.record.outcome, durationMs: done.record.durationMs, detail: done.record.detail });
      if (done.record.outcome === 'failed' && failure === null) failure = { message: inRegion(step, done.record.detail), kind: done.kind };
    }
    at += batch.length;
    await options.saveCursor?.(cursor);
    if (failure === null) continue;
    if (phase === 'forward' || failure.kind === 'superseded') return failure;
    // Compensation keeps going so every region it can restore is restored; a region whose switch
    // back failed is not verified (it cannot pass), and one changed by someone else is left alone.
    phaseFailure ??= failure;
    givenUp.add(batch[0]!.region);
    if (failure.kind === 'outside') cursor.compensationNotes.push(`${failure.message}: left as it is`);
  }
  return phase === 'compensation' && phaseFailure?.kind === 'superseded' ? phaseFailure : null;
}

interface StepRun {
  record: StepRecord;
  kind: FailureKind;
  interrupted?: RunInterrupted;
}

async function runStep(step: Step, phase: 'forward' | 'compensation', context: StepContext): Promise<StepRun> {
  const stepStarted = performance.now();
  try {
    const record = await executeStep(step, context);
    return { record: { ...record, phase }, kind: 'failed' };
  } catch (error) {
    const durationMs = performance.now() - stepStarted;
    const measures = error instanceof GateFailed ? { gates: error.readings } : {};
    const record: StepRecord = { step, phase, outcome: 'failed', detail: messageOf(error), durationMs, startedAtMs: Date.now() - durationMs, measures };
    const reason: unknown = context.signal?.aborted ? context.signal.reason : undefined;
    const kind = failureKind(error);
    // The cluster's own answer that someone else moved traffic is decisive, whatever else happened meanwhile.
    if (kind === 'outside' || kind === 'superseded') return { record, kind };
    if (reason instanceof RunSuperseded) return { record: { ...record, detail: reason.message }, kind: 'superseded' };
    if (context.signal?.aborted) {
      return { record, kind: 'failed', interrupted: new RunInterrupted(`interrupted during ${step.kind} in ${step.region}: ${messageOf(reason ?? error)}`, error) };
    }
    return { record, kind };
  }
}

/** Before a step: a superseded run stops with that reason; any other abort interrupts it. */
function stopBefore(options: RunOptions, step: Step, index: number): PhaseFailure | null {
  const signal = options.signal;
  if (!signal?.aborted) return null;
  if (signal.reason instanceof RunSuperseded) return { kind: 'superseded', message: signal.reason.message };
  throw new RunInterrupted(`stopped before step ${index + 1} (${step.kind} in ${step.region}): ${messageOf(signal.reason)}`);
}

function failureKind(error: unknown): FailureKind {
  if (isKubeError(error, 'changed-outside')) return 'outside';
  if (isKubeError(error, 'fenced')) return 'superseded';
  if (isKubeError(error, 'unreachable')) return 'unreachable';
  return 'failed';
}

/** What the live Service of every region says now; an unreadable region is said, not guessed. */
export async function observeAfter(regions: readonly string[], options: Pick<RunOptions, 'regions' | 'app'>): Promise<Map<string, RegionAfter>> {
  const read = await Promise.allSettled(
    regions.map(async (region) => {
      const target = options.regions.get(region);
      if (!target) throw new Error(`no cluster configured for region ${region}`);
      return target.cluster.readLive(options.app);
    }),
  );
  return new Map(
    regions.map((region, index): [string, RegionAfter] => {
      const settled = read[index]!;
      if (settled.status === 'rejected') return [region, { unknown: messageOf(settled.reason) }];
      const live = settled.value;
      return [region, { live: live?.version ?? null, changedOutside: live?.changedOutside ?? false, promotedBy: live?.promotedBy ?? null }];
    }),
  );
}

/** Per region, what was live before the release: a switch's `from`, or the target of a region only verified. */
function liveBefore(forward: readonly Step[]): Map<string, string | null> {
  const before = new Map<string, string | null>();
  for (const step of forward) {
    if (step.kind === 'switch' && !before.has(step.region)) before.set(step.region, step.from);
  }
  for (const step of forward) {
    if (step.kind === 'verify' && !before.has(step.region)) before.set(step.region, step.version);
  }
  return before;
}

/** What the records of one phase say is done, per region. */
export function progressOf(records: readonly StepRecord[], phase: 'forward' | 'compensation', nowMs: number): JobProgress {
  const ok = (kind: Step['kind']) => new Set(records.filter((r) => r.phase === phase && r.step.kind === kind && r.outcome === 'ok').map((r) => r.step.region));
  const bakeElapsedMs = new Map<string, number>();
  for (const record of records) {
    if (record.phase === phase && record.step.kind === 'verify' && record.outcome === 'ok') {
      bakeElapsedMs.set(record.step.region, Math.max(0, nowMs - (record.startedAtMs + record.durationMs)));
    }
  }
  return { switched: ok('switch'), verified: ok('verify'), baked: ok('bake'), bakeElapsedMs };
}

/** Forward steps an earlier attempt finished, for the progress message. */
function finishedSteps(records: readonly StepRecord[]): Step[] {
  return records.filter((r) => r.phase === 'forward' && r.outcome !== 'failed').map((r) => r.step);
}

function isTrafficAction(plan: Plan): boolean {
  return plan.action === 'promote' || plan.action === 'rollback';
}

/** Switch steps of the forward phase that may have changed traffic (including a failed patch: its outcome is unknown). */
function switchesToUndo(cursor: RunCursor): Step[] {
  return cursor.records.filter((r) => r.phase === 'forward' && r.step.kind === 'switch' && r.outcome !== 'skipped').map((r) => r.step);
}

function takeWhile(steps: readonly Step[], from: number, keep: (step: Step) => boolean): Step[] {
  const taken: Step[] = [];
  for (let i = from; i < steps.length && keep(steps[i]!); i++) taken.push(steps[i]!);
  return taken;
}

/** Adapter errors already name their region; say it once. */
function inRegion(step: Step, detail: string): string {
  return detail.startsWith(`${step.region}: `) || detail.startsWith(`${step.region} `) ? detail : `${step.region}: ${detail}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

