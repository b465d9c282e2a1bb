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

/** A conversation the stand-in knows; a plain string in the options is an id named after itself. */
export interface StandInChannel {
  id: string;
  name: string;
  isPrivate?: boolean;
}

export interface StandInOptions {
  host?: string;
  port?: number;
  botToken?: string;
  users?: StandInUser[];
  /** Usergroup id (S...) -> member user ids. */
  usergroups?: Record<string, string[]>;
  channels?: Array<string | StandInChannel>;
  /** chat.postMessage calls accepted per channel per second before answering 429; default off. */
  rateLimitPerChannelPerSecond?: number;
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
  ephemerals(channel?: string): RecordedEphemeral[];
  /** Reactions present now (a removed reaction disappears). */
  reactions(filter?: ReactionFilter): RecordedReaction[];
  responseUrlPosts(): RecordedResponseUrlPost[];
  calls(method?: string): RecordedCall[];
  /** Calls answered 429, optionally for one channel. */
  rateLimited(channel?: string): RecordedCall[];

  /** Resolves with the predicate's first truthy value, re-checked on every recorded change and every 25 ms. */
  waitFor<T>(predicate: (standIn: SlackStandIn) => T | undefined | null | false, timeoutMs?: number): Promise<T>;
  /** Forget everything recorded (messages, reactions, calls, rate windows, injected errors). */
  reset(): void;
  close(): Promise<void>;

  /** chat.postMessage per channel per second; undefined turns the limit off. */
  setRateLimit(perChannelPerSecond: number | undefined): void;
  /** The next `times` calls of `method` answer `{ ok: false, error }`. */
  injectError(method: string, error: string, times?: number): void;

  /** Hand out a response_url for one slash command invocation (used by the driver). */
  issueResponseUrl(context: ResponseUrlContext): string;
  /** A user adds or removes a reaction in the client; returns the reacted message's author. */
  applyUserReaction(user: string, channel: string, ts: string, name: string, removed: boolean): { itemUser: string };
  /** A fresh Slack-style timestamp ("1700000000.000100"), unique and increasing. */
  nextTs(): string;
}
