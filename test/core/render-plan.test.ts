import { describe, expect, it } from 'vitest';
import type { Step } from '../../src/core/plan.js';
import { planBootstrap } from '../../src/core/plan-bootstrap.js';
import { planDeploy } from '../../src/core/plan-deploy.js';
import { planPromotion } from '../../src/core/plan-promotion.js';
import { planRollback } from '../../src/core/plan-rollback.js';
import { describeStep, renderPlan } from '../../src/core/render-plan.js';
import { planCleanup } from '../../src/core/retention.js';
import { app, notBootstrapped, planOf, policy, region, version } from './fixtures.js';

const states = [region('eu-west', 'v41', 'v40', [version('v41'), version('v42')]), region('us-east', 'v41', 'v40', [version('v41'), version('v42')])];

const withV40 = states.map((s) => ({ ...s, versions: [...s.versions, version('v40')] }));

describe('renderPlan', () => {
  it('shows a promotion region by region: current -> target selector, checks, bake', () => {
    const text = renderPlan(planOf(planPromotion(states, { app, environment: 'production', version: 'v42' }, policy)));
    expect(text).toBe(
      [
        'Promote shop v42 in production (eu-west, then us-east)',
        'eu-west: live selector v41 → v42',
        '  1. precheck v42: installed, at least 2 ready pods, /v42/ answers with v42',
        '  3. switch the live selector v41 → v42',
        '  4. verify: EndpointSlices hold only ready v42 pods and the live URL answers with v42',
        '  5. bake 30 s before the next region',
        'us-east: live selector v41 → v42',
        '  2. precheck v42: installed, at least 2 ready pods, /v42/ answers with v42',
        '  6. switch the live selector v41 → v42',
        '  7. verify: EndpointSlices hold only ready v42 pods and the live URL answers with v42',
      ].join('\n'),
    );
  });

  it('says which regions are only verified, and the notes', () => {
    const mixed = [region('eu-west', 'v42', 'v41', [version('v42')]), states[1]!];
    const text = renderPlan(planOf(planPromotion(mixed, { app, environment: 'production', version: 'v42' }, policy)));
    expect(text).toContain('eu-west: live selector already on v42\n  1. precheck');
    expect(text).toContain('Notes:\n  - regions are on different versions before this promote: eu-west: v42, us-east: v41\n  - eu-west: already on v42, verifying only');
  });

  it.each([
    ['deploy', () => planDeploy(states, { app, environment: 'staging', version: 'v43' }, policy), ['Deploy shop v43 to staging (eu-west, then us-east); live traffic is not touched', 'eu-west: install v43', "  1. check that the names of v43 are free or cutover's (nothing else is overwritten)", '  3. install v43 (Deployment, Service and version route)']],
    ['rollback', () => planRollback(withV40, { app, environment: 'production' }, policy), ['Roll back shop to v40 in production', 'us-east: live selector v41 → v40']],
    ['bootstrap', () => planBootstrap([notBootstrapped('eu-west', [version('v1')])], { app, environment: 'production', initialVersion: 'v1' }, policy), ['Bootstrap shop in production (eu-west), initial version v1', '  1. create the live Service and route, selecting v1']],
    ['cleanup', () => planCleanup(states, { app, environment: 'production' }, { retention: { keep: 1, minAgeSinceLiveHours: 0, graceAfterInstallHours: 0 } }, new Date('2024-06-01T00:00:00Z'), []), ['Clean up old versions of shop in production', 'eu-west: nothing to do', '  - eu-west: keeping v42 (one of the 1 newest)']],
  ])('renders a %s', (_name, make, lines) => {
    const text = renderPlan(planOf(make()));
    for (const line of lines) expect(text).toContain(line);
  });
});

describe('describeStep', () => {
  it.each<[Step, string]>([
    [{ kind: 'install', region: 'eu-west', version: 'v42' }, 'eu-west: install v42 (Deployment, Service and version route)'],
    [{ kind: 'wait-ready', region: 'eu-west', version: 'v42', minReady: 1 }, 'eu-west: wait until v42 has at least 1 ready pod'],
    [{ kind: 'check-route', region: 'eu-west', version: 'v42' }, 'eu-west: check that /v42/ answers with v42'],
    [{ kind: 'bootstrap', region: 'eu-west', initialVersion: null }, 'eu-west: create the live Service and route (no live version yet)'],
    [{ kind: 'precheck', region: 'us-east', version: 'v42', minReady: 2 }, 'us-east: precheck v42: installed, at least 2 ready pods, /v42/ answers with v42'],
    [{ kind: 'switch', region: 'us-east', from: null, to: 'v1' }, 'us-east: switch the live selector none → v1'],
    [{ kind: 'switch', region: 'us-east', from: 'v42', to: 'v41', rollbackTargetAfter: 'v40' }, 'us-east: switch the live selector v42 → v41, rollback target back to v40'],
    [{ kind: 'verify', region: 'us-east', version: 'v41' }, 'us-east: verify: EndpointSlices hold only ready v41 pods and the live URL answers with v41'],
    [{ kind: 'bake', region: 'eu-west', durationMs: 120_000, version: 'v42' }, 'eu-west: bake 2 min before the next region'],
    [{ kind: 'delete-version', region: 'eu-west', version: 'v1', reason: 'beyond the 3 newest, last live 3 d ago' }, 'eu-west: delete v1 (beyond the 3 newest, last live 3 d ago)'],
  ])('%j', (step, text) => {
    expect(describeStep(step)).toBe(text);
  });
});
