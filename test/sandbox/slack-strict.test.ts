import { ErrorCode, LogLevel, WebClient, type WebAPIPlatformError, type WebAPIRateLimitedError } from '@slack/web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startSlackStandIn, type SlackStandIn } from '../../src/sandbox/slack/index.js';

/**
 * The stand-in is as strict as Slack: Block Kit limits with Slack's error bodies, channel
 * membership, ephemeral visibility in threads, rate tiers, scopes and plans, injected faults.
 * Everything through the real WebClient.
 */

const PUBLIC = 'C0RELEASES';
const ELSEWHERE = 'C0ELSEWHERE';
const PRIVATE = 'G0PRIVATE';
const DM = 'D0ALICEDM';
const ALICE = 'U0000ALICE';
const EVE = 'U00000EVE';

let standIn: SlackStandIn;
let client: WebClient;

beforeAll(async () => {
  standIn = await startSlackStandIn({
    channels: [
      { id: PUBLIC, name: 'releases', members: ['U0000ALICE', 'U00000BOB', 'U000CAROL'] },
      { id: ELSEWHERE, name: 'elsewhere' },
      { id: PRIVATE, name: 'secret-releases', isPrivate: true },
      { id: DM, name: 'alice-dm' },
    ],
    botChannels: [PUBLIC],
  });
  client = new WebClient(standIn.botToken, { slackApiUrl: standIn.apiUrl, logLevel: LogLevel.ERROR, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true });
});
afterAll(async () => {
  await standIn.close();
});
beforeEach(() => {
  standIn.reset();
  standIn.setRateLimits(undefined);
  standIn.setScopes(['commands', 'chat:write', 'reactions:read', 'usergroups:read']);
  standIn.setPlan('pro');
  for (const channel of [ELSEWHERE, PRIVATE, DM]) standIn.kick(channel);
  standIn.invite(PUBLIC);
});

async function refusal(call: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await call;
  } catch (error) {
    const e = error as WebAPIPlatformError;
    expect(e.code).toBe(ErrorCode.PlatformError);
    return e.data as unknown as Record<string, unknown>;
  }
  throw new Error('expected Slack to refuse the call');
}

const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });

describe('Block Kit limits', () => {
  it('refuses a header over 150 characters, section text over 3000 and more than 10 context elements, with Slack\'s errors list', async () => {
    const blocks = [
      { type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } },
      section('s'.repeat(3001)),
      { type: 'context', elements: Array.from({ length: 11 }, () => ({ type: 'mrkdwn', text: 'c' })) },
    ];
    const body = await refusal(client.chat.postMessage({ channel: PUBLIC, text: 'x', blocks }));
    expect(body.error).toBe('invalid_blocks');
    expect(body.errors).toEqual([
      'failed to match all allowed schemas [json-pointer:/blocks/0/text]',
      'must be less than 151 characters [json-pointer:/blocks/0/text/text]',
      'failed to match all allowed schemas [json-pointer:/blocks/1/text]',
      'must be less than 3001 characters [json-pointer:/blocks/1/text/text]',
      'no more than 10 items allowed [json-pointer:/blocks/2/elements]',
    ]);
    expect((body.response_metadata as { messages: string[] }).messages[0]).toBe('[ERROR] failed to match all allowed schemas [json-pointer:/blocks/0/text]');
    expect(standIn.messages()).toEqual([]);
  });

  it('refuses unknown block types and more than 50 blocks', async () => {
    expect((await refusal(client.chat.postMessage({ channel: PUBLIC, text: 'x', blocks: [{ type: 'banner' }] }))).errors).toEqual(['failed to match all allowed schemas [json-pointer:/blocks/0]']);
    const many = Array.from({ length: 51 }, () => ({ type: 'divider' }));
    expect((await refusal(client.chat.postMessage({ channel: PUBLIC, text: 'x', blocks: many }))).errors).toEqual(['no more than 50 items allowed [json-pointer:/blocks]']);
  });

  it('counts characters, not UTF-16 units: 3000 emoji fit a section', async () => {
    await client.chat.postMessage({ channel: PUBLIC, text: 'x', blocks: [section('🚀'.repeat(3000))] });
    expect(standIn.messages(PUBLIC)).toHaveLength(1);
  });

  it('refuses msg_blocks_too_long when the blocks carry more than 12,000 characters of text, each block within its own limit', async () => {
    const blocks = Array.from({ length: 5 }, () => section('x'.repeat(2500)));
    expect((await refusal(client.chat.postMessage({ channel: PUBLIC, text: 'x', blocks }))).error).toBe('msg_blocks_too_long');
    const root = await client.chat.postMessage({ channel: PUBLIC, text: 'x', blocks: blocks.slice(0, 4) });
    expect((await refusal(client.chat.update({ channel: PUBLIC, ts: root.ts!, text: 'x', blocks }))).error).toBe('msg_blocks_too_long');
    expect(standIn.message(PUBLIC, root.ts!)?.history).toHaveLength(1);
  });

  it('holds response URL posts to the same limits', async () => {
    const url = standIn.issueResponseUrl({ channel: PUBLIC, user: ALICE, command: '/release' });
    const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ text: 'x', blocks: Array.from({ length: 5 }, () => section('y'.repeat(2500))) }) });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ ok: false, error: 'msg_blocks_too_long' });
    expect(standIn.ephemerals()).toEqual([]);
  });
});

