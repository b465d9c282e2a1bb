import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAudit } from '../../src/queue/audit.js';
import { enqueueRelease } from '../../src/queue/enqueue.js';
import { isEvent, resultOf, waitFor, World } from './harness.js';

const world = new World({
  apps: {
    a: {},
    b: {},
    c: {},
    d: {},
    shop: {},
    dup: {},
    cli: {},
    // Installs of this app take 2.5 s per region to turn ready in the workers' config.
    slow: { workerPodAnnotations: { 'sandbox.cutover.dev/ready-after-ms': '2500' } },
    tidy: { environments: ['batch'] },
  },
  policy: { bakeSeconds: 0.3 },
  // A cleanup every second for the batch environment only.
  batchPolicy: { bakeSeconds: 0, cleanupCron: '* * * * * *', cleanupTimezone: 'Asia/Kathmandu' },
  worker: { concurrency: 2 },
});

function promotion(requestId: string, app: string, version: string) {
  return { requestId, app, environment: 'production', version, requestedBy: 'U0TEST', source: 'cli' as const };
}

beforeAll(async () => {
  await world.start();
  await Promise.all([
    ...['a', 'b', 'c', 'd', 'dup', 'cli'].map((app) => world.prepare(app, { install: ['v2'] })),
    world.prepare('shop', { install: ['v2', 'v3'] }),
    world.prepare('slow', { install: ['v2'], promote: ['v2'] }),
    // live v3, rollback target v2, newest v4 never live: retention (keep 1) lets v1 go, only v1.
    world.prepare('tidy', { install: ['v2', 'v3', 'v4'], promote: ['v2', 'v3'] }, 'batch'),
  ]);
  await world.startWorkers(2);
}, 60_000);

afterAll(async () => {
  await world.stop();
});

