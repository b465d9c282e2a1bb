/** A workspace member the stand-in knows (users.info, slash command user_name). */
export interface StandInUser {
  id: string;
  name: string;
  realName?: string;
  email?: string;
  tz?: string;
  isAdmin?: boolean;
  isBot?: boolean;
  deleted?: boolean;
}

import type { SlackFaultSettings } from './faults.js';
import type { ButtonPress } from './interactions.js';
import type { RateLimitSettings } from './rate-limit.js';
import type { SocketModeHub } from './socket-mode.js';

/**
 * A conversation the stand-in knows; a plain string in the options is an id named after itself.
 * An id starting with D is a DM.
 */
export interface StandInChannel {
  id: string;
  name: string;
  isPrivate?: boolean;
  /** The people in it; absent: every workspace user. */
  members?: string[];
}

/** Free workspaces have no user groups (usergroups.* answer plan_upgrade_required). */
export type WorkspacePlan = 'free' | 'pro';

export interface StandInOptions {
  host?: string;
  port?: number;
  botToken?: string;
  users?: StandInUser[];
  /** Usergroup id (S...) -> member user ids. */
  usergroups?: Record<string, string[]>;
  channels?: Array<string | StandInChannel>;
  /**
   * The channels the bot has been invited to when the stand-in starts; default: every channel in
   * `channels`. `[]` models a fresh install, where the bot is in no channel until `invite()`.
   */
  botChannels?: string[];
  /** Bot token scopes granted at install; default every scope the stand-in knows (ALL_BOT_SCOPES). */
  scopes?: string[];
  /** Default 'pro' (user groups available). */
  plan?: WorkspacePlan;
  /** chat.postMessage calls accepted per channel per second, strictly, before answering 429. */
  rateLimitPerChannelPerSecond?: number;
  /** 'slack': Slack's tiers (rate-limit.ts `slackRateLimits`); or explicit buckets. Default off. */
  rateLimits?: 'slack' | RateLimitSettings;
  /** The app-level token (xapp-) that may open Socket Mode connections. */
  appToken?: string;
  /** How often the stand-in pings each Socket Mode connection; default 10 s. */
  socketPingIntervalMs?: number;
  teamId?: string;
  teamDomain?: string;
}

/** One version of a message: the original post, then every chat.update or replace_original. */
export interface MessageRevision {
  text?: string;
  blocks?: unknown[];
  attachments?: unknown[];
  via: 'chat.postMessage' | 'chat.update' | 'response_url';
  at: number;
}

/** A message visible in a channel, posted by the bot (API or in_channel response_url). */
export interface RecordedMessage {
  channel: string;
  ts: string;
  /** Parent ts when the message is a thread reply. */
  thread_ts?: string;
  text?: string;
  blocks?: unknown[];
  attachments?: unknown[];
  metadata?: unknown;
  reply_broadcast?: boolean;
  user: string;
  bot_id: string;
  via: 'chat.postMessage' | 'response_url';
  deleted: boolean;
  /** Set by the first chat.update, as Slack marks edited messages. */
  edited?: { user: string; ts: string };
  /** Every version, oldest first; the last one is what the channel shows now. */
  history: MessageRevision[];
}

export interface RecordedEphemeral {
  channel: string;
  /** The only user who sees it. */
  user: string;
  /** chat.postEphemeral's message_ts (no message is stored under it, as in Slack). */
  message_ts: string;
  thread_ts?: string;
  text?: string;
  blocks?: unknown[];
  via: 'chat.postEphemeral' | 'response_url';
  /** False when Slack would not show it (see `hiddenBecause`). */
  shown: boolean;
  hiddenBecause?: string;
  at: number;
}

export interface RecordedReaction {
  channel: string;
  ts: string;
  name: string;
  user: string;
  /** 'api' = reactions.add by the bot, 'user' = added through the driver. */
  via: 'api' | 'user';
}

export interface RecordedResponseUrlPost {
  id: string;
  url: string;
  channel: string;
  user: string;
  command?: string;
  response_type: 'ephemeral' | 'in_channel';
  replace_original: boolean;
  delete_original: boolean;
  text?: string;
  blocks?: unknown[];
  thread_ts?: string;
  /** HTTP status the stand-in answered (404 once the URL is used up or expired). */
  status: number;
  error?: string;
  at: number;
}

