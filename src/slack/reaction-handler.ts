import { findEnvironment } from '../config/index.js';
import { reactionDecision, reactionName } from '../core/approval.js';
import type { MessageRef } from '../queue/approvals.js';
import { handleDecision } from './approval-decisions.js';
import { errorMessage } from './blocks.js';
import { approvalPolicy, bestEffort, type SlackContext } from './slack-context.js';
import { rootMemoKey } from './thread-reporter.js';

/**
 * Reactions on approval requests: the second way to decide, next to the buttons. Each event is
 * handled once (Slack re-delivers, and may deliver to two replicas at once), turned into a
 * decision and handed to the one approval state machine.
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

export async function handleReaction(slack: SlackContext, input: ReactionInput): Promise<void> {
  if (!(await slack.memo.claimEvent(input.eventId))) return;
  try {
    await handleOnce(slack, input);
  } catch (error) {
    await slack.memo.releaseEvent(input.eventId).catch(() => undefined);
    throw error;
  }
}

async function handleOnce(slack: SlackContext, input: ReactionInput): Promise<void> {
  const record = await slack.approvals.byMessage(input.item);
  if (!record) return answerUnknown(slack, input);
  const environment = findEnvironment(slack.config, record.request.environment);
  if (!environment) return;
  const decision = reactionDecision({ user: input.user, reaction: input.reaction, removed: input.removed, at: slack.now() }, approvalPolicy(environment, record.request.action));
  if (decision === null) return;
  await handleDecision(slack, { ref: input.item, decision });
}

/**
 * An approve or reject reaction on a bot message with no stored request: Redis lost it (or it
 * was never one). Say so once per user and message, so nobody waits for a release that will not run.
 */
async function answerUnknown(slack: SlackContext, input: ReactionInput): Promise<void> {
  if (input.removed || input.botUserId === undefined || input.itemUser !== input.botUserId) return;
  const name = reactionName(input.reaction);
  const gating = Object.values(slack.config.environments).some((env) => env.slack.approvals.approveReaction === name || env.slack.approvals.rejectReaction === name);
  if (!gating) return;
  const ours = await slack.memo.recall(rootMemoKey({ channel: input.item.channel, threadTs: input.item.ts }));
  if (ours !== null || !(await slack.memo.claimOnce(`unknown:${input.item.channel}:${input.item.ts}:${input.user}`, 24 * 60 * 60))) return;
  await bestEffort(slack, 'ephemeral reply', () => slack.client.chat.postEphemeral({ channel: input.item.channel, user: input.user, ...errorMessage(unknownRequestText) }));
}

export const unknownRequestText =
  'There is no pending approval request for that message (it may have been lost or already handled), so this does nothing. Ask again with the same /release command.';
