import type { Redis } from 'ioredis';

/**
 * Who is waiting for a post. `interactive`: a person who just typed a command (its thread root, a
 * refusal, an approval request). `background`: a worker's progress and summary replies, which
 * never take the channel's last token, so a `/release rollback` typed while a thread is being
 * reported is posted at once instead of queueing behind the replies.
 */
export type PostPriority = 'interactive' | 'background';

/**
 * Slack accepts about one chat.postMessage per second per channel, with short bursts ("generally
 * allows posting one message per second per channel", "short bursts >1 allowed"). The bot and every
 * worker post into the same channels, so the pace is a token bucket kept in Redis: `burst` tokens,
 * one back every `intervalMs`. Background posts leave one token in reserve for interactive ones.
 * A Redis error never blocks a post.
 */
export class ChannelPacer {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    // A little over Slack's one post a second per channel, for jitter in when requests arrive.
    private readonly intervalMs = 1100,
    /** Give up waiting (and post anyway, leaving it to Slack's Retry-After) after this long. */
    private readonly maxWaitMs = 30_000,
    /** Posts allowed at once; 2 stays under the bursts Slack grants and keeps one for people. */
    private readonly burst = 2,
  ) {}

  /** Waits until the channel has room for a post of this priority, and takes it. */
  async wait(channel: string, priority: PostPriority = 'interactive'): Promise<void> {
    const deadline = Date.now() + this.maxWaitMs;
    try {
      while (Date.now() < deadline) {
        const waitMs = await this.take(channel, priority);
        if (waitMs <= 0) return;
        await new Promise((resolve) => setTimeout(resolve, Math.min(waitMs, Math.max(0, deadline - Date.now())) + Math.floor(Math.random() * 20)));
      }
    } catch {
      // Redis unavailable: post unpaced rather than not at all.
    }
  }

  /** Takes room for one post if there is; answers 0, or the milliseconds until there is. */
  async take(channel: string, priority: PostPriority): Promise<number> {
    const needed = priority === 'background' && this.burst > 1 ? 2 : 1;
    return Number(await this.redis.eval(takeToken, 1, `${this.prefix}:slack:post-tokens:${channel}`, this.burst, this.intervalMs, needed));
  }
}

/**
 * Takes one token if at least `needed` are there; answers 0, or the milliseconds until enough are.
 * Redis's own clock, so the bot and workers on different hosts share one pace. The key lives only
 * while the bucket is not full (a missing key is a full bucket).
 */
const takeToken = `
if redis.replicate_commands then redis.replicate_commands() end
local burst = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local needed = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) / interval)
local wait = 0
if tokens >= needed then
  tokens = tokens - 1
else
  wait = math.ceil((needed - tokens) * interval)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.max(1, math.ceil((burst - tokens) * interval)))
return wait
`;
