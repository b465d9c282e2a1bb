import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { slackSignatureHeaders } from './signing.js';
import type { SlackStandIn } from './types.js';

export interface SlackDriverOptions {
  /** The bot's request URL, e.g. http://127.0.0.1:3000/slack/events. */
  botUrl: string;
  signingSecret: string;
  standIn: SlackStandIn;
  teamId?: string;
  /** The legacy verification token Slack still puts in payloads. */
  verificationToken?: string;
}

export interface DeliveryResult {
  status: number;
  body: string;
  /** The body parsed as JSON, when it is JSON. */
  json?: unknown;
  /** Time until the bot answered (the ack), in milliseconds. */
  ackMs: number;
}

export interface SlashCommandResult extends DeliveryResult {
  responseUrl: string;
  triggerId: string;
  /** The exact form fields that were sent. */
  payload: Record<string, string>;
}

export interface EventResult extends DeliveryResult {
  eventId: string;
  retryNum?: number;
}

export interface SendSignedOptions {
  /** Unix seconds to sign with and send; default now. */
  timestamp?: number;
  /** Sent as X-Slack-Signature instead of the correct one. */
  signature?: string;
  headers?: Record<string, string>;
}

export interface SlackDriver {
  /** A user types `<command> <text>` in a channel: a signed form POST, as Slack sends it. */
  slashCommand(user: string, text: string, options?: { channel?: string; command?: string }): Promise<SlashCommandResult>;
  /** A user adds (or removes) a reaction in the client: recorded in the stand-in, delivered as reaction_added/_removed. */
  reaction(user: string, item: { channel: string; ts: string }, name: string, options?: { removed?: boolean }): Promise<EventResult>;
  /** Deliver any Events API event inside a fresh event_callback envelope. */
  event(event: Record<string, unknown>): Promise<EventResult>;
  /** Slack's retry of an event it delivered before: same body, new signature, X-Slack-Retry-* headers. */
  redeliver(eventId: string, options?: { reason?: string }): Promise<EventResult>;
  urlVerification(challenge?: string): Promise<DeliveryResult & { challenge: string }>;
  /** Low level: POST a body with Slack's signature headers (or forged ones). */
  sendSigned(body: string, contentType: string, options?: SendSignedOptions): Promise<DeliveryResult>;
}

/** Create a driver that plays slack.com's side of requests to a bot. */
export function createSlackDriver(options: SlackDriverOptions): SlackDriver {
  const { botUrl, signingSecret, standIn } = options;
  const teamId = options.teamId ?? standIn.team.id;
  const verificationToken = options.verificationToken ?? 'sandboxverificationtoken0';
  const delivered = new Map<string, { body: string; retries: number }>();

  const sendSigned = async (body: string, contentType: string, send: SendSignedOptions = {}): Promise<DeliveryResult> => {
    const timestamp = send.timestamp ?? Math.floor(Date.now() / 1000);
    const signed = slackSignatureHeaders(signingSecret, body, timestamp);
    const headers = {
      'Content-Type': contentType,
      'User-Agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
      ...signed,
      ...(send.signature !== undefined ? { 'X-Slack-Signature': send.signature } : {}),
      ...send.headers,
    };
    const started = performance.now();
    const response = await fetch(botUrl, { method: 'POST', headers, body });
    const text = await response.text();
    const ackMs = performance.now() - started;
    return { status: response.status, body: text, ...parseJson(text), ackMs };
  };

  const envelope = (event: Record<string, unknown>, eventId: string): string =>
    JSON.stringify({
      token: verificationToken,
      team_id: teamId,
      context_team_id: teamId,
      context_enterprise_id: null,
      api_app_id: standIn.bot.appId,
      event,
      type: 'event_callback',
      event_id: eventId,
      event_time: Math.floor(Date.now() / 1000),
      authorizations: [{ enterprise_id: null, team_id: teamId, user_id: standIn.bot.userId, is_bot: true, is_enterprise_install: false }],
      is_ext_shared_channel: false,
      event_context: `4-${Buffer.from(JSON.stringify({ et: event.type, tid: teamId, aid: standIn.bot.appId })).toString('base64url')}`,
    });

  const deliverEvent = async (event: Record<string, unknown>): Promise<EventResult> => {
    const eventId = `Ev${randomId(10)}`;
    const body = envelope(event, eventId);
    delivered.set(eventId, { body, retries: 0 });
    const result = await sendSigned(body, 'application/json');
    return { ...result, eventId };
  };

  return {
    sendSigned,

    async slashCommand(userId, text, { channel: channelId, command = '/release' } = {}) {
      const user = standIn.user(userId);
      if (user === undefined) throw new Error(`driver: unknown user ${userId}`);
      const channel = channelId === undefined ? standIn.channels()[0] : standIn.channel(channelId);
      if (channel === undefined) throw new Error(`driver: unknown channel ${channelId ?? '(none configured)'}`);
      const responseUrl = standIn.issueResponseUrl({ channel: channel.id, user: user.id, command });
      const triggerId = `${Date.now()}.${randomDigits(10)}.${randomBytes(16).toString('hex')}`;
      // Field order as Slack sends it.
      const payload: Record<string, string> = {
        token: verificationToken,
        team_id: teamId,
        team_domain: standIn.team.domain,
        channel_id: channel.id,
        channel_name: channel.isPrivate ? 'privategroup' : channel.name,
        user_id: user.id,
        user_name: user.name,
        command,
        text,
        api_app_id: standIn.bot.appId,
        is_enterprise_install: 'false',
        response_url: responseUrl,
        trigger_id: triggerId,
      };
      const result = await sendSigned(new URLSearchParams(payload).toString(), 'application/x-www-form-urlencoded');
      return { ...result, responseUrl, triggerId, payload };
    },

    async reaction(user, item, name, { removed = false } = {}) {
      const { itemUser } = standIn.applyUserReaction(user, item.channel, item.ts, name, removed);
      return deliverEvent({
        type: removed ? 'reaction_removed' : 'reaction_added',
        user,
        reaction: name,
        item: { type: 'message', channel: item.channel, ts: item.ts },
        item_user: itemUser,
        event_ts: standIn.nextTs(),
      });
    },

    event: deliverEvent,

    async redeliver(eventId, { reason = 'http_timeout' } = {}) {
      const original = delivered.get(eventId);
      if (original === undefined) throw new Error(`driver: event ${eventId} was never delivered`);
      original.retries += 1;
      const result = await sendSigned(original.body, 'application/json', {
        headers: { 'X-Slack-Retry-Num': String(original.retries), 'X-Slack-Retry-Reason': reason },
      });
      return { ...result, eventId, retryNum: original.retries };
    },

    async urlVerification(challenge = randomBytes(24).toString('base64url')) {
      const body = JSON.stringify({ token: verificationToken, challenge, type: 'url_verification' });
      const result = await sendSigned(body, 'application/json');
      return { ...result, challenge };
    },
  };
}

function parseJson(text: string): { json?: unknown } {
  if (text === '') return {};
  try {
    return { json: JSON.parse(text) as unknown };
  } catch {
    return {};
  }
}

function randomId(length: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
  return Array.from(randomBytes(length), (b) => alphabet[b % alphabet.length]).join('');
}

function randomDigits(length: number): string {
  return Array.from(randomBytes(length), (b) => String(b % 10)).join('');
}
