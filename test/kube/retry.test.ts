import { describe, expect, it } from 'vitest';
import { retryDelayMs, withRetry, type RetryPolicy } from '../../src/kube/retry.js';

const policy: RetryPolicy = { attempts: 5, baseMs: 100, capMs: 2000, maxRetryAfterMs: 10_000 };

describe('retryDelayMs', () => {
  it.each([
    // retry, random, retryAfter, expected
    [1, 0, null, 50],
    [1, 1, null, 100],
    [2, 0, null, 100],
    [3, 1, null, 400],
    [4, 0.5, null, 600],
    [2, 0, 1000, 1000],
    [1, 1, 20, 100],
  ])('retry %i with random %d and Retry-After %s waits %i ms', (retry, random, retryAfter, expected) => {
    expect(retryDelayMs(policy, retry, retryAfter, () => random)).toBe(expected);
  });

  it('never exceeds the cap', () => {
    const wide = { ...policy, attempts: 30 };
    for (let retry = 1; retry < 30; retry++) expect(retryDelayMs(wide, retry, null, () => 1)).toBeLessThanOrEqual(2000);
  });

  it('gives up when the attempts are spent or Retry-After is too long', () => {
    expect(retryDelayMs(policy, 5)).toBeNull();
    expect(retryDelayMs(policy, 1, 60_000)).toBeNull();
  });
});

describe('withRetry', () => {
  const noSleep = async (): Promise<void> => undefined;

  it('retries retryable failures until one succeeds', async () => {
    const waits: number[] = [];
    let calls = 0;
    const result = await withRetry(
      async () => {
        calls++;
        if (calls < 3) throw new Error('flaky');
        return 'ok';
      },
      { policy, isRetryable: () => true, random: () => 0, sleep: noSleep, onRetry: ({ delayMs }) => waits.push(delayMs) },
    );
    expect(result).toBe('ok');
    expect(waits).toEqual([50, 100]);
  });

  it('surfaces a permanent failure at once and the last transient one after the last attempt', async () => {
    let calls = 0;
    await expect(withRetry(async () => { calls++; throw new Error('bad'); }, { policy, isRetryable: () => false, sleep: noSleep })).rejects.toThrow('bad');
    expect(calls).toBe(1);
    calls = 0;
    await expect(withRetry(async () => { calls++; throw new Error(`try ${calls}`); }, { policy, isRetryable: () => true, sleep: noSleep })).rejects.toThrow('try 5');
    expect(calls).toBe(5);
  });
});
