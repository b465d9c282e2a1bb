/**
 * Reconcile, never replay, through the queue and real worker processes: a change made by hand
 * stops a release; an emergency rollback supersedes a promotion (running, or holding at an
 * unreachable region) instead of waiting behind it; the superseded job never touches a region
 * again and says by whom it was superseded. The table of which request supersedes, waits for, or
 * ignores which is in the README ("Who waits for whom"); each row is a test here or in workers.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueRelease } from '../../src/queue/enqueue.js';
import { acquireLease, readLease, releaseLease } from '../../src/queue/lease.js';
import { leaseKey } from '../../src/queue/names.js';
import { readSuperseded } from '../../src/queue/supersede.js';
import { patchSelectorByHand } from '../support/sandbox-env.js';
import { isEvent, resultOf, waitFor, World } from './harness.js';

const world = new World({
  apps: { manual: {}, held: {}, running: {}, table: {} },
  policy: { bakeSeconds: 1.5, onRegionUnreachable: 'hold' },
  worker: { concurrency: 4 },
});

beforeAll(async () => {
  await world.start();
  await Promise.all([
    world.prepare('manual', { install: ['v2', 'v3'] }),
    world.prepare('held', { install: ['v2'] }),
    world.prepare('running', { install: ['v2'] }),
    world.prepare('table', { install: ['v2'] }),
  ]);
  await world.startWorkers(2);
}, 90_000);

afterAll(async () => {
  await world.stop();
});

/** `cutover <argv> --env production --queue` as CI runs it: a real process following the job. */
function cliQueued(...argv: string[]): { done: Promise<{ code: number | null; out: string }> } {
  return world.cutover(...argv, '--env', 'production', '--queue');
}

function stepSeen(jobId: string, kind: string, region: string, type: 'step-started' | 'step-finished' = 'step-finished'): boolean {
  return world.eventsOf(jobId).some((e) => isEvent(e.data, type) && e.data.step.kind === kind && e.data.step.region === region);
}

describe('a queued release and changes made outside it', () => {
  it('an operator switches eu-west by hand during the bake: the job stops, us-east is untouched, `--queue` exits 1 and says what it found', async () => {
    const cli = cliQueued('promote', 'manual', 'v2', '--request-id', 'manual-1');
    await waitFor(() => stepSeen('manual-1', 'bake', 'eu-west', 'step-started'), 'the eu-west bake to begin', 30_000);
    await patchSelectorByHand(world.sandbox, 'eu-west', 'manual', 'v3');
    const { code, out } = await cli.done;
    expect(code, out).toBe(1);
    expect(out).toContain('⏹️ promote manual v2 in production: stopped');
    expect(out).toContain('eu-west was changed outside this release: live is v3, promoted by unknown (the selector was changed without cutover)');
    expect(await world.liveVersions('manual')).toEqual({ 'eu-west': 'v3', 'us-east': 'v1' });
    const result = await resultOf(world.queue, 'manual-1');
    expect(result).toMatchObject({ outcome: 'stopped', split: true });
  });
});

