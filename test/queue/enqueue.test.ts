import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { enqueueRelease } from '../../src/queue/enqueue.js';
import { parsePayload } from '../../src/queue/payloads.js';
import { createReleaseQueue, createReleaseWorker } from '../../src/queue/release-queue.js';
import { deleteKeys, eventually, redisUrl, testPrefix, testRedis } from './redis-fixture.js';

const prefix = testPrefix();
const settings = { redisUrl, prefix };
let redis: Redis;
let queue: Queue;
const workers: Worker[] = [];

const promote = (requestId: string, version = 'v42') => ({
  requestId,
  app: 'shop',
  environment: 'production',
  version,
  requestedBy: 'U-alice',
  approvedBy: ['U-bob'],
  source: 'slack' as const,
  slack: { channel: 'C1', threadTs: '1712.0001' },
});

beforeAll(async () => {
  redis = testRedis();
  queue = createReleaseQueue(settings);
  await queue.pause(); // jobs stay where enqueue put them until a test starts a worker
});
afterAll(async () => {
  await Promise.all(workers.map((worker) => worker.close()));
  await queue.close();
  await deleteKeys(redis, prefix);
  await redis.quit();
});

describe('enqueueRelease', () => {
  it('enqueues a re-sent request once', async () => {
    const first = await enqueueRelease(queue, 'promote', promote('req-1'));
    const again = await enqueueRelease(queue, 'promote', promote('req-1', 'v43'));
    expect(first).toEqual({ jobId: 'req-1', deduplicated: false });
    expect(again).toEqual({ jobId: 'req-1', deduplicated: true });
    const jobs = await queue.getJobs(['waiting', 'prioritized', 'delayed']);
    expect(jobs.filter((job) => job.id === 'req-1')).toHaveLength(1);
    const job = await queue.getJob('req-1');
    expect(job?.data).toMatchObject({ version: 'v42', approvedBy: ['U-bob'] });
    expect(job?.opts).toMatchObject({ attempts: 5, backoff: { type: 'exponential' }, removeOnComplete: { age: 86_400 }, removeOnFail: { age: 86_400 } });
  });

  it('refuses an invalid request with a readable UnrecoverableError and adds nothing', async () => {
    const bad = { ...promote('req-bad'), version: 'v 42;rm' };
    await expect(enqueueRelease(queue, 'promote', bad)).rejects.toThrow(UnrecoverableError);
    await expect(enqueueRelease(queue, 'promote', bad)).rejects.toThrow(/invalid promote request: version: "v 42;rm" is not a valid version/);
    await expect(enqueueRelease(queue, 'deploy', { ...promote('12345') })).rejects.toThrow(/requestId: must not be a plain integer/);
    expect(await queue.getJob('req-bad')).toBeUndefined();
  });

  it('runs an emergency rollback before installs queued earlier', async () => {
    const runQueue = createReleaseQueue({ redisUrl, prefix: `${prefix}-prio` });
    await runQueue.pause();
    for (const version of ['v50', 'v51', 'v52']) {
      await enqueueRelease(runQueue, 'deploy', { ...promote(`deploy-${version}`, version), source: 'cli' });
    }
    const { version: _version, ...rollback } = promote('rollback-1');
    await enqueueRelease(runQueue, 'rollback', rollback);
    const order: string[] = [];
    const worker = createReleaseWorker({ redisUrl, prefix: `${prefix}-prio` }, async (job) => {
      order.push(job.name);
    }, { concurrency: 1 });
    workers.push(worker);
    await runQueue.resume();
    await eventually(async () => order.length === 4, 'all four jobs');
    expect(order).toEqual(['rollback', 'deploy', 'deploy', 'deploy']);
    await worker.close();
    await runQueue.close();
  });
});

describe('job payloads', () => {
  it('an invalid payload on the queue is an UnrecoverableError naming the bad fields', () => {
    expect(() => parsePayload('promote', { requestId: 'r', app: 'Shop!', environment: 'production', requestedBy: 'U1', source: 'email' })).toThrow(UnrecoverableError);
    try {
      parsePayload('promote', { requestId: 'r', app: 'Shop!', environment: 'production', requestedBy: 'U1', source: 'email' });
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain('invalid promote job');
      expect(message).toContain('app: "Shop!" is not a valid app name');
      expect(message).toContain('source:');
      expect(message).toContain('version:');
    }
    expect(() => parsePayload('drop-database', {})).toThrow(/unknown job kind "drop-database"/);
  });

  it('accepts each kind and fills defaults', () => {
    const base = { requestId: 'r-1', app: 'shop', environment: 'staging', requestedBy: 'ci', source: 'cli' };
    expect(parsePayload('deploy', { ...base, version: 'v1.2.3' })).toMatchObject({ version: 'v1.2.3', approvedBy: [] });
    expect(parsePayload('rollback', base)).not.toHaveProperty('toVersion');
    expect(parsePayload('rollback', { ...base, toVersion: 'v41' })).toMatchObject({ toVersion: 'v41' });
    expect(parsePayload('cleanup', { ...base, source: 'scheduler' })).toMatchObject({ source: 'scheduler' });
    expect(parsePayload('bootstrap', base)).toMatchObject({ app: 'shop' });
    expect(() => parsePayload('deploy', base)).toThrow(/version:/);
  });
});
