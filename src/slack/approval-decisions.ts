import { findEnvironment } from '../config/index.js';
import {
  approverIds,
  confirm,
  decide,
  decidingCheckMaxAgeMs,
  expire,
  reactionName,
  type ApprovalPolicy,
  type ApprovalRequest,
  type Decision,
  type DecidingEvidence,
  type DecisionEffect,
} from '../core/approval.js';
import { mention } from '../core/authorization.js';
import { logger, withRequestContext } from '../observability/log.js';
import { approvalsTotal } from '../observability/metrics.js';
import { enqueueApproved, sweepApprovalOutbox } from '../queue/approval-job.js';
import type { ApprovalRecord, MessageRef, Transition } from '../queue/approvals.js';
import type { AuditEntry, AuditKind } from '../queue/audit.js';
import { approvalRequestMessage, approvalStateMessage } from './blocks.js';
import { escapeText } from './mrkdwn.js';
import { errorText } from './ports.js';
import { approvalPolicy, audit, bestEffort, postMessage, type SlackContext } from './slack-context.js';
import { refusalMessage } from './thread-root.js';
import { explainGroupProblems } from './usergroup-cache.js';

/**
 * One state machine for approvals, fed by reactions and by button presses: apply the decision
 * (compare-and-set on the stored request), and when it brings enough votes run the deciding
 * check (the approving reactions still on the message, group membership asked afresh) before
 * approving. Approved: the request leaves `pending` and enters the outbox in one atomic step, the
 * message says so, the job is enqueued under the approval id, and the outbox entry is cleared;
 * the sweep completes any enqueue a crash or an outage interrupted. Nothing here plans again: the
 * worker checks the approved plan against its own observation.
 */

export interface DecisionInput {
  /** The request message the decision was made on. */
  ref: MessageRef;
  decision: Decision;
}

/** Handle one decision; false when the message holds no stored request. */
export async function handleDecision(slack: SlackContext, input: DecisionInput): Promise<boolean> {
  const stored = await slack.approvals.byMessage(input.ref);
  if (!stored) return false;
  // The approval id is the request id of the job it leads to.
  await withRequestContext({ requestId: stored.request.id, app: stored.request.app, environment: stored.request.environment }, () => decideOn(slack, stored, input.decision));
  return true;
}

async function decideOn(slack: SlackContext, stored: ApprovalRecord, decision: Decision): Promise<void> {
  const environment = findEnvironment(slack.config, stored.request.environment);
  if (!environment) return;
  const policy = approvalPolicy(environment, stored.request.action);
  const groupMembers = await slack.groups.resolve(policy.approvers.usergroups);
  const id = stored.request.id;

  let first: Transition | null = null;
  let last: Transition | null = null;
  // Written by the update's change function (it may run more than once on a conflict): the last run counts.
  const got: { reply?: string | undefined; effect: DecisionEffect | 'approved' | 'not-confirmed'; dropped: { user: string; why: string }[] } = { effect: 'counted', dropped: [] };
  let evidence: DecidingEvidence | null = null;
  let checkProblem: string | null = null;
  // Round 1 records the vote; when it brings enough votes, round 2 confirms them with the deciding check.
  for (let round = 0; round < 3; round++) {
    const transition = await slack.approvals.update(id, (record) => {
      const outcome = decide(record.request, decision, policy, groupMembers, policy);
      got.reply = outcome.reply;
      got.effect = outcome.effect;
      got.dropped = [];
      if (outcome.effect !== 'deciding' || !evidence) return outcome.request === record.request ? record : { ...record, request: outcome.request };
      const confirmation = confirm(outcome.request, evidence, policy);
      got.effect = confirmation.effect;
      got.dropped = confirmation.dropped;
      return confirmation.request === record.request ? record : { ...record, request: confirmation.request };
    });
    if (!transition) return;
    first ??= transition;
    last = transition;
    if (got.effect !== 'deciding' || evidence) break;
    try {
      evidence = await decidingEvidence(slack, transition.after, policy);
    } catch (error) {
      checkProblem = errorText(error);
      break;
    }
  }
  if (!first || !last) return;
  const before = first.before;
  const after = last.after;

  const { reply, effect, dropped } = got;
  const tell = (text: string) => tellUser(slack, after, decision.user, text);
  if (reply !== undefined) {
    const groups = effect === 'ignored-not-approver' ? explainGroupProblems(slack.groups.problems(policy.approvers.usergroups), environment.name, 'approvers') : null;
    await tell(`${reply}${groups ? ` ${groups}` : ''}`);
  }
  const mine = dropped.find((d) => d.user === decision.user);
  if (mine && mine.why.startsWith('not an approver')) await tell(`your approval does not count: ${mention(decision.user)} is ${mine.why}`);
  if (dropped.length > 0) logger().info({ requestId: id, dropped }, 'the deciding check did not confirm some votes');
  if (checkProblem !== null) {
    slack.log.warn(`approval ${id}: the deciding check could not run: ${checkProblem}`);
    await tell(`your approval is recorded, but Slack could not be asked whether the approvals still stand (${checkProblem}), so it is not approved yet: press Approve or react again in a moment`);
  }

  if (after === before) return;
  if (after.request.state === 'pending') {
    if (approverIds(after.request).join() !== approverIds(before.request).join()) await showRequest(slack, after);
    return;
  }
  if (before.request.state !== 'pending') return;
  await decided(slack, after, decision.user);
  if (after.request.state === 'approved') await enqueueNow(slack, after);
}

