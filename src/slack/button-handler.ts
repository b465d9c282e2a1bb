import { handleDecision } from './approval-decisions.js';
import { approveActionId, errorMessage } from './blocks.js';
import { unknownRequestText } from './reaction-handler.js';
import { bestEffort, type SlackContext } from './slack-context.js';

/**
 * Approve and Reject presses on a request message (`block_actions`): the first way to decide,
 * Slack's convention for approvals; Approve asks for confirmation in a dialog first. Both go to
 * the same state machine as reactions. A press is answered visibly when it does not count.
 */

export interface ButtonInput {
  actionId: string;
  user: string;
  channel: string | undefined;
  messageTs: string | undefined;
  /** Unique per press: a re-sent payload is handled once. */
  actionTs: string;
}

export async function handleButton(slack: SlackContext, input: ButtonInput): Promise<void> {
  const { channel, messageTs, user } = input;
  if (channel === undefined || messageTs === undefined) return;
  if (!(await slack.memo.claimOnce(`action:${channel}:${messageTs}:${user}:${input.actionTs}`, 24 * 60 * 60))) return;
  const kind = input.actionId === approveActionId ? 'approve' : 'reject';
  const handled = await handleDecision(slack, { ref: { channel, ts: messageTs }, decision: { user, kind, via: 'button', at: slack.now() } });
  if (!handled) await bestEffort(slack, 'ephemeral reply', () => slack.client.chat.postEphemeral({ channel, user, ...errorMessage(unknownRequestText) }));
}
