import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { releaseReader } from '../../src/wiring/release-reader.js';
import { runCli } from '../../src/cli.js';
import { findApp, findEnvironment, parseConfig, type Config } from '../../src/config/index.js';
import { confirm, decide } from '../../src/core/approval.js';
import { ApprovalStore } from '../../src/queue/approvals.js';
import { previewRelease } from '../../src/release/release.js';
import { createRedis } from '../../src/queue/connection.js';
import { createReleaseQueue } from '../../src/queue/release-queue.js';
import { createSlackDriver, startSlackStandIn, type SlackDriver, type SlackStandIn } from '../../src/sandbox/slack/index.js';
import { createSlackApp, type SlackBot } from '../../src/slack/app.js';
import { approveActionId, rejectActionId } from '../../src/slack/blocks.js';
import { createQueueRunner } from '../../src/wiring/queue-runner.js';
import { ClusterDirectory } from '../../src/wiring/release-environment.js';
import { redisUrl } from '../queue/redis-fixture.js';
import { textOf } from '../slack/harness.js';
import { waitFor, World } from '../jobs/harness.js';

/**
 * CI through the same gate: `cutover promote ... --queue --request-approval` posts the approval
 * request a Slack user's command would (saying it came from the CLI, who ran it and the CI run),
 * prints a line while it waits, then follows the job the approval starts. Real Bolt app against
 * the Slack stand-in, a real worker process, two sandbox regions, real Redis.
 */

const CHANNEL = 'C0RELEASES';
const BOB = 'U00000BOB';
const CAROL = 'U000CAROL';
const SIGNING_SECRET = 'cli-approval-secret';
const world = new World({
  apps: { shop: { channels: [CHANNEL] } },
  production: { protected: true, slack: { approvals: { approvers: { users: [BOB, CAROL] } } } },
});
let standIn: SlackStandIn;
let driver: SlackDriver;
let bot: SlackBot;
const clock = { offsetMs: 0 };
let slackEnv: Record<string, string>;

beforeAll(async () => {
  await world.start();
  await world.prepare('shop', { install: ['v2', 'v3'] });
  standIn = await startSlackStandIn();
  slackEnv = { REDIS_URL: redisUrl, SLACK_BOT_TOKEN: standIn.botToken, SLACK_API_URL: standIn.apiUrl };
  const config: Config = parseConfig(await readFile(world.configPath, 'utf8'), { ...slackEnv, SLACK_SIGNING_SECRET: SIGNING_SECRET }, world.configPath);
  const redis = createRedis(config.runtime.redis, 'client') as never;
  bot = createSlackApp({
    config,
    reader: releaseReader(config, new ClusterDirectory(), redis),
    redis,
    queue: createReleaseQueue({ redisUrl, prefix: world.prefix }),
    botToken: standIn.botToken,
    slackApiUrl: standIn.apiUrl,
    log: { info: () => undefined, warn: () => undefined, error: (m) => console.error(m) },
    now: () => Date.now() + clock.offsetMs,
    sweepIntervalMs: 0,
  });
  const { port } = await bot.start(0, '127.0.0.1');
  driver = createSlackDriver({ standIn, botUrl: `http://127.0.0.1:${port}/slack/events`, signingSecret: SIGNING_SECRET });
  await world.startWorkers(1);
}, 90_000);
afterAll(async () => {
  await bot?.stop();
  await standIn?.close();
  await world.stop();
});
beforeEach(() => {
  standIn.reset();
});

const ci = { GITHUB_ACTOR: 'ci-bot', GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'acme/shop', GITHUB_RUN_ID: '4242' };

function cli(args: string[], env: Record<string, string> = {}, configPath = world.configPath) {
  const out: string[] = [];
  const err: string[] = [];
  const done = runCli([...args, '--config', configPath], { out: (l) => out.push(l), err: (l) => err.push(l), env: { ...slackEnv, ...ci, ...env }, queue: createQueueRunner() });
  return { out, err, done };
}

