import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findApp, findEnvironment, parseConfig } from '../../src/config/index.js';
import { createReleaseQueue } from '../../src/queue/release-queue.js';
import { executeRelease } from '../../src/release/release.js';
import { createSlackDriver, startSlackStandIn, type SlackDriver, type SlackStandIn } from '../../src/sandbox/slack/index.js';
import { eventually, testPrefix } from '../queue/redis-fixture.js';
import { ALICE, BOB, CHANNEL, EVE, textOf } from '../slack/harness.js';
import { configYaml, startSandboxEnv, type SandboxEnv } from '../support/sandbox-env.js';
import { closedPort, entryPoints, projectRoot } from './process-output.js';
import { startPrivateRedis, type PrivateRedis } from './private-redis.js';

/**
 * Secrets come from the environment and never reach a log line or a Slack message. The bot and a
 * worker run as processes at their most verbose (LOG_LEVEL=debug) with distinctive fake secrets,
 * through a release, refusals and failures (a region unreachable, Slack answering invalid_auth, a
 * forged request); everything they print and everything they post is scanned for every secret in
 * plain, base64, base64url and URL-encoded form.
 */

const secrets = {
  SLACK_BOT_TOKEN: 'xoxb-7319-SECRETbot-Qm9vM2hZc1pLbXc',
  SLACK_SIGNING_SECRET: 'SECRETsign-8f14e45fceea167a5a36dedd4bea2543',
  kubeToken: 'SECRETkube-zq81ZkLmN0pRsTuVwXyA2b3c',
  redisPassword: 'SECRETredis-pw-5Xk9Lq2',
};

let world: SandboxEnv;
let redis: PrivateRedis;
let standIn: SlackStandIn;
let driver: SlackDriver;
const processes: { name: string; child: ChildProcess; output: string[] }[] = [];
const prefix = testPrefix();
let botPort: number;

