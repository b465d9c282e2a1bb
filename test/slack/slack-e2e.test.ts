import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBot, type RunningBot } from '../../src/bot.js';
import { findApp, findEnvironment, parseConfig, type Config } from '../../src/config/index.js';
import { executeRelease } from '../../src/release/release.js';
import { createSlackDriver, slackRateLimits, startSlackStandIn, type SlackDriver, type SlackStandIn } from '../../src/sandbox/slack/index.js';
import { deleteKeys, redisUrl, testPrefix, testRedis } from '../queue/redis-fixture.js';
import { configYaml, patchSelectorByHand, startSandboxEnv, type SandboxEnv, liveSelectors as liveSelectorsOf } from '../support/sandbox-env.js';
import { askAsAlice, summaryInThread, ALICE, BOB, CAROL, CHANNEL, EVE, SIGNING_SECRET, textOf } from './harness.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

/**
 * The whole story through Slack: real Bolt over HTTP (src/bot.ts), real Redis, a real worker
 * process (jobs/worker.ts) running the release jobs against two sandbox regions and reporting
 * into the threads, the Slack stand-in for slack.com.
 */

let world: SandboxEnv;
let standIn: SlackStandIn;
let driver: SlackDriver;
let bot: RunningBot;
let worker: WorkerProcess | undefined;
let redis: Redis;
let config: Config;
const prefix = testPrefix();

beforeAll(async () => {
  // A bake between the regions, so an operator can step in during it (the last test). The operator
  // acts on what the thread shows, which lags the release by Slack's pace (a progress post waits
  // for the channel's tokens, edits come about once a second): the bake outlasts that lag.
  world = await startSandboxEnv({ prefix, policy: { bakeSeconds: 6 } });
  // Slack's limits for the whole story, its posting limit at the least burst its docs allow
  // ("one message per second per channel", "short bursts >1 allowed"): two at once.
  standIn = await startSlackStandIn({ rateLimits: { postMessagePerChannel: { perMinute: 60, burst: 2 }, tiers: slackRateLimits.tiers } });
  const raw = JSON.parse(configYaml(world.sandbox, { prefix, policy: { bakeSeconds: 6 } })) as { environments: { production: Record<string, unknown> } };
  Object.assign(raw.environments.production, {
    protected: true,
    slack: { approvals: { approvers: { usergroups: ['S0APPROVERS'] }, requesters: { users: [ALICE] } } },
  });
  config = parseConfig(JSON.stringify(raw), { SLACK_BOT_TOKEN: standIn.botToken, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: standIn.apiUrl, REDIS_URL: redisUrl }, 'e2e.yaml');

  // Before the story: v1 installed and live in both regions.
  const { env, app } = world.clusters.environment(findEnvironment(config, 'production')!, findApp(config, 'shop')!);
  for (const action of ['deploy', 'bootstrap'] as const) {
    const result = await executeRelease({ action, app, version: 'v1', actor: 'setup' }, env, { reporter: { report: () => undefined } });
    expect(result.outcome).toBe('succeeded');
  }

  bot = await startBot({ config, clusters: world.clusters, port: 0, host: '127.0.0.1', sweepIntervalMs: 0, log: { info: () => undefined, warn: () => undefined, error: (m) => console.error(m) } });
  driver = createSlackDriver({ botUrl: `http://127.0.0.1:${bot.port}/slack/events`, signingSecret: SIGNING_SECRET, standIn });

  redis = testRedis();
  // A real worker process (Procfile `worker:`), posting into the threads with the bot token.
  const configPath = path.join(world.dir, 'slack-e2e.json');
  await writeFile(configPath, JSON.stringify(raw));
  worker = await startWorkerProcess(configPath, { SLACK_BOT_TOKEN: standIn.botToken, SLACK_API_URL: standIn.apiUrl });
}, 60_000);

afterAll(async () => {
  await worker?.stop();
  await bot?.stop();
  if (redis) {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  }
  await standIn?.close();
  await world?.stop();
});

const liveSelectors = () => liveSelectorsOf(world.sandbox);

const ask = (text: string) => askAsAlice(standIn, driver, text);

const summaryIn = (threadTs: string, title: string) => summaryInThread(standIn, threadTs, title);