describe('an emergency rollback supersedes a promotion instead of waiting behind it', () => {
  it('a promotion holding at an unreachable region: the rollback takes over at once; the promotion never touches a region again and says who superseded it', async () => {
    const usEast = world.sandbox.regions[1]!;
    const promotion = cliQueued('promote', 'held', 'v2', '--request-id', 'held-promote');
    try {
      await waitFor(() => stepSeen('held-promote', 'verify', 'eu-west'), 'eu-west to be switched and verified', 30_000);
      usEast.faults.set({ unreachable: true });
      await waitFor(() => world.eventsOf('held-promote').some((e) => isEvent(e.data, 'holding')), 'the promotion to hold', 30_000);
    } finally {
      usEast.faults.set({ unreachable: false });
    }
    expect(await world.liveVersions('held')).toEqual({ 'eu-west': 'v2', 'us-east': 'v1' });
    const lease = await readLease(world.redis, leaseKey(world.prefix, { scope: 'traffic', app: 'held', environment: 'production' }));
    expect(lease).toMatchObject({ holder: 'held-promote' });

    // The on-call engineer's rollback, asked while the promotion waits for its retry.
    await enqueueRelease(world.queue, 'rollback', { requestId: 'held-rollback', app: 'held', environment: 'production', requestedBy: 'U0BOB', source: 'cli', toVersion: 'v1' });
    const rollback = await resultOf(world.queue, 'held-rollback', 20_000);
    expect(rollback.outcome).toBe('succeeded');
    expect(await world.liveVersions('held')).toEqual({ 'eu-west': 'v1', 'us-east': 'v1' });
    // It did not wait for the held promotion's retry: it started before that retry ended the promotion.
    const promotionEnd = () => world.eventsOf('held-promote').find((e) => isEvent(e.data, 'finished'))?.seq ?? Number.POSITIVE_INFINITY;
    expect(world.span('held-rollback').start).toBeLessThan(promotionEnd());

    const { code, out } = await promotion.done;
    expect(code, out).toBe(1);
    expect(out).toContain('⏭️ promote held v2 in production: superseded by a newer release');
    expect(out).toContain('superseded by rollback held-rollback requested by U0BOB: this job does not touch any region again');
    expect(await world.liveVersions('held')).toEqual({ 'eu-west': 'v1', 'us-east': 'v1' });
    expect((await resultOf(world.queue, 'held-promote')).outcome).toBe('superseded');
    // Once retried, the promotion saw the mark before taking any lease or step.
    expect(world.eventsOf('held-promote').filter((e) => isEvent(e.data, 'planned'))).toHaveLength(1);
  });

  it('a running promotion stops at its next step boundary (its bake), and the rollback undoes the half-done promotion from a fresh observation', async () => {
    await enqueueRelease(world.queue, 'promote', { requestId: 'running-promote', app: 'running', environment: 'production', version: 'v2', requestedBy: 'U0ALICE', source: 'cli' });
    await waitFor(() => stepSeen('running-promote', 'bake', 'eu-west', 'step-started'), 'the eu-west bake to begin', 30_000);
    // No version named: the rollback goes back to what the regions not yet switched still run.
    await enqueueRelease(world.queue, 'rollback', { requestId: 'running-rollback', app: 'running', environment: 'production', requestedBy: 'U0BOB', source: 'cli' });
    const superseded = await resultOf(world.queue, 'running-promote', 20_000);
    expect(superseded.outcome).toBe('superseded');
    expect(superseded.reasons.join('\n')).toContain('superseded by rollback running-rollback requested by U0BOB');
    const rollback = await resultOf(world.queue, 'running-rollback', 20_000);
    expect(rollback.outcome).toBe('succeeded');
    expect(rollback.version).toBe('v1');
    expect(await world.liveVersions('running')).toEqual({ 'eu-west': 'v1', 'us-east': 'v1' });
    // The promotion never reached us-east.
    expect(stepSeen('running-promote', 'switch', 'us-east', 'step-started')).toBe(false);
  });
});

describe('who waits for whom (each row of the README table against a holder of the lease)', () => {
  const traffic = leaseKey(world.prefix, { scope: 'traffic', app: 'table', environment: 'production' });

  it.each([
    ['rollback', 'cleanup', 'supersedes'],
    ['rollback', 'rollback', 'waits'],
    ['rollback', 'bootstrap', 'waits'],
    ['promote', 'rollback', 'waits'],
    ['promote', 'promote', 'waits'],
    ['cleanup', 'promote', 'waits'],
  ] as const)('a %s asked while a %s holds the lease %s', async (incoming, holding, rule) => {
    const holder = `holder-${incoming}-${holding}`;
    const got = await acquireLease(world.redis, traffic, holder, 30_000, { description: `${holding} table in production`, kind: holding, actor: 'U0HOLDER' });
    if (!('token' in got)) throw new Error('the lease is busy');
    const requestId = `asks-${incoming}-${holding}`;
    const payload = { requestId, app: 'table', environment: 'production', requestedBy: 'U0ASKER', source: 'cli' as const };
    await (incoming === 'promote' ? enqueueRelease(world.queue, 'promote', { ...payload, version: 'v2' }) : enqueueRelease(world.queue, incoming, payload));
    await waitFor(() => world.eventsOf(requestId).some((e) => 'waitingFor' in e.data), `${requestId} to wait for the lease`, 20_000);
    const mark = await readSuperseded(world.redis, world.prefix, holder);
    if (rule === 'supersedes') expect(mark).toMatchObject({ jobId: requestId, kind: incoming, actor: 'U0ASKER' });
    else expect(mark).toBeNull();
    await releaseLease(world.redis, traffic, holder, got.token);
    const result = await resultOf(world.queue, requestId, 20_000);
    expect(['succeeded', 'refused']).toContain(result.outcome);
  });

  it('a deploy of a version waits while another job installs that same version', async () => {
    const install = leaseKey(world.prefix, { scope: 'install', app: 'table', environment: 'production', version: 'v3' });
    const got = await acquireLease(world.redis, install, 'other-install', 30_000, { description: 'deploy table v3 in production', kind: 'deploy', actor: 'U0HOLDER' });
    if (!('token' in got)) throw new Error('the lease is busy');
    await enqueueRelease(world.queue, 'deploy', { requestId: 'asks-deploy-deploy', app: 'table', environment: 'production', requestedBy: 'U0ASKER', source: 'cli', version: 'v3' });
    await waitFor(() => world.eventsOf('asks-deploy-deploy').some((e) => 'waitingFor' in e.data), 'the deploy to wait', 20_000);
    expect(await readSuperseded(world.redis, world.prefix, 'other-install')).toBeNull();
    await releaseLease(world.redis, install, 'other-install', got.token);
    expect((await resultOf(world.queue, 'asks-deploy-deploy', 30_000)).outcome).toBe('succeeded');
  });
});
