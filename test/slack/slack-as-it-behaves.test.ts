import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSlackApp } from '../../src/slack/app.js';
import { explainGroupProblems, UsergroupCache } from '../../src/slack/usergroup-cache.js';
import { eventually } from '../queue/redis-fixture.js';
import { ALICE, BOB, CHANNEL, EVE, SIGNING_SECRET, queuedJobs, startWorld, textOf, type World } from './harness.js';
import { createSlackDriver, DEFAULT_USERS } from '../../src/sandbox/slack/index.js';

/**
 * The bot against a stand-in that behaves as Slack does: refusals that Slack would not show,
 * channels without the bot, user groups that cannot be read, events delivered twice, out of order
 * or to two replicas at once.
 */

const ELSEWHERE = 'C0ELSEWHERE';
const SECRET = 'G0SECRET';
/** Someone in the workspace but not in #releases. */
const MALLORY = 'U00MALLORY';
let world: World;

beforeAll(async () => {
  world = await startWorld({
    standIn: {
      users: [...DEFAULT_USERS, { id: MALLORY, name: 'mallory' }],
      channels: [
        { id: CHANNEL, name: 'releases', members: DEFAULT_USERS.map((u) => u.id) },
        { id: ELSEWHERE, name: 'elsewhere' },
        { id: SECRET, name: 'secret', isPrivate: true },
      ],
      botChannels: [CHANNEL],
    },
    // Every lookup asks Slack, so each test sees the plan and scopes it sets.
    usergroupTtlMs: 0,
  });
});
afterAll(async () => {
  await world?.stop();
});
beforeEach(async () => {
  world.standIn.reset();
  world.standIn.setPlan('pro');
  world.standIn.setScopes(['commands', 'chat:write', 'reactions:read', 'usergroups:read']);
  world.driver.setDelivery('once');
  world.logs.length = 0;
  world.logLines.length = 0;
  await world.queue.obliterate({ force: true });
});

const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

async function approvalRequest(text = 'promote shop v2') {
  const before = world.standIn.messages(CHANNEL).length;
  await world.driver.slashCommand(ALICE, text);
  return world.standIn.waitFor((s) => s.messages(CHANNEL).slice(before).find((m) => !m.thread_ts && m.text?.startsWith('Approval needed')));
}

async function answer(user: string, text: string, channel: string) {
  const { responseUrl } = await world.driver.slashCommand(user, text, { channel });
  return world.standIn.waitFor((s) => s.responseUrlPosts().find((p) => p.url === responseUrl));
}

describe('refusals the person sees', () => {
  it('tells the requester, a non-approver and a late approver in the channel, where Slack shows it, not in a thread without replies', async () => {
    const request = await approvalRequest();
    const at = { channel: CHANNEL, ts: request.ts };
    expect(world.standIn.replies(CHANNEL, request.ts)).toEqual([]);
    await world.driver.reaction(ALICE, at, 'white_check_mark');
    await world.driver.reaction(EVE, at, 'white_check_mark');
    const seen = await world.standIn.waitFor((s) => s.ephemerals(CHANNEL).length === 2 && s.ephemerals(CHANNEL));
    expect(seen.map((e) => e.user).sort()).toEqual([ALICE, EVE].sort());
    expect(textOf(seen.find((e) => e.user === ALICE))).toContain('On the approval request for *promote shop v2 in production*: you asked for this release');
    expect(textOf(seen.find((e) => e.user === EVE))).toContain('is not an approver');
    expect(world.standIn.ephemerals(CHANNEL, { includeHidden: true }).filter((e) => !e.shown)).toEqual([]);
  });

  it('answers someone who is not in the channel (user_not_in_channel) with a thread reply that mentions them', async () => {
    const request = await approvalRequest();
    await world.driver.reaction(MALLORY, { channel: CHANNEL, ts: request.ts }, 'white_check_mark');
    const reply = await world.standIn.waitFor((s) => s.replies(CHANNEL, request.ts).find((m) => textOf(m).includes(`<@${MALLORY}>`)));
    expect(textOf(reply)).toContain('is not an approver');
    expect(world.standIn.calls('chat.postEphemeral').map((c) => c.error)).toEqual(['user_not_in_channel']);
  });
});

describe('a channel without the bot', () => {
  it('answers "invite @cutover to #channel" through the response_url when the bot is not in a public channel, and changes nothing', async () => {
    const post = await answer(ALICE, 'deploy shop v3', ELSEWHERE);
    expect(post.status).toBe(200);
    expect(textOf(post)).toContain(`Invite <@${world.standIn.bot.userId}> to <#${ELSEWHERE}>`);
    expect(textOf(post)).not.toContain('An API error occurred');
    expect(world.standIn.calls('chat.postMessage').map((c) => c.error)).toEqual(['not_in_channel']);
    expect(await queuedJobs(world.queue)).toEqual([]);
  });

  it('explains a private channel or DM (channel_not_found) for a gated request too', async () => {
    const post = await answer(ALICE, 'promote shop v2', SECRET);
    expect(textOf(post)).toContain('private channel I was not invited to, or a direct message');
    expect(textOf(post)).toContain(`Invite <@${world.standIn.bot.userId}>`);
    expect(await queuedJobs(world.queue)).toEqual([]);
  });

  it('works once the bot is invited', async () => {
    world.standIn.invite(ELSEWHERE);
    await world.driver.slashCommand(ALICE, 'deploy shop v3', { channel: ELSEWHERE });
    await world.standIn.waitFor((s) => s.messages(ELSEWHERE).find((m) => m.text?.startsWith('Queued')));
    await eventually(() => queuedJobs(world.queue).then((j) => j.length === 1), 'the deploy job');
    world.standIn.kick(ELSEWHERE);
  });
});

