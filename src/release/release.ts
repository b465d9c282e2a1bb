import type { ReleaseResult, Reporter } from '../core/events.js';
import type { AppSpec, RegionState } from '../core/model.js';
import { planBootstrap } from '../core/plan-bootstrap.js';
import { planCompensation } from '../core/plan-compensation.js';
import { planDeploy } from '../core/plan-deploy.js';
import { planPromotion } from '../core/plan-promotion.js';
import { planRollback } from '../core/plan-rollback.js';
import type { Action, Plan, PlanResult } from '../core/plan.js';
import type { PlanPolicy } from '../core/policy.js';
import { planCleanup, type TrafficByRegion } from '../core/retention.js';
import { readEnvironmentTraffic } from './metrics.js';
import { isKubeError } from '../kube/errors.js';
import type { InstallPreview } from '../kube/install/version-installer.js';
import { notStarted } from './summarize.js';
import { observeAfter, RunHeld, runPlan, type RegionTarget, type RunCursor, type RunnerPolicy } from './runner.js';

/** An environment as the release code needs it: regions in promotion order, and its policy. */
export interface ReleaseEnvironment {
  name: string;
  regions: { name: string; target: RegionTarget }[];
  policy: PlanPolicy & RunnerPolicy;
}

export interface ReleaseRequest {
  action: Action;
  app: AppSpec;
  /** deploy/promote: the version; rollback: an optional named target; bootstrap: optional initial version. */
  version: string | null;
  actor: string;
}

export interface ExecuteOptions {
  reporter: Reporter;
  cursor?: RunCursor | undefined;
  saveCursor?: ((cursor: RunCursor) => Promise<void>) | undefined;
  guard?: (() => Promise<void>) | undefined;
  /** Fencing token of the caller's lease: written with, and checked by, every selector switch. */
  fence?: number | undefined;
  signal?: AbortSignal | undefined;
  /** Versions that running jobs are installing or promoting: cleanup keeps them. */
  inUse?: readonly string[] | undefined;
  /** This attempt's observation, when the caller already made it (a job observes once per attempt). */
  observed?: readonly RegionState[] | undefined;
  /** Run this plan (made by the caller from `observed`) instead of planning again. */
  plan?: Plan | undefined;
  /** A hold at an unreachable region throws RunHeld so the job is retried (see RunOptions). */
  retryHeld?: boolean | undefined;
  now?: () => Date;
}

/** Read every region of the environment at once. */
export async function observeEnvironment(environment: ReleaseEnvironment, app: AppSpec): Promise<RegionState[]> {
  return Promise.all(environment.regions.map(({ target }) => target.cluster.observe(app)));
}

/** `status`: every region that answers, and the ones that do not, said as such (never a whole failure). */
export async function observeForStatus(environment: ReleaseEnvironment, app: AppSpec): Promise<RegionState[]> {
  const read = await Promise.allSettled(environment.regions.map(({ target }) => target.cluster.observe(app)));
  return read.map((settled, index) =>
    settled.status === 'fulfilled'
      ? settled.value
      : { region: environment.regions[index]!.name, unreachable: settled.reason instanceof Error ? settled.reason.message : String(settled.reason), live: null, liveRouteExists: false, versions: [] },
  );
}

/**
 * The one observation of an attempt: every region, side by side. A region that cannot be read
 * fails the attempt (it is retried), except that a release holding at an unreachable region
 * (policy hold) keeps holding.
 */
export async function observeForAttempt(environment: ReleaseEnvironment, app: AppSpec, cursor?: RunCursor): Promise<RegionState[]> {
  const read = await Promise.allSettled(environment.regions.map(({ target }) => target.cluster.observe(app)));
  const failed = read.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (!failed) return read.map((r) => (r as PromiseFulfilledResult<RegionState>).value);
  if (cursor?.held && environment.policy.onRegionUnreachable === 'hold' && isKubeError(failed.reason, 'unreachable')) {
    throw new RunHeld(`holding: ${failed.reason.message}`);
  }
  throw failed.reason;
}

/**
 * Every installed version's recent traffic, when the environment's cleanup is drain-aware
 * (`retention.idle`); undefined otherwise. Read with the observation a cleanup plans from.
 */
export function observeTraffic(environment: ReleaseEnvironment, app: AppSpec, states: readonly RegionState[]): Promise<TrafficByRegion | undefined> {
  const regions = environment.regions.map(({ name, target }) => ({ name, metrics: target.metrics, namespace: target.cluster.namespace }));
  return readEnvironmentTraffic(environment.policy.retention.idle, regions, app, states);
}

