import { planDigest } from '../src/core/approval.js';
import { planRelease } from '../src/release/release.js';
import type { Preparation, PreparedRun } from './run-release-job.js';

/**
 * A request approved in Slack carries the digest of the plan its approvers saw: before its first
 * step it runs only if the plan made from this attempt's observation is that plan, and then runs
 * exactly that plan. A resumed run reconciles its recorded plan instead (the runner does).
 */
export async function approvedPlan(run: PreparedRun): Promise<Preparation> {
  const digest = run.payload.planDigest;
  if (!digest || run.cursor) return {};
  const planned = planRelease(run.request, run.env, run.observed, run.context.now?.() ?? new Date(), run.inUse);
  if (!planned.ok) return {};
  if (planDigest(planned.plan) !== digest) {
    return { refusal: ['the plan changed since it was approved (the cluster is no longer as the approvers saw it): ask again'] };
  }
  return { plan: planned.plan };
}
