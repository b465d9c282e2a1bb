import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { createReleaseQueue } from '../../src/queue/release-queue.js';
import { syncCleanupSchedulers } from '../../src/queue/scheduler.js';
import { deleteKeys, redisUrl, testPrefix, testRedis } from './redis-fixture.js';

const prefix = testPrefix();
let redis: Redis;
let queue: Queue;

beforeAll(() => {
  redis = testRedis();
  queue = createReleaseQueue({ redisUrl, prefix });
});
afterAll(async () => {
  await queue.close();
  await deleteKeys(redis, prefix);
  await redis.quit();
});

async function schedulers(): Promise<Record<string, string | undefined>> {
  const all = await queue.getJobSchedulers(0, -1, true);
  return Object.fromEntries(all.map((s) => [s.id ?? s.key, s.pattern]));
}

describe('syncCleanupSchedulers', () => {
  it('declares one scheduler per app and environment, idempotently', async () => {
    const wanted = [
      { app: 'shop', environment: 'production', cron: '0 3 * * *' },
      { app: 'cart', environment: 'staging', cron: '30 2 * * *' },
    ];
    expect(await syncCleanupSchedulers(queue, wanted)).toMatchObject({ created: ['cleanup:shop:production', 'cleanup:cart:staging'], removed: [] });
    expect(await schedulers()).toEqual({ 'cleanup:shop:production': '0 3 * * *', 'cleanup:cart:staging': '30 2 * * *' });

    // A second worker start declares the same: nothing changes, no extra scheduled job appears.
    expect(await syncCleanupSchedulers(queue, wanted)).toMatchObject({ created: [], updated: [], unchanged: ['cleanup:shop:production', 'cleanup:cart:staging'] });
    const delayed = await queue.getDelayed();
    expect(delayed.map((job) => job.name)).toEqual(['cleanup', 'cleanup']);
    const shopJob = delayed.find((job) => job.data.app === 'shop');
    expect(shopJob?.data).toMatchObject({ source: 'scheduler', environment: 'production', requestedBy: 'scheduler' });
  });

  it('updates a changed cron and removes schedulers the config dropped, leaving others alone', async () => {
    await queue.upsertJobScheduler('someone-else', { every: 60_000 }, { name: 'other' });
    const result = await syncCleanupSchedulers(queue, [{ app: 'shop', environment: 'production', cron: '15 4 * * *' }]);
    expect(result).toMatchObject({ updated: ['cleanup:shop:production'], removed: ['cleanup:cart:staging'] });
    expect(await schedulers()).toEqual({ 'cleanup:shop:production': '15 4 * * *', 'someone-else': undefined });
    expect((await queue.getDelayed()).filter((job) => job.name === 'cleanup').map((job) => (job.data as { app: string }).app)).toEqual(['shop']);

    expect(await syncCleanupSchedulers(queue, [])).toMatchObject({ removed: ['cleanup:shop:production'] });
    expect(Object.keys(await schedulers())).toEqual(['someone-else']);
    // Its pending run went with it.
    expect((await queue.getDelayed()).filter((job) => job.name === 'cleanup')).toEqual([]);
  });

  it('reads the cron in the schedule\'s time zone, UTC when none is given, never the worker\'s local time', async () => {
    // A worker whose machine is not on UTC.
    const machineZone = process.env.TZ;
    process.env.TZ = 'America/Los_Angeles';
    onTestFinished(() => {
      if (machineZone === undefined) delete process.env.TZ;
      else process.env.TZ = machineZone;
    });
    await syncCleanupSchedulers(queue, [
      { app: 'kathmandu', environment: 'production', cron: '0 3 * * *', tz: 'Asia/Kathmandu' },
      { app: 'utc', environment: 'production', cron: '0 3 * * *' },
    ]);
    const kathmandu = await queue.getJobScheduler('cleanup:kathmandu:production');
    const utc = await queue.getJobScheduler('cleanup:utc:production');
    expect(kathmandu?.tz).toBe('Asia/Kathmandu');
    expect(utc?.tz).toBe('UTC');
    // 03:00 in Kathmandu (UTC+5:45) is 21:15 UTC.
    expect(new Date(kathmandu!.next!).toISOString()).toMatch(/T21:15:00\.000Z$/);
    expect(new Date(utc!.next!).toISOString()).toMatch(/T03:00:00\.000Z$/);
    // Moving the time zone is a change the next worker start applies.
    const moved = await syncCleanupSchedulers(queue, [
      { app: 'kathmandu', environment: 'production', cron: '0 3 * * *', tz: 'Europe/Paris' },
      { app: 'utc', environment: 'production', cron: '0 3 * * *', tz: 'UTC' },
    ]);
    expect(moved).toMatchObject({ updated: ['cleanup:kathmandu:production'], unchanged: ['cleanup:utc:production'] });
  });
});
