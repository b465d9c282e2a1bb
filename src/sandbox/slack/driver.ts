import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { slackSignatureHeaders } from './signing.js';
import type { EnvelopeType } from './socket-mode.js';
import type { SlackStandIn } from './types.js';

export interface SlackDriverOptions {
  standIn: SlackStandIn;
  /** HTTP: the bot's request URL, e.g. http://127.0.0.1:3000/slack/events. */
  botUrl?: string;
  /** HTTP: other replicas of the bot, for the `replicas` delivery mode. */
  replicaUrls?: string[];
  /** HTTP: the signing secret requests are signed with. */
  signingSecret?: string;
  /** Deliver over the app's Socket Mode connections (apps.connections.open) instead of HTTP. */
  socketMode?: boolean;
  teamId?: string;
  /** The legacy verification token Slack still puts in payloads. */
  verificationToken?: string;
}

export interface DeliveryResult {
  /** HTTP status of the bot's answer; over Socket Mode 200 when acked, 0 when not acked in 3 s. */
  status: number;
  body: string;
  /** The body (Socket Mode: the ack's payload) parsed as JSON, when it is JSON. */
  json?: unknown;
  /** Time until the bot answered (the ack), in milliseconds. */
  ackMs: number;
}

export interface SlashCommandResult extends DeliveryResult {
  responseUrl: string;
  triggerId: string;
  /** The exact fields that were sent. */
  payload: Record<string, string>;
}

export interface EventResult extends DeliveryResult {
  eventId: string;
  retryNum?: number;
  /** Every delivery of this event (more than one when duplicated or sent to replicas). */
  deliveries: DeliveryResult[];
  /** Set when Slack would not send the event to the app at all (not in the channel, no scope). */
  withheld?: string;
}

export interface InteractionResult extends DeliveryResult {
  /** The block_actions payload that was sent (nothing is sent when the confirm dialog was cancelled). */
  payload: Record<string, unknown>;
  /** Set when the user cancelled the button's confirm dialog: Slack then sends nothing. */
  cancelled?: boolean;
  /** The confirm dialog the user saw before pressing on, if the button has one. */
  confirm?: Record<string, unknown>;
}

export interface SendSignedOptions {
  /** Unix seconds to sign with and send; default now. */
  timestamp?: number;
  /** Sent as X-Slack-Signature instead of the correct one. */
  signature?: string;
  headers?: Record<string, string>;
  /** Another replica's URL instead of `botUrl`. */
  url?: string;
}

/**
 * How events reach the bot. Slack delivers "at least once": a retry after a slow ack arrives while
 * the first delivery is still being handled (`duplicated`), deliveries are not ordered
 * (`reordered`: events are delivered in pairs, the later one first; `flush()` sends one left
 * waiting), and with several replicas behind a load balancer, or several Socket Mode connections,
 * the copies land on different replicas at the same time (`replicas`).
 */
export type DeliveryMode = 'once' | 'duplicated' | 'reordered' | 'replicas';

export interface SlackDriver {
  /** A user types `<command> <text>` in a channel: a signed form POST (or a slash_commands envelope), as Slack sends it. */
  slashCommand(user: string, text: string, options?: { channel?: string; command?: string }): Promise<SlashCommandResult>;
  /** A user adds (or removes) a reaction in the client: recorded in the stand-in, delivered as reaction_added/_removed. */
  reaction(user: string, item: { channel: string; ts: string }, name: string, options?: { removed?: boolean }): Promise<EventResult>;
  /**
   * A user presses a button of a message: if it has a confirm dialog the user sees it first and
   * confirms (default) or cancels; then the block_actions payload goes to the bot once (a form
   * POST with one `payload` field, signed; or an `interactive` Socket Mode envelope). Slack does not
   * retry interactions, so the delivery modes do not apply.
   */
  pressButton(user: string, item: { channel: string; ts: string }, actionId: string, options?: { confirm?: 'accept' | 'cancel' }): Promise<InteractionResult>;
  /** Deliver any Events API event inside a fresh event_callback envelope. */
  event(event: Record<string, unknown>): Promise<EventResult>;
  /**
   * The user opens the app's Home tab: `app_home_opened` with `tab: home` (Slack sends it each
   * time, with the view it last published, if any, in `view`).
   */
  openAppHome(user: string): Promise<EventResult>;
  /** The user presses a button on their Home tab (confirming its dialog, if any). */
  pressHomeButton(user: string, actionId: string, value?: string): Promise<InteractionResult>;
  /** Slack's retry of an event it delivered before: same body, new signature, X-Slack-Retry-* headers. */
  redeliver(eventId: string, options?: { reason?: string }): Promise<EventResult>;
  urlVerification(challenge?: string): Promise<DeliveryResult & { challenge: string }>;
  /** Low level: POST a body with Slack's signature headers (or forged ones). */
  sendSigned(body: string, contentType: string, options?: SendSignedOptions): Promise<DeliveryResult>;
  setDelivery(mode: DeliveryMode): void;
  /** `reordered`: deliver the event still held back, if any. */
  flush(): Promise<void>;
}

