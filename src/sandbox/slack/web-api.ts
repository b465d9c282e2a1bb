import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { drawFault, SlackFaults, type SlackFaultSettings } from './faults.js';
import { buttonPress, homeButtonPress } from './interactions.js';
import { conversationKind, fail, findMethod, ratelimited, resolveChannel, type Args, type MethodResult, type Workspace } from './methods.js';
import { RateLimiter, slackRateLimits, strictPostMessageLimit, type RateLimitSettings } from './rate-limit.js';
import { SlackRecorder, snapshot } from './recorder.js';
import { ResponseUrls } from './response-url.js';
import { ALL_BOT_SCOPES, eventScopes, neededScope } from './scopes.js';
import { createTsClock } from './slack-ts.js';
import { SocketModeHub } from './socket-mode.js';
import type { RecordedCall, SlackStandIn, StandInChannel, StandInOptions, StandInUser } from './types.js';

export const DEFAULT_BOT_TOKEN = 'xoxb-0000000001-0000000002-cutoverstandin';
export const DEFAULT_APP_TOKEN = 'xapp-1-A0CUTOVER-0000000003-cutoverstandin';

/** A small workspace to start from: three people, one approvers group, one channel. */
export const DEFAULT_USERS: StandInUser[] = [
  { id: 'U0000ALICE', name: 'alice', realName: 'Alice Requester' },
  { id: 'U00000BOB', name: 'bob', realName: 'Bob Approver' },
  { id: 'U000CAROL', name: 'carol', realName: 'Carol Approver' },
  { id: 'U00000EVE', name: 'eve', realName: 'Eve Outsider' },
];
export const DEFAULT_USERGROUPS: Record<string, string[]> = { S0APPROVERS: ['U00000BOB', 'U000CAROL'] };
export const DEFAULT_CHANNELS: StandInChannel[] = [{ id: 'C0RELEASES', name: 'releases' }];

const faultsPath = '/sandbox/faults';
const JSON_FIELDS = ['blocks', 'attachments', 'metadata'];

