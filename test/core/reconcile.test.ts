import { describe, expect, it } from 'vitest';
import { planCompensation } from '../../src/core/plan-compensation.js';
import { planPromotion } from '../../src/core/plan-promotion.js';
import type { Step } from '../../src/core/plan.js';
import { describeOutsideChange, reconcileCompensation, reconcileForward, type JobProgress } from '../../src/core/reconcile.js';
import { app, brief, planOf, policy, region, version } from './fixtures.js';

const installed = [version('v1'), version('v2'), version('v3')];
const on = (eu: string | null, us: string | null, previous: string | null = 'v0') => [region('eu-west', eu, previous, installed), region('us-east', us, previous, installed)];
const plan = planOf(planPromotion(on('v1', 'v1'), { app, environment: 'production', version: 'v2' }, policy)).steps;

function progress(done: Partial<Record<'switched' | 'verified' | 'baked', string[]>> = {}, bakeElapsedMs: Record<string, number> = {}): JobProgress {
  return {
    switched: new Set(done.switched ?? []),
    verified: new Set(done.verified ?? []),
    baked: new Set(done.baked ?? []),
    bakeElapsedMs: new Map(Object.entries(bakeElapsedMs)),
  };
}

function remaining(states: ReturnType<typeof on>, done: JobProgress): string[] {
  const reconciled = reconcileForward(plan, states, done);
  if (!reconciled.ok) throw new Error(reconciled.changes.map(describeOutsideChange).join('; '));
  return brief({ ...planOf(planPromotion(on('v1', 'v1'), { app, environment: 'production', version: 'v2' }, policy)), steps: reconciled.steps });
}

describe('reconcileForward: what a resumed promotion still has to do, from what the clusters say', () => {
  it('a first look at an untouched environment leaves the whole plan', () => {
    expect(remaining(on('v1', 'v1'), progress())).toEqual(brief({ ...planOf(planPromotion(on('v1', 'v1'), { app, environment: 'production', version: 'v2' }, policy)) }));
  });

  it('after region 1 switched and verified: the rest of the bake, then region 2 (prechecked again)', () => {
    expect(remaining(on('v2', 'v1'), progress({ switched: ['eu-west'], verified: ['eu-west'] }, { 'eu-west': 10_000 }))).toEqual([
      'us-east precheck v2>=2',
      'eu-west bake 20000',
      'us-east switch v1->v2',
      'us-east verify v2',
    ]);
  });

  it('a switch that landed but was never recorded (a crash between patch and record) is run again as a no-op, so it is recorded', () => {
    expect(remaining(on('v2', 'v1'), progress())).toEqual(['us-east precheck v2>=2', 'eu-west switch v1->v2', 'eu-west verify v2', 'eu-west bake 30000', 'us-east switch v1->v2', 'us-east verify v2']);
  });

  it('every region on the target and verified: nothing is left', () => {
    expect(remaining(on('v2', 'v2'), progress({ switched: ['eu-west', 'us-east'], verified: ['eu-west', 'us-east'], baked: ['eu-west'] }))).toEqual([]);
  });

  it.each([
    ['region 2 was moved to a third version by hand', on('v2', 'v3'), progress({ switched: ['eu-west'], verified: ['eu-west'] }), 'us-east', 'v1', 'v3'],
    ['region 1, switched by this job, was put back (an emergency rollback)', on('v1', 'v1'), progress({ switched: ['eu-west'], verified: ['eu-west'] }), 'eu-west', 'v2', 'v1'],
    ['region 1, switched by this job, was moved on to another version', on('v3', 'v1'), progress({ switched: ['eu-west'] }), 'eu-west', 'v2', 'v3'],
  ])('stops without acting when %s', (_, states, done, changedRegion, expected, live) => {
    const reconciled = reconcileForward(plan, states, done);
    expect(reconciled).toEqual({ ok: false, changes: [expect.objectContaining({ region: changedRegion, expected, live })] });
  });

  it('names who promoted the version it found, or says the selector was changed by hand', () => {
    const byBob = on('v2', 'v3');
    byBob[1]!.live = { version: 'v3', previousVersion: 'v1', promotedAt: null, promotedBy: 'bob', changedOutside: false };
    const byHand = on('v2', 'v3');
    byHand[1]!.live = { version: 'v3', previousVersion: 'v1', promotedAt: null, promotedBy: null, changedOutside: true };
    const said = (states: ReturnType<typeof on>) => {
      const reconciled = reconcileForward(plan, states, progress({ switched: ['eu-west'] }));
      return reconciled.ok ? '' : reconciled.changes.map(describeOutsideChange).join('; ');
    };
    expect(said(byBob)).toBe('us-east was changed outside this release: live is v3, promoted by bob (this release expected v1)');
    expect(said(byHand)).toBe('us-east was changed outside this release: live is v3, promoted by unknown (the selector was changed without cutover) (this release expected v1)');
  });
});

describe('reconcileCompensation: what a resumed compensation still has to do', () => {
  const switched: Step[] = plan.filter((s) => s.kind === 'switch');
  const compensation = planCompensation(switched).steps;

  it('switches back only the regions still on the failed target, and verifies each', () => {
    const { steps, changes } = reconcileCompensation(compensation, on('v1', 'v2'), { switched: new Set(), verified: new Set() });
    expect(steps.map((s) => `${s.region} ${s.kind}`)).toEqual(['us-east switch', 'us-east verify', 'eu-west verify']);
    expect(changes).toEqual([]);
  });

  it('leaves alone, and says, a region someone moved to a third version meanwhile', () => {
    const { steps, changes } = reconcileCompensation(compensation, on('v2', 'v3'), { switched: new Set(), verified: new Set() });
    expect(steps.map((s) => `${s.region} ${s.kind}`)).toEqual(['eu-west switch', 'eu-west verify']);
    expect(changes).toEqual([expect.objectContaining({ region: 'us-east', live: 'v3', expected: 'v2' })]);
  });
});
