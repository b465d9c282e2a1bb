/** chat.postMessage's special tier: about one message per second per channel, answered with 429 + Retry-After. */
export class ChannelRateLimiter {
  private readonly windows = new Map<string, number[]>();

  constructor(
    private perSecond: number | undefined,
    private readonly nowMs: () => number = Date.now,
  ) {}

  setLimit(perSecond: number | undefined): void {
    this.perSecond = perSecond;
    this.windows.clear();
  }

  /** Counts one post; returns the seconds to wait when the channel is over its limit. */
  take(channel: string): number | undefined {
    if (this.perSecond === undefined) return undefined;
    const now = this.nowMs();
    const window = (this.windows.get(channel) ?? []).filter((at) => at > now - 1000);
    this.windows.set(channel, window);
    const oldest = window[0];
    if (window.length >= this.perSecond && oldest !== undefined) {
      // Slack's Retry-After is whole seconds; WebClient parses it with parseInt.
      return Math.max(1, Math.ceil((oldest + 1000 - now) / 1000));
    }
    window.push(now);
    return undefined;
  }

  reset(): void {
    this.windows.clear();
  }
}
