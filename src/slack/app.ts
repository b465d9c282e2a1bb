import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, LogLevel, type Logger, type RespondArguments } from '@slack/bolt';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config, LogLevel as ConfigLogLevel } from '../config/index.js';
import { serveMetrics, startProbeServer, type MetricsServer } from '../observability/http.js';
import { logger, withRequestContext } from '../observability/log.js';
import { webRegistry } from '../observability/metrics.js';
import { createReadiness, type ReadinessReport } from '../observability/readiness.js';
import { ApprovalStore } from '../queue/approvals.js';
import { sweepApprovals, type SweepResult } from './approval-decisions.js';
import { approveActionId, rejectActionId } from './blocks.js';
import { handleButton } from './button-handler.js';
import { ChannelPacer } from './channel-pacer.js';
import { commandRequestId, handleReleaseCommand } from './command-handler.js';
import { errorText, structuredLog, type ReleaseReader, type SlackLog } from './ports.js';
import { handleReaction } from './reaction-handler.js';
import type { SlackContext } from './slack-context.js';
import { HomePublisher } from './app-home.js';
import { SlackMemo } from './slack-memo.js';
import { UsergroupCache } from './usergroup-cache.js';

/**
 * The Bolt app: `/release`, the approval buttons and reactions. Every listener acks first (Bolt acks
 * events itself), then works; nothing here talks to Kubernetes (the reader is injected).
 */

export interface SlackAppOptions {
  config: Config;
  reader: ReleaseReader;
  /** A general-purpose connection (approvals, dedupe, audit); the caller closes it. */
  redis: Redis;
  /** The release queue producer; the caller closes it. */
  queue: Queue;
  /** Default: from config.runtime (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_APP_TOKEN, SLACK_API_URL). */
  botToken?: string;
  signingSecret?: string;
  /** Set: Socket Mode (no inbound Slack endpoint). */
  appToken?: string | null;
  slackApiUrl?: string | null;
  log?: SlackLog;
  now?: () => number;
  /** How often approvals are swept (expiry, and approved ones whose enqueue was interrupted); default 5 s. 0: never (call sweep()). */
  sweepIntervalMs?: number;
  /** How long the Home tabs wait for changes to settle before they are published again (default 1 s). */
  homeDebounceMs?: number;
  /**
   * How often the audit trail is read, while someone has the Home tab open, for what workers and
   * other replicas did (a release finished, a cleanup); default 5 s. 0: never.
   */
  homeRefreshMs?: number;
  usergroupTtlMs?: number;
  /** Port of /healthz, /readyz and /metrics, never the Slack endpoint's; default config web.metricsPort (0: a free port). */
  probesPort?: number;
  /**
   * What /readyz answers; the entry point adds each region's API. Default: Redis answers PING.
   * Cached by the caller (see createReadiness).
   */
  readiness?: () => Promise<ReadinessReport>;
}

export interface SlackBot {
  app: App;
  slack: SlackContext;
  mode: 'http' | 'socket';
  /**
   * HTTP mode: listen on `port` (0: a free one) for /slack/events only. Socket Mode: connect
   * (`port` is not used). Either way /healthz, /readyz and /metrics on their own port.
   */
  start(port: number, host?: string): Promise<{ port: number; probesPort: number }>;
  stop(): Promise<void>;
  /** Expire due approvals and complete interrupted enqueues now. */
  sweep(): Promise<SweepResult>;
}

