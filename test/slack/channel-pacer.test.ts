import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { ChannelPacer, type PostPriority } from '../../src/slack/channel-pacer.js';
import { RateLimiter } from '../../src/sandbox/slack/rate-limit.js';
import { deleteKeys, testPrefix, testRedis } from '../queue/redis-fixture.js';

// Scaled down: one token per 200 ms instead of 1.1 s, judged by the Slack stand-in's per-channel
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
  it('posts a command’s message at once while a worker’s replies keep the channel busy', async () => {
    const worker = pacer();
    const bot = pacer();
    const judge = slackJudge();
    const replies: Array<{ waitedMs: number; refused: boolean }> = [];
    for (let i = 0; i < 4; i++) replies.push(await post(worker, judge, 'C-busy', 'background'));
    // The replies after the first waited for the pace: the channel is as busy as it gets.
    expect(replies.slice(1).every((r) => r.waitedMs > intervalMs * 0.6)).toBe(true);

    const command = await post(bot, judge, 'C-busy', 'interactive');
    expect(command.waitedMs).toBeLessThan(intervalMs / 2);
    const nextReply = await post(worker, judge, 'C-busy', 'background');
    expect(nextReply.waitedMs).toBeGreaterThan(intervalMs * 0.6);
    expect([...replies, command, nextReply].filter((r) => r.refused)).toEqual([]);
  });

  it('never posts faster than Slack allows, whoever posts and however many at once', async () => {
    const judge = slackJudge();
    const pacers = [pacer(), pacer(), pacer()];
    const posts = await Promise.all(
      Array.from({ length: 12 }, (_, i) => post(pacers[i % 3]!, judge, 'C-crowded', i % 4 === 0 ? 'interactive' : 'background')),
    );
    expect(posts.filter((p) => p.refused)).toHaveLength(0);
    // Twelve posts with two at once and one per interval after that: about ten intervals.
    expect(Math.max(...posts.map((p) => p.waitedMs))).toBeGreaterThan(intervalMs * 8);
  });

  it('paces each channel on its own', async () => {
    const p = pacer();
    const judge = slackJudge();
    for (let i = 0; i < 3; i++) await post(p, judge, 'C-one', 'interactive');
    const other = await post(p, judge, 'C-two', 'background');
    expect(other.waitedMs).toBeLessThan(intervalMs / 2);
    expect(other.refused).toBe(false);
  });
});