describe('user groups that cannot be read', () => {
  it('on a free workspace: tells the group approver why, and logs the code at warn once per change, not per call', async () => {
    world.standIn.setPlan('free');
    const request = await approvalRequest();
    await world.driver.reaction(BOB, { channel: CHANNEL, ts: request.ts }, 'white_check_mark');
    const told = await world.standIn.waitFor((s) => s.ephemerals(CHANNEL).find((e) => e.user === BOB));
    expect(textOf(told)).toContain('is not an approver');
    expect(textOf(told)).toContain('plan_upgrade_required');
    expect(textOf(told)).toContain('environments.production.slack.approvals.approvers.users');
    const again = await approvalRequest('promote shop v1');
    await world.driver.reaction(BOB, { channel: CHANNEL, ts: again.ts }, 'white_check_mark');
    await world.standIn.waitFor((s) => s.ephemerals(CHANNEL).filter((e) => e.user === BOB).length === 2);
    const warnings = () => world.logLines.filter((l) => l.message.startsWith('usergroups.users.list S0APPROVERS'));
    expect(warnings()).toEqual([{ level: 'warn', message: expect.stringContaining('plan_upgrade_required') }]);
    expect(await queuedJobs(world.queue)).toEqual([]);
  });

  it('without the usergroups:read scope: names the missing scope', async () => {
    world.standIn.setScopes(['commands', 'chat:write', 'reactions:read']);
    const post = await answer(EVE, 'promote shop v2', CHANNEL);
    expect(textOf(post)).toContain('may not promote here');
    expect(textOf(post)).toContain('lacks the `usergroups:read` scope (missing_scope)');
    expect(world.logLines.filter((l) => l.level === 'warn' && l.message.includes('missing_scope (needed usergroups:read, provided commands,chat:write,reactions:read)'))).toHaveLength(1);
  });

  it('says when a configured group does not exist (no_such_subteam), and logs the recovery once', async () => {
    const client = new WebClient(world.standIn.botToken, { slackApiUrl: world.standIn.apiUrl, retryConfig: { retries: 0 } });
    const lines: string[] = [];
    const cache = new UsergroupCache(client, 0, Date.now, { info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) });
    expect(await cache.members('S0NOSUCH')).toEqual([]);
    expect(explainGroupProblems(cache.problems(['S0NOSUCH']), 'production', 'approvers')).toContain('does not exist in this workspace (no_such_subteam)');
    world.standIn.setPlan('free');
    await cache.members('S0APPROVERS');
    await cache.members('S0APPROVERS');
    world.standIn.setPlan('pro');
    expect(await cache.members('S0APPROVERS')).toEqual([BOB, 'U000CAROL']);
    expect(lines.map((l) => l.split(':')[0])).toEqual(['warn usergroups.users.list S0NOSUCH', 'warn usergroups.users.list S0APPROVERS', 'info user group S0APPROVERS can be read again (2 members)']);
  });
});

describe('events as Slack delivers them', () => {
  it('counts an approval delivered twice at once (a retry crossing the first delivery) once', async () => {
    const request = await approvalRequest();
    world.driver.setDelivery('duplicated');
    const result = await world.driver.reaction(BOB, { channel: CHANNEL, ts: request.ts }, 'white_check_mark');
    expect(result.deliveries.map((d) => d.status)).toEqual([200, 200]);
    await eventually(() => queuedJobs(world.queue).then((j) => j.length > 0), 'the promote job');
    await settle();
    expect(await queuedJobs(world.queue)).toHaveLength(1);
  });

  it('counts an approval delivered to two bot replicas at once once', async () => {
    const replica = createSlackApp({ config: world.config, reader: world.clusters, redis: world.redis, queue: world.queue, botToken: world.standIn.botToken, slackApiUrl: world.standIn.apiUrl, log: { info: () => undefined, warn: () => undefined, error: () => undefined }, sweepIntervalMs: 0 });
    const { port } = await replica.start(0, '127.0.0.1');
    try {
      const request = await approvalRequest();
      const driver = createSlackDriver({ standIn: world.standIn, botUrl: `${world.botUrl}/slack/events`, replicaUrls: [`http://127.0.0.1:${port}/slack/events`], signingSecret: SIGNING_SECRET });
      driver.setDelivery('replicas');
      const result = await driver.reaction(BOB, { channel: CHANNEL, ts: request.ts }, 'white_check_mark');
      expect(result.deliveries).toHaveLength(2);
      await eventually(() => queuedJobs(world.queue).then((j) => j.length > 0), 'the promote job');
      await settle();
      expect(await queuedJobs(world.queue)).toHaveLength(1);
      expect(world.standIn.message(CHANNEL, request.ts)?.text).toMatch(/^✅ Approved: promote shop v2/);
    } finally {
      await replica.stop();
    }
  });

  it('handles reactions that arrive out of order: the approval runs once, the late refusal is not lost', async () => {
    const request = await approvalRequest();
    world.driver.setDelivery('reordered');
    const first = world.driver.reaction(EVE, { channel: CHANNEL, ts: request.ts }, 'white_check_mark');
    const second = world.driver.reaction(BOB, { channel: CHANNEL, ts: request.ts }, 'white_check_mark');
    await Promise.all([first, second]);
    await eventually(() => queuedJobs(world.queue).then((j) => j.length > 0), 'the promote job');
    await settle();
    expect(await queuedJobs(world.queue)).toHaveLength(1);
    expect(world.standIn.message(CHANNEL, request.ts)?.text).toMatch(/^✅ Approved: promote shop v2/);
  });
});
