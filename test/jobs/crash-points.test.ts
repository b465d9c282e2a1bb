import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAudit } from '../../src/queue/audit.js';
import { enqueueRelease } from '../../src/queue/enqueue.js';
import { isEvent, resultOf, waitFor, World, type WorkerProcess } from './harness.js';
import { RedisTripwireProxy, Tripwires } from './redis-tripwire.js';

// Kill points the SIGKILL test in crash-resume.test.ts cannot hit on purpose: each worker reaches
// Redis through a tripwire proxy that kills it at an exact command. The full matrix is
// `npm run check:crash`.
const world = new World({
  apps: { shop: {}, cart: {} },
  worker: { concurrency: 2, lockDurationMs: 1500, stalledIntervalMs: 500 },
});
const wires = new Tripwires();
const proxies: RedisTripwireProxy[] = [];
let standby: Promise<WorkerProcess> | undefined;

async function spawnProxiedWorker(): Promise<WorkerProcess> {
  const worker = await world.spawnProxiedWorker(wires, proxies);
  await waitFor(() => worker.lines.some((l) => l.msg === 'worker ready'), `worker ${worker.child.pid} to be ready`, 20_000);
  return worker;
}

beforeAll(async () => {
  await world.start();
  await Promise.all([world.prepare('shop', { install: ['v2'] }), world.prepare('cart', { install: ['v2'] })]);
  await Promise.all([spawnProxiedWorker(), spawnProxiedWorker()]);
}, 60_000);

afterAll(async () => {
  await world.stop();
  await Promise.all(proxies.map((p) => p.close()));
});

async function reportedOnce(jobId: string, app: string): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(world.eventsOf(jobId).filter((e) => isEvent(e.data, 'finished'))).toHaveLength(1);
  expect(world.workers.flatMap((w) => w.lines).filter((l) => l.job === jobId && l.event === 'finished')).toHaveLength(1);
  const audit = (await readAudit(world.redis, world.prefix, { count: 50, app })).filter((e) => e.requestId === jobId);
  expect(audit.filter((e) => e.kind === 'succeeded' || e.kind === 'failed' || e.kind === 'rolled-back').map((e) => e.kind)).toEqual(['succeeded']);
  expect(audit.filter((e) => e.kind === 'started')).toHaveLength(2);
}

describe('a worker SIGKILLed at an exact step boundary of a two-region promotion', () => {
  it('between eu-west selector patch and its verify: the next worker finds the selector switched, verifies it and finishes', async () => {
    // The patch went through, but the worker dies before recording the switch: the saved cursor
    // still says "switch eu-west" is to do.
    wires.arm({ match: '{"type":"step-finished","index":2,"step":{"kind":"switch","region":"eu-west"', action: 'kill-before' });
    await enqueueRelease(world.queue, 'promote', { requestId: 'patched-1', app: 'shop', environment: 'production', version: 'v2', requestedBy: 'U0TEST', source: 'cli' });
    const trip = await wires.killed(1, 20_000);
    const victim = world.workers.find((w) => w.child.pid === trip.pid)!;
    await victim.exited;
    expect(await world.liveVersions('shop')).toEqual({ 'eu-west': 'v2', 'us-east': 'v1' });
    standby = spawnProxiedWorker();

    const result = await resultOf(world.queue, 'patched-1', 30_000);
    expect(result.outcome).toBe('succeeded');
    expect(result.regions.map((r) => [r.region, r.outcome])).toEqual([
      ['eu-west', 'switched'],
      ['us-east', 'switched'],
    ]);
    expect(await world.liveVersions('shop')).toEqual({ 'eu-west': 'v2', 'us-east': 'v2' });
    const survivor = world.workersThatRan('patched-1').find((w) => w !== victim)!;
    const survivorSteps = survivor.lines.filter((l) => l.job === 'patched-1' && l.event === 'step-finished').map((l) => String(l.msg));
    // It looked first: us-east still needs its switch (prechecked again), eu-west is on v2 already.
    expect(survivorSteps[0]).toMatch(/^ok us-east: precheck/);
    expect(survivorSteps[1]).toMatch(/^ok eu-west: switch .*selector already on v2, nothing patched/);
    expect(survivorSteps[2]).toMatch(/^ok eu-west: verify/);
    await reportedOnce('patched-1', 'shop');
  });

  it('right after the final audit entry was written: the summary still goes out, once, and is audited once', async () => {
    // The report-once marker and the final audit entry are written together; the worker dies
    // before posting the summary. Regression: the next run used to see the marker and stay silent.
    await standby;
    wires.arm({ match: ':reported:', action: 'kill-after-reply' });
    await enqueueRelease(world.queue, 'promote', { requestId: 'reported-1', app: 'cart', environment: 'production', version: 'v2', requestedBy: 'U0TEST', source: 'cli' });
    const trip = await wires.killed(2, 20_000);
    const victim = world.workers.find((w) => w.child.pid === trip.pid)!;
    await victim.exited;
    expect(victim.lines.filter((l) => l.job === 'reported-1' && l.event === 'finished')).toHaveLength(0);

    const result = await resultOf(world.queue, 'reported-1', 30_000);
    expect(result.outcome).toBe('succeeded');
    expect(await world.liveVersions('cart')).toEqual({ 'eu-west': 'v2', 'us-east': 'v2' });
    await reportedOnce('reported-1', 'cart');
  });
});
