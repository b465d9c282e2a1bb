import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Job, type Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBot, type RunningBot } from '../../src/bot.js';
import { findApp, findEnvironment, parseConfig, type Config } from '../../src/config/index.js';
import { enqueueRelease } from '../../src/queue/enqueue.js';
import { createReleaseQueue } from '../../src/queue/release-queue.js';
import { executeRelease } from '../../src/release/release.js';
import { createSlackDriver, startSlackStandIn, type SlackDriver, type SlackStandIn } from '../../src/sandbox/slack/index.js';
import { eventually, testPrefix } from '../queue/redis-fixture.js';
import { askAsAlice, summaryInThread, ALICE, BOB, CHANNEL, EVE, SIGNING_SECRET, textOf } from '../slack/harness.js';
import { configYaml, fenceTokens, startSandboxEnv, type SandboxEnv, liveSelectors as liveSelectorsOf } from '../support/sandbox-env.js';
import { entryPoints, projectRoot } from './process-output.js';
import { startPrivateRedis, type PrivateRedis } from './private-redis.js';

/**
 * Redis is where jobs and approvals wait, never where release state lives. (a) Restarted with
 * persistence, a queued job and a pending approval are still there and still work. (b) Flushed,
 * `status` still tells the truth (the cluster's annotations) and a reaction on the lost request is
 * told to ask again.
 */

let world: SandboxEnv;
let redis: PrivateRedis;
let standIn: SlackStandIn;
let driver: SlackDriver;
let bot: RunningBot;
let queue: Queue;
let config: Config;
let configPath: string;
let worker: ChildProcess | undefined;
const workerOutput: string[] = [];
const botLogs: string[] = [];
const prefix = testPrefix();

beforeAll(async () => {
  redis = await startPrivateRedis({ appendonly: true });
  world = await startSandboxEnv({ prefix, apps: ['shop', 'cart'] });
  standIn = await startSlackStandIn();
  const raw = JSON.parse(configYaml(world.sandbox, { prefix, apps: ['shop', 'cart'] })) as { environments: { production: Record<string, unknown> } };
  Object.assign(raw.environments.production, {
    protected: true,
    slack: { approvals: { approvers: { usergroups: ['S0APPROVERS'] }, requesters: { users: [ALICE] } } },
  });
  configPath = path.join(world.dir, 'redis-restart.json');
  await writeFile(configPath, JSON.stringify(raw));
  config = parseConfig(JSON.stringify(raw), { SLACK_BOT_TOKEN: standIn.botToken, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: standIn.apiUrl, REDIS_URL: redis.url }, configPath);

  // Before the story: shop v1 live in both regions, v2 installed.
  const { env, app } = world.clusters.environment(findEnvironment(config, 'production')!, findApp(config, 'shop')!);
  for (const [action, version] of [['deploy', 'v1'], ['bootstrap', 'v1'], ['deploy', 'v2']] as const) {
    const result = await executeRelease({ action, app, version, actor: 'setup' }, env, { reporter: { report: () => undefined } });
    expect(result.outcome).toBe('succeeded');
  }
  const log = (m: string) => botLogs.push(m);
  bot = await startBot({ config, clusters: world.clusters, port: 0, host: '127.0.0.1', sweepIntervalMs: 0, log: { info: log, warn: log, error: log } });
  driver = createSlackDriver({ botUrl: `http://127.0.0.1:${bot.port}/slack/events`, signingSecret: SIGNING_SECRET, standIn });
  queue = createReleaseQueue({ redisUrl: redis.url, prefix });
}, 60_000);

afterAll(async () => {
  if (worker && worker.exitCode === null) {
    const exited = once(worker, 'exit');
    worker.kill('SIGTERM');
    await exited;
  }
  await bot?.stop();
  await queue?.close();
  await standIn?.close();
  await world?.stop();
  await redis?.destroy();
});

