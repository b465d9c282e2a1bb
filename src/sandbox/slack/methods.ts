import { checkBlocks } from './block-limits.js';
import type { RateLimiter } from './rate-limit.js';
import type { SlackRecorder } from './recorder.js';
import { SLACK_TS_PATTERN } from './slack-ts.js';
import type { RecordedMessage, StandInChannel, StandInUser, WorkspacePlan } from './types.js';

/** The fake workspace the Web API methods read and write. */
export interface Workspace {
  team: { id: string; domain: string; name: string };
  bot: { userId: string; botId: string; appId: string; name: string };
  createdSec: number;
  users: Map<string, StandInUser>;
  usergroups: Map<string, string[]>;
  channels: StandInChannel[];
  /** Conversations the bot was invited to: it can post only there. */
  botChannels: Set<string>;
  /** Bot token scopes granted at install. */
  scopes: Set<string>;
  plan: WorkspacePlan;
  recorder: SlackRecorder;
  rateLimiter: RateLimiter;
  nextTs(): string;
  nowMs(): number;
}

export interface MethodResult {
  status?: number;
  headers?: Record<string, string>;
  body: Record<string, unknown>;
}

export type Args = Record<string, unknown>;
type MethodHandler = (args: Args, ws: Workspace) => MethodResult;