describe('buttons and message metadata', () => {
  const button = (extra: Record<string, unknown> = {}) => ({ type: 'button', action_id: 'go', text: { type: 'plain_text', text: 'Go' }, value: 'v', ...extra });

  it('refuses buttons beyond their limits: text 75, value 2000, style, confirm dialog fields, duplicate action_id, 25 elements', async () => {
    const blocks = [
      {
        type: 'actions',
        elements: [
          button({ text: { type: 'plain_text', text: 'b'.repeat(76) } }),
          button({ action_id: 'v', value: 'v'.repeat(2001), style: 'green' }),
          button({ action_id: 'c', confirm: { title: { type: 'plain_text', text: 't'.repeat(101) }, text: { type: 'plain_text', text: 'x' }, confirm: { type: 'plain_text', text: 'Yes' } } }),
          button({ action_id: 'go' }),
        ],
      },
      { type: 'actions', elements: Array.from({ length: 26 }, (_, i) => button({ action_id: `a${i}` })) },
    ];
    const body = await refusal(client.chat.postMessage({ channel: PUBLIC, text: 'x', blocks: blocks }));
    expect(body.errors).toEqual([
      'failed to match all allowed schemas [json-pointer:/blocks/0/elements/0/text]',
      'must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]',
      'must be less than 2001 characters [json-pointer:/blocks/0/elements/1/value]',
      'must be one of "primary", "danger" [json-pointer:/blocks/0/elements/1/style]',
      'failed to match all allowed schemas [json-pointer:/blocks/0/elements/2/confirm/title]',
      'must be less than 101 characters [json-pointer:/blocks/0/elements/2/confirm/title/text]',
      'must provide an object [json-pointer:/blocks/0/elements/2/confirm/deny]',
      'duplicate action_id [json-pointer:/blocks/0/elements/3/action_id]',
      'no more than 25 items allowed [json-pointer:/blocks/1/elements]',
    ]);
  });

  it('takes metadata on chat.postMessage and chat.update, refuses malformed metadata, and keeps it on an update without metadata', async () => {
    const metadata = { event_type: 'cutover_approval', event_payload: { request_id: 'apr-1', version: 'v2', count: 1, ok: true } };
    const posted = await client.chat.postMessage({ channel: PUBLIC, text: 'x', metadata });
    expect(standIn.message(PUBLIC, posted.ts!)?.metadata).toEqual(metadata);
    expect((await refusal(client.chat.postMessage({ channel: PUBLIC, text: 'x', metadata: { event_type: '', event_payload: {} } }))).error).toBe('invalid_metadata_schema');
    expect((await refusal(client.chat.postMessage({ channel: PUBLIC, text: 'x', metadata: { event_type: 'e', event_payload: { nested: { deeper: { x: 1 } } } } as never }))).error).toBe('invalid_metadata_schema');
    const raw = await fetch(`${standIn.apiUrl}chat.postMessage`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: standIn.botToken, channel: PUBLIC, text: 'x', metadata: '{not json' }).toString() });
    expect(await raw.json()).toMatchObject({ ok: false, error: 'invalid_metadata_format' });
    const changed = { ...metadata, event_payload: { ...metadata.event_payload, state: 'approved' } };
    await client.chat.update({ channel: PUBLIC, ts: posted.ts!, text: 'y', metadata: changed });
    expect(standIn.message(PUBLIC, posted.ts!)?.metadata).toEqual(changed);
    await client.chat.update({ channel: PUBLIC, ts: posted.ts!, text: 'z' });
    expect(standIn.message(PUBLIC, posted.ts!)?.metadata).toEqual(changed);
  });

  it('answers reactions.get with who reacted with what, and nothing once a reaction is removed', async () => {
    const posted = await client.chat.postMessage({ channel: PUBLIC, text: 'x' });
    standIn.applyUserReaction('U00000BOB', PUBLIC, posted.ts!, 'white_check_mark', false);
    standIn.applyUserReaction('U000CAROL', PUBLIC, posted.ts!, 'white_check_mark', false);
    const got = await client.reactions.get({ channel: PUBLIC, timestamp: posted.ts!, full: true });
    expect(got.message?.reactions).toEqual([{ name: 'white_check_mark', users: ['U00000BOB', 'U000CAROL'], count: 2 }]);
    standIn.applyUserReaction('U00000BOB', PUBLIC, posted.ts!, 'white_check_mark', true);
    standIn.applyUserReaction('U000CAROL', PUBLIC, posted.ts!, 'white_check_mark', true);
    expect((await client.reactions.get({ channel: PUBLIC, timestamp: posted.ts!, full: true })).message?.reactions).toBeUndefined();
  });
});