function start(name: string, args: string[], env: Record<string, string>): { child: ChildProcess; output: string[] } {
  const child = spawn(process.execPath, args, { cwd: projectRoot, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  processes.push({ name, child, output });
  return { child, output };
}

beforeAll(async () => {
  redis = await startPrivateRedis({ password: secrets.redisPassword });
  world = await startSandboxEnv({ prefix, sandbox: { token: secrets.kubeToken } });
  standIn = await startSlackStandIn({ botToken: secrets.SLACK_BOT_TOKEN });
  const raw = JSON.parse(configYaml(world.sandbox, { prefix })) as { environments: { production: Record<string, unknown> } };
  Object.assign(raw.environments.production, {
    protected: true,
    slack: { approvals: { approvers: { usergroups: ['S0APPROVERS'] }, requesters: { users: [ALICE] } } },
  });
  // The API clients give up on an unreachable region quickly, so the failure path stays short.
  Object.assign(raw.environments.production.policy as Record<string, unknown>, { onRegionUnreachable: 'rollback' });
  const probesPort = await closedPort();
  (raw as Record<string, unknown>).web = { metricsPort: probesPort };
  const configPath = path.join(world.dir, 'secrets.json');
  await writeFile(configPath, JSON.stringify(raw));
  const env = { SLACK_BOT_TOKEN: secrets.SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET: secrets.SLACK_SIGNING_SECRET, REDIS_URL: redis.url, SLACK_API_URL: standIn.apiUrl, CUTOVER_CONFIG: configPath, LOG_LEVEL: 'debug' };
  const config = parseConfig(JSON.stringify(raw), env, configPath);

  const { env: releaseEnv, app } = world.clusters.environment(findEnvironment(config, 'production')!, findApp(config, 'shop')!);
  for (const action of ['deploy', 'bootstrap'] as const) {
    const result = await executeRelease({ action, app, version: 'v1', actor: 'setup' }, releaseEnv, { reporter: { report: () => undefined } });
    expect(result.outcome).toBe('succeeded');
  }

  botPort = await closedPort();
  start('bot', [...entryPoints.bot], { ...env, PORT: String(botPort) });
  const worker = start('worker', [...entryPoints.worker, '--config', configPath], env);
  await eventually(async () => (await fetch(`http://127.0.0.1:${probesPort}/healthz`).catch(() => null))?.ok, 'the bot to listen', 20_000);
  await eventually(async () => /ready/i.test(worker.output.join('')), `the worker to start:\n${worker.output.join('')}`, 20_000);
  driver = createSlackDriver({ botUrl: `http://127.0.0.1:${botPort}/slack/events`, signingSecret: secrets.SLACK_SIGNING_SECRET, standIn });
}, 60_000);

afterAll(async () => {
  for (const { child } of processes) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }
  await standIn?.close();
  await world?.stop();
  await redis?.destroy();
});

async function ask(user: string, text: string) {
  const before = standIn.messages(CHANNEL).length;
  const sent = await driver.slashCommand(user, text);
  return { sent, message: () => standIn.messages(CHANNEL).slice(before).find((m) => !m.thread_ts) };
}

function answerTo(responseUrl: string) {
  return standIn.waitFor((s) => s.responseUrlPosts().find((p) => p.url === responseUrl), 10_000);
}

/** Every form a secret could leak in. */
function forms(value: string): string[] {
  const base64 = Buffer.from(value).toString('base64');
  return [value, base64, base64.replace(/=+$/, ''), Buffer.from(value).toString('base64url'), encodeURIComponent(value)];
}

describe('secrets never reach a log line or a Slack message', () => {
  it('runs the story: an approved deploy, a refusal, a region unreachable, Slack answering invalid_auth, a forged request', async () => {
    // An approved deploy, run by the worker and reported in its thread.
    const deploy = await ask(ALICE, 'deploy shop v2');
    const request = await standIn.waitFor(deploy.message, 10_000);
    await driver.reaction(BOB, { channel: CHANNEL, ts: request.ts }, 'white_check_mark');
    await standIn.waitFor((s) => s.replies(CHANNEL, request.ts).find((m) => m.text?.startsWith('Deploy shop v2 in production: ✅ done')), 30_000);

    // Refused: not a requester.
    const refused = await ask(EVE, 'promote shop v2');
    expect(textOf(await answerTo(refused.sent.responseUrl))).toMatch(/may not|not allowed|cannot|only/i);

    // Slack rejects the bot's token for one call: the approval request cannot be posted.
    standIn.injectError('chat.postMessage', 'invalid_auth', 1);
    const rejected = await ask(ALICE, 'promote shop v2');
    expect(textOf(await answerTo(rejected.sent.responseUrl))).toContain('invalid_auth');

    // A forged request: refused before any handler runs.
    const forged = await driver.sendSigned(new URLSearchParams({ command: '/release', text: 'status', user_id: ALICE }).toString(), 'application/x-www-form-urlencoded', { signature: 'v0=0000' });
    expect(forged.status).toBe(401);

    // us-east unreachable: status and the bot's plan fail; an ungated rollback goes to the worker and fails there.
    world.sandbox.regions[1]!.faults.set({ unreachable: true });
    const status = await ask(EVE, 'status shop');
    expect(textOf(await answerTo(status.sent.responseUrl))).toMatch(/us-east\W+: ⚠️ could not be read|could not read/);
    const rollback = await ask(ALICE, 'rollback shop --to v2');
    expect((await standIn.waitFor(rollback.message, 15_000)).text).toMatch(/^Queued: rollback shop/);
    // The job's first attempt fails in the worker (it retries with backoff, so the test does not wait for the last).
    const jobId = `slack-${rollback.sent.triggerId.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 100)}`;
    const queue = createReleaseQueue({ redisUrl: redis.url, prefix });
    try {
      const failed = await eventually(async () => (await Job.fromId(queue, jobId))?.failedReason, 'the rollback to fail in the worker', 20_000);
      expect(failed).toContain('unreachable');
    } finally {
      await queue.close();
    }
    world.sandbox.regions[1]!.faults.set({ unreachable: false });
  }, 90_000);

  it('finds none of them, in any form, in the processes\' output or anything posted to Slack', () => {
    const output = processes.map((p) => `--- ${p.name}\n${p.output.join('')}`).join('\n');
    const posted = JSON.stringify({
      messages: standIn.messages().map((m) => ({ ...m })),
      ephemerals: standIn.ephemerals(),
      responseUrlPosts: standIn.responseUrlPosts(),
      calls: standIn.calls().map((c) => c.args),
    });
    // The scan means something only if there is something to scan.
    expect(output.length).toBeGreaterThan(500);
    expect(standIn.messages().length).toBeGreaterThan(3);
    const leaks = Object.entries(secrets).flatMap(([name, value]) =>
      forms(value).flatMap((form) => [output.includes(form) && `${name} in process output`, posted.includes(form) && `${name} in a Slack post`].filter(Boolean)),
    );
    console.log(`secrets scan: ${output.length} characters of process output, ${posted.length} of Slack posts`);
    expect(leaks).toEqual([]);
  });
});