/** Start a local stand-in for slack.com's Web API (and hooks.slack.com response URLs) on a free port. */
export async function startSlackStandIn(options: StandInOptions = {}): Promise<SlackStandIn> {
  const host = options.host ?? '127.0.0.1';
  const botToken = options.botToken ?? DEFAULT_BOT_TOKEN;
  const appToken = options.appToken ?? DEFAULT_APP_TOKEN;
  const recorder = new SlackRecorder();
  const rateLimiter = new RateLimiter(rateLimitsOf(options.rateLimits, options.rateLimitPerChannelPerSecond));
  const nextTs = createTsClock();
  const faults = new SlackFaults();
  const channels = (options.channels ?? DEFAULT_CHANNELS).map((c) => (typeof c === 'string' ? { id: c, name: c.toLowerCase() } : { ...c }));
  const ws: Workspace = {
    team: { id: options.teamId ?? 'T0CUTOVER', domain: options.teamDomain ?? 'cutover-sandbox', name: 'Cutover Sandbox' },
    bot: { userId: 'U0CUTOVERBOT', botId: 'B0CUTOVER', appId: 'A0CUTOVER', name: 'cutover' },
    createdSec: Math.floor(Date.now() / 1000),
    users: new Map((options.users ?? DEFAULT_USERS).map((u) => [u.id, u])),
    usergroups: new Map(Object.entries(options.usergroups ?? DEFAULT_USERGROUPS)),
    channels,
    botChannels: new Set(options.botChannels ?? channels.map((c) => c.id)),
    scopes: new Set(options.scopes ?? ALL_BOT_SCOPES),
    plan: options.plan ?? 'pro',
    recorder,
    rateLimiter,
    nextTs,
    nowMs: Date.now,
  };
  const injected = new Map<string, { error: string; times: number }>();
  let baseUrl = '';
  const responseUrls = new ResponseUrls(ws, () => baseUrl);
  const socketMode = new SocketModeHub(ws.bot.appId, options.socketPingIntervalMs, () => recorder.changed());

  const apiCall = (method: string, req: IncomingMessage, query: URLSearchParams, raw: string): MethodResult => {
    const contentType = String(req.headers['content-type'] ?? '');
    const parsed = parseArgs(contentType, query, raw);
    const { args, bodyToken } = parsed;
    const headerToken = bearerToken(req.headers.authorization);
    const token = headerToken ?? bodyToken;
    const call: RecordedCall = {
      method,
      args,
      ...(token !== undefined ? { token } : {}),
      tokenSource: headerToken !== undefined ? 'header' : bodyToken !== undefined ? 'body' : 'none',
      contentType,
      status: 200,
      ok: false,
      at: Date.now(),
    };
    const result = answer();
    call.status = result.status ?? 200;
    call.ok = result.body.ok === true;
    if (typeof result.body.error === 'string') call.error = result.body.error;
    recorder.calls.push(call);
    return result;

    function answer(): MethodResult {
      if (method === 'apps.connections.open') return openConnection();
      const handler = findMethod(method);
      if (handler === undefined) return fail('unknown_method', { req_method: method });
      if (parsed.error !== undefined) return fail(parsed.error);
      if (method === 'api.test') return handler(args, ws);
      if (token === undefined) return fail('not_authed');
      // An app-level token opens Socket Mode connections and nothing else.
      if (token === appToken) return fail('not_allowed_token_type');
      if (token !== botToken) return fail('invalid_auth');
      const scopeMissing = missingScope(method, args);
      if (scopeMissing !== null) return scopeMissing;
      if (method !== 'chat.postMessage') {
        const retryAfter = rateLimiter.take(method);
        if (retryAfter !== undefined) return ratelimited(retryAfter);
      }
      const injection = injected.get(method);
      if (injection !== undefined && injection.times > 0) {
        injection.times -= 1;
        return injection.error === 'ratelimited' ? ratelimited(1) : fail(injection.error);
      }
      return handler(args, ws);
    }

    function openConnection(): MethodResult {
      if (token === undefined) return fail('not_authed');
      if (token === botToken) return fail('not_allowed_token_type');
      if (token !== appToken) return fail('invalid_auth');
      const retryAfter = rateLimiter.take(method);
      if (retryAfter !== undefined) return ratelimited(retryAfter);
      return { body: { ok: true, url: socketMode.issueUrl(baseUrl) } };
    }
  };

  /** `missing_scope` with Slack's `needed`/`provided` fields, or null. */
  const missingScope = (method: string, args: Args): MethodResult | null => {
    const channel = method === 'conversations.info' && typeof args.channel === 'string' ? resolveChannel(ws, args.channel) : undefined;
    const needed = neededScope(method, channel === undefined ? undefined : conversationKind(channel));
    if (needed === null || ws.scopes.has(needed)) return null;
    return fail('missing_scope', { needed, provided: [...ws.scopes].join(',') });
  };

  const server = createServer((req, res) => {
    void serve(req, res);
  });
  server.on('upgrade', (req, socket, head) => {
    if (!socketMode.handleUpgrade(req, socket, head)) socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const raw = await readBody(req);
      const url = new URL(req.url ?? '/', baseUrl);
      if (url.pathname === faultsPath) return serveFaults(req, res, raw);
      const method = url.pathname.startsWith('/api/') ? decodeURIComponent(url.pathname.slice('/api/'.length)) : undefined;
      const isResponseUrl = url.pathname.startsWith('/response/') && req.method === 'POST';
      if ((method !== undefined || isResponseUrl) && faults.applies(method)) {
        const fault = drawFault(faults.settings);
        if (fault.resetConnection) {
          (req.socket).resetAndDestroy();
          return;
        }
        if (fault.delayMs > 0) await sleep(fault.delayMs);
        if (fault.errorStatus !== null) {
          recordFault(method ?? 'response_url', fault.errorStatus);
          return sendJson(res, fault.errorStatus, { ok: false, error: fault.errorStatus === 503 ? 'service_unavailable' : 'fatal_error' });
        }
        if (fault.stallMs > 0) {
          // Carried out now, answered late: a client that gives up first retries a change that was made.
          const answered = route(req, url, method, raw);
          recorder.changed();
          await sleep(fault.stallMs);
          return answered(res);
        }
      }
      route(req, url, method, raw)(res);
      recorder.changed();
    } catch (error) {
      sendJson(res, 500, { ok: false, error: 'internal_error', detail: error instanceof Error ? error.message : String(error) });
    }
  }

  /** Carries the request out now; returns how to answer it. */
  function route(req: IncomingMessage, url: URL, method: string | undefined, raw: string): (res: ServerResponse) => void {
    if (method !== undefined && (req.method === 'POST' || req.method === 'GET')) {
      const result = apiCall(method, req, url.searchParams, raw);
      const scopes = [...ws.scopes].join(',');
      return (res) => sendJson(res, result.status ?? 200, result.body, { 'X-OAuth-Scopes': scopes, ...result.headers });
    }
    if (url.pathname.startsWith('/response/') && req.method === 'POST') {
      const id = decodeURIComponent(url.pathname.slice('/response/'.length));
      const result = responseUrls.handle(id, raw, String(req.headers['content-type'] ?? ''));
      return (res) => sendJson(res, result.status, result.body);
    }
    return (res) => sendJson(res, 404, { ok: false, error: 'not_found' });
  }

  function recordFault(method: string, status: number): void {
    recorder.calls.push({ method, args: {}, tokenSource: 'none', contentType: '', status, ok: false, error: 'injected_fault', at: Date.now() });
    recorder.changed();
  }

  function serveFaults(req: IncomingMessage, res: ServerResponse, raw: string): void {
    if (req.method === 'PUT' || req.method === 'PATCH') {
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        return sendJson(res, 400, { error: 'fault settings must be JSON' });
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) return sendJson(res, 400, { error: 'fault settings must be a JSON object' });
      try {
        faults.set(body as Record<string, unknown>);
      } catch (error) {
        return sendJson(res, 400, { error: (error as Error).message });
      }
    } else if (req.method !== 'GET') {
      return sendJson(res, 405, { error: 'GET or PUT' });
    }
    sendJson(res, 200, faults.settings);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const standIn: SlackStandIn = {
    apiUrl: `${baseUrl}/api/`,
    baseUrl,
    botToken,
    appToken,
    team: { ...ws.team },
    bot: { ...ws.bot },
    users: () => snapshot([...ws.users.values()]),
    user: (id) => snapshot(ws.users.get(id)),
    channels: () => snapshot(ws.channels),
    channel: (id) => snapshot(ws.channels.find((c) => c.id === id)),
    messages: (channel) => snapshot(recorder.messages.filter((m) => channel === undefined || m.channel === channel)),
    message: (channel, ts) => snapshot(recorder.messages.find((m) => m.channel === channel && m.ts === ts)),
    replies: (channel, threadTs) => snapshot(recorder.messages.filter((m) => m.channel === channel && m.thread_ts === threadTs)),
    ephemerals: (channel, { includeHidden = false } = {}) =>
      snapshot(recorder.ephemerals.filter((e) => (channel === undefined || e.channel === channel) && (includeHidden || e.shown))),
    reactions: (filter) => snapshot(recorder.findReactions(filter)),
    responseUrlPosts: () => snapshot(recorder.responseUrlPosts),
    calls: (method) => snapshot(recorder.calls.filter((c) => method === undefined || c.method === method)),
    homeView: (user) => snapshot(recorder.homeViews.get(user)),
    rateLimited: (channel) =>
      snapshot(recorder.calls.filter((c) => c.status === 429 && (channel === undefined || c.args.channel === channel))),
    waitFor: (predicate, timeoutMs = 5000) =>
      recorder.waitFor(() => predicate(standIn), timeoutMs, () => `${recorder.messages.length} messages, ${recorder.calls.length} calls recorded`),
    reset: () => {
      injected.clear();
      rateLimiter.reset();
      responseUrls.reset();
      faults.reset();
      socketMode.reset();
      recorder.clear();
    },
    close: async () => {
      await socketMode.close();
      await new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
    setRateLimit: (perSecond) => rateLimiter.set(perSecond === undefined ? {} : strictPostMessageLimit(perSecond)),
    setRateLimits: (settings) => rateLimiter.set(rateLimitsOf(settings, undefined)),
    injectError: (method, error, times = 1) => {
      injected.set(method, { error, times });
    },
    faults: () => faults.settings,
    setFaults: (patch: Partial<SlackFaultSettings>) => faults.set(patch),
    invite: (channel) => {
      const found = resolveChannel(ws, channel);
      if (found === undefined) throw new Error(`stand-in: no channel ${channel} to invite the bot to`);
      ws.botChannels.add(found.id);
      recorder.changed();
    },
    kick: (channel) => {
      const found = resolveChannel(ws, channel);
      if (found !== undefined) ws.botChannels.delete(found.id);
      recorder.changed();
    },
    isBotIn: (channel) => {
      const found = resolveChannel(ws, channel);
      return found !== undefined && ws.botChannels.has(found.id);
    },
    setScopes: (scopes) => {
      ws.scopes = new Set(scopes);
    },
    scopes: () => [...ws.scopes],
    setPlan: (plan) => {
      ws.plan = plan;
    },
    setUsergroup: (id, members) => {
      ws.usergroups.set(id, [...members]);
    },
    buttonPress: (user, channel, ts, actionId) => buttonPress(ws, responseUrls, user, channel, ts, actionId),
    homeButtonPress: (user, actionId, value) => homeButtonPress(ws, user, actionId, value),
    socketMode,
    issueResponseUrl: (context) => responseUrls.issue(context),
    applyUserReaction: (user, channel, ts, name, removed) => {
      const message = recorder.findMessage(channel, ts);
      if (message === undefined) throw new Error(`stand-in: no message ${ts} in ${channel} to react to`);
      const existing = recorder.findReactions({ channel, ts, name, user })[0];
      if (removed) {
        if (existing === undefined) throw new Error(`stand-in: ${user} has no :${name}: on ${ts} to remove`);
        recorder.removeReaction(existing);
      } else {
        if (existing !== undefined) throw new Error(`stand-in: ${user} already reacted :${name}: on ${ts}`);
        recorder.reactions.push({ channel, ts, name, user, via: 'user' });
      }
      recorder.changed();
      return { itemUser: message.user };
    },
    eventWithheld: (eventType, channel) => {
      const scope = eventScopes[eventType];
      if (scope !== undefined && !ws.scopes.has(scope)) return `the app lacks ${scope}, which ${eventType} needs`;
      if (channel !== undefined && !ws.botChannels.has(resolveChannel(ws, channel)?.id ?? channel)) return `the app is not in ${channel}`;
      return null;
    },
    nextTs,
  };
  return standIn;
}

function rateLimitsOf(settings: 'slack' | RateLimitSettings | undefined, perChannelPerSecond: number | undefined): RateLimitSettings {
  if (settings === 'slack') return slackRateLimits;
  if (settings !== undefined) return settings;
  return perChannelPerSecond === undefined ? {} : strictPostMessageLimit(perChannelPerSecond);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)$/i.exec(header ?? '');
  return match?.[1];
}