/** Create a driver that plays slack.com's side of requests to a bot. */
export function createSlackDriver(options: SlackDriverOptions): SlackDriver {
  const { standIn } = options;
  const socket = options.socketMode === true;
  if (!socket && (options.botUrl === undefined || options.signingSecret === undefined)) throw new Error('driver: HTTP delivery needs botUrl and signingSecret (or socketMode: true)');
  const botUrl = options.botUrl ?? '';
  const signingSecret = options.signingSecret ?? '';
  const teamId = options.teamId ?? standIn.team.id;
  const verificationToken = options.verificationToken ?? 'sandboxverificationtoken0';
  const delivered = new Map<string, { envelope: Record<string, unknown>; retries: number }>();
  let mode: DeliveryMode = 'once';
  let held: { envelope: Record<string, unknown>; eventId: string; resolve: (result: EventResult) => void; reject: (error: unknown) => void } | null = null;

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
    const response = await fetch(send.url ?? botUrl, { method: 'POST', headers, body });
    const text = await response.text();
    const ackMs = performance.now() - started;
    return { status: response.status, body: text, ...parseJson(text), ackMs };
  };

  /** One delivery of an envelope, to one replica (HTTP) or one connection in turn (Socket Mode), or to all of them. */
  const deliverOnce = async (type: EnvelopeType, payload: Record<string, unknown>, how: { retryNum?: number; retryReason?: string; everyReplica?: boolean } = {}): Promise<DeliveryResult[]> => {
    if (socket) {
      const results = await standIn.socketMode.deliver(type, payload, {
        to: how.everyReplica ? 'all' : 'next',
        ...(how.retryNum !== undefined ? { retryAttempt: how.retryNum, retryReason: how.retryReason ?? 'timeout' } : {}),
      });
      return results.map((r) => {
        const body = r.payload === undefined ? '' : JSON.stringify(r.payload);
        return { status: r.acked ? 200 : 0, body, ...parseJson(body), ackMs: r.ackMs };
      });
    }
    const headers = how.retryNum !== undefined ? { 'X-Slack-Retry-Num': String(how.retryNum), 'X-Slack-Retry-Reason': how.retryReason ?? 'http_timeout' } : undefined;
    // Slash commands are form fields; interactions one form field, `payload`, holding JSON; events JSON.
    const body =
      type === 'slash_commands' ? new URLSearchParams(payload as Record<string, string>).toString() : type === 'interactive' ? new URLSearchParams({ payload: JSON.stringify(payload) }).toString() : JSON.stringify(payload);
    const contentType = type === 'events_api' ? 'application/json' : 'application/x-www-form-urlencoded';
    const urls = how.everyReplica ? [botUrl, ...(options.replicaUrls ?? [])] : [botUrl];
    return Promise.all(urls.map((url) => sendSigned(body, contentType, { url, ...(headers ? { headers } : {}) })));
  };

  /** An event as the current mode delivers it: the first delivery is the result, the others are listed. */
  const deliverEvent = async (envelope: Record<string, unknown>, eventId: string): Promise<EventResult> => {
    const record = delivered.get(eventId) ?? { envelope, retries: 0 };
    delivered.set(eventId, record);
    let deliveries: DeliveryResult[];
    if (mode === 'duplicated') {
      // Slack's retry crosses the first delivery: both arrive before either is acknowledged.
      record.retries += 1;
      deliveries = (await Promise.all([deliverOnce('events_api', envelope), deliverOnce('events_api', envelope, { retryNum: record.retries, retryReason: 'http_timeout' })])).flat();
    } else if (mode === 'replicas') {
      deliveries = await deliverOnce('events_api', envelope, { everyReplica: true });
    } else {
      deliveries = await deliverOnce('events_api', envelope);
    }
    const first = deliveries[0] ?? { status: 0, body: '', ackMs: 0 };
    return { ...first, eventId, deliveries };
  };

  const envelopeOf = (event: Record<string, unknown>, eventId: string): Record<string, unknown> => ({
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

  const sendEvent = (event: Record<string, unknown>): Promise<EventResult> => {
    const eventId = `Ev${randomId(10)}`;
    const envelope = envelopeOf(event, eventId);
    const channel = typeof (event.item as { channel?: unknown } | undefined)?.channel === 'string' ? (event.item as { channel: string }).channel : typeof event.channel === 'string' ? event.channel : undefined;
    const withheld = standIn.eventWithheld(String(event.type), channel);
    if (withheld !== null) return Promise.resolve({ status: 0, body: '', ackMs: 0, eventId, deliveries: [], withheld });
    if (mode !== 'reordered') return deliverEvent(envelope, eventId);
    return new Promise<EventResult>((resolve, reject) => {
      if (held === null) {
        held = { envelope, eventId, resolve, reject };
        return;
      }
      const earlier = held;
      held = null;
      // The later event first, then the one held back.
      void deliverEvent(envelope, eventId)
        .then(resolve, reject)
        .finally(() => void deliverEvent(earlier.envelope, earlier.eventId).then(earlier.resolve, earlier.reject));
    });
  };

  return {
    sendSigned,

    async slashCommand(userId, text, { channel: channelId, command = '/release' } = {}) {
      const user = standIn.user(userId);
      if (user === undefined) throw new Error(`driver: unknown user ${userId}`);
      // Slack offers an app's slash commands only when it was installed with the commands scope.
      if (!standIn.scopes().includes('commands')) throw new Error(`driver: the app lacks the commands scope, so Slack does not offer ${command}`);
      const channel = channelId === undefined ? standIn.channels()[0] : standIn.channel(channelId);
      if (channel === undefined) throw new Error(`driver: unknown channel ${channelId ?? '(none configured)'}`);
      const responseUrl = standIn.issueResponseUrl({ channel: channel.id, user: user.id, command });
      const triggerId = `${Date.now()}.${randomDigits(10)}.${randomBytes(16).toString('hex')}`;
      // Field order as Slack sends it. A slash command works in any channel, with or without the bot in it.
      const payload: Record<string, string> = {
        token: verificationToken,
        team_id: teamId,
        team_domain: standIn.team.domain,
        channel_id: channel.id,
        channel_name: channel.id.startsWith('D') ? 'directmessage' : channel.isPrivate ? 'privategroup' : channel.name,
        user_id: user.id,
        user_name: user.name,
        command,
        text,
        api_app_id: standIn.bot.appId,
        is_enterprise_install: 'false',
        response_url: responseUrl,
        trigger_id: triggerId,
      };
      const [result] = await deliverOnce('slash_commands', payload);
      return { ...result!, responseUrl, triggerId, payload };
    },

    async reaction(user, item, name, { removed = false } = {}) {
      const { itemUser } = standIn.applyUserReaction(user, item.channel, item.ts, name, removed);
      return sendEvent({
        type: removed ? 'reaction_removed' : 'reaction_added',
        user,
        reaction: name,
        item: { type: 'message', channel: item.channel, ts: item.ts },
        item_user: itemUser,
        event_ts: standIn.nextTs(),
      });
    },

    async pressButton(user, item, actionId, { confirm = 'accept' } = {}) {
      const press = standIn.buttonPress(user, item.channel, item.ts, actionId);
      const shown = press.confirm ? { confirm: press.confirm } : {};
      if (press.confirm && confirm === 'cancel') return { status: 0, body: '', ackMs: 0, payload: press.payload, cancelled: true, ...shown };
      const [result] = await deliverOnce('interactive', press.payload);
      return { ...result!, payload: press.payload, ...shown };
    },

    async pressHomeButton(user, actionId, value) {
      const press = standIn.homeButtonPress(user, actionId, value);
      const [result] = await deliverOnce('interactive', press.payload);
      return { ...result!, payload: press.payload, ...(press.confirm ? { confirm: press.confirm } : {}) };
    },

    event: sendEvent,
    // Without the DM channel id Slack also sends: the stand-in models no app DM, and a channel
    // would make it look for the bot in that conversation.
    openAppHome: (user) => {
      const published = standIn.homeView(user);
      return sendEvent({ type: 'app_home_opened', user, tab: 'home', event_ts: `${(Date.now() / 1000).toFixed(6)}`, ...(published ? { view: { type: 'home', ...published.view } } : {}) });
    },

    async redeliver(eventId, { reason = socket ? 'timeout' : 'http_timeout' } = {}) {
      const original = delivered.get(eventId);
      if (original === undefined) throw new Error(`driver: event ${eventId} was never delivered`);
      original.retries += 1;
      const deliveries = await deliverOnce('events_api', original.envelope, { retryNum: original.retries, retryReason: reason });
      return { ...deliveries[0]!, eventId, retryNum: original.retries, deliveries };
    },

    async urlVerification(challenge = randomBytes(24).toString('base64url')) {
      const body = JSON.stringify({ token: verificationToken, challenge, type: 'url_verification' });
      const result = await sendSigned(body, 'application/json');
      return { ...result, challenge };
    },

    setDelivery(next) {
      mode = next;
    },

    async flush() {
      const earlier = held;
      held = null;
      if (earlier) await deliverEvent(earlier.envelope, earlier.eventId).then(earlier.resolve, earlier.reject);
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
