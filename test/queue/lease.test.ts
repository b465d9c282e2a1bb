import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { acquireLease, checkFence, LeaseKeeper, LostLeaseError, readLease, releaseLease, renewLease } from '../../src/queue/lease.js';
import { markInUse, unmarkInUse, versionsInUse } from '../../src/queue/in-use.js';
import { leaseKey } from '../../src/queue/names.js';
import { deleteKeys, eventually, testPrefix, testRedis } from './redis-fixture.js';

const prefix = testPrefix();
let redis: Redis;
let n = 0;
const freshKey = () => leaseKey(prefix, { scope: 'traffic', app: `shop${++n}`, environment: 'production' });

beforeAll(() => {
  redis = testRedis();
});
afterAll(async () => {
  await deleteKeys(redis, prefix);
  await redis.quit();
});

async function untilExpired(key: string): Promise<void> {
  await eventually(async () => (await readLease(redis, key)) === null, `${key} to expire`);
}

describe('fenced lease', () => {
  it('has one holder at a time and tells the others who holds it', async () => {
    const key = freshKey();
    const first = await acquireLease(redis, key, 'job-a', 10_000, 'promote shop v41 in production');
    expect(first).toEqual({ token: expect.any(Number) });
    const second = await acquireLease(redis, key, 'job-b', 10_000);
    expect(second).toMatchObject({ heldBy: 'job-a', description: 'promote shop v41 in production' });
    expect((second as { expiresInMs: number }).expiresInMs).toBeGreaterThan(0);
  });

  it('expires by its TTL; the next holder gets a higher token and fences the old one off', async () => {
    const key = freshKey();
    const old = (await acquireLease(redis, key, 'job-a', 100)) as { token: number };
    await untilExpired(key);
    const next = (await acquireLease(redis, key, 'job-b', 10_000)) as { token: number };
    expect(next.token).toBeGreaterThan(old.token);
    expect(await checkFence(redis, key, old.token)).toBe(false);
    expect(await checkFence(redis, key, next.token)).toBe(true);
    expect(await renewLease(redis, key, 'job-a', old.token, 10_000)).toBe(false);
    expect(await releaseLease(redis, key, 'job-a', old.token)).toBe(false);
    expect(await readLease(redis, key)).toMatchObject({ holder: 'job-b', token: next.token });
  });

  it('is renewed and released only by its holder with its token', async () => {
    const key = freshKey();
    const { token } = (await acquireLease(redis, key, 'job-a', 10_000)) as { token: number };
    expect(await renewLease(redis, key, 'job-b', token, 10_000)).toBe(false);
    expect(await renewLease(redis, key, 'job-a', token + 1, 10_000)).toBe(false);
    expect(await releaseLease(redis, key, 'job-b', token)).toBe(false);
    expect(await renewLease(redis, key, 'job-a', token, 10_000)).toBe(true);
    expect(await releaseLease(redis, key, 'job-a', token)).toBe(true);
    expect(await readLease(redis, key)).toBeNull();
    expect(await checkFence(redis, key, token)).toBe(false);
  });

  it('taken again by the same holder (a retried job) gets a new token that fences the earlier attempt', async () => {
    const key = freshKey();
    const earlier = (await acquireLease(redis, key, 'job-a', 10_000)) as { token: number };
    const retried = (await acquireLease(redis, key, 'job-a', 10_000)) as { token: number };
    expect(retried.token).toBeGreaterThan(earlier.token);
    expect(await checkFence(redis, key, earlier.token)).toBe(false);
  });
});

