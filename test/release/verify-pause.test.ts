import { describe, expect, it } from 'vitest';
import { pauseAfter } from '../../src/release/live-probe.js';

describe('the pause between live samples while the target is not answering yet', () => {
  it.each([
    [0, 5],
    [100, 5],
    [200, 10],
    [600, 30],
    [1000, 50],
    [60_000, 50],
  ])('after %i ms waited: %i ms (5%%, from 5 to 50 ms)', (waitedMs, pauseMs) => {
    expect(pauseAfter(waitedMs)).toBe(pauseMs);
  });
});