async function startWorker(): Promise<void> {
  worker = spawn(process.execPath, [...entryPoints.worker, '--config', configPath], {
    cwd: projectRoot,
    env: { ...process.env, REDIS_URL: redis.url, CUTOVER_CONFIG: '', SLACK_BOT_TOKEN: standIn.botToken, SLACK_API_URL: standIn.apiUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  worker.stdout!.on('data', (chunk: Buffer) => workerOutput.push(chunk.toString()));
  worker.stderr!.on('data', (chunk: Buffer) => workerOutput.push(chunk.toString()));
}

const liveSelectors = () => liveSelectorsOf(world.sandbox);

const ask = (text: string) => askAsAlice(standIn, driver, text);

const summaryIn = (threadTs: string, title: string) => summaryInThread(standIn, threadTs, title);

async function withClient<T>(use: (client: ReturnType<PrivateRedis['client']>) => Promise<T>): Promise<T> {
  const client = redis.client();
  try {
    return await use(client);
  } finally {
    client.disconnect();
  }
}

describe('Redis restarted with persistence (appendonly)', () => {
  let approval: { ts: string };
  const jobId = `restart-${prefix}`;

  it('keeps a job queued while no worker ran and a pending approval across SHUTDOWN and start', async () => {
    approval = await ask('promote shop v2');
    expect(approval).toMatchObject({ text: expect.stringMatching(/^Approval needed: promote shop v2 in production/) });
    const approvalKey = `${prefix}:approval-message:${CHANNEL}:${approval.ts}`;
    await eventually(async () => (await withClient((c) => c.exists(approvalKey))) === 1, 'the stored approval');
    // Ungated (a gated job runs only under its approval): the live Service and route of cart.
    await enqueueRelease(queue, 'bootstrap', { requestId: jobId, app: 'cart', environment: 'production', requestedBy: 'ci', source: 'cli' });
    const stateOfJob = async () => (await Job.fromId(queue, jobId))?.getState();
    // Deploys wait with a priority below rollbacks: BullMQ calls that state "prioritized".
    expect(await stateOfJob()).toMatch(/^(waiting|prioritized)$/);

    await redis.shutdown();
    await redis.start();

    expect(await withClient((c) => c.exists(approvalKey))).toBe(1);
    expect(await stateOfJob()).toMatch(/^(waiting|prioritized)$/);
  }, 20_000);

  it('a worker started after the restart runs the queued job', async () => {
    await startWorker();
    const job = await eventually(async () => {
      const found = await Job.fromId(queue, jobId);
      return found && (await found.getState()) === 'completed' && found;
    }, `the queued job to run:\n${workerOutput.join('')}`, 30_000);
    expect(job.returnvalue).toMatchObject({ outcome: 'succeeded' });
  }, 40_000);

  it('accepts the approval reaction on the request from before the restart, and the promotion runs', async () => {
    await driver.reaction(BOB, { channel: CHANNEL, ts: approval.ts }, 'white_check_mark');
    const summary = await summaryIn(approval.ts, 'Promote shop v2 in production: ✅ done');
    expect(summary.text).toContain('eu-west: switched');
    expect(await liveSelectors()).toEqual({ 'eu-west': 'v2', 'us-east': 'v2' });
  }, 40_000);
});

describe('Redis flushed entirely (FLUSHALL)', () => {
  let pending: { ts: string; text?: string };
  let fenceBeforeFlush = 0;
  const fences = async () => Object.values(await fenceTokens(world.sandbox));

  it('still shows the right status: live and previous versions come from the cluster', async () => {
    pending = await ask('deploy shop v3');
    expect(pending.text).toMatch(/^Approval needed: deploy shop v3/);
    fenceBeforeFlush = Math.max(...(await fences()));
    expect(fenceBeforeFlush).toBeGreaterThan(0);
    await withClient((c) => c.flushall());

    const { responseUrl } = await driver.slashCommand(EVE, 'status shop');
    const post = await standIn.waitFor((s) => s.responseUrlPosts().find((p) => p.url === responseUrl), 10_000);
    const text = textOf(post);
    expect(text).toMatch(/eu-west\*: live `v2` · previous `v1`/);
    expect(text).toMatch(/us-east\*: live `v2` · previous `v1`/);
  }, 20_000);

  it('tells an approver of the lost request to ask again, and runs nothing', async () => {
    await driver.reaction(BOB, { channel: CHANNEL, ts: pending.ts }, 'white_check_mark');
    const told = await standIn.waitFor((s) => s.ephemerals(CHANNEL).find((e) => e.user === BOB), 10_000);
    expect(textOf(told)).toContain('Ask again');
    await new Promise((resolve) => setTimeout(resolve, 300));
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized');
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
  }, 20_000);

  it('rolls back to the previous version recorded in the cluster, with the same worker, fencing above the tokens the Services carry', async () => {
    const root = await ask('rollback shop');
    expect(root.text).toMatch(/^Queued: rollback shop in production/);
    const summary = await summaryIn(root.ts, 'Rollback shop');
    expect(summary.text).toMatch(/^Rollback shop v1 in production: ✅ done/);
    expect(await liveSelectors()).toEqual({ 'eu-west': 'v1', 'us-east': 'v1' });
    // The flush reset the token counter; a newer release must still carry a newer token.
    for (const fence of await fences()) expect(fence).toBeGreaterThan(fenceBeforeFlush);
  }, 40_000);

  it('never printed a Redis connection error with a stack trace in the bot log', () => {
    expect(botLogs.filter((l) => /\n\s+at /.test(l))).toEqual([]);
  });
});
