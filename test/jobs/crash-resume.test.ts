import type { Job } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunCursor } from '../../src/release/runner.js';
import { readAudit } from '../../src/queue/audit.js';
import { enqueueRelease } from '../../src/queue/enqueue.js';
import { isEvent, resultOf, waitFor, World, type WorkerProcess } from './harness.js';

// Short BullMQ lock and stall timings, so a dead worker's job is picked up again within ~2 s.
const world = new World({
  apps: { shop: {} },
  policy: { bakeSeconds: 1.5 },
  worker: { concurrency: 2, lockDurationMs: 1500, stalledIntervalMs: 500 },
});

beforeAll(async () => {
  await world.start();
  await world.prepare('shop', { install: ['v2'] });
  await world.startWorkers(2);
}, 60_000);

afterAll(async () => {
  await world.stop();
});

function switchedIn(worker: WorkerProcess, jobId: string, region: string): boolean {
  return worker.lines.some((l) => l.job === jobId && l.event === 'step-finished' && typeof l.msg === 'string' && l.msg.startsWith(`ok ${region}: switch`));
}

function switchSaved(job: Job | undefined, region: string): boolean {
  const cursor = (job?.data as { runCursor?: RunCursor } | undefined)?.runCursor;
  return cursor?.records.some((r) => r.step.kind === 'switch' && r.step.region === region && r.outcome === 'ok') ?? false;
}

describe('a worker process dies in the middle of a two-region promotion', () => {
  it('another worker resumes after region 1 switched, finishes region 2 and reports the result once', async () => {
    await enqueueRelease(world.queue, 'promote', { requestId: 'crash-1', app: 'shop', environment: 'production', version: 'v2', requestedBy: 'U0TEST', source: 'cli' });

    let victim: WorkerProcess | undefined;
    await waitFor(() => (victim = world.workers.find((w) => switchedIn(w, 'crash-1', 'eu-west'))) !== undefined, 'eu-west to switch');
    // Killed once the switch is in the saved cursor: a kill between the switch and its record
    // makes the survivor repeat the switch as a no-op write (check:crash covers that point).
    await waitFor(async () => switchSaved(await world.queue.getJob('crash-1'), 'eu-west'), 'the eu-west switch in the saved cursor');
    victim!.child.kill('SIGKILL');
    await victim!.exited;
    expect(await world.liveVersions('shop')).toMatchObject({ 'eu-west': 'v2', 'us-east': 'v1' });

    const result = await resultOf(world.queue, 'crash-1', 30_000);
    expect(result.outcome).toBe('succeeded');
    expect(result.regions.map((r) => [r.region, r.outcome])).toEqual([
      ['eu-west', 'switched'],
      ['us-east', 'switched'],
    ]);
    expect(await world.liveVersions('shop')).toEqual({ 'eu-west': 'v2', 'us-east': 'v2' });

    const survivor = world.workers.find((w) => w !== victim)!;
    // The survivor resumed from the saved cursor: it verified eu-west again but did not patch it.
    expect(survivor.lines.some((l) => l.job === 'crash-1' && l.event === 'planned' && String(l.msg).includes('resuming at step'))).toBe(true);
    expect(switchedIn(survivor, 'crash-1', 'eu-west')).toBe(false);
    expect(switchedIn(survivor, 'crash-1', 'us-east')).toBe(true);

    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(world.eventsOf('crash-1').filter((e) => isEvent(e.data, 'finished'))).toHaveLength(1);
    expect(world.workers.flatMap((w) => w.lines).filter((l) => l.job === 'crash-1' && l.event === 'finished')).toHaveLength(1);
    const audit = (await readAudit(world.redis, world.prefix, { count: 50, app: 'shop' })).filter((e) => e.requestId === 'crash-1');
    expect(audit.filter((e) => e.kind === 'succeeded')).toHaveLength(1);
    expect(audit.filter((e) => e.kind === 'started')).toHaveLength(2);
  });

  it('a worker stops gracefully on SIGTERM: the job is handed back and finished by another worker', async () => {
    const standby = world.spawnWorker();
    await waitFor(() => standby.lines.some((l) => l.msg === 'worker ready'), 'the standby worker');
    await world.release('deploy', 'shop', 'v3');
    await enqueueRelease(world.queue, 'promote', { requestId: 'term-1', app: 'shop', environment: 'production', version: 'v3', requestedBy: 'U0TEST', source: 'cli' });

    let stopping: WorkerProcess | undefined;
    await waitFor(() => (stopping = world.workers.find((w) => switchedIn(w, 'term-1', 'eu-west'))) !== undefined, 'eu-west to switch');
    stopping!.child.kill('SIGTERM');
    expect(await stopping!.exited).toBe(0);
    expect(stopping!.lines.some((l) => l.msg === 'stopped')).toBe(true);

    const result = await resultOf(world.queue, 'term-1', 30_000);
    expect(result.outcome).toBe('succeeded');
    expect(await world.liveVersions('shop')).toEqual({ 'eu-west': 'v3', 'us-east': 'v3' });
    expect(world.workersThatRan('term-1')).toHaveLength(2);
  });
});
