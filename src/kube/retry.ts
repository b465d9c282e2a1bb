import { setTimeout as delay } from 'node:timers/promises';

/** How often and how patiently a transient API failure is retried. */
export interface RetryPolicy {
  /** Total tries, the first included. */
  attempts: number;
  baseMs: number;
  capMs: number;
  /** A Retry-After longer than this is not waited for: the error surfaces instead. */
  maxRetryAfterMs: number;
}

export const defaultRetryPolicy: RetryPolicy = { attempts: 5, baseMs: 100, capMs: 2000, maxRetryAfterMs: 10_000 };

/**
 * Wait before retry number `retry` (1 = the first retry): capped exponential backoff with
 * "equal jitter" (half fixed, half random), so clients that failed together do not retry together.
 * A server's Retry-After is honoured as a lower bound; null means: do not retry.
 */
export function retryDelayMs(policy: RetryPolicy, retry: number, retryAfterMs: number | null = null, random: () => number = Math.random): number | null {
  if (retry >= policy.attempts) return null;
  if (retryAfterMs !== null && retryAfterMs > policy.maxRetryAfterMs) return null;
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** (retry - 1));
  const backoff = Math.round(ceiling / 2 + random() * (ceiling / 2));
  return Math.max(backoff, retryAfterMs ?? 0);
}

export interface RetryOptions {
  policy: RetryPolicy;
  isRetryable(error: unknown): boolean;
  retryAfterMs?(error: unknown): number | null;
  signal?: AbortSignal;
  random?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  onRetry?(info: { attempt: number; delayMs: number; error: unknown }): void;
}

/** Runs `action` until it succeeds, fails for good, or the policy's attempts are spent. */
export async function withRetry<T>(action: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const sleep = options.sleep ?? ((ms, signal) => delay(ms, undefined, { signal }));
  for (let attempt = 1; ; attempt++) {
    try {
      return await action(attempt);
    } catch (error) {
      if (!options.isRetryable(error)) throw error;
      const wait = retryDelayMs(options.policy, attempt, options.retryAfterMs?.(error) ?? null, options.random);
      if (wait === null || options.signal?.aborted) throw error;
      options.onRetry?.({ attempt, delayMs: wait, error });
      await sleep(wait, options.signal);
    }
  }
}
