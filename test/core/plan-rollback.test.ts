import { describe, expect, it } from 'vitest';
import type { RegionState } from '../../src/core/model.js';
import { planRollback } from '../../src/core/plan-rollback.js';
import { app, brief, notBootstrapped, planOf, policy, reasonsOf, region, version } from './fixtures.js';

// v40 and v41 were live before (their Deployments carry the time they stopped being live).
const installed = [version('v40', { retiredAt: '2024-01-02T00:00:00Z' }), version('v41', { retiredAt: '2024-01-03T00:00:00Z' }), version('v42')];
const on42 = [region('eu-west', 'v42', 'v41', installed), region('us-east', 'v42', 'v41', installed)];
const request = { app, environment: 'production' };

describe('planRollback', () => {
  it('goes back to the recorded previous version, region by region, without baking', () => {
    const plan = planOf(planRollback(on42, request, policy));
    expect(plan).toMatchObject({ action: 'rollback', version: 'v41', regions: ['eu-west', 'us-east'] });
    expect(brief(plan)).toEqual([
      'eu-west precheck v41>=2',
      'us-east precheck v41>=2',
      'eu-west switch v42->v41',
      'eu-west verify v41',
      'us-east switch v42->v41',
      'us-east verify v41',
    ]);
    expect(plan.notes).toEqual(['no bake between regions: a rollback is the emergency exit']);
  });

  it('goes to a named retained version', () => {
    const plan = planOf(planRollback(on42, { ...request, toVersion: 'v40' }, policy));
    expect(brief(plan).filter((s) => s.includes('switch'))).toEqual(['eu-west switch v42->v40', 'us-east switch v42->v40']);
  });

  it('undoes a promotion stopped half-way: back to what the regions not yet switched still run', () => {
    const states = [region('eu-west', 'v42', 'v41', installed), region('us-east', 'v41', 'v40', installed)];
    const plan = planOf(planRollback(states, request, policy));
    expect(plan.version).toBe('v41');
    expect(brief(plan)).toEqual(['eu-west precheck v41>=2', 'us-east precheck v41>=2', 'eu-west switch v42->v41', 'eu-west verify v41', 'us-east verify v41']);
  });

  it('finishes a half-done rollback when the version is named', () => {
    const states = [region('eu-west', 'v41', 'v42', installed), region('us-east', 'v42', 'v41', installed)];
    const plan = planOf(planRollback(states, { ...request, toVersion: 'v41' }, policy));
    expect(brief(plan)).toEqual(['eu-west precheck v41>=2', 'us-east precheck v41>=2', 'eu-west verify v41', 'us-east switch v42->v41', 'us-east verify v41']);
    expect(plan.notes).toContain('eu-west: already on v41, verifying only');
  });

  it.each<[string, RegionState[], string | undefined, string[]]>([
    ['no recorded previous version', [on42[0]!, region('us-east', 'v42', null, installed)], undefined, ['us-east has no recorded previous version of shop: name the version to roll back to: `/release rollback shop <version>`']],
    [
      'regions on different versions, not half-way through one switch',
      [region('eu-west', 'v42', 'v40', installed), region('us-east', 'v41', 'v40', installed)],
      undefined,
      ['regions are on different versions (eu-west: v42, us-east: v41): name the version to roll back to: `/release rollback shop <version>`'],
    ],
    [
      'regions with different rollback targets',
      [region('eu-west', 'v42', 'v41', installed), region('us-east', 'v42', 'v40', installed)],
      undefined,
      ['regions record different rollback targets (eu-west: v41, us-east: v40): name the version to roll back to: `/release rollback shop <version>`'],
    ],
    ['the rollback target deleted', [on42[0]!, region('us-east', 'v42', 'v41', [version('v42')])], undefined, ['v41 (the rollback target) is not installed in us-east']],
    ['the rollback target not ready', [region('eu-west', 'v42', 'v41', [version('v41:0/3'), version('v42')]), on42[1]!], undefined, ['v41 (the rollback target) has 0/3 ready pods in eu-west (at least 2 needed)']],
    ['a named version not installed', on42, 'v39', ['v39 is not installed in eu-west', 'v39 is not installed in us-east']],
    [
      'a named version that was never live (it is a promotion, with its approval and bake)',
      on42.map((s) => ({ ...s, versions: [...s.versions, version('v43-rc')] })),
      'v43-rc',
      ['v43-rc has never been live in eu-west and us-east of production: a rollback only goes back to a version that was live before; a version that never was is promoted, with its approval and bake: `/release promote shop v43-rc`'],
    ],
    ['a malformed named version', on42, '../v1', ['"../v1" is not a valid version: use letters, digits, "." and "-", starting and ending with a letter or digit']],
    ['a named version already live', on42, 'v42', ['v42 is already live in every region of production']],
    ['a region not bootstrapped', [on42[0]!, notBootstrapped('us-east', installed)], undefined, ['us-east is not bootstrapped for shop: run `/release bootstrap shop` first']],
  ])('refuses %s', (_name, states, toVersion, reasons) => {
    expect(reasonsOf(planRollback(states, { ...request, toVersion }, policy))).toEqual(reasons);
  });
});