export function createSlackApp(options: SlackAppOptions): SlackBot {
  const { config } = options;
  const secrets = config.runtime.secrets;
  const botToken = options.botToken ?? secrets.slackBotToken;
  if (!botToken) throw new Error('SLACK_BOT_TOKEN is not set: the bot needs its xoxb- token to post in Slack');
  const appToken = options.appToken === undefined ? secrets.slackAppToken : options.appToken;
  const signingSecret = options.signingSecret ?? secrets.slackSigningSecret;
  if (!appToken && !signingSecret) throw new Error('SLACK_SIGNING_SECRET is not set: without SLACK_APP_TOKEN (Socket Mode) the HTTP receiver must verify Slack signatures');
  const slackApiUrl = options.slackApiUrl === undefined ? config.runtime.slackApiUrl : options.slackApiUrl;
  const log = options.log ?? structuredLog;
  const mode = appToken ? 'socket' : 'http';
  const startedAt = Date.now();

  const healthz = (_req: IncomingMessage, res: ServerResponse) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    res.end(JSON.stringify({ ok: true, mode, redis: options.redis.status, uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) }));
  };
  const readiness = options.readiness ?? createReadiness([redisReadiness(options.redis)]);
  const readyz = (_req: IncomingMessage, res: ServerResponse) => {
    void readiness().then(
      (report) => {
        res.writeHead(report.ready ? 200 : 503, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
        res.end(JSON.stringify(report));
      },
      (error: unknown) => {
        res.writeHead(503, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
        res.end(JSON.stringify({ ready: false, checks: [], failed: ['readiness'], error: errorText(error) }));
      },
    );
  };
  const metrics = (_req: IncomingMessage, res: ServerResponse) => void serveMetrics(webRegistry, res);
  const probeRoutes = { '/healthz': healthz, '/readyz': readyz, '/metrics': metrics };

  const app = new App({
    token: botToken,
    // Bolt hands clientOptions (the API URL) to the Socket Mode receiver too, for apps.connections.open.
    ...(appToken ? { appToken, socketMode: true } : { receiver: httpReceiver(signingSecret ?? '') }),
    clientOptions: slackApiUrl ? { slackApiUrl } : {},
    logger: boltLogger(),
    logLevel: boltLogLevel(config.runtime.logLevel),
    deferInitialization: true,
  });

  const slack: SlackContext = {
    config,
    redis: options.redis,
    prefix: config.redis.prefix,
    queue: options.queue,
    memo: new SlackMemo(options.redis, config.redis.prefix),
    approvals: new ApprovalStore(options.redis, config.redis.prefix, options.now),
    groups: new UsergroupCache(app.client, options.usergroupTtlMs, options.now, log),
    reader: options.reader,
    client: app.client,
    log,
    now: options.now ?? Date.now,
    pacer: new ChannelPacer(options.redis, config.redis.prefix),
  };
  const home = new HomePublisher(slack, options.homeDebounceMs);
  slack.onChange = () => home.changed();

  app.command('/release', async ({ command, ack, respond, context }) => {
    await ack();
    // The request id of what this command asks for: it follows the release into the job and its Kubernetes calls.
    await withRequestContext({ requestId: commandRequestId(command.trigger_id) }, () =>
      handleReleaseCommand(slack, {
        text: command.text,
        userId: command.user_id,
        channelId: command.channel_id,
        triggerId: command.trigger_id,
        ...(context.botUserId ? { botUserId: context.botUserId } : {}),
        respond: (message) => respond(message as RespondArguments),
      }).catch((error: unknown) => {
        log.error(`/release ${command.text.slice(0, 80)}: ${errorText(error)}`);
        return respond({ response_type: 'ephemeral', text: '⚠️ Something went wrong while handling that command; nothing was changed. Try again in a moment.' }).catch(() => undefined);
      }),
    );
  });

  const onReaction = async (removed: boolean, args: { event: { user: string; reaction: string; item: { type: string; channel?: string; ts?: string }; item_user?: string }; body: { event_id: string }; context: { botUserId?: string } }) => {
    const { event, body, context } = args;
    if (event.item.type !== 'message' || !event.item.channel || !event.item.ts) return;
    await handleReaction(slack, {
      eventId: body.event_id,
      user: event.user,
      reaction: event.reaction,
      removed,
      item: { channel: event.item.channel, ts: event.item.ts },
      itemUser: event.item_user,
      botUserId: context.botUserId,
    }).catch((error: unknown) => log.error(`reaction ${event.reaction} on ${event.item.channel}/${event.item.ts}: ${errorText(error)}`));
  };
  app.event('reaction_added', async (args) => {
    await onReaction(false, args);
    home.changed();
  });
  app.event('reaction_removed', async (args) => {
    await onReaction(true, args);
    home.changed();
  });
  app.event('app_home_opened', async ({ event }) => {
    if (event.tab === 'home') await home.opened(event.user);
  });

  app.action({ type: 'block_actions', action_id: new RegExp(`^(${approveActionId}|${rejectActionId})$`) }, async ({ ack, body, action }) => {
    await ack();
    const actions = body as { user: { id: string }; container?: { channel_id?: string; message_ts?: string }; channel?: { id?: string } };
    const pressed = action as { action_id: string; action_ts?: string; value?: string };
    // A press on the Home tab names the request by its id (the button's value): decide it on its message.
    const fromHome = actions.container?.message_ts === undefined && pressed.value ? await slack.approvals.get(pressed.value).catch(() => null) : null;
    await handleButton(slack, {
      actionId: pressed.action_id,
      user: actions.user.id,
      channel: fromHome?.channel ?? actions.container?.channel_id ?? actions.channel?.id,
      messageTs: fromHome?.ts ?? actions.container?.message_ts,
      actionTs: pressed.action_ts ?? String(slack.now()),
    }).catch((error: unknown) => log.error(`button ${pressed.action_id} by ${actions.user.id}: ${errorText(error)}`));
    home.changed();
  });

  let sweeper: NodeJS.Timeout | undefined;
  let homeRefresher: NodeJS.Timeout | undefined;
  let probes: MetricsServer | undefined;
  const sweep = () => sweepApprovals(slack);

  return {
    app,
    slack,
    mode,
    async start(port, host) {
      await app.init();
      const sweepEvery = options.sweepIntervalMs ?? 5_000;
      if (sweepEvery > 0) {
        // At once too: a bot restarted after a crash queues the approvals its predecessor could not.
        void sweep().catch((error: unknown) => log.warn(`approval sweep: ${errorText(error)}`));
        sweeper = setInterval(() => void sweep().catch((error: unknown) => log.warn(`approval sweep: ${errorText(error)}`)), sweepEvery);
        sweeper.unref();
      }
      const refreshEvery = options.homeRefreshMs ?? 5_000;
      if (refreshEvery > 0) {
        homeRefresher = setInterval(() => void home.noticeAudit(), refreshEvery);
        homeRefresher.unref();
      }
      probes = await startProbeServer(probeRoutes, { port: options.probesPort ?? config.web.metricsPort, host });
      if (mode === 'socket') {
        await app.start();
        return { port: probes.port, probesPort: probes.port };
      }
      const server = (await app.start({ port, ...(host ? { host } : {}) }, slackServerLimits)) as Server;
      return { port: (server.address() as AddressInfo).port, probesPort: probes.port };
    },
    async stop() {
      clearInterval(sweeper);
      clearInterval(homeRefresher);
      home.stop();
      await app.stop();
      await probes?.close();
    },
    sweep,
  };
}

/** Readiness of the Slack app's own dependency: Redis answers PING. */
export function redisReadiness(redis: Pick<Redis, 'ping'>): { name: string; check(): Promise<void> } {
  return {
    name: 'redis',
    async check() {
      await redis.ping();
    },
  };
}

/** Bolt's (and its WebClient's) log lines, through the process's structured logger. */
function boltLogger(): Logger {
  let level = LogLevel.INFO;
  const line = (method: 'debug' | 'info' | 'warn' | 'error') => (...messages: unknown[]) =>
    logger()[method]({ component: 'bolt' }, messages.map(logText).join(' '));
  return {
    debug: line('debug'),
    info: line('info'),
    warn: line('warn'),
    error: line('error'),
    setLevel: (next) => {
      level = next;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}

function logText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Error) return value.message;
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}


function boltLogLevel(level: ConfigLogLevel): LogLevel {
  switch (level) {
    case 'trace':
    case 'debug':
      return LogLevel.DEBUG;
    case 'info':
      return LogLevel.INFO;
    case 'warn':
      return LogLevel.WARN;
    default:
      return LogLevel.ERROR;
  }
}

/**
 * Slack's payloads are small (a slash command or an interaction is a few KB): 256 KB is ample. Bolt
 * buffers up to 4 MB per request before it checks the signature, so an unauthenticated caller could
 * hold 4 MB per connection; raw-body refuses a larger declared or streamed body with 413 at once.
 */
export const slackBodyLimitBytes = 256 * 1024;

/** Short header and request timeouts: a slow or stalled sender cannot hold a connection (and its buffer) open. */
// Node enforces the two timeouts when it checks its connections (every 30 s by default): every second here.
const slackServerLimits = { headersTimeout: 5_000, requestTimeout: 10_000, keepAliveTimeout: 5_000, maxHeaderSize: 16 * 1024, connectionsCheckingInterval: 1_000 };

function httpReceiver(signingSecret: string): HTTPReceiver {
  return new HTTPReceiver({ signingSecret, bodyLimit: slackBodyLimitBytes, logger: boltLogger() });
}
