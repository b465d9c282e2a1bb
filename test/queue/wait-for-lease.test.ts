import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { describeJob, leaseNeededFor } from '../../src/core/exclusion.js';
import { enqueueRelease } from '../../src/queue/enqueue.js';
import { acquireLease, LeaseKeeper, releaseLease } from '../../src/queue/lease.js';
import { isJobKind, leaseKey } from '../../src/queue/names.js';
import { parsePayload, payloadVersion } from '../../src/queue/payloads.js';
import { createReleaseQueue, createReleaseWorker } from '../../src/queue/release-queue.js';
import { releaseLeaseAndWake, waitForLease } from '../../src/queue/wait-for-lease.js';
import { deleteKeys, eventually, redisUrl, testPrefix, testRedis } from './redis-fixture.js';

const prefix = testPrefix();
const settings = { redisUrl, prefix };
let redis: Redis;
let queue: Queue;
let worker: Worker;
const ran: string[] = [];

/** A processor shaped like the real ones: lease first, then the work, then release and wake. */
async function processor(job: Job, token?: string): Promise<string> {
  const payload = parsePayload(job.name, job.data);
  if (!isJobKind(job.name)) throw new Error(`unexpected job ${job.name}`);
  const request = { kind: job.name, app: payload.app, environment: payload.environment, version: payloadVersion(payload) };
  const key = leaseKey(prefix, leaseNeededFor(request));
  const holder = job.id!;
  const got = await acquireLease(redis, key, holder, 5_000, describeJob(request));
  if (!('token' in got)) return waitForLease(job, token, got, { leaseKey: key, redis, retryMs: 60_000 });
  const keeper = new LeaseKeeper(redis, key, holder, got.token, 5_000).start();
  try {
    await keeper.assertFenced();
    ran.push(job.id!);
    return 'done';
  } finally {
    await keeper.stop({ release: false });
    await releaseLeaseAndWake(queue, redis, key, holder, got.token);
  }
}

beforeAll(() => {
  redis = testRedis();
  queue = createReleaseQueue(settings);
  worker = createReleaseWorker(settings, processor, { concurrency: 2 });
});
afterAll(async () => {
  await worker.close();
  await queue.close();
  await deleteKeys(redis, prefix);
  await redis.quit();
});

const request = (requestId: string) => ({
  requestId,
  app: 'shop',
  environment: 'production',
  version: 'v42',
  requestedBy: 'U-alice',
  source: 'slack' as const,
});

describe('a job that cannot get its lease', () => {
  it('waits delayed (not failed), says for whom, and runs once the lease is released', async () => {
    const key = leaseKey(prefix, { scope: 'traffic', app: 'shop', environment: 'production' });
    const other = await acquireLease(redis, key, 'job-41', 60_000, 'promote shop v41 in production');
    if (!('token' in other)) throw new Error('the test could not take the lease');

    const { jobId } = await enqueueRelease(queue, 'promote', request('req-wait'));
    await eventually(async () => (await queue.getJobState(jobId)) === 'delayed', 'the job to be delayed');
    const waiting = await queue.getJob(jobId);
    expect(waiting?.progress).toMatchObject({ waitingFor: 'waiting for job-41 (promote shop v41 in production) to finish' });
    expect((await queue.getJobLogs(jobId)).logs).toEqual(['waiting for job-41 (promote shop v41 in production) to finish']);
    expect(waiting?.attemptsMade).toBe(0);
    expect(ran).toEqual([]);

    // The holder finishes: its release wakes the waiting job long before its 60 s retry.
    await releaseLeaseAndWake(queue, redis, key, 'job-41', other.token);
    await eventually(async () => (await queue.getJobState(jobId)) === 'completed', 'the job to complete');
    expect(ran).toEqual(['req-wait']);
    const done = await queue.getJob(jobId);
    expect(done?.returnvalue).toBe('done');
    expect(done?.attemptsMade).toBe(1);
  });

  it('a rollback is not blocked by a running install of the same app', async () => {
    const installKey = leaseKey(prefix, { scope: 'install', app: 'shop', environment: 'production', version: 'v43' });
    const install = await acquireLease(redis, installKey, 'job-install-v43', 60_000, 'deploy shop v43 in production');
    if (!('token' in install)) throw new Error('the test could not take the install lease');
    const { version: _version, ...rollback } = request('req-rollback');
    const { jobId } = await enqueueRelease(queue, 'rollback', rollback);
    await eventually(async () => (await queue.getJobState(jobId)) === 'completed', 'the rollback to complete');
    expect(ran).toContain('req-rollback');
    await releaseLease(redis, installKey, 'job-install-v43', install.token);
  });
});
