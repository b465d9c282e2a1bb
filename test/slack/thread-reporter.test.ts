import { WebClient } from '@slack/web-api';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ProgressEvent, ReleaseResult } from '../../src/core/events.js';
import type { Plan, Step } from '../../src/core/plan.js';
import { startSlackStandIn, type SlackStandIn } from '../../src/sandbox/slack/index.js';
import { SlackMemo } from '../../src/slack/slack-memo.js';
import { ThreadReporter, threadReporterFactory } from '../../src/slack/thread-reporter.js';
import { deleteKeys, testPrefix, testRedis } from '../queue/redis-fixture.js';

const CHANNEL = 'C0RELEASES';
let standIn: SlackStandIn;
let client: WebClient;
let redis: Redis;
let gate: SlackMemo;
const prefix = testPrefix();

beforeAll(async () => {
  // Slack's limit, enforced strictly: a reporter that posted a line per step would be refused.
  standIn = await startSlackStandIn({ rateLimitPerChannelPerSecond: 1 });
  client = new WebClient(standIn.botToken, { slackApiUrl: standIn.apiUrl, retryConfig: { retries: 0 } });
  redis = testRedis();
  gate = new SlackMemo(redis, prefix);
});
afterAll(async () => {
  await deleteKeys(redis, prefix);
  redis.disconnect();
  await standIn.close();
});
beforeEach(() => standIn.reset());

const regions = ['eu-west', 'us-east'];
const steps: Step[] = regions.flatMap((region) => [
  { kind: 'precheck', region, version: 'v2', minReady: 1 },
  { kind: 'switch', region, from: 'v1', to: 'v2' },
  { kind: 'verify', region, version: 'v2' },
]);
const plan: Plan = { action: 'promote', app: 'shop', environment: 'production', version: 'v2', regions, steps, notes: [] };
const result: ReleaseResult = {
  outcome: 'succeeded',
  action: 'promote',
  app: 'shop',
  environment: 'production',
  version: 'v2',
  regions: regions.map((region) => ({
    region,
    from: 'v1',
    to: 'v2',
    outcome: 'switched',
    timings: { patchMs: 12, endpointsMs: 140, dataPlaneMs: 210, totalMs: 400 },
    health: { readyPods: 2, samples: { v2: 10 }, failedSamples: 0 },
    detail: null,
  })),
  reasons: [],
  split: false,
  compensation: null,
  totalMs: 900,
};

function events(): ProgressEvent[] {
  const all: ProgressEvent[] = [{ type: 'planned', plan, resumedAt: 0 }];
  steps.forEach((step, index) => {
    all.push({ type: 'step-started', index, step, phase: 'forward' });
    all.push({ type: 'step-finished', index, step, phase: 'forward', outcome: 'ok', durationMs: 5, detail: '' });
  });
  all.push({ type: 'finished', result });
  return all;
}

async function root(): Promise<string> {
  const posted = await client.chat.postMessage({ channel: CHANNEL, text: 'Queued: promote shop v2 in production' });
  // The job starts later, on a worker: leave the channel's one-post-per-second window first.
  await new Promise((resolve) => setTimeout(resolve, 1200));
  return posted.ts!;
}

describe('the thread reporter', () => {
  it('keeps one progress message updated, posts the summary once and updates the root, within the rate limit', async () => {
    const threadTs = await root();
    const reporter = new ThreadReporter({ client, target: { channel: CHANNEL, threadTs }, releaseKey: 'r1', gate });
    for (const event of events()) await reporter.report(event);
    await reporter.flushed();

    const replies = standIn.replies(CHANNEL, threadTs);
    expect(replies).toHaveLength(2);
    const [progress, summary] = replies;
    expect(progress!.text).toContain('Promote shop v2 in production: ✅ done');
    // 14 events, but the progress message was edited only a few times: they were coalesced.
    expect(progress!.history.length).toBeLessThanOrEqual(3);
    expect(summary!.text).toContain('eu-west: switched');
    expect(JSON.stringify(summary!.blocks)).toContain('EndpointSlices converged');
    expect(standIn.message(CHANNEL, threadTs)!.text).toContain('✅ done');
    expect(standIn.rateLimited()).toEqual([]);
  });

  it('posts the summary once per release even when a retried job reports again, and reuses the progress message', async () => {
    const threadTs = await root();
    const make = threadReporterFactory({ client, gate });
    for (let attempt = 0; attempt < 2; attempt++) {
      const reporter = make({ requestId: 'r2', slack: { channel: CHANNEL, threadTs } })!;
      for (const event of events()) await reporter.report(event);
    }
    const replies = standIn.replies(CHANNEL, threadTs);
    expect(replies.map((r) => r.text?.split(':')[0])).toEqual(['Promote shop v2 in production', 'Promote shop v2 in production']);
    expect(replies).toHaveLength(2);
    expect(make({ requestId: 'cli', slack: undefined })).toBeNull();
  });

  it('never fails the release when Slack fails', async () => {
    const threadTs = await root();
    standIn.injectError('chat.postMessage', 'channel_not_found', 10);
    standIn.injectError('chat.update', 'channel_not_found', 10);
    const warnings: string[] = [];
    const reporter = new ThreadReporter({ client, target: { channel: CHANNEL, threadTs }, releaseKey: 'r3', minIntervalMs: 0, log: { info: () => undefined, warn: (m) => warnings.push(m), error: () => undefined } });
    for (const event of events()) await reporter.report(event);
    expect(warnings.join('\n')).toContain('channel_not_found');
  });
});
