import type { Redis } from 'ioredis';

/**
 * Slack accepts about one chat.postMessage per second per channel. The bot and every worker post
 * into the same channels, so the pace is kept in Redis: a post first takes the channel's slot
 * (SET NX PX) or waits until it frees. A Redis error never blocks a post.
 */
export class ChannelPacer {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    // A little over Slack's one post a second per channel, for jitter in when requests arrive.
    private readonly intervalMs = 1100,
    /** Give up waiting (and post anyway, leaving it to Slack's Retry-After) after this long. */
    private readonly maxWaitMs = 30_000,
  ) {}

  async wait(channel: string): Promise<void> {
    const key = `${this.prefix}:slack:pace:${channel}`;
    const deadline = Date.now() + this.maxWaitMs;
    try {
      while (Date.now() < deadline) {
        if ((await this.redis.set(key, '1', 'PX', this.intervalMs, 'NX')) === 'OK') return;
        const ttl = await this.redis.pttl(key);
        await new Promise((resolve) => setTimeout(resolve, Math.max(5, ttl) + Math.floor(Math.random() * 20)));
      }
    } catch {
      // Redis unavailable: post unpaced rather than not at all.
    }
  }
}
