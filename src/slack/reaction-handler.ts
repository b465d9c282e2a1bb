import { findEnvironment } from '../config/index.js';
import { applyReaction, expire, markUsed, planDigest, stillValid, supersede, type ApprovalRequest } from '../core/approval.js';
import { mention } from '../core/authorization.js';
import { logger, withRequestContext } from '../observability/log.js';
import { approvalsTotal } from '../observability/metrics.js';
import type { AuditEntry, AuditKind } from '../queue/audit.js';
import type { ApprovalRecord, MessageRef } from './approval-gate.js';
import { approvalRequestMessage, approvalStateMessage, errorMessage } from './blocks.js';
import { enqueue, requestApproval } from './command-handler.js';
import { errorText } from './ports.js';
import { approvalPolicy, audit, bestEffort, environmentOf, postMessage, type SlackServices } from './services.js';
import { rootMemoKey } from './thread-reporter.js';
import { refusalMessage } from './thread-root.js';
import { explainGroupProblems } from './usergroup-cache.js';
import { escapeText } from './mrkdwn.js';

/**
 * Reactions on approval requests, and what follows the last approval: re-plan, compare the plan
 * digest, then enqueue once (or supersede and ask again when the live state changed).
 */

export interface ReactionInput {
  eventId: string;
  user: string;
  reaction: string;
  removed: boolean;
  item: MessageRef;
  /** Author of the reacted message. */
  itemUser: string | undefined;
  botUserId: string | undefined;
}

export async function handleReaction(services: SlackServices, input: ReactionInput): Promise<void> {
  if (!(await services.gate.claimEvent(input.eventId))) return;
  try {
    await handleOnce(services, input);
  } catch (error) {
    await services.gate.releaseEvent(input.eventId).catch(() => undefined);
    throw error;
  }
}

async function handleOnce(services: SlackServices, input: ReactionInput): Promise<void> {
  const stored = await services.gate.get(input.item);
  if (!stored) return answerUnknown(services, input);
  // The approval id is the request id of the job it leads to.
  return withRequestContext({ requestId: stored.request.id, app: stored.request.app, environment: stored.request.environment }, () => react(services, input, stored));
}

async function react(services: SlackServices, input: ReactionInput, stored: ApprovalRecord): Promise<void> {
  const environment = findEnvironment(services.config, stored.request.environment);
  if (!environment) return;
  const policy = approvalPolicy(environment, stored.request.action);
  const groupMembers = await services.groups.resolve(policy.approvers.usergroups);
  let reply: string | undefined;
  let effect = '';
  const transition = await services.gate.update(input.item, (record) => {
    const outcome = applyReaction(record.request, { user: input.user, reaction: input.reaction, removed: input.removed, at: services.now() }, policy, groupMembers);
    reply = outcome.reply;
    effect = outcome.effect;
    return outcome.request === record.request ? record : { ...record, request: outcome.request };
  });
  if (!transition) return;
  const { before, after } = transition;
  if (reply !== undefined) {
    const groups = effect === 'ignored-not-approver' ? explainGroupProblems(services.groups.problems(policy.approvers.usergroups), environment.name, 'approvers') : null;
    await tellReactor(services, input, before.request, `${reply}${groups ? ` ${groups}` : ''}`);
  }
  if (after === before) return;
  if (after.request.state === 'pending') {
    if (after.request.approvers.length !== before.request.approvers.length) await showRequest(services, after);
    return;
  }
  if (before.request.state !== 'pending') return;
  await decided(services, after, input.user);
  if (effect === 'approved') await runApproved(services, after);
}

/**
 * A refusal the reacting user must see. Not an ephemeral in the request's thread: Slack shows
 * those "only if there is already an active thread" (chat.postEphemeral, `thread_ts`), and a
 * pending request's thread has no replies. The request is a top-level message, so the person who
 * reacted is looking at the channel: an ephemeral there reaches them, only them, and names the
 * request. If they are not in the channel (user_not_in_channel), a thread reply mentions them.
 */
async function tellReactor(services: SlackServices, input: ReactionInput, request: ApprovalRequest, reply: string): Promise<void> {
  const what = `${request.action} ${request.app}${request.version ? ` ${request.version}` : ''} in ${request.environment}`;
  const text = `On the approval request for *${escapeText(what)}*: ${reply}`;
  try {
    await services.client.chat.postEphemeral({ channel: input.item.channel, user: input.user, ...refusalMessage(text) });
  } catch (error) {
    const code = (error as { data?: { error?: unknown } }).data?.error;
    if (code !== 'user_not_in_channel') {
      services.log.warn(`ephemeral reply to ${input.user}: ${errorText(error)}`);
      return;
    }
    await bestEffort(services, 'thread reply', () => postMessage(services, { channel: input.item.channel, thread_ts: input.item.ts, ...refusalMessage(`${mention(input.user)}: ${reply}`) }));
  }
}

/** A request left `pending`: update its message and write the audit entry. */
async function decided(services: SlackServices, record: ApprovalRecord, actor: string | undefined): Promise<void> {
  await showState(services, record);
  const kinds: Partial<Record<ApprovalRequest['state'], AuditKind>> = { approved: 'approved', rejected: 'rejected', expired: 'expired' };
  const kind = kinds[record.request.state];
  if (kind === undefined) return;
  approvalsTotal.inc({ outcome: kind });
  logger().info({ requestId: record.request.id, outcome: kind, by: actor ?? null }, `approval ${kind}`);
  const by = kind === 'approved' ? actor : kind === 'rejected' ? record.request.rejectedBy : undefined;
  await audit(services, auditEntry(record.request, kind, services.now(), by, kind === 'approved' ? `approved by ${record.request.approvers.join(', ')}` : undefined));
}

