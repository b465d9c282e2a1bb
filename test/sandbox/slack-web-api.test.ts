import { ErrorCode, LogLevel, WebClient, type WebAPIPlatformError, type WebAPIRateLimitedError } from '@slack/web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSlackStandIn, type SlackStandIn } from '../../src/sandbox/slack/index.js';

const CHANNEL = 'C0RELEASES';
let standIn: SlackStandIn;
let client: WebClient;

beforeAll(async () => {
  standIn = await startSlackStandIn();
  client = new WebClient(standIn.botToken, { slackApiUrl: standIn.apiUrl, logLevel: LogLevel.ERROR, retryConfig: { retries: 0 } });
});

afterAll(async () => {
  await standIn.close();
});

beforeEach(() => {
  standIn.reset();
  standIn.setRateLimit(undefined);
});

async function platformError(call: Promise<unknown>): Promise<string | undefined> {
  try {
    await call;
  } catch (error) {
    const e = error as WebAPIPlatformError;
    expect(e.code).toBe(ErrorCode.PlatformError);
    return e.data.error;
  }
  throw new Error('expected the call to fail');
}

describe('Slack Web API stand-in under the real WebClient', () => {
  it('answers auth.test with the bot identity Bolt needs', async () => {
    const result = await client.auth.test();
    expect(result).toMatchObject({ ok: true, user_id: standIn.bot.userId, bot_id: standIn.bot.botId, team_id: standIn.team.id });
    expect(standIn.calls('auth.test')[0]).toMatchObject({ token: standIn.botToken, tokenSource: 'header', ok: true });
  });

  it('posts a message with blocks, threads a reply, updates it and keeps the history', async () => {
    const blocks = [{ type: 'section', text: { type: 'mrkdwn', text: '*promote* v42' } }];
    const root = await client.chat.postMessage({ channel: CHANNEL, text: 'promote v42', blocks });
    expect(root.ok).toBe(true);
    expect(root.channel).toBe(CHANNEL);
    expect(root.ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(root.message).toMatchObject({ text: 'promote v42', bot_id: standIn.bot.botId, user: standIn.bot.userId, blocks });

    const reply = await client.chat.postMessage({ channel: CHANNEL, thread_ts: root.ts!, text: 'eu-west: switching' });
    expect(Number(reply.ts)).toBeGreaterThan(Number(root.ts));
    expect(reply.message).toMatchObject({ thread_ts: root.ts });

    const updated = await client.chat.update({ channel: CHANNEL, ts: reply.ts!, text: 'eu-west: switched' });
    expect(updated).toMatchObject({ ok: true, channel: CHANNEL, ts: reply.ts, text: 'eu-west: switched' });

    const recorded = standIn.message(CHANNEL, reply.ts!)!;
    expect(recorded.text).toBe('eu-west: switched');
    expect(recorded.history.map((h) => h.text)).toEqual(['eu-west: switching', 'eu-west: switched']);
    expect(standIn.replies(CHANNEL, root.ts!).map((m) => m.ts)).toEqual([reply.ts]);
    expect(standIn.messages(CHANNEL)[0]!.blocks).toEqual(blocks);

    const link = await client.chat.getPermalink({ channel: CHANNEL, message_ts: reply.ts! });
    expect(link.permalink).toContain(`/archives/${CHANNEL}/p${reply.ts!.replace('.', '')}?thread_ts=${root.ts}`);
  });

  it('refuses what Slack refuses: unknown channel, unknown message, empty message', async () => {
    expect(await platformError(client.chat.postMessage({ channel: 'C0NOPE', text: 'x' }))).toBe('channel_not_found');
    expect(await platformError(client.chat.update({ channel: CHANNEL, ts: '1700000000.000001', text: 'x' }))).toBe('message_not_found');
    expect(await platformError(client.apiCall('chat.postMessage', { channel: CHANNEL }))).toBe('no_text');
    expect(await platformError(client.apiCall('chat.postMessage', { channel: CHANNEL, blocks: 'not json' }))).toBe('invalid_blocks_format');
    expect(standIn.messages()).toEqual([]);
  });

  it('posts ephemeral messages to one user', async () => {
    const result = await client.chat.postEphemeral({ channel: CHANNEL, user: 'U0000ALICE', text: 'usage: /release ...' });
    expect(result.message_ts).toMatch(/^\d{10}\.\d{6}$/);
    expect(standIn.ephemerals(CHANNEL)).toMatchObject([{ user: 'U0000ALICE', text: 'usage: /release ...', via: 'chat.postEphemeral' }]);
    expect(await platformError(client.chat.postEphemeral({ channel: CHANNEL, user: 'U0NOBODY', text: 'x' }))).toBe('user_not_found');
  });

  it('adds reactions once and reports them in reactions.get', async () => {
    const { ts } = await client.chat.postMessage({ channel: CHANNEL, text: 'approval request' });
    await client.reactions.add({ channel: CHANNEL, timestamp: ts!, name: 'white_check_mark' });
    expect(await platformError(client.reactions.add({ channel: CHANNEL, timestamp: ts!, name: 'white_check_mark' }))).toBe('already_reacted');
    expect(await platformError(client.reactions.add({ channel: CHANNEL, timestamp: '1700000000.000001', name: 'x' }))).toBe('message_not_found');

    const got = await client.reactions.get({ channel: CHANNEL, timestamp: ts! });
    expect(got.message?.reactions).toEqual([{ name: 'white_check_mark', users: [standIn.bot.userId], count: 1 }]);
    expect(standIn.reactions({ ts: ts! })).toEqual([{ channel: CHANNEL, ts, name: 'white_check_mark', user: standIn.bot.userId, via: 'api' }]);
  });

  it('resolves user groups, users and channels', async () => {
    expect((await client.usergroups.users.list({ usergroup: 'S0APPROVERS' })).users).toEqual(['U00000BOB', 'U000CAROL']);
    expect(await platformError(client.usergroups.users.list({ usergroup: 'S0NOPE' }))).toBe('no_such_subteam');
    expect((await client.users.info({ user: 'U0000ALICE' })).user).toMatchObject({ id: 'U0000ALICE', name: 'alice', is_bot: false });
    expect(await platformError(client.users.info({ user: 'U0NOBODY' }))).toBe('user_not_found');
    expect((await client.conversations.info({ channel: CHANNEL })).channel).toMatchObject({ id: CHANNEL, name: 'releases', is_member: true });
    expect(await platformError(client.conversations.info({ channel: 'C0NOPE' }))).toBe('channel_not_found');
  });

  it('rejects a wrong token with invalid_auth and a missing one with not_authed', async () => {
    const wrong = new WebClient('xoxb-wrong', { slackApiUrl: standIn.apiUrl, logLevel: LogLevel.ERROR, retryConfig: { retries: 0 } });
    expect(await platformError(wrong.chat.postMessage({ channel: CHANNEL, text: 'x' }))).toBe('invalid_auth');
    const none = new WebClient(undefined, { slackApiUrl: standIn.apiUrl, logLevel: LogLevel.ERROR, retryConfig: { retries: 0 } });
    expect(await platformError(none.auth.test())).toBe('not_authed');
    expect(standIn.messages()).toEqual([]);
  });

  it('accepts JSON bodies with a Bearer token, and ignores a token inside a JSON body', async () => {
    const post = (headers: Record<string, string>, body: unknown) =>
      fetch(`${standIn.apiUrl}chat.postMessage`, { method: 'POST', headers: { 'Content-Type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(body) });
    const ok = (await (await post({ Authorization: `Bearer ${standIn.botToken}` }, { channel: CHANNEL, blocks: [{ type: 'divider' }] })).json()) as Record<string, unknown>;
    expect(ok).toMatchObject({ ok: true, channel: CHANNEL });
    const refused = (await (await post({}, { token: standIn.botToken, channel: CHANNEL, text: 'x' })).json()) as Record<string, unknown>;
    expect(refused).toEqual({ ok: false, error: 'not_authed' });
  });

  it('answers 429 ratelimited with Retry-After, which WebClient surfaces when told to reject', async () => {
    standIn.setRateLimit(1);
    const rejecting = new WebClient(standIn.botToken, { slackApiUrl: standIn.apiUrl, logLevel: LogLevel.ERROR, rejectRateLimitedCalls: true, retryConfig: { retries: 0 } });
    await rejecting.chat.postMessage({ channel: CHANNEL, text: 'first' });
    const error = (await rejecting.chat.postMessage({ channel: CHANNEL, text: 'second' }).catch((e: unknown) => e)) as WebAPIRateLimitedError;
    expect(error.code).toBe(ErrorCode.RateLimitedError);
    expect(error.retryAfter).toBe(1);
    expect(standIn.rateLimited(CHANNEL)).toHaveLength(1);
    expect(standIn.messages(CHANNEL).map((m) => m.text)).toEqual(['first']);

    const raw = await fetch(`${standIn.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${standIn.botToken}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ channel: CHANNEL, text: 'third' }).toString(),
    });
    expect(raw.status).toBe(429);
    expect(raw.headers.get('retry-after')).toBe('1');
    expect(await raw.json()).toEqual({ ok: false, error: 'ratelimited' });
  });

  it('lets a default WebClient wait out Retry-After and retry, so the post lands', async () => {
    standIn.setRateLimit(1);
    const patient = new WebClient(standIn.botToken, { slackApiUrl: standIn.apiUrl, logLevel: LogLevel.ERROR, retryConfig: { retries: 2, minTimeout: 10, maxTimeout: 50 } });
    await patient.chat.postMessage({ channel: CHANNEL, text: 'one' });
    await patient.chat.postMessage({ channel: CHANNEL, text: 'two' });
    expect(standIn.messages(CHANNEL).map((m) => m.text)).toEqual(['one', 'two']);
    expect(standIn.rateLimited(CHANNEL).length).toBeGreaterThanOrEqual(1);
  });

  it('records calls without tokens in the args and can inject errors', async () => {
    standIn.injectError('chat.update', 'edit_window_closed');
    const { ts } = await client.chat.postMessage({ channel: CHANNEL, text: 'a' });
    expect(await platformError(client.chat.update({ channel: CHANNEL, ts: ts!, text: 'b' }))).toBe('edit_window_closed');
    await client.chat.update({ channel: CHANNEL, ts: ts!, text: 'b' });
    expect(standIn.calls('chat.update').map((c) => c.error ?? 'ok')).toEqual(['edit_window_closed', 'ok']);
    expect(JSON.stringify(standIn.calls())).not.toContain('"token":"xoxb-wrong"');
    expect(standIn.calls()[0]!.args).not.toHaveProperty('token');
  });

  it('applies response_url posts: in_channel, replace_original, delete_original', async () => {
    const url = standIn.issueResponseUrl({ channel: CHANNEL, user: 'U0000ALICE', command: '/release' });
    const post = async (body: unknown) =>
      (await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) })).status;
    expect(await post({ response_type: 'in_channel', text: 'queued' })).toBe(200);
    expect(await post({ replace_original: true, text: 'running' })).toBe(200);
    const [message] = standIn.messages(CHANNEL);
    expect(message).toMatchObject({ text: 'running', via: 'response_url', deleted: false });
    expect(message!.history.map((h) => h.text)).toEqual(['queued', 'running']);
    expect(await post({ delete_original: true })).toBe(200);
    expect(standIn.messages(CHANNEL)[0]!.deleted).toBe(true);
    expect(standIn.responseUrlPosts().map((p) => p.response_type)).toEqual(['in_channel', 'ephemeral', 'ephemeral']);
  });
});