describe('release jobs run by two worker processes', () => {
  it('two workers share the work, and promotions of different apps run at the same time', async () => {
    const apps = ['a', 'b', 'c', 'd'];
    await Promise.all(apps.map((app) => enqueueRelease(world.queue, 'promote', promotion(`share-${app}`, app, 'v2'))));
    for (const app of apps) expect((await resultOf(world.queue, `share-${app}`)).outcome).toBe('succeeded');
    for (const app of apps) expect(await world.liveVersions(app)).toEqual({ 'eu-west': 'v2', 'us-east': 'v2' });

    const ranBy = apps.map((app) => world.workersThatRan(`share-${app}`).map((w) => w.child.pid));
    expect(ranBy.every((pids) => pids.length === 1)).toBe(true);
    expect(new Set(ranBy.flat()).size).toBe(2);

    // Redis records progress events in one ordered stream: a and b overlap when each starts before the other finishes.
    const spans = apps.map((app) => world.span(`share-${app}`));
    const overlapping = spans.flatMap((x, i) => spans.slice(i + 1).filter((y) => x.start < y.end && y.start < x.end));
    expect(overlapping.length).toBeGreaterThan(0);
  });

  it('two promotions of the same app and environment run one after the other; the second says it waits', async () => {
    await Promise.all([enqueueRelease(world.queue, 'promote', promotion('serial-1', 'shop', 'v2')), enqueueRelease(world.queue, 'promote', promotion('serial-2', 'shop', 'v3'))]);
    const [first, second] = await Promise.all([resultOf(world.queue, 'serial-1'), resultOf(world.queue, 'serial-2')]);
    expect([first.outcome, second.outcome]).toEqual(['succeeded', 'succeeded']);
    const [x, y] = [world.span('serial-1'), world.span('serial-2')];
    expect(x.end < y.start || y.end < x.start).toBe(true);

    const waiter = x.end < y.start ? 'serial-2' : 'serial-1';
    const waiting = world.eventsOf(waiter).find((e) => 'waitingFor' in e.data);
    expect(waiting?.data).toMatchObject({ waitingFor: expect.stringMatching(/^waiting for serial-\d \(promote shop v\d in production\) to finish$/) as unknown });
    const job = await world.queue.getJob(waiter);
    expect(job?.attemptsMade ?? 0).toBeLessThanOrEqual(1);
    const last = x.end < y.start ? 'v3' : 'v2';
    expect(await world.liveVersions('shop')).toEqual({ 'eu-west': last, 'us-east': last });
  });

  it('an emergency rollback is not blocked by a running long install of the same app', async () => {
    await enqueueRelease(world.queue, 'deploy', { ...promotion('slow-install', 'slow', 'v3') });
    await waitFor(() => world.eventsOf('slow-install').some((e) => isEvent(e.data, 'step-finished') && e.data.step.kind === 'install'), 'the slow install to start');
    await enqueueRelease(world.queue, 'rollback', { requestId: 'slow-rollback', app: 'slow', environment: 'production', requestedBy: 'U0ONCALL', source: 'cli' });
    const rollback = await resultOf(world.queue, 'slow-rollback');
    expect(rollback.outcome).toBe('succeeded');
    expect(await world.liveVersions('slow')).toEqual({ 'eu-west': 'v1', 'us-east': 'v1' });
    // The install was still running when the rollback had finished.
    expect(await (await world.queue.getJob('slow-install'))!.getState()).toBe('active');
    expect((await resultOf(world.queue, 'slow-install')).outcome).toBe('succeeded');
    expect(world.span('slow-rollback').end).toBeLessThan(world.span('slow-install').end);
  });

  it('the same request id enqueued twice runs once', async () => {
    const first = await enqueueRelease(world.queue, 'promote', promotion('dup-request', 'dup', 'v2'));
    const again = await enqueueRelease(world.queue, 'promote', promotion('dup-request', 'dup', 'v2'));
    expect([first.deduplicated, again.deduplicated]).toEqual([false, true]);
    expect((await resultOf(world.queue, 'dup-request')).outcome).toBe('succeeded');
    const afterwards = await enqueueRelease(world.queue, 'promote', promotion('dup-request', 'dup', 'v2'));
    expect(afterwards.deduplicated).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const audit = (await readAudit(world.redis, world.prefix, { count: 100, app: 'dup' })).filter((e) => e.requestId === 'dup-request');
    expect(audit.map((e) => e.kind).sort()).toEqual(['started', 'succeeded']);
    expect(world.eventsOf('dup-request').filter((e) => isEvent(e.data, 'finished'))).toHaveLength(1);
  });

  it('the cleanup scheduler fires and deletes what retention lets go, and only that', async () => {
    const before = Date.now();
    await waitFor(async () => (await world.installedVersions('tidy', 'batch'))['us-east']?.includes('v1') === false, 'scheduled cleanup to delete tidy v1', 15_000);
    // Let a few more scheduled runs pass: they must not delete anything else.
    await waitFor(async () => (await world.queue.getCompleted()).filter((j) => j.name === 'cleanup' && (j.finishedOn ?? 0) > before).length >= 3, 'three scheduled cleanups');
    expect(await world.installedVersions('tidy', 'batch')).toEqual({ 'eu-west': ['v2', 'v3', 'v4'], 'us-east': ['v2', 'v3', 'v4'] });
    expect(await world.liveVersions('tidy', 'batch')).toEqual({ 'eu-west': 'v3', 'us-east': 'v3' });
    const schedulers = await world.queue.getJobSchedulers();
    expect(schedulers.map((s) => s.key ?? s.id)).toEqual(['cleanup:tidy:batch']);
    expect(schedulers[0]?.tz).toBe('Asia/Kathmandu');
  });

  it('an invalid job or one naming an unknown app fails at once, without retries', async () => {
    await world.queue.add('promote', { requestId: 'bad-1', app: 'shop', environment: 'production', requestedBy: 'x', source: 'cli', version: 'v 2' }, { jobId: 'bad-1', attempts: 5 });
    await enqueueRelease(world.queue, 'promote', promotion('bad-2', 'nosuchapp', 'v2'), { attempts: 5 });
    for (const [id, reason] of [
      ['bad-1', /invalid promote job: version:/],
      ['bad-2', /unknown app "nosuchapp"/],
    ] as const) {
      await waitFor(async () => (await world.queue.getJob(id))?.failedReason !== undefined, `${id} to fail`);
      const job = (await world.queue.getJob(id))!;
      expect(job.failedReason).toMatch(reason);
      expect(job.attemptsMade).toBe(1);
    }
  });

  it('`cutover promote --queue` enqueues, follows the job live and exits 0 with the result line', async () => {
    const { code, out } = await world.cutover('promote', 'cli', 'v2', '--env', 'production', '--queue', '--request-id', 'ci-build-7').done;
    expect(code, out).toBe(0);
    expect(out).toContain('queued as job ci-build-7');
    expect(out).toMatch(/✓ eu-west: switch/);
    expect(out).toMatch(/✅ promote cli v2 in production: done/);
    expect(await world.liveVersions('cli')).toEqual({ 'eu-west': 'v2', 'us-east': 'v2' });
  });
});
