import type { ReleaseResult, Reporter } from '../core/events.js';
import type { AppSpec, RegionState } from '../core/model.js';
import { planBootstrap } from '../core/plan-bootstrap.js';
import { planCompensation } from '../core/plan-compensation.js';
import { planDeploy } from '../core/plan-deploy.js';
import { planPromotion } from '../core/plan-promotion.js';
import { planRollback } from '../core/plan-rollback.js';
import type { Action, Plan, PlanResult } from '../core/plan.js';
import type { PlanPolicy } from '../core/policy.js';
import { planCleanup } from '../core/retention.js';
import { runPlan, type RegionTarget, type RunCursor, type RunnerPolicy } from './runner.js';

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
  fence?: string | undefined;
  signal?: AbortSignal | undefined;
  /** Versions that running jobs are installing or promoting: cleanup keeps them. */
  inUse?: readonly string[] | undefined;
  /** Run this plan (already observed and checked by the caller) instead of planning again. */
  plan?: Plan | undefined;
  /** A hold at an unreachable region throws RunHeld so the job is retried (see RunOptions). */
  retryHeld?: boolean | undefined;
  now?: () => Date;
}

/** Read every region of the environment at once. */
export async function observeEnvironment(environment: ReleaseEnvironment, app: AppSpec): Promise<RegionState[]> {
  return Promise.all(environment.regions.map(({ target }) => target.cluster.observe(app)));
}

/** Pure choice of the plan for a request, given what was observed. */
export function planRelease(request: ReleaseRequest, environment: ReleaseEnvironment, states: readonly RegionState[], now: Date, inUse: readonly string[] = []): PlanResult {
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
      return planCleanup(states, base, policy, now, inUse);
  }
}

/** Observe and plan, without changing anything: the dry run. */
export async function previewRelease(request: ReleaseRequest, environment: ReleaseEnvironment, options: { now?: () => Date; inUse?: readonly string[] } = {}): Promise<PlanResult> {
  const states = await observeEnvironment(environment, request.app);
  return planRelease(request, environment, states, (options.now ?? (() => new Date()))(), options.inUse ?? []);
}

/**
 * Observe, plan and run a release. A resumed job (cursor given) continues its recorded plan
 * instead of planning again: after a crash the cluster already reflects the steps done, and a
 * fresh plan would not know which regions this job switched.
 */
export async function executeRelease(request: ReleaseRequest, environment: ReleaseEnvironment, options: ExecuteOptions): Promise<ReleaseResult> {
  const now = options.now ?? (() => new Date());
  const regions = new Map(environment.regions.map(({ name, target }) => [name, target]));
  let plan: Plan;
  if (options.cursor) {
    plan = {
      action: request.action,
      app: request.app.name,
      environment: environment.name,
      version: request.version,
      regions: environment.regions.map((r) => r.name),
      steps: options.cursor.forwardSteps,
      notes: [`resumed after step ${options.cursor.completed} of the ${options.cursor.phase} phase`],
    };
  } else if (options.plan) {
    plan = options.plan;
  } else {
    const started = performance.now();
    const planned = await previewRelease(request, environment, { now, inUse: options.inUse ?? [] });
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
    compensate: planCompensation,
    cursor: options.cursor,
    saveCursor: options.saveCursor,
    guard: options.guard,
    fence: options.fence,
    signal: options.signal,
    retryHeld: options.retryHeld,
    now,
  });
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
