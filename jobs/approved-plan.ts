import { planDigest } from '../src/core/approval.js';
import { previewRelease } from '../src/release/release.js';
import type { Preparation, PreparedRun } from './run-release-job.js';

/**
 * A request approved in Slack carries the digest of the plan its approvers saw: it runs only if
 * the plan computed now is that plan, and then runs exactly that plan.
 */
export async function approvedPlan(run: PreparedRun): Promise<Preparation> {
  const release = async (): Promise<void> => undefined;
  const digest = run.payload.planDigest;
  if (!digest || run.cursor) return { release };
  const planned = await previewRelease(run.request, run.env, { inUse: run.inUse, ...(run.context.now ? { now: run.context.now } : {}) });
  if (!planned.ok) return { release };
  if (planDigest(planned.plan) !== digest) {
    return { release, refusal: ['the plan changed since it was approved (the cluster is no longer as the approvers saw it): ask again'] };
  }
  return { release, plan: planned.plan };
}
