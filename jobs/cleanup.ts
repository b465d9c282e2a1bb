import type { Job } from 'bullmq';
import type { ReleaseResult } from '../src/core/events.js';
import { leaseForDeletion } from '../src/core/exclusion.js';
import { planDigest } from '../src/core/approval.js';
import type { Plan, Step } from '../src/core/plan.js';
import { acquireLease, LeaseKeeper } from '../src/queue/lease.js';
import { leaseKey } from '../src/queue/names.js';
import { releaseLeaseAndWake, waitingMessage } from '../src/queue/wait-for-lease.js';
import { observeTraffic, planRelease } from '../src/release/release.js';
import { checkApproval } from './job-gate.js';
import { runReleaseJob, type JobContext, type Preparation, type PreparedRun } from './run-release-job.js';

/** Delete the versions retention lets go: never live, rollback target, in use or being installed. */
export function processCleanup(job: Job, token: string | undefined, context: JobContext): Promise<ReleaseResult> {
  return runReleaseJob(job, token, context, { kind: 'cleanup', version: () => null, prepare: approvedCleanup });
}

/** A gated cleanup runs only under its approval (job-gate.ts), then leases what it deletes. */
async function approvedCleanup(run: PreparedRun): Promise<Preparation> {
  const checked = await checkApproval(run);
  return 'refusal' in checked ? checked : leaseVersionsToDelete(run);
}

/**
 * Plan the cleanup from this attempt's observation (a resumed cleanup plans again, so a version
 * that became live or the rollback target meanwhile is kept), then take the install lease of every
 * version the plan deletes, so no install of that version runs meanwhile; a version whose install
 * lease is busy is kept this time, with a note saying why. A drain-aware cleanup reads every
 * version's recent traffic with the observation, and keeps what still serves sessions.
 */
export async function leaseVersionsToDelete(run: PreparedRun): Promise<Preparation> {
  const { context, request, env, payload, holder, ttlMs } = run;
  const traffic = await observeTraffic(env, request.app, run.observed);
  const planned = planRelease(request, env, run.observed, context.now?.() ?? new Date(), run.inUse, traffic);
  if (!planned.ok) return {};
  const approved = approvedDeletions(run, planned.plan);
  if ('refusal' in approved) return approved;
  const plan: Plan = approved.plan;

  const keepers = new Map<string, LeaseKeeper>();
  const busy = new Map<string, string>();
  for (const version of new Set(plan.steps.flatMap((s) => (s.kind === 'delete-version' ? [s.version] : [])))) {
    const key = leaseKey(context.prefix, leaseForDeletion(payload.app, payload.environment, version));
    const got = await acquireLease(context.redis, key, holder, ttlMs, `cleanup deleting ${payload.app} ${version} in ${payload.environment}`);
    if ('token' in got) keepers.set(version, new LeaseKeeper(context.redis, key, holder, got.token, ttlMs).start());
    else busy.set(version, waitingMessage(got));
  }
  const keep = (step: Step): boolean => step.kind !== 'delete-version' || keepers.has(step.version);
  const notes = [...busy].map(([version, message]) => `keeping ${version} this time: it is being installed (${message.replace(/^waiting for /, '')})`);

  const releaseLeases = async (): Promise<void> => {
    for (const keeper of keepers.values()) {
      await keeper.stop({ release: false });
      await releaseLeaseAndWake(context.queue, context.redis, keeper.key, keeper.holder, keeper.token).catch(() => false);
    }
  };
  const guard = (): void => {
    for (const keeper of keepers.values()) keeper.assertHeld();
  };
  return { plan: { ...plan, steps: plan.steps.filter(keep), notes: [...plan.notes, ...notes] }, guard, releaseLeases };
}

/**
 * An approved cleanup deletes only what its approvers saw: on its first attempt the plan made now
 * must be the approved plan (digest); a later attempt plans again (a version may have become live
 * or the rollback target meanwhile) and keeps only deletions the first plan had.
 */
function approvedDeletions(run: PreparedRun, plan: Plan): { plan: Plan } | { refusal: string[] } {
  // Approved through an approval record (checked by checkApproval) or carrying the digest of the plan it may run.
  const digest = run.payload.planDigest;
  if (!digest && run.payload.approvalId === undefined) return { plan };
  if (!run.cursor) {
    if (digest && planDigest(plan) !== digest) return { refusal: ['the cleanup plan changed since it was approved (other versions would be deleted now): ask again'] };
    return { plan };
  }
  const approved = new Set(run.cursor.forwardSteps.flatMap((s) => (s.kind === 'delete-version' ? [`${s.region}/${s.version}`] : [])));
  const steps = plan.steps.filter((s) => s.kind !== 'delete-version' || approved.has(`${s.region}/${s.version}`));
  const dropped = plan.steps.length - steps.length;
  return { plan: { ...plan, steps, notes: dropped > 0 ? [...plan.notes, `${dropped} deletion(s) not in the approved plan left out`] : plan.notes } };
}