/**
 * The last approval arrived: plan again now, and run only the plan that was approved. A changed
 * plan supersedes the request and asks again; the approval is used once.
 */
async function runApproved(services: SlackServices, record: ApprovalRecord): Promise<void> {
  const { request } = record;
  const environment = environmentOf(services, request.environment);
  const thread = (text: string) =>
    bestEffort(services, 'thread reply', () => postMessage(services, { channel: record.channel, thread_ts: record.ts, ...errorMessage(text) }));
  let planned;
  try {
    planned = await services.reader.preview({ action: request.action, app: request.app, environment: request.environment, version: request.version, actor: request.requester });
  } catch (error) {
    await closeAsSuperseded(services, record);
    await thread(`Could not read the clusters to check the plan again (${errorText(error)}), so nothing ran. Ask again with the same command.`);
    return;
  }
  if (!planned.ok) {
    await closeAsSuperseded(services, record);
    await thread(`The live state changed and this can no longer run: ${planned.reasons.join('; ')}. Nothing ran.`);
    return;
  }
  const verdict = stillValid(request, planDigest(planned.plan));
  if (verdict === 'not-approved') return;
  if (verdict === 'ask-again') {
    if (!(await closeAsSuperseded(services, record))) return;
    const ts = await requestApproval(services, {
      command: { app: request.app, environment: request.environment, version: request.version },
      action: request.action,
      plan: planned.plan,
      environment,
      requester: request.requester,
      channel: record.channel,
      detail: `asked again: the plan changed after ${request.id} was approved`,
    });
    const where = ts ? ' A new approval request is posted in the channel.' : '';
    await thread(`The live state changed since this was asked, so the plan is different now; this approval does not cover it and nothing ran.${where}`);
    return;
  }

  // The message says "started" before the job exists, so the job's final root update always comes
  // after it. The stored state becomes `used` only once enqueued: the approval id is the request id,
  // so a repeat enqueues nothing.
  await showState(services, { ...record, request: markUsed(request, services.now()) });
  try {
    await enqueue(
      services,
      request.action,
      {
        requestId: request.id,
        app: request.app,
        environment: request.environment,
        requestedBy: request.requester,
        approvedBy: request.approvers,
        source: 'slack',
        slack: { channel: record.channel, threadTs: record.ts },
        planDigest: request.planDigest,
      },
      request.version,
    );
  } catch (error) {
    await showState(services, record);
    await thread(`Approved, but it could not be queued: ${errorText(error)}. Nothing ran; ask again with the same command.`);
    throw error;
  }
  await services.gate.update(record, (current) => (current.request.state === 'approved' ? { ...current, request: markUsed(current.request, services.now()) } : current));
}

async function closeAsSuperseded(services: SlackServices, record: ApprovalRecord): Promise<boolean> {
  const transition = await services.gate.update(record, (current) => {
    const next = supersede(current.request, services.now());
    return next === current.request ? current : { ...current, request: next };
  });
  if (!transition || transition.after === transition.before) return false;
  approvalsTotal.inc({ outcome: 'superseded' });
  logger().info({ requestId: record.request.id, outcome: 'superseded' }, 'approval superseded');
  await showState(services, transition.after);
  return true;
}

/** Expire pending requests past their time: update their messages and audit. Returns how many. */
export async function sweepExpired(services: SlackServices): Promise<number> {
  const now = services.now();
  let count = 0;
  for (const ref of await services.gate.due(now)) {
    const transition = await services.gate.update(ref, (record) => {
      const next = expire(record.request, now);
      return next === record.request ? record : { ...record, request: next };
    });
    if (!transition || transition.after === transition.before) continue;
    count++;
    await decided(services, transition.after, undefined);
  }
  return count;
}

async function showRequest(services: SlackServices, record: ApprovalRecord): Promise<void> {
  const environment = findEnvironment(services.config, record.request.environment);
  if (!environment) return;
  const rendered = approvalRequestMessage(record.request, record.planText, approvalPolicy(environment, record.request.action));
  await bestEffort(services, 'update approval request', () => services.client.chat.update({ channel: record.channel, ts: record.ts, ...rendered }));
}

async function showState(services: SlackServices, record: ApprovalRecord): Promise<void> {
  const rendered = approvalStateMessage(record.request, { planText: record.planText });
  await bestEffort(services, 'update approval request', () => services.client.chat.update({ channel: record.channel, ts: record.ts, ...rendered }));
}

/**
 * An approve or reject reaction on a bot message with no stored request: Redis lost it (or it
 * was never one). Say so once per user and message, so nobody waits for a release that will not run.
 */
async function answerUnknown(services: SlackServices, input: ReactionInput): Promise<void> {
  if (input.removed || input.botUserId === undefined || input.itemUser !== input.botUserId) return;
  const name = input.reaction.split('::')[0] ?? '';
  const gating = Object.values(services.config.environments).some((env) => env.slack.approvals.approveReaction === name || env.slack.approvals.rejectReaction === name);
  if (!gating) return;
  const ours = await services.gate.recall(rootMemoKey({ channel: input.item.channel, threadTs: input.item.ts }));
  if (ours !== null || !(await services.gate.claimOnce(`unknown:${input.item.channel}:${input.item.ts}:${input.user}`, 24 * 60 * 60))) return;
  await bestEffort(services, 'ephemeral reply', () =>
    services.client.chat.postEphemeral({
      channel: input.item.channel,
      user: input.user,
      ...errorMessage('There is no pending approval request for that message (it may have been lost or already handled), so this reaction does nothing. Ask again with the same /release command.'),
    }),
  );
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
