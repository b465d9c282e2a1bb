import { DelayedError, type Job, type Queue } from 'bullmq';
import type { RedisClient } from './connection.js';
import { releaseLease } from './lease.js';

export interface LeaseBusy {
  heldBy: string;
  /** What the holder is doing, e.g. "promote shop v41 in production". */
  description: string;
  expiresInMs: number;
}

export interface WaitOptions {
  /** Base time before the job tries again (jittered ±20 %); default 2 s. */
  retryMs?: number;
  /** The lease's key: the job registers as a waiter, so releaseLeaseAndWake starts it at once. */
  leaseKey?: string;
  redis?: RedisClient;
}

/** What a waiting job reports to its user. */
export function waitingMessage(busy: LeaseBusy): string {
  return busy.description ? `waiting for ${busy.heldBy} (${busy.description}) to finish` : `waiting for ${busy.heldBy} to finish`;
}

export interface WaitingProgress {
  waitingFor: string;
  heldBy: string;
}

/**
 * For a processor that could not get its lease: record why, move the job to delayed (without
 * spending an attempt) and end the processor with the DelayedError BullMQ expects. The job stays
 * delayed, not failed, and runs again after retryMs or as soon as the holder releases the lease.
 * Always throws; call it as `return waitForLease(...)`.
 */
export async function waitForLease(job: Job, token: string | undefined, busy: LeaseBusy, options: WaitOptions = {}): Promise<never> {
  const message = waitingMessage(busy);
  const previous = job.progress as Partial<WaitingProgress> | undefined;
  // Log once per holder, not at every retry.
  if (typeof previous !== 'object' || previous?.waitingFor !== message) {
    await job.log(message);
    await job.updateProgress({ waitingFor: message, heldBy: busy.heldBy } satisfies WaitingProgress);
  }
  if (options.leaseKey && options.redis && job.id) {
    const key = waitersKey(options.leaseKey);
    await options.redis.multi().zadd(key, Date.now(), job.id).pexpire(key, 60 * 60 * 1000).exec();
  }
  const base = options.retryMs ?? 2_000;
  const delay = Math.round(base * (0.8 + Math.random() * 0.4));
  await job.moveToDelayed(Date.now() + delay, token);
  throw new DelayedError(message);
}

function waitersKey(leaseKey: string): string {
  return `${leaseKey}:waiters`;
}

/** Move jobs delayed while waiting for this lease back to the queue (they race for it again). */
export async function wakeLeaseWaiters(queue: Queue, redis: RedisClient, leaseKey: string): Promise<number> {
  const key = waitersKey(leaseKey);
  const [[, ids]] = (await redis.multi().zrange(key, 0, -1).del(key).exec()) as [[Error | null, string[]], unknown];
  let woken = 0;
  for (const id of ids) {
    const job = await queue.getJob(id);
    if (!job || !(await job.isDelayed())) continue;
    // The job may have been promoted or started meanwhile: nothing to do then.
    woken += await job.promote().then(
      () => 1,
      () => 0,
    );
  }
  return woken;
}

/** Release a lease and wake the jobs waiting for it. */
export async function releaseLeaseAndWake(queue: Queue, redis: RedisClient, leaseKey: string, holder: string, token: number): Promise<boolean> {
  const released = await releaseLease(redis, leaseKey, holder, token);
  await wakeLeaseWaiters(queue, redis, leaseKey);
  return released;
}
