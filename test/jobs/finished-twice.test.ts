/**
 * A job BullMQ runs again after it finished (its completion did not reach Redis: the lock was lost
 * during an outage, issue 20.2) is recognised as finished: it is completed with the first run's
 * result, without observing, auditing, reporting or counting again. Played here by moving the
 * completed job back to wait, which is what a lost moveToFinished amounts to.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAudit } from '../../src/queue/audit.js';
import { enqueueRelease } from '../../src/queue/enqueue.js';
import { resultOf, waitFor, World } from './harness.js';

const world = new World({ apps: { shop: {} } });

beforeAll(async () => {
  await world.start();
  await world.prepare('shop', { install: ['v2'] });
  await world.startWorkers(1);
}, 60_000);

afterAll(async () => {
  await world.stop();
});

describe('a finished job run again', () => {
  it('is completed with its first result: one started, one succeeded, one summary, no step run again', async () => {
    await enqueueRelease(world.queue, 'promote', { requestId: 'twice-1', app: 'shop', environment: 'production', version: 'v2', requestedBy: 'U0TEST', source: 'cli' });
    const first = await resultOf(world.queue, 'twice-1', 30_000);
    expect(first.outcome).toBe('succeeded');

    const job = (await world.queue.getJob('twice-1'))!;
    await job.retry('completed');
    await waitFor(async () => (await world.queue.getJob('twice-1'))!.finishedOn !== job.finishedOn && (await (await world.queue.getJob('twice-1'))!.isCompleted()), 'the job to complete again', 30_000);
    const again = (await world.queue.getJob('twice-1'))!;
    expect(again.returnvalue).toEqual(first);
    const { logs } = await world.queue.getJobLogs('twice-1');
    expect(logs.some((l) => l.includes('finished by an earlier run'))).toBe(true);

    const audit = (await readAudit(world.redis, world.prefix, { count: 50, app: 'shop' })).filter((e) => e.requestId === 'twice-1');
    expect(audit.filter((e) => e.kind === 'started')).toHaveLength(1);
    expect(audit.filter((e) => e.kind === 'succeeded')).toHaveLength(1);
    const worker = world.workers[0]!;
    expect(worker.lines.filter((l) => l.job === 'twice-1' && l.event === 'finished')).toHaveLength(1);
    expect(worker.lines.filter((l) => l.job === 'twice-1' && l.event === 'planned')).toHaveLength(1);
  });
});
