import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readAudit } from '../../src/queue/audit.js';
import { signSlackRequest } from '../../src/sandbox/slack/index.js';
import { createSlackApp } from '../../src/slack/app.js';
import { eventually } from '../queue/redis-fixture.js';
import { ALICE, BOB, CAROL, CHANNEL, EVE, queuedJobs, startWorld, textOf, type World } from './harness.js';

let world: World;

beforeAll(async () => {
  world = await startWorld({ auditChannel: 'C0AUDIT' });
});
afterAll(async () => {
  await world?.stop();
});
beforeEach(async () => {
  world.standIn.reset();
  world.clusters.live = { shop: 'v1', cart: 'v1' };
  await world.queue.obliterate({ force: true });
});

const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

/** The user runs /release and we wait for the ephemeral answer on the response_url. */
async function ephemeralAnswer(user: string, text: string) {
  const result = await world.driver.slashCommand(user, text);
  expect(result.status).toBe(200);
  const post = await world.standIn.waitFor((s) => s.responseUrlPosts().find((p) => p.url === result.responseUrl));
  expect(post.response_type).toBe('ephemeral');
  return textOf(post);
}

/** The user asks for a gated release; resolves with the approval request message in the channel. */
async function approvalRequest(text = 'promote shop v2') {
  const before = world.standIn.messages(CHANNEL).length;
  await world.driver.slashCommand(ALICE, text);
  return world.standIn.waitFor((s) => s.messages(CHANNEL).slice(before).find((m) => !m.thread_ts && m.text?.startsWith('Approval needed')));
}

async function audit(kind: string) {
  return (await readAudit(world.redis, world.prefix, { count: 100 })).filter((e) => e.kind === kind);
}

