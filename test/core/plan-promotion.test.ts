import { describe, expect, it } from 'vitest';
import { planPromotion } from '../../src/core/plan-promotion.js';
import type { RegionState } from '../../src/core/model.js';
import { app, brief, notBootstrapped, planOf, policy, reasonsOf, region, version } from './fixtures.js';

const request = { app, environment: 'production', version: 'v42' };
const bothOn41 = [region('eu-west', 'v41', 'v40', [version('v41'), version('v42')]), region('us-east', 'v41', 'v40', [version('v41'), version('v42')])];

describe('planPromotion', () => {
  it('prechecks every region first, then goes region by region: switch, verify, bake between regions only', () => {
    const plan = planOf(planPromotion(bothOn41, request, policy));
    expect(plan).toMatchObject({ action: 'promote', app: 'shop', environment: 'production', version: 'v42', regions: ['eu-west', 'us-east'] });
    expect(brief(plan)).toEqual([
      'eu-west precheck v42>=2',
      'us-east precheck v42>=2',
      'eu-west switch v41->v42',
      'eu-west verify v42',
      'eu-west bake 30000',
      'us-east switch v41->v42',
      'us-east verify v42',
    ]);
    expect(plan.steps[2]).toMatchObject({ rollbackTargetBefore: 'v40' });
    expect(plan.notes).toEqual([]);
  });

  it('keeps the configured region order', () => {
    const plan = planOf(planPromotion([...bothOn41].reverse(), request, policy));
    expect(plan.regions).toEqual(['us-east', 'eu-west']);
    expect(plan.steps[0]!.region).toBe('us-east');
  });

  it('does not bake when the policy says 0 seconds', () => {
    const plan = planOf(planPromotion(bothOn41, request, { ...policy, bakeSeconds: 0 }));
    expect(plan.steps.some((s) => s.kind === 'bake')).toBe(false);
  });

  it('verifies, without switching, a region already on the target', () => {
    const states = [region('eu-west', 'v42', 'v41', [version('v41'), version('v42')]), region('us-east', 'v41', 'v40', [version('v41'), version('v42')])];
    const plan = planOf(planPromotion(states, request, policy));
    expect(brief(plan)).toEqual(['eu-west precheck v42>=2', 'us-east precheck v42>=2', 'eu-west verify v42', 'us-east switch v41->v42', 'us-east verify v42']);
    expect(plan.notes).toContain('eu-west: already on v42, verifying only');
    expect(plan.notes).toContain('regions are on different versions before this promote: eu-west: v42, us-east: v41');
  });

  it('does not bake after the last region that switches', () => {
    const states = [region('eu-west', 'v41', 'v40', [version('v42')]), region('us-east', 'v42', 'v41', [version('v42')])];
    expect(brief(planOf(planPromotion(states, request, policy)))).toEqual([
      'eu-west precheck v42>=2',
      'us-east precheck v42>=2',
      'eu-west switch v41->v42',
      'eu-west verify v42',
      'us-east verify v42',
    ]);
  });

  it('switches from nothing when the live Service has no version yet', () => {
    const states = [region('eu-west', null, null, [version('v42')])];
    expect(brief(planOf(planPromotion(states, request, policy)))).toContain('eu-west switch none->v42');
  });

  it.each<[string, RegionState[], string, string[]]>([
    ['a malformed version', bothOn41, 'v42;rm -rf', ['"v42;rm -rf" is not a valid version: use letters, digits, "." and "-", starting and ending with a letter or digit']],
    ['an empty version', bothOn41, '', ['a version is required, e.g. v42']],
    ['a region not bootstrapped', [bothOn41[0]!, notBootstrapped('us-east', [version('v42')])], 'v42', ['us-east is not bootstrapped for shop: run `/release bootstrap shop` first']],
    ['a live route missing', [{ ...bothOn41[0]!, liveRouteExists: false }, bothOn41[1]!], 'v42', ['eu-west is not bootstrapped for shop: run `/release bootstrap shop` first']],
    ['not installed in one region', [bothOn41[0]!, region('us-east', 'v41', null, [version('v41')])], 'v42', ['v42 is not installed in us-east']],
    ['not ready', [region('eu-west', 'v41', null, [version('v42:0/3')]), bothOn41[1]!], 'v42', ['v42 has 0/3 ready pods in eu-west (at least 2 needed)']],
    ['below the minimum', [region('eu-west', 'v41', null, [version('v42:1/3')]), bothOn41[1]!], 'v42', ['v42 has 1/3 ready pods in eu-west (at least 2 needed)']],
    ['missing its Service', [region('eu-west', 'v41', null, [version('v42', { hasService: false })]), bothOn41[1]!], 'v42', ['v42 is only partly installed in eu-west (no Service): deploy it again']],
    ['missing its route', [region('eu-west', 'v41', null, [version('v42', { hasRoute: false })]), bothOn41[1]!], 'v42', ['v42 is only partly installed in eu-west (no version route): deploy it again']],
    [
      'several problems at once',
      [region('eu-west', 'v41', null, [version('v42:0/3')]), region('us-east', 'v41', null, [])],
      'v42',
      ['v42 has 0/3 ready pods in eu-west (at least 2 needed)', 'v42 is not installed in us-east'],
    ],
    [
      'already live everywhere',
      [region('eu-west', 'v42', 'v41', [version('v42')]), region('us-east', 'v42', 'v41', [version('v42')])],
      'v42',
      ['v42 is already live in every region of production'],
    ],
    ['no regions', [], 'v42', ['production has no regions']],
  ])('refuses %s', (_name, states, target, reasons) => {
    expect(reasonsOf(planPromotion(states, { ...request, version: target }, policy))).toEqual(reasons);
  });

  it('refuses a live region whose target is not ready even if already live there', () => {
    const states = [region('eu-west', 'v42', 'v41', [version('v42:0/3')]), region('us-east', 'v41', 'v40', [version('v42')])];
    expect(reasonsOf(planPromotion(states, request, policy))).toEqual(['v42 has 0/3 ready pods in eu-west (at least 2 needed)']);
  });
});