interface ParsedArgs {
  args: Args;
  bodyToken?: string;
  error?: string;
}

/** Form bodies and query strings carry everything as strings; JSON-valued fields arrive encoded. */
function parseArgs(contentType: string, query: URLSearchParams, raw: string): ParsedArgs {
  const args: Args = Object.fromEntries(query);
  let error: string | undefined;
  if (contentType.includes('application/json')) {
    try {
      const body: unknown = JSON.parse(raw === '' ? '{}' : raw);
      if (typeof body !== 'object' || body === null || Array.isArray(body)) error = 'json_not_object';
      else Object.assign(args, body);
    } catch {
      error = 'invalid_json';
    }
    // Slack ignores a token inside a JSON body: it must come in the Authorization header.
    const queryToken = query.get('token') ?? undefined;
    delete args.token;
    return { args, ...(queryToken !== undefined ? { bodyToken: queryToken } : {}), ...(error !== undefined ? { error } : {}) };
  }
  if (contentType.includes('application/x-www-form-urlencoded')) {
    Object.assign(args, Object.fromEntries(new URLSearchParams(raw)));
  } else if (raw !== '' && contentType !== '') {
    error = 'invalid_post_type';
  }
  for (const field of JSON_FIELDS) {
    const value = args[field];
    if (typeof value !== 'string') continue;
    try {
      args[field] = JSON.parse(value) as unknown;
    } catch {
      // Left as a string: the method answers invalid_blocks_format / invalid_attachments.
    }
  }
  const bodyToken = typeof args.token === 'string' && args.token !== '' ? args.token : undefined;
  delete args.token;
  return { args, ...(bodyToken !== undefined ? { bodyToken } : {}), ...(error !== undefined ? { error } : {}) };
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
