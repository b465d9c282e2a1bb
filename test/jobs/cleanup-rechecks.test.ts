/**
 * Cleanup re-checks at every attempt and runs only what was approved (issue "Touch only what
 * cutover owns"): a cleanup resumed with an old plan in its cursor plans again from what the
 * clusters say, so a version that became the rollback target meanwhile is kept; an approved
 * cleanup whose plan changed since the approval deletes nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planDigest } from '../../src/core/approval.js';
import type { Plan } from '../../src/core/plan.js';
import { resultOf, World } from './harness.js';

const world = new World({
  apps: { resumed: {}, approved: {} },
  // keep 1, no age limits: everything not live, not the rollback target and not the newest goes.
  policy: { retention: { keep: 1, minAgeSinceLiveHours: 0, graceAfterInstallHours: 0 } },
});

beforeAll(async () => {
  await world.start();
  await Promise.all([
    // v2, v3, v4 promoted in turn: live v4, rollback target v3.
    world.prepare('resumed', { install: ['v2', 'v3', 'v4'], promote: ['v2', 'v3', 'v4'] }),
    world.prepare('approved', { install: ['v2', 'v3', 'v4'], promote: ['v4'] }),
  ]);
  await world.startWorkers(1);
}, 90_000);

afterAll(async () => {
  await world.stop();
});

const base = (requestId: string, app: string) => ({ requestId, app, environment: 'production', requestedBy: 'U0OPS', source: 'cli' as const, approvedBy: [] });

describe('cleanup re-checks at every attempt', () => {
  it('a cleanup resumed with an old plan ("delete v3, then v2") plans again: v3, now the rollback target, is kept', async () => {
    expect(await world.liveVersions('resumed')).toEqual({ 'eu-west': 'v4', 'us-east': 'v4' });
    const regions = ['eu-west', 'us-east'];
    const oldPlan = regions.flatMap((region) => [
      { kind: 'delete-version' as const, region, version: 'v3', reason: 'old plan' },
      { kind: 'delete-version' as const, region, version: 'v2', reason: 'old plan' },
    ]);
    // The job as a worker left it when it was stopped after its first deletion.
    const record = { step: oldPlan[0]!, phase: 'forward', outcome: 'ok', detail: 'deleted', durationMs: 1, startedAtMs: Date.now(), measures: {} };
    const runCursor = { phase: 'forward', completed: 1, forwardSteps: oldPlan, compensationSteps: [], records: [record], failure: null, compensationNotes: [] };
    await world.queue.add('cleanup', { ...base('resumed-cleanup', 'resumed'), runCursor }, { jobId: 'resumed-cleanup', attempts: 3 });

    const result = await resultOf(world.queue, 'resumed-cleanup', 30_000);
    expect(result.outcome).toBe('succeeded');
    const installed = await world.installedVersions('resumed');
    // v3 is the rollback target now; v2 is not, and the fresh plan lets it go.
    for (const region of regions) expect(installed[region]).toEqual(['v3', 'v4']);
  });
});

describe('an approved cleanup runs only the approved plan', () => {
  it('refuses, deleting nothing, when the plan made now is not the one approved ("delete v2" approved, v2 and v3 due now)', async () => {
    const approvedPlan: Plan = {
      action: 'cleanup',
      app: 'approved',
      environment: 'production',
      version: null,
      regions: ['eu-west', 'us-east'],
      steps: ['eu-west', 'us-east'].map((region) => ({ kind: 'delete-version' as const, region, version: 'v2', reason: 'approved' })),
      notes: [],
    };
    const before = await world.installedVersions('approved');
    await world.queue.add('cleanup', { ...base('approved-cleanup', 'approved'), planDigest: planDigest(approvedPlan) }, { jobId: 'approved-cleanup', attempts: 1 });
    const result = await resultOf(world.queue, 'approved-cleanup', 30_000);
    expect(result.outcome).toBe('refused');
    expect(result.reasons.join('\n')).toContain('the cleanup plan changed since it was approved');
    expect(await world.installedVersions('approved')).toEqual(before);
  });
});
