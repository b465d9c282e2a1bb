import { WebClient } from '@slack/web-api';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ProgressEvent, ReleaseResult } from '../../src/core/events.js';
import type { Plan, Step } from '../../src/core/plan.js';
import { startSlackStandIn, type SlackStandIn } from '../../src/sandbox/slack/index.js';
import { SlackMemo } from '../../src/slack/slack-memo.js';
import { ThreadOutbox } from '../../src/queue/thread-outbox.js';
import { ChannelPacer } from '../../src/slack/channel-pacer.js';
import { ThreadOutboxDrainer } from '../../src/slack/thread-outbox-drainer.js';
import { ThreadReporter, threadReporterFactory } from '../../src/slack/thread-reporter.js';
import { deleteKeys, eventually, testPrefix, testRedis } from '../queue/redis-fixture.js';

const CHANNEL = 'C0RELEASES';
let standIn: SlackStandIn;
let client: WebClient;
let redis: Redis;
let gate: SlackMemo;
let outbox: ThreadOutbox;
let drainer: ThreadOutboxDrainer | undefined;
const prefix = testPrefix();
const warnings: string[] = [];
const log = { info: () => undefined, warn: (m: string) => warnings.push(m), error: (m: string) => warnings.push(m) };

beforeAll(async () => {
  // Slack's limit, enforced strictly: a reporter that posted a line per step would be refused.
  standIn = await startSlackStandIn({ rateLimitPerChannelPerSecond: 1 });
  client = new WebClient(standIn.botToken, { slackApiUrl: standIn.apiUrl, retryConfig: { retries: 0 }, timeout: 1000, rejectRateLimitedCalls: true });
  redis = testRedis();
  gate = new SlackMemo(redis, prefix);
  outbox = new ThreadOutbox(redis, prefix);
});
afterAll(async () => {
  await drainer?.stop();
  await deleteKeys(redis, prefix);
  redis.disconnect();
  await standIn.close();
});
beforeEach(async () => {
  await drainer?.stop();
  standIn.reset();
  warnings.length = 0;
});

function startDrainer(options: { maxAttempts?: number; minIntervalMs?: number } = {}): ThreadOutboxDrainer {
  // Paced per channel through Redis, as the worker wires it (threadOutboxDrainer).
  drainer = new ThreadOutboxDrainer({ client, outbox, memo: gate, log, pacer: new ChannelPacer(redis, prefix), pollMs: 50, backoffMs: 100, maxBackoffMs: 400, ...options }).start();
  return drainer;
}

/** The thread as a person reads it once the outbox is empty. */
async function drained(threadTs: string, timeoutMs = 20_000) {
  await eventually(async () => (await outbox.backlog()) === 0, 'the outbox to drain', timeoutMs);
  return standIn.replies(CHANNEL, threadTs);
}

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

