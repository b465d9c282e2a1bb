import { describe, expect, it } from 'vitest';
import { planBootstrap } from '../../src/core/plan-bootstrap.js';
import { planDeploy } from '../../src/core/plan-deploy.js';
import { app, brief, notBootstrapped, planOf, policy, reasonsOf, region, version } from './fixtures.js';

describe('planDeploy', () => {
  it('checks in every region that the names are free or cutover\'s, then installs, waits until ready and checks the version route, region by region', () => {
    const states = [notBootstrapped('eu-west', []), notBootstrapped('us-east', [])];
    const plan = planOf(planDeploy(states, { app, environment: 'production', version: 'v1' }, policy));
    expect(plan).toMatchObject({ action: 'deploy', version: 'v1', regions: ['eu-west', 'us-east'] });
    expect(brief(plan)).toEqual([
      'eu-west check-names v1',
      'us-east check-names v1',
      'eu-west install v1',
      'eu-west wait-ready v1>=2',
      'eu-west check-route v1',
      'us-east install v1',
      'us-east wait-ready v1>=2',
      'us-east check-route v1',
    ]);
  });

  it.each([
    ['installed and ready: only the route is checked', version('v2'), ['eu-west check-route v2'], 'eu-west: v2 already installed and ready (3/3), skipping install'],
    ['installed but not ready: applied again', version('v2:1/3'), ['eu-west check-names v2', 'eu-west install v2', 'eu-west wait-ready v2>=2', 'eu-west check-route v2'], 'eu-west: v2 is installed but not ready (1/3), applying it again'],
    ['missing its route: applied again', version('v2', { hasRoute: false }), ['eu-west check-names v2', 'eu-west install v2', 'eu-west wait-ready v2>=2', 'eu-west check-route v2'], 'eu-west: v2 is only partly installed (no version route), applying it again'],
  ])('%s', (_name, installed, steps, note) => {
    const plan = planOf(planDeploy([region('eu-west', 'v1', null, [version('v1'), installed])], { app, environment: 'production', version: 'v2' }, policy));
    expect(brief(plan)).toEqual(steps);
    expect(plan.notes).toEqual([note]);
  });

  it.each([
    ['a malformed version', 'v2 && reboot', '"v2 && reboot" is not a valid version: use letters, digits, "." and "-", starting and ending with a letter or digit'],
    ['a version too long for a resource name', `v${'9'.repeat(60)}`, `"v${'9'.repeat(60)}" is too long: "shop-<version>" must fit in 63 characters, so at most 58 here`],
    [
      'a word that would serve one of the app\'s own paths (/api/)',
      'api',
      '"api" is not a version of shop: its versions match ^v?[0-9] (apps.shop.versionPattern), so that a version route can never take one of the app\'s own paths',
    ],
  ])('refuses %s', (_name, target, reason) => {
    expect(reasonsOf(planDeploy([notBootstrapped('eu-west', [])], { app: { ...app, versionPattern: '^v?[0-9]' }, environment: 'production', version: target }, policy))).toEqual([reason]);
  });
});

describe('planBootstrap', () => {
  it.each([
    ['without a version', [notBootstrapped('eu-west', []), notBootstrapped('us-east', [])], undefined, ['eu-west bootstrap none', 'us-east bootstrap none']],
    ['with an initial version, verified', [notBootstrapped('eu-west', [version('v1')]), notBootstrapped('us-east', [version('v1')])], 'v1', ['eu-west bootstrap v1', 'eu-west verify v1', 'us-east bootstrap v1', 'us-east verify v1']],
    ['only where missing', [region('eu-west', 'v1', null, [version('v1')]), notBootstrapped('us-east', [version('v1')])], 'v1', ['us-east bootstrap v1', 'us-east verify v1']],
    ['a missing live route next to an existing Service', [{ ...region('eu-west', 'v1', null, [version('v1')]), liveRouteExists: false }], 'v2', ['eu-west bootstrap v1']],
    ['nothing when done everywhere', [region('eu-west', 'v1', null, []), region('us-east', 'v1', null, [])], undefined, []],
  ])('creates the live Service and route %s', (_name, states, initialVersion, steps) => {
    const plan = planOf(planBootstrap(states, { app, environment: 'production', initialVersion }, policy));
    expect(plan.action).toBe('bootstrap');
    expect(brief(plan)).toEqual(steps);
  });

  it('says why it leaves bootstrapped regions alone', () => {
    const plan = planOf(planBootstrap([region('eu-west', 'v1', null, []), region('us-east', 'v1', null, [])], { app, environment: 'production', initialVersion: 'v2' }));
    expect(plan.notes).toEqual([
      'eu-west: already bootstrapped (live v1), skipping; v2 is not applied there, promote it instead',
      'us-east: already bootstrapped (live v1), skipping; v2 is not applied there, promote it instead',
      'shop is already bootstrapped in every region of production',
    ]);
  });

  it.each([
    ['an initial version not installed', [notBootstrapped('eu-west', [version('v1')]), notBootstrapped('us-east', [])], 'v1', ['v1 is not installed in us-east']],
    ['an initial version not ready', [notBootstrapped('eu-west', [version('v1:0/3')])], 'v1', ['v1 has 0/3 ready pods in eu-west (at least 2 needed)']],
    ['a malformed initial version', [notBootstrapped('eu-west', [])], 'v1/../x', ['"v1/../x" is not a valid version: use letters, digits, "." and "-", starting and ending with a letter or digit']],
  ])('refuses %s', (_name, states, initialVersion, reasons) => {
    expect(reasonsOf(planBootstrap(states, { app, environment: 'production', initialVersion }, policy))).toEqual(reasons);
  });
});
