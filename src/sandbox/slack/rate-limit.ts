/**
 * Slack's rate limits, "per API method per app per workspace" (docs.slack.dev/apis/web-api/rate-limits),
 * as token buckets: `burst` calls at once, then `perMinute` spread evenly. A refused call is
 * answered 429 `ratelimited` with `Retry-After` in whole seconds (WebClient parses it with parseInt).
 */

export interface Bucket {
  perMinute: number;
  burst: number;
}

export interface RateLimitSettings {
  /**
   * chat.postMessage's special tier, per channel: "generally allows posting one message per second
   * per channel" with "short bursts >1 allowed" (rate limits page). Response URL posts are not
   * counted.
   */
  postMessagePerChannel?: Bucket | null;
  /** Tier buckets for the methods named in `methodTiers`, per method. */
  tiers?: Partial<Record<Tier, Bucket>> | null;
}

export type Tier = 1 | 2 | 3 | 4;

/**
 * The tiers of the methods the stand-in serves, from each method's reference page ("Rate limits:
 * Tier N"). chat.postMessage is special (above); chat.postEphemeral and chat.getPermalink are
 * Tier 4 like users.info.
 */
export const methodTiers: Record<string, Tier> = {
  'apps.connections.open': 1,
  'usergroups.users.list': 2,
  'chat.update': 3,
  'chat.delete': 3,
  'reactions.add': 3,
  'reactions.remove': 3,
  'reactions.get': 3,
  'conversations.info': 3,
  'chat.postEphemeral': 4,
  'chat.getPermalink': 4,
  'users.info': 4,
};

/**
 * Slack's published minimums ("1+", "20+", "50+", "100+ per minute"); the bursts are assumptions:
 * Slack says only "a small amount of burst", "occasional bursts", "sporadic bursts are welcome",
 * "generous burst behavior". chat.postMessage: one a second per channel, bursts of 3.
 */
export const slackRateLimits: Required<RateLimitSettings> = {
  postMessagePerChannel: { perMinute: 60, burst: 3 },
  tiers: {
    1: { perMinute: 1, burst: 5 },
    2: { perMinute: 20, burst: 10 },
    3: { perMinute: 50, burst: 10 },
    4: { perMinute: 100, burst: 20 },
  },
};

/** The old strict window: N posts per channel per second, no more. */
export function strictPostMessageLimit(perSecond: number): RateLimitSettings {
  return { postMessagePerChannel: { perMinute: perSecond * 60, burst: perSecond }, tiers: null };
}

interface State {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, State>();

  constructor(
    private settings: RateLimitSettings = {},
    private readonly nowMs: () => number = Date.now,
  ) {}

  set(settings: RateLimitSettings): void {
    this.settings = settings;
    this.buckets.clear();
  }

  get current(): RateLimitSettings {
    return this.settings;
  }

  /** Counts one call of `method` (in `channel` for chat.postMessage); returns the seconds to wait when over the limit. */
  take(method: string, channel?: string): number | undefined {
    if (method === 'chat.postMessage') {
      const bucket = this.settings.postMessagePerChannel;
      return bucket ? this.takeFrom(`post:${channel ?? ''}`, bucket) : undefined;
    }
    const tier = methodTiers[method];
    const bucket = tier === undefined ? undefined : this.settings.tiers?.[tier];
    return bucket ? this.takeFrom(`tier:${method}`, bucket) : undefined;
  }

  reset(): void {
    this.buckets.clear();
  }

  private takeFrom(key: string, bucket: Bucket): number | undefined {
    const now = this.nowMs();
    const perMs = bucket.perMinute / 60_000;
    const state = this.buckets.get(key) ?? { tokens: bucket.burst, at: now };
    state.tokens = Math.min(bucket.burst, state.tokens + (now - state.at) * perMs);
    state.at = now;
    this.buckets.set(key, state);
    if (state.tokens >= 1) {
      state.tokens -= 1;
      return undefined;
    }
    return Math.max(1, Math.ceil((1 - state.tokens) / perMs / 1000));
  }
}