describe('channel membership', () => {
  it('refuses to post where the bot was not invited: not_in_channel for a public channel, channel_not_found for a private one or a DM', async () => {
    expect((await refusal(client.chat.postMessage({ channel: ELSEWHERE, text: 'x' }))).error).toBe('not_in_channel');
    expect((await refusal(client.chat.postMessage({ channel: PRIVATE, text: 'x' }))).error).toBe('channel_not_found');
    expect((await refusal(client.chat.postMessage({ channel: DM, text: 'x' }))).error).toBe('channel_not_found');
    standIn.invite(ELSEWHERE);
    await client.chat.postMessage({ channel: ELSEWHERE, text: 'now I am here' });
    expect(standIn.messages(ELSEWHERE)).toHaveLength(1);
  });

  it('still takes the answer to a slash command on its response_url in a channel without the bot', async () => {
    const url = standIn.issueResponseUrl({ channel: ELSEWHERE, user: ALICE, command: '/release' });
    const response = await fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ text: 'only you see this' }) });
    expect(response.status).toBe(200);
    expect(standIn.ephemerals(ELSEWHERE)).toMatchObject([{ user: ALICE, text: 'only you see this', shown: true }]);
  });

  it('refuses an ephemeral message to someone who is not in the channel: user_not_in_channel', async () => {
    expect((await refusal(client.chat.postEphemeral({ channel: PUBLIC, user: EVE, text: 'x' }))).error).toBe('user_not_in_channel');
  });

  it('answers conversations.info with is_member, and hides private channels the bot is not in', async () => {
    standIn.setScopes(['channels:read', 'groups:read']);
    expect((await client.conversations.info({ channel: ELSEWHERE })).channel?.is_member).toBe(false);
    expect((await client.conversations.info({ channel: PUBLIC })).channel?.is_member).toBe(true);
    expect((await refusal(client.conversations.info({ channel: PRIVATE }))).error).toBe('channel_not_found');
  });
});

describe('ephemeral messages in threads', () => {
  it('records an ephemeral in a thread without replies as not shown, and shows it once the thread has a reply', async () => {
    const root = await client.chat.postMessage({ channel: PUBLIC, text: 'Approval needed' });
    const result = await client.chat.postEphemeral({ channel: PUBLIC, user: ALICE, thread_ts: root.ts!, text: 'your approval does not count' });
    expect(result.ok).toBe(true);
    expect(standIn.ephemerals(PUBLIC)).toEqual([]);
    expect(standIn.ephemerals(PUBLIC, { includeHidden: true })).toMatchObject([{ user: ALICE, shown: false, hiddenBecause: expect.stringContaining('no replies') }]);
    await client.chat.postMessage({ channel: PUBLIC, thread_ts: root.ts!, text: 'progress' });
    await client.chat.postEphemeral({ channel: PUBLIC, user: ALICE, thread_ts: root.ts!, text: 'now it shows' });
    expect(standIn.ephemerals(PUBLIC).map((e) => e.text)).toEqual(['now it shows']);
  });
});

describe('rate tiers', () => {
  it('lets chat.postMessage burst a little per channel, then answers 429 with Retry-After', async () => {
    standIn.setRateLimits('slack');
    for (let i = 0; i < 3; i++) await client.chat.postMessage({ channel: PUBLIC, text: `burst ${i}` });
    const error = (await client.chat.postMessage({ channel: PUBLIC, text: 'one too many' }).catch((e: unknown) => e)) as WebAPIRateLimitedError;
    expect(error.code).toBe(ErrorCode.RateLimitedError);
    expect(error.retryAfter).toBeGreaterThanOrEqual(1);
    expect(standIn.rateLimited(PUBLIC)).toHaveLength(1);
  });

  it('limits chat.update to Tier 3 (about 50 a minute) across channels', async () => {
    standIn.setRateLimits('slack');
    const root = await client.chat.postMessage({ channel: PUBLIC, text: 'progress' });
    let refusedAt = -1;
    for (let i = 0; i < 20 && refusedAt < 0; i++) {
      const outcome = await client.chat.update({ channel: PUBLIC, ts: root.ts!, text: `step ${i}` }).catch((e: unknown) => e as WebAPIRateLimitedError);
      if ('code' in outcome && outcome.code === ErrorCode.RateLimitedError) {
        refusedAt = i;
        expect(outcome.retryAfter).toBeGreaterThanOrEqual(1);
      }
    }
    expect(refusedAt).toBe(10);
    expect(standIn.rateLimited().map((c) => c.method)).toEqual(['chat.update']);
  });
});

