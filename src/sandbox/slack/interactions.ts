import { randomBytes } from 'node:crypto';
import { apiMessage, resolveChannel, type Workspace } from './methods.js';
import type { ResponseUrls } from './response-url.js';

/**
 * What Slack sends when a user presses a button in a message: a `block_actions` payload
 * (docs.slack.dev/reference/interaction-payloads/block_actions-payload): who pressed, the
 * container (channel and message ts), the message as it is now, a `response_url` and a
 * `trigger_id`, and the one action with its `action_id`, `block_id`, `value` and `action_ts`.
 * Over HTTP it is POSTed as a form with one field, `payload`, signed like every request; over
 * Socket Mode it is the payload of an `interactive` envelope.
 */
export interface ButtonPress {
  payload: Record<string, unknown>;
  /** The button's confirm dialog, when it has one: Slack shows it before anything is sent. */
  confirm?: Record<string, unknown>;
}

export function buttonPress(ws: Workspace, responseUrls: ResponseUrls, userId: string, channelId: string, ts: string, actionId: string): ButtonPress {
  const user = ws.users.get(userId);
  if (user === undefined) throw new Error(`stand-in: unknown user ${userId}`);
  const channel = resolveChannel(ws, channelId);
  const message = channel === undefined ? undefined : ws.recorder.findMessage(channel.id, ts);
  if (channel === undefined || message === undefined) throw new Error(`stand-in: no message ${ts} in ${channelId} to press a button on`);
  const found = findButton(message.blocks ?? [], actionId);
  if (found === undefined) throw new Error(`stand-in: message ${ts} has no button with action_id ${actionId} (a user can only press what the message shows)`);
  const { block, button } = found;
  const actionTs = ws.nextTs();
  const payload: Record<string, unknown> = {
    type: 'block_actions',
    user: { id: user.id, username: user.name, name: user.name, team_id: ws.team.id },
    api_app_id: ws.bot.appId,
    token: 'sandboxverificationtoken0',
    container: { type: 'message', message_ts: message.ts, channel_id: channel.id, is_ephemeral: false },
    trigger_id: `${Date.now()}.${Math.floor(Math.random() * 1e10)}.${randomBytes(16).toString('hex')}`,
    team: { id: ws.team.id, domain: ws.team.domain },
    enterprise: null,
    is_enterprise_install: false,
    channel: { id: channel.id, name: channel.name },
    message: apiMessage(ws, message),
    state: { values: {} },
    response_url: responseUrls.issue({ channel: channel.id, user: user.id }),
    actions: [
      {
        action_id: button.action_id,
        block_id: block.block_id,
        text: button.text,
        ...(button.value !== undefined ? { value: button.value } : {}),
        ...(button.style !== undefined ? { style: button.style } : {}),
        type: 'button',
        action_ts: actionTs,
      },
    ],
  };
  return { payload, ...(typeof button.confirm === 'object' && button.confirm !== null ? { confirm: button.confirm as Record<string, unknown> } : {}) };
}

/**
 * A press of a button on the user's Home tab (the view views.publish last set): a block_actions
 * payload whose container is the view (no channel, no message, no response_url). `value` picks
 * one of several buttons with the same action_id.
 */
export function homeButtonPress(ws: Workspace, userId: string, actionId: string, value?: string): ButtonPress {
  const user = ws.users.get(userId);
  if (user === undefined) throw new Error(`stand-in: unknown user ${userId}`);
  const home = ws.recorder.homeViews.get(userId);
  if (home === undefined) throw new Error(`stand-in: no Home tab was published for ${userId}`);
  const found = findButton((home.view.blocks as unknown[] | undefined) ?? [], actionId, value);
  if (found === undefined) throw new Error(`stand-in: the Home tab of ${userId} has no button ${actionId}${value ? ` with value ${value}` : ''}`);
  const { block, button } = found;
  const viewId = `V${userId.slice(1, 9)}HOME`;
  const payload: Record<string, unknown> = {
    type: 'block_actions',
    user: { id: user.id, username: user.name, name: user.name, team_id: ws.team.id },
    api_app_id: ws.bot.appId,
    token: 'sandboxverificationtoken0',
    container: { type: 'view', view_id: viewId },
    trigger_id: `${Date.now()}.${Math.floor(Math.random() * 1e10)}.${randomBytes(16).toString('hex')}`,
    team: { id: ws.team.id, domain: ws.team.domain },
    enterprise: null,
    is_enterprise_install: false,
    view: { id: viewId, team_id: ws.team.id, type: 'home', ...home.view },
    actions: [{ action_id: button.action_id, block_id: block.block_id, text: button.text, ...(button.value !== undefined ? { value: button.value } : {}), ...(button.style !== undefined ? { style: button.style } : {}), type: 'button', action_ts: ws.nextTs() }],
  };
  return { payload, ...(typeof button.confirm === 'object' && button.confirm !== null ? { confirm: button.confirm as Record<string, unknown> } : {}) };
}

interface Button {
  action_id: string;
  text: unknown;
  value?: string;
  style?: string;
  confirm?: unknown;
}

function findButton(blocks: readonly unknown[], actionId: string, value?: string): { block: { block_id: string }; button: Button } | undefined {
  for (const [index, raw] of blocks.entries()) {
    const block = raw as { type?: unknown; block_id?: unknown; elements?: unknown };
    if (block.type !== 'actions' || !Array.isArray(block.elements)) continue;
    const button = (block.elements as Button[]).find((e) => (e as { type?: unknown }).type === 'button' && e.action_id === actionId && (value === undefined || e.value === value));
    // Slack generates a block_id for a block sent without one.
    if (button) return { block: { block_id: typeof block.block_id === 'string' ? block.block_id : `standin-${index}` }, button };
  }
  return undefined;
}