/** The deciding check: reactions on the message now, membership no older than 30 s. */
async function decidingEvidence(slack: SlackContext, record: ApprovalRecord, policy: ApprovalPolicy): Promise<DecidingEvidence> {
  let reactionsOnMessage: Set<string> | null = null;
  if (record.request.votes.some((v) => v.via === 'reaction')) {
    // full: without it Slack may cut the list of users who reacted (reactions.get reference).
    const answer = await slack.client.reactions.get({ channel: record.channel, timestamp: record.ts, full: true });
    const approve = reactionName(policy.approveReaction);
    reactionsOnMessage = new Set((answer.message?.reactions ?? []).filter((r) => reactionName(r.name ?? '') === approve).flatMap((r) => r.users ?? []));
  }
  const { members, checkedAt } = await slack.groups.resolveFresh(policy.approvers.usergroups, decidingCheckMaxAgeMs);
  return { at: slack.now(), reactionsOnMessage, groupMembers: members, membershipCheckedAt: checkedAt };
}

/**
 * The message says "approved, queued" before the job exists, so the job's final update of the
 * message always comes after it. Then the enqueue, then the outbox entry is cleared; a failure
 * here is completed by the sweep (the job id is the approval id, so repeating adds nothing).
 */
async function enqueueNow(slack: SlackContext, record: ApprovalRecord): Promise<void> {
  try {
    const enqueued = await enqueueApproved(slack.queue, slack.approvals, record);
    logger().info({ requestId: record.request.id, jobId: enqueued.jobId, deduplicated: enqueued.deduplicated }, 'approved release queued');
  } catch (error) {
    slack.log.warn(`approval ${record.request.id}: approved, but queueing its job failed (${errorText(error)}); the outbox sweep tries again`);
  }
}

/**
 * A visible answer to the one who decided: an ephemeral in the channel (a pending request's thread
 * has no replies, and Slack shows thread ephemerals only in active threads); to someone not in the
 * channel (user_not_in_channel), a thread reply that mentions them.
 */