async function postedRequest() {
  return standIn.waitFor((s) => s.messages(CHANNEL).find((m) => !m.thread_ts && m.text?.startsWith('Approval needed')), 15_000);
}

describe('cutover --queue --request-approval', () => {
  it('posts the request from the CLI, waits saying so, and follows the approved release to its end (exit 0)', async () => {
    const run = cli(['promote', 'shop', 'v2', '--env', 'production', '--queue', '--request-approval']);
    const request = await postedRequest();
    const body = textOf(request);
    expect(request.channel).toBe(CHANNEL);
    expect(body).toContain('The cutover CLI, run by `cli:ci-bot`, asks to *promote*');
    expect(body).toContain('from the CLI · <https://github.com/acme/shop/actions/runs/4242|CI run>');
    expect(request.metadata).toMatchObject({ event_type: 'cutover_approval', event_payload: { app: 'shop', environment: 'production', version: 'v2' } });
    await waitFor(() => run.out.some((l) => l.startsWith('waiting for approval: request apr-shop-')), 'the waiting line');
    expect(run.out.find((l) => l.startsWith('waiting for approval'))).toMatch(new RegExp(`posted in channel ${CHANNEL}, needs 1 approval, expires \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC`));

    await driver.pressButton(BOB, { channel: CHANNEL, ts: request.ts }, approveActionId);
    expect(await run.done).toBe(0);
    expect(run.out.join('\n')).toContain(`approved by ${BOB}: following job apr-shop-`);
    expect(run.out.join('\n')).toMatch(/promote shop v2 in production: done/);
    expect(await world.liveVersions('shop')).toEqual({ 'eu-west': 'v2', 'us-east': 'v2' });
    const [job] = await world.queue.getJobs(['completed']);
    expect(job!.data).toMatchObject({ source: 'cli', requestedBy: 'cli:ci-bot', approvedBy: [BOB], slack: { channel: CHANNEL, threadTs: request.ts } });
  }, 60_000);

  it('exits 3 when the request is rejected: nothing ran', async () => {
    const live = await world.liveVersions('shop');
    const run = cli(['promote', 'shop', 'v3', '--env', 'production', '--queue', '--request-approval']);
    const request = await postedRequest();
    await driver.pressButton(CAROL, { channel: CHANNEL, ts: request.ts }, rejectActionId);
    expect(await run.done).toBe(3);
    expect(run.err.join('\n')).toMatch(new RegExp(`approval request apr-shop-\\S+ was rejected by ${CAROL}: nothing ran`));
    expect(await world.liveVersions('shop')).toEqual(live);
  }, 60_000);

  it('exits 3 when the request expires: nothing ran', async () => {
    const live = await world.liveVersions('shop');
    const run = cli(['promote', 'shop', 'v3', '--env', 'production', '--queue', '--request-approval', '--json']);
    await postedRequest();
    // --json keeps stdout for the result: the request is stored once the message is posted.
    await waitFor(async () => (await world.redis.zcard(`${world.prefix}:approvals:pending`)) === 1, 'the stored request');
    clock.offsetMs = 31 * 60_000;
    try {
      expect((await bot.sweep()).expired).toBe(1);
    } finally {
      clock.offsetMs = 0;
    }
    expect(await run.done).toBe(3);
    expect(JSON.parse(run.out.at(-1)!)).toMatchObject({ outcome: 'not-approved', decided: 'expired' });
    expect(await world.liveVersions('shop')).toEqual(live);
  }, 60_000);
});

