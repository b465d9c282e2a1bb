import type { Redis } from 'ioredis';

/**
 * Small Slack-side values in Redis that the bot replicas and the workers share: one-shot claims
 * (Slack event and command dedupe, "summary posted" marks; SET NX EX) and per-thread memos (the
 * progress message ts, who asked for an ungated release). Approval records are not here: they
 * live in the queue room (`src/queue/approvals.ts`), where the workers verify them.
 */
export class SlackMemo {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** True the first time an event id is seen (within a day): Slack re-delivers events. */
  async claimEvent(eventId: string): Promise<boolean> {
    return this.claimOnce(`event:${eventId}`, 24 * 60 * 60);
  }

  /** Forget a claim, so a re-delivery of an event whose handling failed is handled again. */
  async releaseEvent(eventId: string): Promise<void> {
    await this.releaseClaim(`event:${eventId}`);
  }

  async releaseClaim(key: string): Promise<void> {
    await this.redis.del(`${this.prefix}:slack:once:${key}`);
  }

  /** True for the first caller with this key within `ttlSeconds`. */
  async claimOnce(key: string, ttlSeconds: number): Promise<boolean> {
    return (await this.redis.set(`${this.prefix}:slack:once:${key}`, '1', 'EX', ttlSeconds, 'NX')) === 'OK';
  }

  /** A small value kept per thread (e.g. the progress message ts), for a job resumed elsewhere. */
  async remember(key: string, value: string, ttlSeconds: number): Promise<void> {
    await this.redis.set(`${this.prefix}:slack:memo:${key}`, value, 'EX', ttlSeconds);
  }

  async recall(key: string): Promise<string | null> {
    return this.redis.get(`${this.prefix}:slack:memo:${key}`);
  }
}