export interface RecordedCall {
  method: string;
  /** Arguments as the method saw them (JSON strings such as blocks decoded), without the token. */
  args: Record<string, unknown>;
  token?: string;
  tokenSource: 'header' | 'body' | 'none';
  contentType: string;
  status: number;
  ok: boolean;
  error?: string;
  at: number;
}

export interface ResponseUrlContext {
  channel: string;
  user: string;
  command?: string;
}

export interface ReactionFilter {
  channel?: string;
  ts?: string;
  name?: string;
  user?: string;
}

export interface SlackStandIn {
  /** Base URL of the Web API, ending with `/api/` (WebClient `slackApiUrl`). */
  readonly apiUrl: string;
  /** http://host:port, without a trailing slash. */
  readonly baseUrl: string;
  readonly botToken: string;
  readonly appToken: string;
  readonly team: { id: string; domain: string; name: string };
  readonly bot: { userId: string; botId: string; appId: string; name: string };

  users(): StandInUser[];
  user(id: string): StandInUser | undefined;
  channels(): StandInChannel[];
  channel(id: string): StandInChannel | undefined;

  /** Every message posted (oldest first), optionally in one channel. */
  messages(channel?: string): RecordedMessage[];
  message(channel: string, ts: string): RecordedMessage | undefined;
  /** Replies in a thread, oldest first (the parent excluded). */
  replies(channel: string, threadTs: string): RecordedMessage[];
  /** Ephemeral messages users saw; `includeHidden` adds those Slack would not show (`shown: false`). */
  ephemerals(channel?: string, options?: { includeHidden?: boolean }): RecordedEphemeral[];
  /** Reactions present now (a removed reaction disappears). */
  reactions(filter?: ReactionFilter): RecordedReaction[];
  responseUrlPosts(): RecordedResponseUrlPost[];
  calls(method?: string): RecordedCall[];
  /** The Home tab last published for this user (views.publish), if any. */
  homeView(user: string): { view: Record<string, unknown>; publishedAt: number } | undefined;
  /** Calls answered 429, optionally for one channel. */
  rateLimited(channel?: string): RecordedCall[];

  /** Resolves with the predicate's first truthy value, re-checked on every recorded change and every 25 ms. */
  waitFor<T>(predicate: (standIn: SlackStandIn) => T | undefined | null | false, timeoutMs?: number): Promise<T>;
  /** Forget everything recorded (messages, reactions, calls, rate windows, injected errors). */
  reset(): void;
  close(): Promise<void>;

  /** chat.postMessage per channel per second, strictly; undefined turns every limit off. */
  setRateLimit(perChannelPerSecond: number | undefined): void;
  setRateLimits(settings: 'slack' | RateLimitSettings | undefined): void;
  /** The next `times` calls of `method` answer `{ ok: false, error }`. */
  injectError(method: string, error: string, times?: number): void;
  /** Injected faults (also `GET/PUT <baseUrl>/sandbox/faults`). */
  faults(): SlackFaultSettings;
  setFaults(patch: Partial<SlackFaultSettings>): void;

  /** A member runs `/invite @cutover` in the channel: the bot is in it from now on. */
  invite(channel: string): void;
  /** The bot is removed from the channel. */
  kick(channel: string): void;
  isBotIn(channel: string): boolean;
  setScopes(scopes: string[]): void;
  scopes(): string[];
  setPlan(plan: WorkspacePlan): void;
  /** An admin changes who is in a user group (S...). */
  setUsergroup(id: string, members: string[]): void;
  /** Socket Mode: the WebSocket connections the app opened, and delivery of envelopes over them. */
  readonly socketMode: SocketModeHub;

  /** Hand out a response_url for one slash command invocation (used by the driver). */
  issueResponseUrl(context: ResponseUrlContext): string;
  /**
   * A user presses the button `actionId` of a message (it must be there): the block_actions payload
   * Slack would send, and the button's confirm dialog if it has one (used by the driver).
   */
  buttonPress(user: string, channel: string, ts: string, actionId: string): ButtonPress;
  homeButtonPress(user: string, actionId: string, value?: string): ButtonPress;
  /** A user adds or removes a reaction in the client; returns the reacted message's author. */
  applyUserReaction(user: string, channel: string, ts: string, name: string, removed: boolean): { itemUser: string };
  /**
   * Why Slack would not deliver this event to the app, or null: events come only from conversations
   * the app is in, and only with the scope the event needs (e.g. reactions:read).
   */
  eventWithheld(eventType: string, channel?: string): string | null;
  /** A fresh Slack-style timestamp ("1700000000.000100"), unique and increasing. */
  nextTs(): string;
}