describe('when no bot queues the approved job', () => {
  it('says so instead of waiting forever', async () => {
    const config = parseConfig(await readFile(world.configPath, 'utf8'), slackEnv, world.configPath);
    const { env, app } = new ClusterDirectory().environment(findEnvironment(config, 'production')!, findApp(config, 'shop')!);
    const planned = await previewRelease({ action: 'promote', app, version: 'v3', actor: 'cli:ci-bot' }, env);
    if (!planned.ok) throw new Error(planned.reasons.join('; '));
    const notes: string[] = [];
    const running = createQueueRunner().runApproved(
      config,
      { action: 'promote', app: 'shop', environment: 'production', version: 'v3', actor: 'cli:ci-bot', plan: planned.plan, channel: CHANNEL, origin: { via: 'cli', actor: 'cli:ci-bot' }, queuedWithinMs: 1_000, pollMs: 100 },
      () => undefined,
      (line) => notes.push(line),
    );
    const settled = running.then(
      () => null,
      (error: unknown) => error as Error,
    );
    const request = await postedRequest();
    // Approved in Redis while no bot runs (this test's bot never sweeps): nothing queues the job.
    const store = new ApprovalStore(world.redis, world.prefix);
    await waitFor(async () => (await store.byMessage({ channel: CHANNEL, ts: request.ts })) !== null, 'the stored request');
    const { request: asked } = (await store.byMessage({ channel: CHANNEL, ts: request.ts }))!;
    const now = Date.now();
    await store.update(asked.id, (r) => {
      const voted = decide(r.request, { user: BOB, kind: 'approve', via: 'button', at: now }, { approvers: { users: [BOB], usergroups: [] } }, () => []).request;
      return { ...r, request: confirm(voted, { at: now, reactionsOnMessage: null, groupMembers: () => [], membershipCheckedAt: now }, { approvers: { users: [BOB], usergroups: [] } }).request };
    });
    const error = await settled;
    expect(error?.message).toBe(`approved, but job ${asked.id} was not queued within 1 s: is the cutover bot (web process) running? It queues approved releases`);
    expect(notes).toContain(`approved by ${BOB}: following job ${asked.id}`);
    // Leave nothing pending for the next tests: the sweep of a real bot would queue it.
    await store.update(asked.id, (r) => ({ ...r, request: { ...r.request, state: 'superseded' } }));
  });
});

describe('refused at once, with exit 2', () => {
  it.each<[string, string[], Record<string, string>, RegExp]>([
    ['a gated --queue action without --request-approval', ['promote', 'shop', 'v3', '--env', 'production', '--queue'], {}, /promote shop v3 in production needs an approval: add --request-approval .* or ask in Slack with `\/release promote shop v3 --env production`/],
    ['--request-approval without --queue', ['promote', 'shop', 'v3', '--env', 'production', '--request-approval'], {}, /--request-approval works with --queue/],
    ['--request-approval without a Slack token', ['promote', 'shop', 'v3', '--env', 'production', '--queue', '--request-approval'], { SLACK_BOT_TOKEN: '' }, /needs SLACK_BOT_TOKEN/],
  ])('%s', async (_name, args, env, message) => {
    const run = cli(args, env);
    expect(await run.done).toBe(2);
    expect(run.err.join('\n')).toMatch(message);
    expect(standIn.messages()).toEqual([]);
    expect(await world.queue.getJobs(['waiting', 'prioritized', 'active', 'delayed'])).toEqual([]);
  });

  it('a channel Slack refuses to post in (not there, or the bot was not invited)', async () => {
    const run = cli(['promote', 'shop', 'v3', '--env', 'production', '--queue', '--request-approval', '--channel', 'C0NOWHERE']);
    expect(await run.done).toBe(2);
    expect(run.err.join('\n')).toContain('I cannot post the approval request here: this is a private channel I was not invited to, or a direct message');
    expect(standIn.messages()).toEqual([]);
  });

  it('--request-approval with no --channel for an app bound to no channel', async () => {
    const document = JSON.parse(await readFile(world.configPath, 'utf8')) as { apps: { shop: Record<string, unknown> } };
    delete document.apps.shop.slack;
    const path = `${world.configPath}.unbound.json`;
    await writeFile(path, JSON.stringify(document));
    const run = cli(['promote', 'shop', 'v3', '--env', 'production', '--queue', '--request-approval'], {}, path);
    expect(await run.done).toBe(2);
    expect(run.err.join('\n')).toContain('--request-approval needs a channel to post in: --channel <id>, or bind shop to one (apps.shop.slack.channels)');
    expect(standIn.messages()).toEqual([]);
  });
});