const MAX_TEXT_LENGTH = 40_000;
const REACTION_NAME = /^[a-z0-9_+'-]+$/;

export function fail(error: string, extra: Record<string, unknown> = {}): MethodResult {
  return { body: { ok: false, error, ...extra } };
}

export function ratelimited(retryAfterSec: number): MethodResult {
  return { status: 429, headers: { 'Retry-After': String(retryAfterSec) }, body: { ok: false, error: 'ratelimited' } };
}

function missing(field: string): MethodResult {
  return fail('invalid_arguments', { response_metadata: { messages: [`[ERROR] missing required field: ${field}`] } });
}

function str(args: Args, key: string): string | undefined {
  const value = args[key];
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

function bool(args: Args, key: string): boolean {
  const value = args[key];
  return value === true || value === 'true' || value === '1' || value === 1;
}

/** Slack accepts a conversation id or, for posting, its name with or without '#'. */
export function resolveChannel(ws: Workspace, idOrName: string | undefined): StandInChannel | undefined {
  if (idOrName === undefined) return undefined;
  const name = idOrName.replace(/^#/, '');
  return ws.channels.find((c) => c.id === idOrName) ?? ws.channels.find((c) => c.name === name);
}

interface Content {
  text?: string;
  blocks?: unknown[];
  attachments?: unknown[];
}

/** Validates text/blocks/attachments the way chat.* methods do; returns the content or the error. */
function readContent(args: Args, requireSome: boolean): Content | MethodResult {
  const content: Content = {};
  const text = typeof args.text === 'string' ? args.text : str(args, 'text');
  if (text !== undefined) content.text = text;
  if (args.blocks !== undefined) {
    const blocks = args.blocks;
    if (!Array.isArray(blocks)) return fail('invalid_blocks_format');
    const rejected = blocksRefusal(blocks);
    if (rejected !== null) return rejected;
    content.blocks = blocks;
  }
  if (args.attachments !== undefined) {
    if (!Array.isArray(args.attachments)) return fail('invalid_attachments');
    content.attachments = args.attachments;
  }
  if (content.text !== undefined && content.text.length > MAX_TEXT_LENGTH) return fail('msg_too_long');
  const isEmpty = (content.text ?? '') === '' && (content.blocks ?? []).length === 0 && (content.attachments ?? []).length === 0;
  if (requireSome && isEmpty) return fail('no_text');
  return content;
}

/**
 * Message metadata as chat.postMessage and chat.update take it: a JSON object with a string
 * `event_type` and an object `event_payload` whose values are strings, numbers, booleans, objects
 * of those, or arrays of such objects (docs.slack.dev "Using message metadata"; the @slack/types
 * MessageMetadata type). A body that is not such an object answers `invalid_metadata_format`, a
 * payload of another shape `invalid_metadata_schema`, the error names Slack's methods list.
 */
export function metadataRefusal(metadata: unknown): MethodResult | null {
  if (metadata === undefined) return null;
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) return fail('invalid_metadata_format');
  const { event_type: type, event_payload: payload } = metadata as { event_type?: unknown; event_payload?: unknown };
  if (typeof type !== 'string' || type === '' || typeof payload !== 'object' || payload === null || Array.isArray(payload)) return fail('invalid_metadata_schema');
  const scalar = (v: unknown) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
  const flat = (v: unknown) => typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every(scalar);
  const valid = Object.values(payload).every((v) => scalar(v) || flat(v) || (Array.isArray(v) && v.every(flat)));
  return valid ? null : fail('invalid_metadata_schema');
}

function isResult(value: Content | MethodResult): value is MethodResult {
  return 'body' in value;
}

/** Slack's answer to blocks it refuses, or null (see block-limits.ts). */
export function blocksRefusal(blocks: readonly unknown[]): MethodResult | null {
  const verdict = checkBlocks(blocks);
  if (verdict.ok) return null;
  if (verdict.error === 'msg_blocks_too_long') return fail('msg_blocks_too_long');
  return fail('invalid_blocks', { errors: verdict.errors, response_metadata: { messages: verdict.errors.map((e) => `[ERROR] ${e}`) } });
}

export type ConversationKind = 'public' | 'private' | 'im';

/** DMs have ids starting with D; private channels are marked. */
export function conversationKind(channel: StandInChannel): ConversationKind {
  if (channel.id.startsWith('D')) return 'im';
  return channel.isPrivate ? 'private' : 'public';
}

/** Whether a person is in the conversation: everyone unless the channel lists its members. */
export function isUserMember(channel: StandInChannel, user: string): boolean {
  return channel.members === undefined || channel.members.includes(user);
}

/**
 * Why the bot may not write in `channel`, or null. chat.postMessage's reference: `not_in_channel`
 * when the app is not in a public channel; a private channel or DM it was not invited to does not
 * exist for it (`channel_not_found`).
 */
export function botWriteRefusal(ws: Workspace, channel: StandInChannel): MethodResult | null {
  if (ws.botChannels.has(channel.id)) return null;
  return fail(conversationKind(channel) === 'public' ? 'not_in_channel' : 'channel_not_found');
}

/** A conversation the bot can see: public channels always, private ones and DMs only as a member. */
function visibleChannel(ws: Workspace, idOrName: string | undefined): StandInChannel | undefined {
  const channel = resolveChannel(ws, idOrName);
  if (channel === undefined) return undefined;
  return conversationKind(channel) === 'public' || ws.botChannels.has(channel.id) ? channel : undefined;
}

/** The message object Slack returns for a bot-authored message. */
export function apiMessage(ws: Workspace, message: RecordedMessage): Record<string, unknown> {
  const parent = message.thread_ts !== undefined ? ws.recorder.findMessage(message.channel, message.thread_ts) : undefined;
  const replies = ws.recorder.messages.filter((m) => m.channel === message.channel && m.thread_ts === message.ts && !m.deleted);
  return {
    user: message.user,
    type: 'message',
    ts: message.ts,
    bot_id: message.bot_id,
    app_id: ws.bot.appId,
    text: message.text ?? '',
    team: ws.team.id,
    bot_profile: {
      id: ws.bot.botId,
      deleted: false,
      name: ws.bot.name,
      updated: ws.createdSec,
      app_id: ws.bot.appId,
      icons: { image_36: 'https://a.slack-edge.com/80588/img/plugins/app/bot_36.png' },
      team_id: ws.team.id,
    },
    ...(message.blocks !== undefined ? { blocks: message.blocks } : {}),
    ...(message.attachments !== undefined ? { attachments: message.attachments } : {}),
    ...(message.metadata !== undefined ? { metadata: message.metadata } : {}),
    ...(message.thread_ts !== undefined ? { thread_ts: message.thread_ts, parent_user_id: parent?.user ?? message.user } : {}),
    ...(replies.length > 0
      ? { thread_ts: message.ts, reply_count: replies.length, reply_users: [ws.bot.userId], latest_reply: replies[replies.length - 1]!.ts }
      : {}),
    ...(message.edited !== undefined ? { edited: message.edited } : {}),
  };
}

/** Post a bot message into a channel (shared by chat.postMessage and in_channel response_url posts). */
export function postBotMessage(
  ws: Workspace,
  channel: string,
  content: Content,
  extra: { thread_ts?: string; reply_broadcast?: boolean; metadata?: unknown; via: RecordedMessage['via'] },
): RecordedMessage {
  let threadTs = extra.thread_ts;
  if (threadTs !== undefined) {
    // A reply to a reply lands in the parent's thread, as in Slack.
    const target = ws.recorder.findMessage(channel, threadTs);
    if (target?.thread_ts !== undefined) threadTs = target.thread_ts;
  }
  const message: RecordedMessage = {
    channel,
    ts: ws.nextTs(),
    ...(threadTs !== undefined ? { thread_ts: threadTs } : {}),
    ...content,
    ...(extra.metadata !== undefined ? { metadata: extra.metadata } : {}),
    ...(extra.reply_broadcast ? { reply_broadcast: true } : {}),
    user: ws.bot.userId,
    bot_id: ws.bot.botId,
    via: extra.via,
    deleted: false,
    history: [{ ...content, via: extra.via, at: ws.nowMs() }],
  };
  ws.recorder.messages.push(message);
  return message;
}

/** Replace a message's content; fields not given are kept (chat.update semantics). */
export function updateBotMessage(ws: Workspace, message: RecordedMessage, content: Content, via: 'chat.update' | 'response_url'): void {
  if (content.text !== undefined) message.text = content.text;
  if (content.blocks !== undefined) message.blocks = content.blocks;
  if (content.attachments !== undefined) message.attachments = content.attachments;
  message.history.push({ ...content, via, at: ws.nowMs() });
  message.edited = { user: ws.bot.userId, ts: ws.nextTs() };
}

function userObject(ws: Workspace, user: StandInUser): Record<string, unknown> {
  const realName = user.realName ?? user.name;
  return {
    id: user.id,
    team_id: ws.team.id,
    name: user.name,
    deleted: user.deleted ?? false,
    color: '9f69e7',
    real_name: realName,
    tz: user.tz ?? 'Europe/Berlin',
    tz_label: 'Central European Time',
    tz_offset: 3600,
    profile: {
      real_name: realName,
      real_name_normalized: realName,
      display_name: user.name,
      display_name_normalized: user.name,
      ...(user.email !== undefined ? { email: user.email } : {}),
      team: ws.team.id,
    },
    is_admin: user.isAdmin ?? false,
    is_owner: false,
    is_primary_owner: false,
    is_restricted: false,
    is_ultra_restricted: false,
    is_bot: user.isBot ?? false,
    is_app_user: false,
    updated: ws.createdSec,
  };
}

const methods: Record<string, MethodHandler> = {
  'api.test': (args) => ({ body: { ok: true, args: Object.fromEntries(Object.entries(args).map(([k, v]) => [k, String(v)])) } }),

  'auth.test': (_args, ws) => ({
    body: {
      ok: true,
      url: `https://${ws.team.domain}.slack.com/`,
      team: ws.team.name,
      user: ws.bot.name,
      team_id: ws.team.id,
      user_id: ws.bot.userId,
      bot_id: ws.bot.botId,
      is_enterprise_install: false,
    },
  }),

  /**
   * views.publish: a Home tab for one user. Slack refuses a view that is not `type: home`, more
   * than 100 blocks, a `private_metadata` over 3000 characters or an unknown user; blocks are
   * checked like a message's (block-limits.ts). The latest published view is what the user sees.
   */
  'views.publish': (args, ws) => {
    const user = str(args, 'user_id');
    if (user === undefined) return fail('invalid_arguments', { response_metadata: { messages: ['[ERROR] missing required field: user_id'] } });
    if (!ws.users.has(user)) return fail('user_not_found');
    let view: unknown = args.view;
    if (typeof view === 'string') {
      try {
        view = JSON.parse(view);
      } catch {
        return fail('invalid_arguments', { response_metadata: { messages: ['[ERROR] failed to match all allowed schemas [json-pointer:/view]'] } });
      }
    }
    if (typeof view !== 'object' || view === null || (view as { type?: unknown }).type !== 'home') {
      return fail('invalid_arguments', { response_metadata: { messages: ['[ERROR] must be a home view [json-pointer:/view/type]'] } });
    }
    const blocks = (view as { blocks?: unknown }).blocks;
    if (!Array.isArray(blocks)) return fail('invalid_arguments', { response_metadata: { messages: ['[ERROR] missing required field: blocks [json-pointer:/view]'] } });
    if (blocks.length > 100) return fail('invalid_arguments', { response_metadata: { messages: ['[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]'] } });
    const metadata = (view as { private_metadata?: unknown }).private_metadata;
    if (typeof metadata === 'string' && metadata.length > 3000) return fail('invalid_arguments', { response_metadata: { messages: ['[ERROR] must be less than 3001 characters [json-pointer:/view/private_metadata]'] } });
    const rejected = blocks.length > 0 ? blocksRefusal(blocks) : null;
    if (rejected !== null && (rejected.body as { error?: string }).error !== 'msg_blocks_too_long') return rejected;
    ws.recorder.homeViews.set(user, { view: view as Record<string, unknown>, publishedAt: ws.nowMs() });
    ws.recorder.changed();
    return { body: { ok: true, view: { id: `V${ws.nextTs().replace('.', '')}`.slice(0, 12), team_id: ws.team.id, type: 'home', ...(view) } } };
  },

  'chat.postMessage': (args, ws) => {
    const requested = str(args, 'channel');
    const retryAfter = ws.rateLimiter.take('chat.postMessage', resolveChannel(ws, requested)?.id ?? requested ?? '');
    if (retryAfter !== undefined) return ratelimited(retryAfter);
    const channel = visibleChannel(ws, requested);
    if (channel === undefined) return fail('channel_not_found');
    const refused = botWriteRefusal(ws, channel);
    if (refused !== null) return refused;
    const content = readContent(args, true);
    if (isResult(content)) return content;
    const threadTs = str(args, 'thread_ts');
    if (threadTs !== undefined && !SLACK_TS_PATTERN.test(threadTs)) return fail('invalid_thread_ts');
    const metadataProblem = metadataRefusal(args.metadata);
    if (metadataProblem !== null) return metadataProblem;
    const message = postBotMessage(ws, channel.id, content, {
      ...(threadTs !== undefined ? { thread_ts: threadTs } : {}),
      reply_broadcast: bool(args, 'reply_broadcast'),
      metadata: args.metadata,
      via: 'chat.postMessage',
    });
    return { body: { ok: true, channel: channel.id, ts: message.ts, message: apiMessage(ws, message) } };
  },

  'chat.update': (args, ws) => {
    const channel = visibleChannel(ws, str(args, 'channel'));
    if (channel === undefined) return fail('channel_not_found');
    const refused = botWriteRefusal(ws, channel);
    if (refused !== null) return refused;
    const ts = str(args, 'ts');
    const message = ts === undefined ? undefined : ws.recorder.findMessage(channel.id, ts);
    if (message === undefined) return fail('message_not_found');
    if (message.user !== ws.bot.userId) return fail('cant_update_message');
    const content = readContent(args, true);
    if (isResult(content)) return content;
    const metadataProblem = metadataRefusal(args.metadata);
    if (metadataProblem !== null) return metadataProblem;
    updateBotMessage(ws, message, content, 'chat.update');
    // Given: replaced. Not given: kept (an assumption; Slack's reference does not say).
    if (args.metadata !== undefined) message.metadata = args.metadata;
    return { body: { ok: true, channel: channel.id, ts: message.ts, text: message.text ?? '', message: apiMessage(ws, message) } };
  },

  'chat.delete': (args, ws) => {
    const channel = visibleChannel(ws, str(args, 'channel'));
    if (channel === undefined) return fail('channel_not_found');
    const refused = botWriteRefusal(ws, channel);
    if (refused !== null) return refused;
    const ts = str(args, 'ts');
    const message = ts === undefined ? undefined : ws.recorder.findMessage(channel.id, ts);
    if (message === undefined) return fail('message_not_found');
    message.deleted = true;
    return { body: { ok: true, channel: channel.id, ts: message.ts } };
  },

  'chat.postEphemeral': (args, ws) => {
    const channel = visibleChannel(ws, str(args, 'channel'));
    if (channel === undefined) return fail('channel_not_found');
    const refused = botWriteRefusal(ws, channel);
    if (refused !== null) return refused;
    const userId = str(args, 'user');
    if (userId === undefined) return missing('user');
    const user = ws.users.get(userId);
    if (user === undefined || user.deleted) return fail('user_not_found');
    // "The user should be in the channel specified" (chat.postEphemeral reference).
    if (!isUserMember(channel, userId)) return fail('user_not_in_channel');
    const content = readContent(args, true);
    if (isResult(content)) return content;
    const messageTs = ws.nextTs();
    const threadTs = str(args, 'thread_ts');
    const hiddenBecause = threadTs === undefined ? undefined : ephemeralThreadProblem(ws, channel.id, threadTs);
    ws.recorder.ephemerals.push({
      channel: channel.id,
      user: userId,
      message_ts: messageTs,
      ...(threadTs !== undefined ? { thread_ts: threadTs } : {}),
      ...(content.text !== undefined ? { text: content.text } : {}),
      ...(content.blocks !== undefined ? { blocks: content.blocks } : {}),
      via: 'chat.postEphemeral',
      shown: hiddenBecause === undefined,
      ...(hiddenBecause !== undefined ? { hiddenBecause } : {}),
      at: ws.nowMs(),
    });
    // Slack answers ok either way: the app cannot tell that nobody saw it.
    return { body: { ok: true, message_ts: messageTs } };
  },

  'chat.getPermalink': (args, ws) => {
    const channel = visibleChannel(ws, str(args, 'channel'));
    if (channel === undefined) return fail('channel_not_found');
    const ts = str(args, 'message_ts');
    const message = ts === undefined ? undefined : ws.recorder.findMessage(channel.id, ts);
    if (message === undefined) return fail('message_not_found');
    const base = `https://${ws.team.domain}.slack.com/archives/${channel.id}/p${message.ts.replace('.', '')}`;
    const permalink = message.thread_ts !== undefined ? `${base}?thread_ts=${message.thread_ts}&cid=${channel.id}` : base;
    return { body: { ok: true, channel: channel.id, permalink } };
  },

  'reactions.add': (args, ws) => reactAsBot(args, ws, 'add'),
  'reactions.remove': (args, ws) => reactAsBot(args, ws, 'remove'),

  'reactions.get': (args, ws) => {
    const channelArg = str(args, 'channel');
    const ts = str(args, 'timestamp');
    if (channelArg === undefined || ts === undefined) return fail('no_item_specified');
    const channel = visibleChannel(ws, channelArg);
    if (channel === undefined) return fail('channel_not_found');
    const message = ws.recorder.findMessage(channel.id, ts);
    if (message === undefined) return fail('message_not_found');
    const grouped = new Map<string, string[]>();
    for (const r of ws.recorder.findReactions({ channel: channel.id, ts })) {
      grouped.set(r.name, [...(grouped.get(r.name) ?? []), r.user]);
    }
    const reactions = [...grouped].map(([name, users]) => ({ name, users, count: users.length }));
    return {
      body: {
        ok: true,
        type: 'message',
        channel: channel.id,
        message: { ...apiMessage(ws, message), ...(reactions.length > 0 ? { reactions } : {}) },
      },
    };
  },

  'usergroups.users.list': (args, ws) => {
    // "This workspace does not have access to User Groups, as that feature is only available on
    // Standard and above plans" (the usergroups methods' error list, slack-ruby/slack-api-ref).
    if (ws.plan === 'free') return fail('plan_upgrade_required');
    const usergroup = str(args, 'usergroup');
    if (usergroup === undefined) return missing('usergroup');
    const members = ws.usergroups.get(usergroup);
    if (members === undefined) return fail('no_such_subteam');
    return { body: { ok: true, users: [...members] } };
  },

  'users.info': (args, ws) => {
    const id = str(args, 'user');
    if (id === undefined) return fail('user_not_found');
    if (id === ws.bot.userId) {
      return {
        body: {
          ok: true,
          user: { ...userObject(ws, { id, name: ws.bot.name, isBot: true }), profile: { bot_id: ws.bot.botId, api_app_id: ws.bot.appId, real_name: ws.bot.name, team: ws.team.id } },
        },
      };
    }
    const user = ws.users.get(id);
    if (user === undefined) return fail('user_not_found');
    return { body: { ok: true, user: userObject(ws, user) } };
  },

  'conversations.info': (args, ws) => {
    const id = str(args, 'channel');
    const channel = id === undefined ? undefined : visibleChannel(ws, id);
    if (channel === undefined || channel.id !== id) return fail('channel_not_found');
    const isPrivate = channel.isPrivate ?? false;
    return {
      body: {
        ok: true,
        channel: {
          id: channel.id,
          name: channel.name,
          is_channel: !isPrivate,
          is_group: isPrivate,
          is_im: false,
          is_mpim: false,
          is_private: isPrivate,
          created: ws.createdSec,
          is_archived: false,
          is_general: false,
          unlinked: 0,
          name_normalized: channel.name,
          is_shared: false,
          is_org_shared: false,
          is_ext_shared: false,
          is_pending_ext_shared: false,
          pending_shared: [],
          context_team_id: ws.team.id,
          updated: ws.createdSec * 1000,
          parent_conversation: null,
          creator: [...ws.users.keys()][0] ?? ws.bot.userId,
          shared_team_ids: [ws.team.id],
          is_member: ws.botChannels.has(channel.id),
          topic: { value: '', creator: '', last_set: 0 },
          purpose: { value: '', creator: '', last_set: 0 },
          previous_names: [],
        },
      },
    };
  },
};

function reactAsBot(args: Args, ws: Workspace, action: 'add' | 'remove'): MethodResult {
  const channelArg = str(args, 'channel');
  const ts = str(args, 'timestamp');
  if (channelArg === undefined || ts === undefined) return fail('no_item_specified');
  const channel = visibleChannel(ws, channelArg);
  if (channel === undefined) return fail('channel_not_found');
  const refused = botWriteRefusal(ws, channel);
  if (refused !== null) return refused;
  const name = str(args, 'name');
  if (name === undefined || !REACTION_NAME.test(name)) return fail('invalid_name');
  if (ws.recorder.findMessage(channel.id, ts) === undefined) return fail('message_not_found');
  const existing = ws.recorder.findReactions({ channel: channel.id, ts, name, user: ws.bot.userId })[0];
  if (action === 'add') {
    if (existing !== undefined) return fail('already_reacted');
    ws.recorder.reactions.push({ channel: channel.id, ts, name, user: ws.bot.userId, via: 'api' });
  } else {
    if (existing === undefined) return fail('no_reaction');
    ws.recorder.removeReaction(existing);
  }
  return { body: { ok: true } };
}

/**
 * Why an ephemeral in a thread is not shown, or undefined: "Ephemeral messages in threads are only
 * shown if there is already an active thread" (chat.postEphemeral reference, `thread_ts`).
 */
export function ephemeralThreadProblem(ws: Workspace, channel: string, threadTs: string): string | undefined {
  const parent = ws.recorder.findMessage(channel, threadTs);
  if (parent === undefined) return 'thread_ts names no message in this channel';
  const root = parent.thread_ts ?? parent.ts;
  const replies = ws.recorder.messages.filter((m) => m.channel === channel && m.thread_ts === root && !m.deleted);
  return replies.length === 0 ? 'the thread has no replies yet, so Slack does not show an ephemeral message in it' : undefined;
}

export function findMethod(name: string): MethodHandler | undefined {
  return Object.hasOwn(methods, name) ? methods[name] : undefined;
}

export const supportedMethods = Object.keys(methods);