describe('scopes and plans', () => {
  it('answers missing_scope with needed and provided', async () => {
    standIn.setScopes(['commands', 'chat:write']);
    const body = await refusal(client.usergroups.users.list({ usergroup: 'S0APPROVERS' }));
    expect(body).toMatchObject({ error: 'missing_scope', needed: 'usergroups:read', provided: 'commands,chat:write' });
  });

  it('answers plan_upgrade_required for user groups on a free workspace, and no_such_subteam for an unknown group', async () => {
    standIn.setPlan('free');
    expect((await refusal(client.usergroups.users.list({ usergroup: 'S0APPROVERS' }))).error).toBe('plan_upgrade_required');
    standIn.setPlan('pro');
    expect((await refusal(client.usergroups.users.list({ usergroup: 'S0NOSUCH' }))).error).toBe('no_such_subteam');
    expect((await client.usergroups.users.list({ usergroup: 'S0APPROVERS' })).users).toEqual(['U00000BOB', 'U000CAROL']);
  });

  it('sends the granted scopes in X-OAuth-Scopes, and refuses the app token outside apps.connections.open', async () => {
    const response = await fetch(`${standIn.apiUrl}auth.test`, { method: 'POST', headers: { Authorization: `Bearer ${standIn.botToken}` } });
    expect(response.headers.get('x-oauth-scopes')).toBe('commands,chat:write,reactions:read,usergroups:read');
    const app = new WebClient(standIn.appToken, { slackApiUrl: standIn.apiUrl, logLevel: LogLevel.ERROR, retryConfig: { retries: 0 } });
    expect((await refusal(app.chat.postMessage({ channel: PUBLIC, text: 'x' }))).error).toBe('not_allowed_token_type');
    expect((await refusal(client.apps.connections.open())).error).toBe('not_allowed_token_type');
    expect((await app.apps.connections.open()).url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/link\/\?ticket=[0-9a-f-]+&app_id=A0CUTOVER$/);
  });
});

describe('faults at runtime through /sandbox/faults', () => {
  const faultsUrl = () => `${standIn.baseUrl}/sandbox/faults`;
  const put = (body: unknown) => fetch(faultsUrl(), { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

  it('answers 503 for every call while errorRate is 1, for the named methods only, and recovers when cleared', async () => {
    expect(await (await fetch(faultsUrl())).json()).toMatchObject({ errorRate: 0, latencyMs: 0, stallRate: 0, unreachable: false, methods: null });
    expect((await put({ errorRate: 1, errorStatus: 503, methods: ['chat.postMessage'] })).status).toBe(200);
    const failed = (await client.chat.postMessage({ channel: PUBLIC, text: 'x' }).catch((e: unknown) => e)) as { code: string; statusCode?: number };
    expect(failed.code).toBe(ErrorCode.HTTPError);
    expect(failed.statusCode).toBe(503);
    expect((await client.auth.test()).ok).toBe(true);
    await put({ errorRate: 0 });
    expect((await client.chat.postMessage({ channel: PUBLIC, text: 'x' })).ok).toBe(true);
  });

  it('stalls: the post is made at once but answered only later, so a client with a shorter timeout gives up on a post that landed', async () => {
    await put({ stallRate: 1, stallMs: 1500 });
    const impatient = new WebClient(standIn.botToken, { slackApiUrl: standIn.apiUrl, logLevel: LogLevel.ERROR, retryConfig: { retries: 0 }, timeout: 200 });
    const outcome = await impatient.chat.postMessage({ channel: PUBLIC, text: 'landed anyway' }).catch((e: unknown) => e as Error);
    expect(outcome).toBeInstanceOf(Error);
    expect(standIn.messages(PUBLIC).map((m) => m.text)).toEqual(['landed anyway']);
  });

  it('refuses bad settings with 400', async () => {
    expect((await put({ errorRate: 2 })).status).toBe(400);
    expect((await put({ nonsense: true })).status).toBe(400);
    expect((await put({ errorStatus: 418 })).status).toBe(400);
  });

  it('resets connections while unreachable', async () => {
    standIn.setFaults({ unreachable: true });
    await expect(fetch(`${standIn.apiUrl}auth.test`, { method: 'POST' })).rejects.toThrow();
    standIn.setFaults({ unreachable: false });
  });
});
