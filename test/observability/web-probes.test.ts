import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBot, type RunningBot } from '../../src/bot.js';
import { findApp, findEnvironment, parseConfig, type Config } from '../../src/config/index.js';
import { createReadiness } from '../../src/observability/readiness.js';
import { executeRelease } from '../../src/release/release.js';
import { createSlackDriver, startSlackStandIn, type SlackDriver, type SlackStandIn } from '../../src/sandbox/slack/index.js';
import { deleteKeys, eventually, redisUrl, testPrefix, testRedis } from '../queue/redis-fixture.js';
import { ALICE, BOB, CHANNEL, SIGNING_SECRET } from '../slack/harness.js';
import { configYaml, startSandboxEnv, type SandboxEnv } from '../support/sandbox-env.js';
import { metricValue, parseMetrics } from './prometheus-text.js';

/**
 * The web process as a platform probes it: /healthz (alive), /readyz (Redis and each region's API
 * answer) and /metrics (commands and approvals), over HTTP against the real bot, two sandbox
 * regions, Redis and the Slack stand-in.
 */

let world: SandboxEnv;
let standIn: SlackStandIn;
let driver: SlackDriver;
let bot: RunningBot;
let redis: Redis;
let config: Config;
let base: string;
const prefix = testPrefix();

beforeAll(async () => {
  world = await startSandboxEnv({ prefix, replicas: 1 });
  standIn = await startSlackStandIn();
  const raw = JSON.parse(configYaml(world.sandbox, { prefix, replicas: 1 })) as { environments: { production: Record<string, unknown> } };
  Object.assign(raw.environments.production, { protected: true, slack: { approvals: { approvers: { users: [BOB] }, requesters: { users: [ALICE] } } } });
  config = parseConfig(JSON.stringify(raw), { SLACK_BOT_TOKEN: standIn.botToken, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: standIn.apiUrl, REDIS_URL: redisUrl }, 'probes.yaml');
  const { env, app } = world.clusters.environment(findEnvironment(config, 'production')!, findApp(config, 'shop')!);
  for (const action of ['deploy', 'bootstrap'] as const) {
    expect((await executeRelease({ action, app, version: 'v1', actor: 'setup' }, env, { reporter: { report: () => undefined } })).outcome).toBe('succeeded');
  }
  bot = await startBot({ config, clusters: world.clusters, port: 0, host: '127.0.0.1', sweepIntervalMs: 0, readinessCacheMs: 0, log: { info: () => undefined, warn: () => undefined, error: () => undefined } });
  base = `http://127.0.0.1:${bot.probesPort}`;
  driver = createSlackDriver({ botUrl: `http://127.0.0.1:${bot.port}/slack/events`, signingSecret: SIGNING_SECRET, standIn });
  redis = testRedis();
}, 30_000);

afterAll(async () => {
  for (const region of world?.sandbox.regions ?? []) region.faults.set({ unreachable: false });
  await bot?.stop();
  if (redis) {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  }
  await standIn?.close();
  await world?.stop();
});

async function getJson(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${base}${path}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function metrics() {
  const response = await fetch(`${base}/metrics`);
  expect(response.status).toBe(200);
  return parseMetrics(await response.text());
}

describe('probes', () => {
  it('/healthz: the process is up', async () => {
    const { status, body } = await getJson('/healthz');
    expect(status).toBe(200);
    expect(body.ok).toBe(true);
  });

  it('/readyz: 200 when Redis and every region answer', async () => {
    const { status, body } = await getJson('/readyz');
    expect(status).toBe(200);
    expect(body).toMatchObject({ ready: true, failed: [] });
    expect((body.checks as { name: string; ok: boolean }[]).map((c) => [c.name, c.ok])).toEqual([
      ['redis', true],
      ['region eu-west', true],
      ['region us-east', true],
    ]);
  });

  it('/readyz: 503 naming the region whose API is unreachable, and 200 again once it answers', async () => {
    const usEast = world.sandbox.regions.find((r) => r.name === 'us-east')!;
    usEast.faults.set({ unreachable: true });
    try {
      const { status, body } = await getJson('/readyz');
      expect(status).toBe(503);
      expect(body).toMatchObject({ ready: false, failed: ['region us-east'] });
      const failed = (body.checks as { name: string; ok: boolean; error?: string }[]).find((c) => c.name === 'region us-east')!;
      expect(failed.ok).toBe(false);
      expect(failed.error).toBeTruthy();
    } finally {
      usEast.faults.set({ unreachable: false });
    }
    expect((await getJson('/readyz')).status).toBe(200);
    // Liveness does not depend on the region.
    expect((await getJson('/healthz')).status).toBe(200);
  });

  it('readiness results are reused for the cache period, so probes do not hammer the APIs', async () => {
    let calls = 0;
    let clock = 0;
    const readiness = createReadiness([{ name: 'counted', check: async () => void calls++ }], { cacheMs: 3_000, now: () => clock });
    await readiness();
    clock = 2_999;
    await readiness();
    expect(calls).toBe(1);
    clock = 3_000;
    expect((await readiness()).ready).toBe(true);
    expect(calls).toBe(2);
  });
});

describe('/metrics of the web process', () => {
  it('counts commands by action and result, and approvals by outcome', async () => {
    await driver.slashCommand(ALICE, 'frobnicate shop');
    await driver.slashCommand(ALICE, 'status shop');
    const before = standIn.messages(CHANNEL).length;
    // Production is protected: a deploy needs an approval.
    await driver.slashCommand(ALICE, 'deploy shop v2');
    const request = await standIn.waitFor((s) => s.messages(CHANNEL).slice(before).find((m) => !m.thread_ts && m.text?.startsWith('Approval needed')), 10_000);
    await driver.reaction(BOB, { channel: CHANNEL, ts: request.ts }, 'white_check_mark');

    const samples = await eventually(async () => {
      const now = await metrics();
      return metricValue(now, 'cutover_approvals_total', { outcome: 'approved' }) === 1 ? now : null;
    }, 'the approval to be counted');
    expect(metricValue(samples, 'cutover_slack_commands_total', { action: 'invalid', result: 'invalid' })).toBe(1);
    expect(metricValue(samples, 'cutover_slack_commands_total', { action: 'status', result: 'answered' })).toBe(1);
    expect(metricValue(samples, 'cutover_slack_commands_total', { action: 'deploy', result: 'approval-requested' })).toBe(1);
    expect(metricValue(samples, 'cutover_approvals_total', { outcome: 'requested' })).toBe(1);
    expect(samples.some((s) => s.name === 'cutover_jobs_total')).toBe(false);
  });
});
