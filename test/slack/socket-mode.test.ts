import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReleaseQueue } from '../../src/queue/release-queue.js';
import { createSlackDriver, startSlackStandIn, type SlackDriver, type SlackStandIn } from '../../src/sandbox/slack/index.js';
import { createSlackApp, type SlackBot } from '../../src/slack/app.js';
import { approveActionId } from '../../src/slack/blocks.js';
import { deleteKeys, eventually, redisUrl, testPrefix, testRedis } from '../queue/redis-fixture.js';
import { ALICE, BOB, CHANNEL, FakeClusters, queuedJobs, slackConfig, textOf } from './harness.js';

/**
 * The manifest's default transport: the real Bolt app with `socketMode: true` and an app token,
 * opening its WebSocket through apps.connections.open on the stand-in, receiving the slash
 * command and the reaction as envelopes and acknowledging them.
 */

const prefix = testPrefix();
let standIn: SlackStandIn;
let bot: SlackBot;
let driver: SlackDriver;
let redis: Redis;
let queue: Queue;
let healthPort: number;

beforeAll(async () => {
  standIn = await startSlackStandIn({ rateLimits: 'slack' });
  redis = testRedis();
  queue = createReleaseQueue({ redisUrl, prefix });
  bot = createSlackApp({
    config: slackConfig(prefix),
    reader: new FakeClusters(),
    redis,
    queue,
    botToken: standIn.botToken,
    appToken: standIn.appToken,
    slackApiUrl: standIn.apiUrl,
    probesPort: 0,
    log: { info: () => undefined, warn: () => undefined, error: (m) => console.error(m) },
    sweepIntervalMs: 0,
  });
  ({ probesPort: healthPort } = await bot.start(0, '127.0.0.1'));
  driver = createSlackDriver({ standIn, socketMode: true });
});
afterAll(async () => {
  await bot?.stop();
  await queue?.close();
  if (redis) {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  }
  await standIn?.close();
});

describe('the bot over Socket Mode', () => {
  it('connects with the app token and serves /healthz on its own port', async () => {
    expect(bot.mode).toBe('socket');
    expect(standIn.socketMode.connections()).toHaveLength(1);
    expect(standIn.calls('apps.connections.open')).toMatchObject([{ token: standIn.appToken, ok: true }]);
    const health = await fetch(`http://127.0.0.1:${healthPort}/healthz`);
    expect(await health.json()).toMatchObject({ ok: true, mode: 'socket' });
  });

  it('acks a slash command envelope at once and answers a dry run on the response_url', async () => {
    const result = await driver.slashCommand(ALICE, 'promote shop v2 --dry-run');
    expect(result.status).toBe(200);
    const post = await standIn.waitFor((s) => s.responseUrlPosts().find((p) => p.url === result.responseUrl));
    expect(textOf(post)).toContain('Dry run: nothing was changed');
  });

  it('posts an approval request, takes the approval as an events_api envelope and enqueues the job once', async () => {
    await driver.slashCommand(ALICE, 'promote shop v2');
    const request = await standIn.waitFor((s) => s.messages(CHANNEL).find((m) => m.text?.startsWith('Approval needed')), 10_000);
    const approval = await driver.reaction(BOB, { channel: CHANNEL, ts: request.ts }, 'white_check_mark');
    expect(approval.status).toBe(200);
    const [job] = await eventually(() => queuedJobs(queue).then((jobs) => jobs.length === 1 && jobs), 'the promote job');
    expect(job!.data).toMatchObject({ app: 'shop', environment: 'production', version: 'v2', approvedBy: [BOB], slack: { channel: CHANNEL, threadTs: request.ts } });
    const redelivered = await driver.redeliver(approval.eventId);
    expect(redelivered.status).toBe(200);
    expect(await queuedJobs(queue)).toHaveLength(1);
    expect(standIn.socketMode.envelopes().map((e) => [e.type, e.acked])).toEqual([
      ['slash_commands', true],
      ['slash_commands', true],
      ['events_api', true],
      ['events_api', true],
    ]);
  });

  it('takes an Approve press as an interactive envelope, acks it, and enqueues the job once', async () => {
    await queue.obliterate({ force: true });
    const before = standIn.messages(CHANNEL).length;
    await driver.slashCommand(ALICE, 'deploy shop v3 --env production');
    const request = await standIn.waitFor((s) => s.messages(CHANNEL).slice(before).find((m) => m.text?.startsWith('Approval needed')), 10_000);
    const press = await driver.pressButton(BOB, { channel: CHANNEL, ts: request.ts }, approveActionId);
    expect(press.status).toBe(200);
    const [job] = await eventually(() => queuedJobs(queue).then((jobs) => jobs.length === 1 && jobs), 'the deploy job');
    expect(job!.data).toMatchObject({ app: 'shop', environment: 'production', version: 'v3', approvedBy: [BOB] });
    expect(standIn.socketMode.envelopes().at(-1)).toMatchObject({ type: 'interactive', acked: true });
  });

  it('reconnects when Slack refreshes the connection, and keeps answering', async () => {
    standIn.socketMode.requestReconnect();
    await standIn.waitFor((s) => s.calls('apps.connections.open').length >= 2, 15_000);
    await standIn.socketMode.waitForConnections(1);
    const result = await driver.slashCommand(ALICE, 'help');
    expect(result.status).toBe(200);
    await standIn.waitFor((s) => s.responseUrlPosts().find((p) => p.url === result.responseUrl));
  }, 20_000);
});