export async function tellUser(slack: SlackContext, record: Pick<ApprovalRecord, 'channel' | 'ts' | 'request'>, user: string, reply: string): Promise<void> {
  const { request } = record;
  const what = `${request.action} ${request.app}${request.version ? ` ${request.version}` : ''} in ${request.environment}`;
  const text = `On the approval request for *${escapeText(what)}*: ${reply}`;
  try {
    await slack.client.chat.postEphemeral({ channel: record.channel, user, ...refusalMessage(text) });
  } catch (error) {
    const code = (error as { data?: { error?: unknown } }).data?.error;
    if (code !== 'user_not_in_channel') {
      slack.log.warn(`ephemeral reply to ${user}: ${errorText(error)}`);
      return;
    }
    await bestEffort(slack, 'thread reply', () => postMessage(slack, { channel: record.channel, thread_ts: record.ts, ...refusalMessage(`${mention(user)}: ${reply}`) }));
  }
}

/** A request left `pending`: update its message and write the audit entry. */
async function decided(slack: SlackContext, record: ApprovalRecord, actor: string | undefined): Promise<void> {
  await showState(slack, record);
  const kinds: Partial<Record<ApprovalRequest['state'], AuditKind>> = { approved: 'approved', rejected: 'rejected', expired: 'expired' };
  const kind = kinds[record.request.state];
  if (kind === undefined) return;
  approvalsTotal.inc({ outcome: kind });
  logger().info({ requestId: record.request.id, outcome: kind, by: actor ?? null }, `approval ${kind}`);
  const by = kind === 'approved' ? actor : kind === 'rejected' ? record.request.rejectedBy : undefined;
  const detail = kind === 'approved' ? `approved by ${record.request.votes.map((v) => `${v.user} (${v.via})`).join(', ')}` : undefined;
  await audit(slack, auditEntry(record.request, kind, slack.now(), by, detail));
}

export interface SweepResult {
  expired: number;
  /** Approved requests whose job the sweep queued (an interrupted enqueue completed). */
  queued: number;
}

/**
 * Expire pending requests past their time (update their messages, audit), and complete the
 * outbox: approved requests whose job was never confirmed queued are queued now.
 */
export async function sweepApprovals(slack: SlackContext): Promise<SweepResult> {
  const now = slack.now();
  let expired = 0;
  for (const id of await slack.approvals.due(now)) {
    const transition = await slack.approvals.update(id, (record) => {
      const next = expire(record.request, now);
      return next === record.request ? record : { ...record, request: next };
    });
    if (!transition || transition.after === transition.before) continue;
    expired++;
    await decided(slack, transition.after, undefined);
  }
  let queued = 0;
  const results = await sweepApprovalOutbox(slack.queue, slack.approvals, now, (record) => showState(slack, record));
  for (const result of results) {
    if (result.error !== undefined) slack.log.warn(`approval ${result.id}: the outbox sweep could not queue its job: ${errorText(result.error)}`);
    else if (result.enqueued && !result.enqueued.deduplicated) {
      queued++;
      logger().info({ requestId: result.id, jobId: result.enqueued.jobId }, 'approved release queued by the outbox sweep');
    }
  }
  return { expired, queued };
}

async function showRequest(slack: SlackContext, record: ApprovalRecord): Promise<void> {
  const environment = findEnvironment(slack.config, record.request.environment);
  if (!environment) return;
  const rendered = approvalRequestMessage(record.request, record.planText, approvalPolicy(environment, record.request.action));
  await bestEffort(slack, 'update approval request', () => slack.client.chat.update({ channel: record.channel, ts: record.ts, ...rendered }));
}

async function showState(slack: SlackContext, record: ApprovalRecord): Promise<void> {
  const rendered = approvalStateMessage(record.request, { planText: record.planText });
  await bestEffort(slack, 'update approval request', () => slack.client.chat.update({ channel: record.channel, ts: record.ts, ...rendered }));
}

function auditEntry(request: ApprovalRequest, kind: AuditKind, now: number, actor: string | undefined, detail?: string): AuditEntry {
  return {
    at: new Date(now).toISOString(),
    kind,
    app: request.app,
    environment: request.environment,
    ...(request.version ? { version: request.version } : {}),
    ...(actor ? { actor } : {}),
    requestId: request.id,
    detail: detail ?? request.action,
  };
}
