import { randomBytes } from 'node:crypto';
import type { EnvironmentConfig } from '../config/index.js';
import { openApproval, planDigest, type ApprovalOrigin } from '../core/approval.js';
import type { Action, Plan } from '../core/plan.js';
import { renderPlan } from '../core/render-plan.js';
import { currentRequestContext, logger } from '../observability/log.js';
import { approvalsTotal } from '../observability/metrics.js';
import type { ApprovalRecord } from '../queue/approvals.js';
import { approvalRequestMessage, fullPlanMessages } from './blocks.js';
import { approvalPolicy, audit, bestEffort, postMessage, type SlackPosting } from './slack-context.js';

/**
 * The approval request: posted in the channel (it becomes the thread root), with buttons and
 * message metadata, then stored for the bot, the CLI and the workers. The same for a Slack user's
 * command and for `cutover ... --queue --request-approval` (origin `cli`).
 */

export interface ApprovalAsk {
  app: string;
  version: string | null;
  action: Action;
  plan: Plan;
  environment: EnvironmentConfig;
  requester: string;
  channel: string;
  origin?: ApprovalOrigin;
  /** Break glass: why this request overrides a freeze. */
  override?: string;
}

export type PostedApproval = { ok: true; record: ApprovalRecord } | { ok: false; error: unknown };

export async function postApprovalRequest(slack: SlackPosting, ask: ApprovalAsk): Promise<PostedApproval> {
  const approvals = ask.environment.slack.approvals;
  const now = slack.now();
  const request = openApproval(
    {
      id: `apr-${ask.app}-${now.toString(36)}-${randomBytes(4).toString('hex')}`,
      app: ask.app,
      environment: ask.environment.name,
      action: ask.action,
      version: ask.version,
      planDigest: planDigest(ask.plan),
      requester: ask.requester,
      now,
      ...(ask.origin ? { origin: ask.origin } : {}),
      ...(ask.override ? { override: ask.override } : {}),
    },
    approvals,
  );
  const planText = renderPlan(ask.plan);
  const rendered = approvalRequestMessage(request, planText, approvalPolicy(ask.environment, ask.action));
  let ts: string | undefined;
  try {
    ts = (await postMessage(slack, { channel: ask.channel, ...rendered })).ts;
  } catch (error) {
    return { ok: false, error };
  }
  if (ts === undefined) return { ok: false, error: new Error('Slack answered without a message ts') };
  const record: ApprovalRecord = { request, channel: ask.channel, ts, planText };
  await slack.approvals.create(record);
  for (const part of fullPlanMessages(planText)) {
    await bestEffort(slack, 'full plan in the thread', () => postMessage(slack, { channel: ask.channel, thread_ts: ts, ...part }));
  }
  approvalsTotal.inc({ outcome: 'requested' });
  // From here on the approval id is the request id: the job it leads to carries it.
  logger().info(
    { requestId: request.id, commandRequestId: currentRequestContext()?.requestId, app: request.app, environment: request.environment, action: request.action, origin: request.origin.via },
    'approval requested',
  );
  const from = request.origin.via === 'cli' ? `; from the CLI${request.origin.runUrl ? ` (${request.origin.runUrl})` : ''}` : '';
  await audit(slack, {
    at: new Date(request.createdAt).toISOString(),
    kind: 'requested',
    app: request.app,
    environment: request.environment,
    ...(request.version ? { version: request.version } : {}),
    actor: request.requester,
    requestId: request.id,
    detail: `${request.action}, needs ${request.requiredApprovals} approval(s)${from}`,
  });
  return { ok: true, record };
}
