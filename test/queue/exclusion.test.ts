import { describe, expect, it } from 'vitest';
import { describeJob, leaseForDeletion, leaseNeededFor, leasesConflict, versionsToMarkInUse, type LeaseNeed } from '../../src/core/exclusion.js';
import type { Action } from '../../src/core/plan.js';

const traffic = (app = 'shop', environment = 'production'): LeaseNeed => ({ scope: 'traffic', app, environment });
const install = (version: string, app = 'shop'): LeaseNeed => ({ scope: 'install', app, environment: 'production', version });

describe('exclusion policy', () => {
  it.each<[Action, string | undefined, LeaseNeed]>([
    ['promote', 'v42', traffic()],
    ['rollback', undefined, traffic()],
    ['cleanup', undefined, traffic()],
    ['bootstrap', 'v1', traffic()],
    ['deploy', 'v43', install('v43')],
  ])('%s %s needs %j', (kind, version, need) => {
    expect(leaseNeededFor({ kind, app: 'shop', environment: 'production', version })).toEqual(need);
  });

  it.each<[string, LeaseNeed, LeaseNeed, boolean]>([
    ['two promotions of one app', traffic(), traffic(), true],
    ['promotions of two apps', traffic('shop'), traffic('cart'), false],
    ['one app in two environments', traffic('shop', 'staging'), traffic('shop', 'production'), false],
    ['a rollback and an install', traffic(), install('v43'), false],
    ['installs of two versions', install('v43'), install('v44'), false],
    ['installs of one version', install('v43'), install('v43'), true],
    ['cleanup deleting a version being installed', leaseForDeletion('shop', 'production', 'v43'), install('v43'), true],
  ])('%s: conflict %s', (_name, a, b, conflict) => {
    expect(leasesConflict(a, b)).toBe(conflict);
    expect(leasesConflict(b, a)).toBe(conflict);
  });

  it('marks the versions a job installs or promotes', () => {
    expect(versionsToMarkInUse({ kind: 'deploy', app: 'shop', environment: 'production', version: 'v43' })).toEqual(['v43']);
    expect(versionsToMarkInUse({ kind: 'promote', app: 'shop', environment: 'production', version: 'v43' })).toEqual(['v43']);
    expect(versionsToMarkInUse({ kind: 'cleanup', app: 'shop', environment: 'production' })).toEqual([]);
    expect(describeJob({ kind: 'promote', app: 'shop', environment: 'production', version: 'v41' })).toBe('promote shop v41 in production');
  });
});
