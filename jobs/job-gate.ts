import { accessFor, findEnvironment } from '../src/config/index.js';
import { approvalRefusals, howToAsk, isGated, markUsed, planDigest, supersede, type ApprovalUse } from '../src/core/approval.js';
import type { Plan } from '../src/core/plan.js';
import { logger } from '../src/observability/log.js';
import { ApprovalStore } from '../src/queue/approvals.js';
import { observeTraffic, planRelease } from '../src/release/release.js';
import { freezeCheck } from './freeze-check.js';
import type { Preparation, PreparedRun } from './run-release-job.js';

/**
 * The gate where the change happens: every job kind's preparation starts here, gated or not
 * (an ungated deploy or rollback passes it with only the freeze check), whatever enqueued the job (Slack, `cutover --queue`, anything that can write to Redis). An action the
 * environment gates (`slack.approvals.gated`, or deploy and promote when `protected`) runs only
 * under its approval: the job's id is the approval id, and the stored request is approved, by
 * enough distinct approvers other than the requester, each allowed when confirmed, before its
 * expiry, not used by another run; and the plan made from this attempt's one observation has the
 * approved digest. Freezes are checked before all of it. Then it is marked used by this run (compare-and-set, so two runs can never
 * both claim it) and exactly that plan runs. A resumed run holds the approval already and
 * reconciles its recorded plan instead (the runner does).
 */
export async function passJobGate(run: PreparedRun): Promise<Preparation> {
  // Freezes first: a job queued before a freeze began does not slip through (freeze-check.ts).
  const frozen = await freezeCheck(run);
  if (frozen) return { refusal: frozen };
  const checked = await checkApproval(run);
  if ('refusal' in checked) return checked;
  return checked.plan ? { plan: checked.plan } : {};
}

export async function checkApproval(run: PreparedRun): Promise<{ refusal: string[] } | { plan?: Plan }> {
  const { payload, context, job, request } = run;
  const kind = request.action;
  const environment = findEnvironment(context.config, payload.environment);
  const target = { action: kind, app: payload.app, version: request.version, environment: payload.environment };
  const what = `${kind} ${payload.app}${request.version ? ` ${request.version}` : ''} in ${payload.environment}`;
  const approvalId = payload.approvalId;
  if (approvalId === undefined) {
    if (!environment || !isGated(kind, environment.slack.approvals)) return {};
    return { refusal: [`${what} needs an approval, and this job carries none: ${howToAsk(target)}. Nothing was changed`] };
  }
  const refuse = (why: string): { refusal: string[] } => ({ refusal: [`approval ${approvalId} does not allow this run: ${why}. Nothing was changed; ${howToAsk(target)}`] });
  if (!environment) return refuse(`unknown environment ${payload.environment}`);
  if (job.id !== approvalId) return refuse(`an approved job's id is its approval id, and this job is ${job.id ?? 'without an id'}`);

  const store = new ApprovalStore(context.redis, context.prefix);
  const record = await store.get(approvalId);
  if (!record) return refuse('no such approval request is stored (expired from Redis, or never made)');
  const use: ApprovalUse = { ...target, requester: payload.requestedBy, usedBy: `${job.id}@${job.timestamp}` };
  const policy = { required: environment.slack.approvals.required, approvers: accessFor(environment, kind).approvers };
  const reasons = approvalRefusals(record.request, use, policy);
  if (reasons.length > 0) return refuse(reasons.join('; '));

  let plan: Plan | undefined;
  if (!run.cursor) {
    // A cleanup's plan depends on each version's recent traffic (retention.idle), as the approvers saw it.
    const traffic = kind === 'cleanup' ? await observeTraffic(run.env, request.app, run.observed) : undefined;
    const planned = planRelease(request, run.env, run.observed, context.now?.() ?? new Date(), run.inUse, traffic);
    // Nothing to run (e.g. the version is gone): the runner refuses with its own reasons, and the approval stays unused.
    if (!planned.ok) return {};
    if (planDigest(planned.plan) !== record.request.planDigest) {
      await store.update(approvalId, (current) => {
        const next = supersede(current.request, (context.now?.() ?? new Date()).getTime());
        return next === current.request ? current : { ...current, request: next };
      });
      return refuse('the plan changed since it was approved (the clusters are no longer as the approvers saw them), so this approval is superseded');
    }
    plan = planned.plan;
  }

  // Used by this run, in one compare-and-set with the checks, right before the first step.
  const claimed = await store.update(approvalId, (current) => {
    if (approvalRefusals(current.request, use, policy).length > 0) return current;
    const next = markUsed(current.request, use.usedBy);
    return next === current.request ? current : { ...current, request: next };
  });
  const after = claimed?.after.request;
  if (after?.state !== 'used' || after.usedBy !== use.usedBy) {
    return refuse(after ? (approvalRefusals(after, use, policy).join('; ') || `it is ${after.state}`) : 'it disappeared while it was being claimed');
  }
  logger().info({ approvalId, usedBy: use.usedBy, approvedBy: after.votes.map((v) => v.user) }, 'approval verified and used');
  return plan ? { plan } : {};
}