describe('a release told through Slack, end to end', () => {
  it('deploys v2 to production once approved', async () => {
    const request = await ask('deploy shop v2');
    expect(request.text).toMatch(/^Approval needed: deploy shop v2 in production/);
    await driver.reaction(BOB, { channel: CHANNEL, ts: request.ts }, 'white_check_mark');
    const summary = await summaryIn(request.ts, 'Deploy shop v2 in production: ✅ done');
    expect(summary.text).toContain('eu-west: installed');
    expect(summary.text).toContain('us-east: installed');
    expect(await liveSelectors()).toEqual({ 'eu-west': 'v1', 'us-east': 'v1' });
  }, 30_000);

  it('promotes v2: self-approval ignored, approved by a second user, progress and a per-region summary in the thread', async () => {
    const request = await ask('promote shop v2');
    const at = { channel: CHANNEL, ts: request.ts };
    await driver.reaction(ALICE, at, 'white_check_mark');
    const told = await standIn.waitFor((s) => s.ephemerals(CHANNEL).find((e) => e.user === ALICE));
    expect(textOf(told)).toContain('your approval does not count');
    await driver.reaction(CAROL, at, 'white_check_mark');

    const summary = await summaryIn(request.ts, 'Promote shop v2 in production: ✅ done');
    const replies = standIn.replies(CHANNEL, request.ts);
    // One progress message (edited in place) and the summary: not a line per step.
    expect(replies).toHaveLength(2);
    const progress = replies[0]!;
    expect(progress.text).toContain('Promote shop v2 in production');
    expect(progress.history.length).toBeGreaterThan(1);
    const body = textOf(summary);
    for (const region of ['eu-west', 'us-east']) expect(summary.text).toContain(`${region}: switched`);
    expect(body).toContain('EndpointSlices converged');
    expect(body).toContain('traffic converged');
    expect(body).toMatch(/health: 2 ready pods/);
    expect(body).toContain('× `v2`');
    expect(await liveSelectors()).toEqual({ 'eu-west': 'v2', 'us-east': 'v2' });
    // The root shows the final state.
    const root = await standIn.waitFor((s) => textOf(s.message(CHANNEL, request.ts)).includes('*Outcome:* ✅ done') && s.message(CHANNEL, request.ts), 5_000);
    expect(root.text).toMatch(/^▶️ Approved and started: promote shop v2/);
  }, 40_000);

  it('rolls back without approval (the emergency exit), in its own thread', async () => {
    const root = await ask('rollback shop');
    expect(root.text).toMatch(/^Queued: rollback shop in production/);
    await summaryIn(root.ts, 'Rollback shop');
    expect(await liveSelectors()).toEqual({ 'eu-west': 'v1', 'us-east': 'v1' });
    await standIn.waitFor((s) => s.message(CHANNEL, root.ts)?.text?.includes('✅ done'), 5_000);
  }, 30_000);

  it('shows status: live v1, previous v2, installed versions with readiness', async () => {
    const { responseUrl } = await driver.slashCommand(EVE, 'status shop');
    const post = await standIn.waitFor((s) => s.responseUrlPosts().find((p) => p.url === responseUrl), 10_000);
    const text = textOf(post);
    expect(post.response_type).toBe('ephemeral');
    expect(text).toContain('Status: shop in production');
    expect(text).toMatch(/eu-west\*: live `v1` · previous `v2`/);
    expect(text).toMatch(/us-east\*: live `v1` · previous `v2`/);
    expect(text).toContain('2/2 ready');
  });

  it('serves /healthz from the web process', async () => {
    const response = await fetch(`http://127.0.0.1:${bot.probesPort}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ ok: true, mode: 'http', redis: 'ready' });
  });

  it('never tripped the rate limit: posts paced per channel across the bot and the worker, progress edited in place', () => {
    expect(standIn.rateLimited()).toEqual([]);
  });

  it('keeps the story in the audit trail, shown by history', async () => {
    const { responseUrl } = await driver.slashCommand(EVE, 'history shop');
    const post = await standIn.waitFor((s) => s.responseUrlPosts().find((p) => p.url === responseUrl), 10_000);
    const text = textOf(post);
    for (const kind of ['requested', 'approved', 'succeeded']) expect(text).toContain(`*${kind}*`);
  });

  it('an operator switches eu-west back by hand during the bake: the thread says the release stopped and why, never "done"', async () => {
    const request = await ask('promote shop v2');
    await driver.reaction(BOB, { channel: CHANNEL, ts: request.ts }, 'white_check_mark');
    await standIn.waitFor((s) => s.replies(CHANNEL, request.ts).some((m) => textOf(m).includes('⏳ eu-west: bake')), 30_000);
    await patchSelectorByHand(world.sandbox, 'eu-west', 'shop', 'v1');
    const summary = await summaryIn(request.ts, 'Promote shop v2 in production: ⏹️ stopped');
    expect(textOf(summary)).toContain('eu-west was changed outside this release: live is v1, promoted by unknown (the selector was changed without cutover)');
    expect(await liveSelectors()).toEqual({ 'eu-west': 'v1', 'us-east': 'v1' });
    const { responseUrl } = await driver.slashCommand(EVE, 'history shop');
    const post = await standIn.waitFor((s) => s.responseUrlPosts().find((p) => p.url === responseUrl), 10_000);
    expect(textOf(post)).toContain('*stopped*');
  }, 40_000);
});
