import type { Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createReleaseProcessor } from '../../jobs/processor.js';
import { findApp, findEnvironment, parseConfig, type Config } from '../../src/config/index.js';
import type { ProgressEvent } from '../../src/core/events.js';
import { readAudit } from '../../src/queue/audit.js';
import { executeRelease } from '../../src/release/release.js';
import { createRedis, queueSettingsOf } from '../../src/queue/connection.js';
import { enqueueRelease } from '../../src/queue/enqueue.js';
import { createReleaseQueue, createReleaseWorker } from '../../src/queue/release-queue.js';
import { deleteKeys, eventually, redisUrl, testPrefix } from '../queue/redis-fixture.js';
import { configYaml, liveSelectors, startSandboxEnv, type SandboxEnv } from '../support/sandbox-env.js';

/**
 * Jobs that do not simply succeed. A job that fails outside the runner (a region unreachable before any step, every attempt) still
 * tells its reporter (the Slack thread) and the audit trail how it ended, once.
 */
let world: SandboxEnv;
let config: Config;
let redis: Redis;
let queue: Queue;
let worker: Worker;
const prefix = testPrefix();
const events: { jobId: string | undefined; event: ProgressEvent }[] = [];
let onEvent: ((event: ProgressEvent) => void) | undefined;

beforeAll(async () => {
  world = await startSandboxEnv({ prefix });
  config = parseConfig(configYaml(world.sandbox, { prefix, policy: { onRegionUnreachable: 'hold' } }), { REDIS_URL: redisUrl }, 'failed-job.yaml');
  const settings = queueSettingsOf(config);
  redis = createRedis(redisUrl, 'client');
  queue = createReleaseQueue(settings);
  const processor = createReleaseProcessor({
    redis,
    queue,
    prefix: settings.prefix,
    config,
    environmentFor: (a, e) => world.clusters.environment(findEnvironment(config, e)!, findApp(config, a)!),
    reporterFor: (job: Job) => ({
      report: (event) => {
        events.push({ jobId: job.id, event });
        onEvent?.(event);
      },
    }),
    shutdown: new AbortController().signal,
  });
  worker = createReleaseWorker(settings, processor, { concurrency: 1 });
}, 30_000);

afterAll(async () => {
  await worker?.close();
  await queue?.close();
  if (redis) {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  }
  await world?.stop();
});

describe('a job that fails before any step', () => {
  it('reports a final "failed" result to its thread and the audit once, after its last attempt', async () => {
    world.sandbox.regions[1]!.faults.set({ unreachable: true });
    try {
      await enqueueRelease(queue, 'rollback', { requestId: 'failing-rollback', app: 'shop', environment: 'production', requestedBy: 'U0ALICE', source: 'cli' }, { attempts: 2, backoffMs: 100 });
      await eventually(async () => (await queue.getJobState('failing-rollback')) === 'failed', 'the job to fail for good', 25_000);
    } finally {
      world.sandbox.regions[1]!.faults.set({ unreachable: false });
    }
    const finished = events.filter((e) => e.jobId === 'failing-rollback' && e.event.type === 'finished');
    expect(finished).toHaveLength(1);
    const result = finished[0]!.event.type === 'finished' ? finished[0]!.event.result : null;
    expect(result?.outcome).toBe('failed');
    expect(result?.reasons[0]).toMatch(/us-east.*unreachable.*\(after 2 attempts\)/);
    const audit = await readAudit(redis, prefix, { count: 20, app: 'shop' });
    expect(audit.filter((e) => e.requestId === 'failing-rollback' && e.kind === 'failed')).toHaveLength(1);
  }, 30_000);

  it('with onRegionUnreachable "hold", keeps the switched region, says it is holding, and finishes the release on a retry', async () => {
    const { env, app } = world.clusters.environment(findEnvironment(config, 'production')!, findApp(config, 'shop')!);
    for (const [action, version] of [['deploy', 'v1'], ['bootstrap', 'v1'], ['deploy', 'v2']] as const) {
      expect((await executeRelease({ action, app, version, actor: 'setup' }, env, { reporter: { report: () => undefined } })).outcome).toBe('succeeded');
    }
    const usEast = world.sandbox.regions[1]!;
    onEvent = (event) => {
      if (event.type === 'step-finished' && event.step.region === 'eu-west' && event.step.kind === 'verify') usEast.faults.set({ unreachable: true });
      if (event.type === 'holding') setTimeout(() => usEast.faults.set({ unreachable: false }), 300);
    };
    try {
      await enqueueRelease(queue, 'promote', { requestId: 'held-promote', app: 'shop', environment: 'production', requestedBy: 'U0ALICE', source: 'cli', version: 'v2' }, { attempts: 3, backoffMs: 200 });
      await eventually(async () => ['completed', 'failed'].includes(await queue.getJobState('held-promote')), 'the held promotion to finish', 40_000);
    } finally {
      onEvent = undefined;
      usEast.faults.set({ unreachable: false });
    }
    const mine = events.filter((e) => e.jobId === 'held-promote').map((e) => e.event);
    expect(mine.filter((e) => e.type === 'holding')).toHaveLength(1);
    const finished = mine.filter((e) => e.type === 'finished');
    expect(finished).toHaveLength(1);
    expect(finished[0]!.type === 'finished' && finished[0]!.result.outcome).toBe('succeeded');
    expect(await liveSelectors(world.sandbox)).toEqual({ 'eu-west': 'v2', 'us-east': 'v2' });
  }, 60_000);
});