describe('the thread reporter and its outbox', () => {
  it('never calls Slack itself: the thread shows nothing until the outbox is drained', async () => {
    const threadTs = await root();
    const calls = standIn.calls().length;
    const reporter = new ThreadReporter({ outbox, target: { channel: CHANNEL, threadTs }, releaseKey: 'r0', run: { jobId: 'j0', attempt: 0 } });
    for (const event of events()) await reporter.report(event);
    expect(standIn.calls().length).toBe(calls);
    expect(await outbox.backlog()).toBeGreaterThan(0);
    startDrainer();
    const replies = await drained(threadTs);
    expect(replies).toHaveLength(2);
  });

  it('keeps one progress message updated, posts the summary once and updates the root, within the rate limit', async () => {
    const threadTs = await root();
    startDrainer();
    const reporter = new ThreadReporter({ outbox, target: { channel: CHANNEL, threadTs }, releaseKey: 'r1', run: { jobId: 'j1', attempt: 0 } });
    for (const event of events()) await reporter.report(event);
    const replies = await drained(threadTs);
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

  it('posts the summary and updates the root right after the last progress edit, without waiting the edit interval', async () => {
    const threadTs = await root();
    const reporter = new ThreadReporter({ outbox, target: { channel: CHANNEL, threadTs }, releaseKey: 'r1b', run: { jobId: 'j1b', attempt: 0 } });
    for (const event of events()) await reporter.report(event);
    // Progress edits at most every 30 s: the summary and the root's update must not wait for that.
    startDrainer({ minIntervalMs: 30_000 });
    const replies = await drained(threadTs, 10_000);
    expect(replies.map((r) => r.text?.split('\n')[0])).toEqual(['Promote shop v2 in production: ✅ done', expect.stringContaining('Promote shop v2 in production')]);
    expect(standIn.message(CHANNEL, threadTs)!.text).toContain('✅ done');
    expect(standIn.rateLimited()).toEqual([]);
  });

  it('posts the summary once per release even when a retried job reports again, and reuses the progress message', async () => {
    const threadTs = await root();
    const make = threadReporterFactory(outbox);
    for (let attempt = 0; attempt < 2; attempt++) {
      const reporter = make({ requestId: 'r2', slack: { channel: CHANNEL, threadTs } }, { jobId: 'j2', attempt })!;
      for (const event of events()) await reporter.report(event);
    }
    // The same attempt reporting again (a stalled job run twice) appends nothing.
    const again = make({ requestId: 'r2', slack: { channel: CHANNEL, threadTs } }, { jobId: 'j2', attempt: 1 })!;
    const backlog = await outbox.backlog();
    for (const event of events()) await again.report(event);
    expect(await outbox.backlog()).toBe(backlog);
    startDrainer();
    const replies = await drained(threadTs);
    expect(replies.map((r) => r.text?.split(':')[0])).toEqual(['Promote shop v2 in production', 'Promote shop v2 in production']);
    expect(replies).toHaveLength(2);
    expect(make({ requestId: 'cli', slack: undefined }, { jobId: 'cli', attempt: 0 })).toBeNull();
  });

  it('catches up after Slack answered 503 for a while: every message, in order, once', async () => {
    const threadTs = await root();
    standIn.setFaults({ errorRate: 1, errorStatus: 503, methods: ['chat.postMessage', 'chat.update'] });
    startDrainer({ maxAttempts: 100 });
    const reporter = new ThreadReporter({ outbox, target: { channel: CHANNEL, threadTs }, releaseKey: 'r4', run: { jobId: 'j4', attempt: 0 } });
    for (const event of events()) await reporter.report(event);
    await eventually(async () => drainer!.counts.failures >= 3, 'deliveries to fail while Slack answers 503', 10_000);
    expect(standIn.replies(CHANNEL, threadTs)).toEqual([]);
    standIn.setFaults({ errorRate: 0 });
    const replies = await drained(threadTs);
    expect(replies.map((r) => r.text?.split('\n')[0])).toEqual(['Promote shop v2 in production: ✅ done', expect.stringContaining('Promote shop v2 in production')]);
    expect(replies[1]!.text).toContain('eu-west: switched');
    expect(standIn.message(CHANNEL, threadTs)!.text).toContain('✅ done');
    expect(warnings.join('\n')).toContain('retrying, the thread waits');
  });

  it('waits for a slow Slack within the request timeout, without posting twice', async () => {
    const threadTs = await root();
    standIn.setFaults({ stallRate: 1, stallMs: 300, methods: ['chat.postMessage', 'chat.update'] });
    startDrainer();
    const reporter = new ThreadReporter({ outbox, target: { channel: CHANNEL, threadTs }, releaseKey: 'r5', run: { jobId: 'j5', attempt: 0 } });
    for (const event of events()) await reporter.report(event);
    const replies = await drained(threadTs);
    expect(replies).toHaveLength(2);
  });

  it('drops a message Slack refuses for good, says so, and goes on with the thread', async () => {
    const threadTs = await root();
    standIn.injectError('chat.postMessage', 'invalid_blocks', 1);
    startDrainer();
    const reporter = new ThreadReporter({ outbox, target: { channel: CHANNEL, threadTs }, releaseKey: 'r3', run: { jobId: 'j3', attempt: 0 } });
    for (const event of events()) await reporter.report(event);
    const replies = await drained(threadTs);
    expect(warnings.join('\n')).toContain('invalid_blocks');
    expect(replies.some((r) => r.text?.includes('eu-west: switched'))).toBe(true);
  });
});