describe('/release over signed HTTP, against a real Bolt app', () => {
  it('serves /healthz with JSON', async () => {
    const response = await fetch(`${world.probesUrl}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ ok: true, mode: 'http' });
  });

  it('rejects a forged signature and a timestamp older than five minutes with 401, and does nothing', async () => {
    const responseUrl = world.standIn.issueResponseUrl({ channel: CHANNEL, user: ALICE, command: '/release' });
    const body = new URLSearchParams({ command: '/release', text: 'deploy shop v3', user_id: ALICE, channel_id: CHANNEL, response_url: responseUrl, trigger_id: '1.2.forged' }).toString();
    const now = Math.floor(Date.now() / 1000);
    const forged = await world.driver.sendSigned(body, 'application/x-www-form-urlencoded', { signature: signSlackRequest('not-the-secret', now, body) });
    const stale = await world.driver.sendSigned(body, 'application/x-www-form-urlencoded', { timestamp: now - 6 * 60 });
    expect([forged.status, stale.status]).toEqual([401, 401]);
    await settle();
    expect(world.standIn.messages()).toEqual([]);
    expect(world.standIn.responseUrlPosts()).toEqual([]);
    expect(await queuedJobs(world.queue)).toEqual([]);
  });

  it('answers help and malformed commands with the usage, ephemerally', async () => {
    expect(await ephemeralAnswer(ALICE, 'help')).toContain('Usage: /release');
    expect(await ephemeralAnswer(ALICE, '')).toContain('Usage: /release');
    const typo = await ephemeralAnswer(ALICE, 'promot shop v2');
    expect(typo).toContain('did you mean promote');
    expect(typo).toContain('Usage: /release');
    expect(await ephemeralAnswer(ALICE, 'promote shop')).toContain('needs a version');
    expect(world.standIn.messages(CHANNEL)).toEqual([]);
  });

  it('refuses an unknown app, environment or malformed version, naming what exists, and enqueues nothing', async () => {
    const app = await ephemeralAnswer(ALICE, 'promote shopp v2');
    expect(app).toContain('known apps are shop, cart');
    expect(await ephemeralAnswer(ALICE, 'deploy shop v3 --env prod')).toContain('environments are staging, production');
    expect(await ephemeralAnswer(ALICE, 'deploy shop v3;rm')).toMatch(/version/);
    const missing = await ephemeralAnswer(ALICE, 'promote shop v9');
    expect(missing).toContain('v9 is not installed; installed versions: v1, v2');
    expect(missing).toContain('Nothing was changed');
    expect(world.standIn.messages(CHANNEL)).toEqual([]);
    expect(await queuedJobs(world.queue)).toEqual([]);
  });

  it('refuses an unauthorized requester, and enqueues nothing', async () => {
    const answer = await ephemeralAnswer(EVE, 'promote shop v2');
    expect(answer).toContain('<@U00000EVE> may not promote here');
    expect(world.standIn.messages(CHANNEL)).toEqual([]);
    expect(await queuedJobs(world.queue)).toEqual([]);
  });

  it('applies per-action requesters: the on-call user may roll back, not promote', async () => {
    expect(await ephemeralAnswer(EVE, 'promote shop v2')).toContain('may not promote here');
    await world.driver.slashCommand(EVE, 'rollback shop --to v1');
    const root = await world.standIn.waitFor((s) => s.messages(CHANNEL).find((m) => m.text?.startsWith('Queued: rollback shop v1')));
    const [job] = await eventually(() => queuedJobs(world.queue).then((j) => j.length === 1 && j), 'the rollback job');
    expect(job!.data).toMatchObject({ app: 'shop', environment: 'production', toVersion: 'v1', requestedBy: EVE, slack: { threadTs: root.ts } });
  });

  it('shows status and a dry run ephemerally, changing nothing', async () => {
    const status = await ephemeralAnswer(EVE, 'status shop --env production');
    expect(status).toContain('Status: shop in production');
    expect(status).toContain('eu-west');
    const dry = await ephemeralAnswer(ALICE, 'promote shop v2 --dry-run');
    expect(dry).toContain('Dry run: nothing was changed');
    expect(dry).toContain('v1 → v2');
    expect(world.standIn.messages(CHANNEL)).toEqual([]);
    expect(await queuedJobs(world.queue)).toEqual([]);
  });

  it('enqueues an ungated action at once, with its first reply as the thread root, once per trigger', async () => {
    const command = await world.driver.slashCommand(ALICE, 'deploy shop v3');
    const root = await world.standIn.waitFor((s) => s.messages(CHANNEL).find((m) => m.text?.startsWith('Queued')));
    const [job] = await eventually(() => queuedJobs(world.queue).then((j) => j.length === 1 && j), 'the deploy job');
    expect(job!.name).toBe('deploy');
    expect(job!.data).toMatchObject({ app: 'shop', environment: 'staging', version: 'v3', requestedBy: ALICE, source: 'slack', slack: { channel: CHANNEL, threadTs: root.ts } });
    // The same request delivered again (a proxy retry): nothing new.
    const again = await world.driver.sendSigned(new URLSearchParams(command.payload).toString(), 'application/x-www-form-urlencoded');
    expect(again.status).toBe(200);
    await settle();
    expect(world.standIn.messages(CHANNEL).filter((m) => m.text?.startsWith('Queued'))).toHaveLength(1);
    expect(await queuedJobs(world.queue)).toHaveLength(1);
  });

  it('gates production: self-approval ignored (told once), a second user approves, exactly one job with the approved payload', async () => {
    const request = await approvalRequest();
    expect(textOf(request)).toContain('Approvals:* 0/1');
    const at = { channel: CHANNEL, ts: request.ts };

    await world.driver.reaction(ALICE, at, 'white_check_mark');
    await world.standIn.waitFor((s) => s.ephemerals(CHANNEL).find((e) => e.user === ALICE));
    await world.driver.reaction(ALICE, at, 'white_check_mark', { removed: true });
    await world.driver.reaction(ALICE, at, 'white_check_mark');
    await settle();
    const toAlice = world.standIn.ephemerals(CHANNEL).filter((e) => e.user === ALICE);
    expect(toAlice).toHaveLength(1);
    expect(textOf(toAlice[0])).toContain('you asked for this release, so your approval does not count');
    expect(await queuedJobs(world.queue)).toEqual([]);

    await world.driver.reaction(EVE, at, 'white_check_mark');
    await world.standIn.waitFor((s) => s.ephemerals(CHANNEL).find((e) => e.user === EVE && textOf(e).includes('is not an approver')));

    const approval = await world.driver.reaction(BOB, at, 'white_check_mark');
    await eventually(() => queuedJobs(world.queue).then((j) => j.length > 0), 'the promote job');
    expect(world.standIn.message(CHANNEL, request.ts)?.text).toMatch(/^✅ Approved: promote shop v2/);
    await world.driver.redeliver(approval.eventId);
    await settle();
    const jobs = await queuedJobs(world.queue);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.name).toBe('promote');
    expect(jobs[0]!.data).toMatchObject({
      app: 'shop',
      environment: 'production',
      version: 'v2',
      requestedBy: ALICE,
      approvedBy: [BOB],
      source: 'slack',
      slack: { channel: CHANNEL, threadTs: request.ts },
    });
    expect(jobs[0]!.data.requestId).toMatch(/^apr-shop-/);
    // The job's id is the approval id, which the worker verifies before any change.
    expect(jobs[0]!.id).toBe(jobs[0]!.data.requestId);
    expect(jobs[0]!.data.approvalId).toBe(jobs[0]!.data.requestId);
    const requestId = jobs[0]!.data.requestId as string;
    expect((await audit('requested')).filter((e) => e.requestId === requestId)).toHaveLength(1);
    expect((await audit('approved')).filter((e) => e.requestId === requestId)).toMatchObject([{ actor: BOB, app: 'shop', version: 'v2' }]);
    // The audit channel got the lines too.
    expect(world.standIn.messages('C0AUDIT').length).toBeGreaterThanOrEqual(2);

    // Used once: a later approval by carol does nothing.
    await world.driver.reaction(CAROL, at, 'white_check_mark');
    await settle();
    expect(await queuedJobs(world.queue)).toHaveLength(1);
  });

  it('does not run a rejected request', async () => {
    const request = await approvalRequest();
    await world.driver.reaction(CAROL, { channel: CHANNEL, ts: request.ts }, 'x');
    await world.standIn.waitFor((s) => s.message(CHANNEL, request.ts)?.text?.startsWith('❌ Rejected'));
    await world.driver.reaction(BOB, { channel: CHANNEL, ts: request.ts }, 'white_check_mark');
    await settle();
    expect(await queuedJobs(world.queue)).toEqual([]);
    expect(await audit('rejected')).toMatchObject([{ actor: CAROL }]);
  });

  it('does not run an expired request: the sweep marks it, and a late approval is told so', async () => {
    const swept = await approvalRequest();
    const late = await approvalRequest('deploy shop v3 --env production');
    world.clock.offsetMs += 31 * 60_000;
    try {
      // Lazily, on the reaction:
      await world.driver.reaction(BOB, { channel: CHANNEL, ts: late.ts }, 'white_check_mark');
      await world.standIn.waitFor((s) => s.ephemerals(CHANNEL).find((e) => e.user === BOB && textOf(e).includes('expired')));
      await world.standIn.waitFor((s) => s.message(CHANNEL, late.ts)?.text?.startsWith('⌛ Expired'));
      // By the sweep:
      expect((await world.bot.sweep()).expired).toBeGreaterThanOrEqual(1);
      expect(world.standIn.message(CHANNEL, swept.ts)?.text).toMatch(/^⌛ Expired/);
      await world.driver.reaction(BOB, { channel: CHANNEL, ts: swept.ts }, 'white_check_mark');
      await settle();
    } finally {
      world.clock.offsetMs = 0;
    }
    expect(await queuedJobs(world.queue)).toEqual([]);
    expect(await audit('expired')).toHaveLength(2);
  });

  it('does not look at the clusters again at the last approval: the worker checks the approved plan against its own observation', async () => {
    const request = await approvalRequest();
    const previews = world.clusters.previews.length;
    world.clusters.live.shop = 'v0'; // someone else switched production meanwhile
    await world.driver.reaction(BOB, { channel: CHANNEL, ts: request.ts }, 'white_check_mark');
    const [job] = await eventually(() => queuedJobs(world.queue).then((j) => j.length > 0 && j), 'the promote job');
    expect(world.clusters.previews.length).toBe(previews);
    expect(job!.data).toMatchObject({ approvalId: job!.id, planDigest: expect.stringMatching(/^[0-9a-f]{16}$/) });
  });

  it('tells an approver when a reacted bot message has no pending request (lost from Redis)', async () => {
    const request = await approvalRequest();
    const key = `${world.prefix}:approval-message:${CHANNEL}:${request.ts}`;
    await eventually(async () => (await world.redis.exists(key)) === 1, 'the stored request');
    await world.redis.del(key);
    await world.driver.reaction(BOB, { channel: CHANNEL, ts: request.ts }, 'white_check_mark');
    const told = await world.standIn.waitFor((s) => s.ephemerals(CHANNEL).find((e) => e.user === BOB));
    expect(textOf(told)).toContain('Ask again');
    expect(await queuedJobs(world.queue)).toEqual([]);
  });

  it('answers history from the audit trail', async () => {
    const answer = await ephemeralAnswer(EVE, 'history shop');
    expect(answer).toContain('History: shop');
    expect(answer).toMatch(/requested/);
  });
});

describe('two approvals needed', () => {
  let two: World;
  beforeAll(async () => {
    two = await startWorld({ required: 2 });
  });
  afterAll(async () => {
    await two?.stop();
  });

  it('counts a re-delivered reaction event once, and withdraws on reaction_removed', async () => {
    await two.driver.slashCommand(ALICE, 'promote shop v2');
    const request = await two.standIn.waitFor((s) => s.messages(CHANNEL).find((m) => m.text?.startsWith('Approval needed')));
    const at = { channel: CHANNEL, ts: request.ts };
    const added = await two.driver.reaction(CAROL, at, 'white_check_mark');
    await two.standIn.waitFor((s) => s.message(CHANNEL, request.ts)?.text?.includes('1/2 approvals'));
    await two.driver.reaction(CAROL, at, 'white_check_mark', { removed: true });
    await two.standIn.waitFor((s) => s.message(CHANNEL, request.ts)?.text?.includes('0/2 approvals'));
    // Slack retries the first event: it must not count carol again.
    await two.driver.redeliver(added.eventId);
    await settle();
    await two.driver.reaction(BOB, at, 'white_check_mark');
    await two.standIn.waitFor((s) => s.message(CHANNEL, request.ts)?.text?.includes('1/2 approvals'));
    await settle();
    expect(two.standIn.message(CHANNEL, request.ts)?.text).toContain('1/2 approvals');
    expect(await queuedJobs(two.queue)).toEqual([]);
  });
});

describe('choosing the transport', () => {
  const make = (tokens: { botToken?: string; signingSecret?: string; appToken?: string | null }) => () =>
    createSlackApp({ config: world.config, reader: world.clusters, redis: world.redis, queue: world.queue, sweepIntervalMs: 0, ...tokens });

  it('uses Socket Mode when an app token is set, else HTTP with signature verification', () => {
    expect(make({ botToken: 'xoxb-1', appToken: 'xapp-1' })().mode).toBe('socket');
    expect(make({ botToken: 'xoxb-1', signingSecret: 's', appToken: null })().mode).toBe('http');
  });

  it('refuses to start without the secrets it needs, naming them', () => {
    const bare = { ...world.config, runtime: { ...world.config.runtime, secrets: { slackBotToken: null, slackSigningSecret: null, slackAppToken: null } } } as unknown as typeof world.config;
    expect(() => createSlackApp({ config: bare, reader: world.clusters, redis: world.redis, queue: world.queue })).toThrow(/SLACK_BOT_TOKEN/);
    expect(() => createSlackApp({ config: bare, reader: world.clusters, redis: world.redis, queue: world.queue, botToken: 'xoxb-1' })).toThrow(/SLACK_SIGNING_SECRET/);
  });
});
