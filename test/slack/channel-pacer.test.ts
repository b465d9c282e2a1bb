import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { ChannelPacer, type PostPriority } from '../../src/slack/channel-pacer.js';
import { RateLimiter } from '../../src/sandbox/slack/rate-limit.js';
import { deleteKeys, testPrefix, testRedis } from '../queue/redis-fixture.js';

// The timed case runs scaled down: one token per 200 ms instead of 1.1 s, judged by the Slack stand-in's per-channel
// bucket at one post per 180 ms with bursts of 3 (Slack's one a second, scaled the same way).
const intervalMs = 200;
const prefix = testPrefix();
const clients: Redis[] = [];

function pacer(): ChannelPacer {
  const redis = testRedis();
  clients.push(redis);
  return new ChannelPacer(redis, prefix, intervalMs);
}

function slackJudge(): RateLimiter {
  return new RateLimiter({ postMessagePerChannel: { perMinute: 60_000 / 180, burst: 3 }, tiers: null });
}

async function post(p: ChannelPacer, judge: RateLimiter, channel: string, priority: PostPriority): Promise<{ waitedMs: number; refused: boolean }> {
  const started = performance.now();
  await p.wait(channel, priority);
  return { waitedMs: performance.now() - started, refused: judge.take('chat.postMessage', channel) !== undefined };
}

beforeAll(() => {
  clients.push(testRedis());
});
afterAll(async () => {
  await deleteKeys(clients[0]!, prefix);
  await Promise.all(clients.map((c) => c.quit()));
});

describe('posting into a channel at Slack’s pace', () => {
  // A bucket that refills once a minute, so what is taken is counted, not timed.
  const slow = (): ChannelPacer => {
    const redis = testRedis();
    clients.push(redis);
    return new ChannelPacer(redis, prefix, 60_000);
  };

  it('keeps room for a command’s message while a worker’s replies fill the channel', async () => {
    const worker = slow();
    const bot = slow();
    expect(await worker.take('C-busy', 'background')).toBe(0);
    // The next reply must wait: the last post left in the bucket is kept for people.
    expect(await worker.take('C-busy', 'background')).toBeGreaterThan(0);
    expect(await bot.take('C-busy', 'interactive')).toBe(0);
    // Now the channel is at Slack's pace for everyone.
    expect(await bot.take('C-busy', 'interactive')).toBeGreaterThan(0);
    expect(await worker.take('C-busy', 'background')).toBeGreaterThan(0);
  });

  it('lets people post two at once, as Slack allows short bursts', async () => {
    const bot = slow();
    expect(await bot.take('C-burst', 'interactive')).toBe(0);
    expect(await bot.take('C-burst', 'interactive')).toBe(0);
    expect(await bot.take('C-burst', 'interactive')).toBeGreaterThan(0);
  });

  it('never posts faster than Slack allows, whoever posts and however many at once', async () => {
    const judge = slackJudge();
    const pacers = [pacer(), pacer(), pacer()];
    const posts = await Promise.all(
      Array.from({ length: 12 }, (_, i) => post(pacers[i % 3]!, judge, 'C-crowded', i % 4 === 0 ? 'interactive' : 'background')),
    );
    expect(posts.filter((p) => p.refused)).toHaveLength(0);
    // Twelve posts, two at once and then one per interval: the last waited about ten intervals.
    expect(Math.max(...posts.map((p) => p.waitedMs))).toBeGreaterThan(intervalMs * 8);
  });

  it('paces each channel on its own', async () => {
    const bot = slow();
    for (let i = 0; i < 2; i++) await bot.take('C-one', 'interactive');
    expect(await bot.take('C-one', 'interactive')).toBeGreaterThan(0);
    expect(await bot.take('C-two', 'background')).toBe(0);
  });
});