/** Pure choice of the plan for a request, given what was observed (and, for a cleanup, the traffic read). */
export function planRelease(
  request: ReleaseRequest,
  environment: ReleaseEnvironment,
  states: readonly RegionState[],
  now: Date,
  inUse: readonly string[] = [],
  traffic?: TrafficByRegion,
): PlanResult {
  const base = { app: request.app, environment: environment.name };
  const { policy } = environment;
  switch (request.action) {
    case 'deploy':
      return request.version ? planDeploy(states, { ...base, version: request.version }, policy) : { ok: false, reasons: ['deploy needs a version, e.g. v42'] };
    case 'promote':
      return request.version ? planPromotion(states, { ...base, version: request.version }, policy) : { ok: false, reasons: ['promote needs a version, e.g. v42'] };
    case 'rollback':
      return planRollback(states, { ...base, toVersion: request.version }, policy);
    case 'bootstrap':
      return planBootstrap(states, { ...base, initialVersion: request.version }, policy);
    case 'cleanup':
      return planCleanup(states, base, policy, now, inUse, traffic);
  }
}

/** Observe and plan, without changing anything: the dry run. */
export async function previewRelease(request: ReleaseRequest, environment: ReleaseEnvironment, options: { now?: () => Date; inUse?: readonly string[] } = {}): Promise<PlanResult> {
  const states = await observeEnvironment(environment, request.app);
  const traffic = request.action === 'cleanup' ? await observeTraffic(environment, request.app, states) : undefined;
  return planRelease(request, environment, states, (options.now ?? (() => new Date()))(), options.inUse ?? [], traffic);
}

/** Per region, what installing `version` would apply and what the API server's dry run says (apps installed from manifests or a chart). */
export async function previewInstalls(environment: ReleaseEnvironment, app: AppSpec, version: string, actor: string): Promise<{ region: string; preview: InstallPreview }[]> {
  const previews = await Promise.all(environment.regions.map(async ({ name, target }) => ({ region: name, preview: (await target.cluster.previewInstall?.(app, version, actor)) ?? null })));
  return previews.filter((p): p is { region: string; preview: InstallPreview } => p.preview !== null);
}

/**
 * Observe, plan and run a release; every attempt observes first. A promotion or rollback resumed
 * from its cursor reconciles the recorded plan with that observation (the runner does); the other
 * actions simply plan again, since their plans already skip what the clusters say is done.
 */
export async function executeRelease(request: ReleaseRequest, environment: ReleaseEnvironment, options: ExecuteOptions): Promise<ReleaseResult> {
  const now = options.now ?? (() => new Date());
  const started = performance.now();
  const regions = new Map(environment.regions.map(({ name, target }) => [name, target]));
  const traffic = request.action === 'promote' || request.action === 'rollback';
  const cursor = traffic ? options.cursor : undefined;
  const observed = options.observed ?? (await observeForAttempt(environment, request.app, cursor));
  let plan: Plan;
  if (cursor) {
    plan = {
      action: request.action,
      app: request.app.name,
      environment: environment.name,
      version: planVersion(cursor) ?? request.version,
      regions: environment.regions.map((r) => r.name),
      steps: cursor.forwardSteps,
      notes: [`resumed after ${cursor.records.length} recorded steps: reconciled with what the clusters say now`],
    };
  } else if (options.plan) {
    plan = options.plan;
  } else {
    const traffic = request.action === 'cleanup' ? await observeTraffic(environment, request.app, observed) : undefined;
    const planned = planRelease(request, environment, observed, now(), options.inUse ?? [], traffic);
    if (!planned.ok) {
      const result = refusedResult(request, environment, planned.reasons, performance.now() - started);
      await options.reporter.report({ type: 'finished', result });
      return result;
    }
    plan = planned.plan;
  }
  return runPlan(plan, {
    app: request.app,
    regions,
    policy: environment.policy,
    actor: request.actor,
    reporter: options.reporter,
    observed,
    compensate: planCompensation,
    cursor,
    saveCursor: options.saveCursor,
    guard: options.guard,
    fence: options.fence,
    signal: options.signal,
    retryHeld: options.retryHeld,
    now,
  });
}

/** The version a recorded traffic plan moves to (a rollback's target is only in its steps). */
function planVersion(cursor: RunCursor): string | null {
  for (const step of cursor.forwardSteps) {
    if (step.kind === 'switch' || step.kind === 'verify' || step.kind === 'precheck') return step.kind === 'switch' ? step.to : step.version;
  }
  return null;
}

/**
 * The result of a job a newer release superseded before it could run again: nothing is touched;
 * each region's line says what its live Service says now.
 */
export async function supersededResult(request: ReleaseRequest, environment: ReleaseEnvironment, reason: string): Promise<ReleaseResult> {
  const names = environment.regions.map((r) => r.name);
  const after = await observeAfter(names, { app: request.app, regions: new Map(environment.regions.map(({ name, target }) => [name, target])) });
  const result = refusedResult(request, environment, [reason]);
  result.outcome = 'superseded';
  result.regions = names.map((region) => ({ ...notStarted(region), after: after.get(region) }));
  return result;
}

export function refusedResult(request: ReleaseRequest, environment: ReleaseEnvironment, reasons: string[], totalMs = 0): ReleaseResult {
  return {
    outcome: 'refused',
    action: request.action,
    app: request.app.name,
    environment: environment.name,
    version: request.version,
    regions: [],
    reasons,
    split: false,
    compensation: null,
    totalMs,
  };
}