describe('LeaseKeeper', () => {
  it('keeps the lease past its TTL while the job runs, then releases it', async () => {
    const key = freshKey();
    const { token } = (await acquireLease(redis, key, 'job-a', 400)) as { token: number };
    const keeper = new LeaseKeeper(redis, key, 'job-a', token, 400).start();
    // Several TTLs later, after several renewals, the lease is still ours.
    await wait(1_300);
    expect(() => keeper.assertHeld()).not.toThrow();
    await keeper.assertFenced();
    expect(await keeper.stop()).toBe(true);
    expect(await readLease(redis, key)).toBeNull();
  });

  it('aborts its signal and throws LostLeaseError when the lease is taken over', async () => {
    const key = freshKey();
    const { token } = (await acquireLease(redis, key, 'job-a', 200)) as { token: number };
    const keeper = new LeaseKeeper(redis, key, 'job-a', token, 200).start();
    // Another worker takes over (as if job-a's worker had paused past the TTL).
    await redis.del(key);
    const thief = (await acquireLease(redis, key, 'job-b', 10_000)) as { token: number };
    await eventually(async () => keeper.signal.aborted, 'the keeper to notice');
    const reason: unknown = keeper.signal.reason;
    expect(reason).toBeInstanceOf(LostLeaseError);
    expect(reason).toMatchObject({ code: 'taken-over' });
    expect(() => keeper.assertHeld()).toThrow(LostLeaseError);
    await keeper.stop();
    // Stopping a keeper that lost its lease does not release the new holder's lease.
    expect(await readLease(redis, key)).toMatchObject({ holder: 'job-b', token: thief.token });
  });

  it('assertFenced refuses when Redis answers only after the lease may have expired', async () => {
    const key = freshKey();
    // Redis still holds the lease with our token (as after a restart from an old copy)...
    const { token } = (await acquireLease(redis, key, 'job-a', 60_000)) as { token: number };
    // ...but its answer comes after the keeper's TTL without a renewal: a Redis outage in between.
    const late = new Proxy(redis, {
      get(target, property) {
        if (property === 'hget') return async (...args: [string, string]) => (await wait(500)) && target.hget(...args);
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const keeper = new LeaseKeeper(late, key, 'job-a', token, 300);
    await expect(keeper.assertFenced()).rejects.toMatchObject({ name: 'LostLeaseError', code: 'expired' });
    await keeper.stop({ release: false });
  });

  it('assertFenced notices a takeover before the next renewal', async () => {
    const key = freshKey();
    const { token } = (await acquireLease(redis, key, 'job-a', 60_000)) as { token: number };
    const keeper = new LeaseKeeper(redis, key, 'job-a', token, 60_000).start();
    await redis.del(key);
    await acquireLease(redis, key, 'job-b', 60_000);
    await expect(keeper.assertFenced()).rejects.toMatchObject({ name: 'LostLeaseError', code: 'taken-over' });
    await keeper.stop();
  });
});

describe('versions in use', () => {
  it('lists marked versions until they are unmarked or their mark expires', async () => {
    await markInUse(redis, prefix, 'shop', 'production', 'v42', 'job-deploy', 60_000);
    await markInUse(redis, prefix, 'shop', 'production', 'v42', 'job-promote', 60_000);
    await markInUse(redis, prefix, 'shop', 'production', 'v43', 'job-dead', 100);
    await markInUse(redis, prefix, 'cart', 'production', 'v1', 'job-x', 60_000);
    expect(await versionsInUse(redis, prefix, 'shop', 'production')).toEqual(['v42', 'v43']);

    // A dead worker never unmarks: its mark lapses by itself.
    await eventually(async () => !(await versionsInUse(redis, prefix, 'shop', 'production')).includes('v43'), 'v43 mark to expire');
    // One job finishing does not unmark a version another job still uses.
    await unmarkInUse(redis, prefix, 'shop', 'production', 'v42', 'job-deploy');
    expect(await versionsInUse(redis, prefix, 'shop', 'production')).toEqual(['v42']);
    await unmarkInUse(redis, prefix, 'shop', 'production', 'v42', 'job-promote');
    expect(await versionsInUse(redis, prefix, 'shop', 'production')).toEqual([]);
  });
});

async function wait(ms: number): Promise<true> {
  await new Promise((resolve) => setTimeout(resolve, ms));
  return true;
}
