import { describe, expect, it } from 'vitest';
import { formatDuration } from '../../src/core/durations.js';
import type { InstalledVersion } from '../../src/core/model.js';
import { chooseVersionsToDelete, planCleanup } from '../../src/core/retention.js';
import { app, brief, notBootstrapped, planOf, region, version } from './fixtures.js';

const now = new Date('2024-06-10T12:00:00Z');
const retention = { keep: 2, minAgeSinceLiveHours: 24, graceAfterInstallHours: 1 };
const hoursAgo = (h: number): string => new Date(now.getTime() - h * 3_600_000).toISOString();
/** Installed `installedH` hours ago, last live `retiredH` hours ago (null: never live). */
const v = (name: string, installedH: number, retiredH: number | null = null): InstalledVersion =>
  version(name, { createdAt: hoursAgo(installedH), retiredAt: retiredH === null ? null : hoursAgo(retiredH) });

describe('chooseVersionsToDelete', () => {
  // Live v9, rollback target v8; the 2 newest are v11 and v10.
  const state = region('eu-west', 'v9', 'v8', [
    v('v1', 900, 800),
    v('v5', 500, 30),
    v('v6', 400, 10),
    v('v7', 300),
    v('v7b', 0.5),
    v('v8', 200, 48),
    v('v9', 100),
    v('v10', 0.2),
    v('v11', 0.1),
  ]);

  it.each([
    ['v10', 'keep', 'one of the 2 newest'],
    ['v9', 'keep', 'live'],
    ['v8', 'keep', 'rollback target'],
    ['v7b', 'keep', 'installed 30 min ago (grace 1 h)'],
    ['v7', 'delete', 'beyond the 2 newest, never live, installed 12 d ago'],
    ['v6', 'keep', 'last live 10 h ago (kept 24 h after)'],
    ['v5', 'delete', 'beyond the 2 newest, last live 30 h ago'],
    ['v1', 'delete', 'beyond the 2 newest, last live 33 d ago'],
  ])('%s: %s (%s)', (name, verdict, reason) => {
    const choice = chooseVersionsToDelete(state, retention, now, []);
    expect(choice[verdict as 'keep' | 'delete']).toContainEqual({ version: name, reason });
  });

  it('keeps versions a running job uses', () => {
    const choice = chooseVersionsToDelete(state, retention, now, ['v7', 'v5']);
    expect(choice.delete.map((d) => d.version)).toEqual(['v1']);
    expect(choice.keep).toContainEqual({ version: 'v7', reason: 'in use by a running job' });
  });

  it('lists both sides newest first', () => {
    const choice = chooseVersionsToDelete(state, retention, now, []);
    expect(choice.keep.map((k) => k.version)).toEqual(['v11', 'v10', 'v7b', 'v9', 'v8', 'v6']);
    expect(choice.delete.map((d) => d.version)).toEqual(['v7', 'v5', 'v1']);
  });

  it('counts the newest by install time, not by name', () => {
    const choice = chooseVersionsToDelete(region('eu-west', 'v1', null, [v('v1', 10), v('v100', 50), v('v2', 5), v('v3', 40)]), { ...retention, keep: 2 }, now, []);
    expect(choice.delete.map((d) => d.version)).toEqual(['v3', 'v100']);
  });

  it.each([
    ['the region is not bootstrapped', notBootstrapped('eu-west', [v('v1', 900)]), 'region not bootstrapped, so what is live is unknown'],
    ['the install time is unreadable', region('eu-west', 'v9', null, [v('v9', 0.5), v('v8', 0.5), v('v7', 0.5), version('v1', { createdAt: '-unreadable-' })]), 'install time unknown'],
  ])('deletes nothing it cannot judge: %s', (_name, state, reason) => {
    const choice = chooseVersionsToDelete(state, retention, now, []);
    expect(choice.delete).toEqual([]);
    expect(choice.keep.map((k) => k.reason)).toContain(reason);
  });
});

describe('planCleanup', () => {
  it('deletes per region what retention lets go and says what stays', () => {
    const states = [region('eu-west', 'v3', 'v2', [v('v1', 900, 800), v('v2', 500, 100), v('v3', 400)]), region('us-east', 'v3', 'v2', [v('v2', 500, 100), v('v3', 400)])];
    const plan = planOf(planCleanup(states, { app, environment: 'production' }, { retention: { ...retention, keep: 1 } }, now, []));
    expect(plan).toMatchObject({ action: 'cleanup', version: null, regions: ['eu-west', 'us-east'] });
    expect(brief(plan)).toEqual(['eu-west delete v1']);
    expect(plan.steps[0]).toMatchObject({ reason: 'beyond the 1 newest, last live 33 d ago' });
    expect(plan.notes).toEqual([
      'eu-west: keeping v3 (live)',
      'eu-west: keeping v2 (rollback target)',
      'us-east: keeping v3 (live)',
      'us-east: keeping v2 (rollback target)',
    ]);
  });

  it('is a plan with nothing to do, not a refusal, when nothing may go', () => {
    const plan = planOf(planCleanup([region('eu-west', 'v1', null, [v('v1', 10)])], { app, environment: 'production' }, { retention }, now, []));
    expect(plan.steps).toEqual([]);
    expect(plan.notes).toContain('nothing to delete for shop in production');
  });
});

describe('drain-aware cleanup (retention.idle)', () => {
  const idle = { ...retention, keep: 1, idle: { windowMinutes: 30, query: 'q' } };
  // Live v3, rollback target v2; v1 beyond the newest and old enough by every other rule.
  const states = [region('eu-west', 'v3', 'v2', [v('v1', 900, 800), v('v2', 500, 100), v('v3', 400)])];
  const traffic = (v1: { requests: number } | { unknown: string } | undefined) =>
    new Map([['eu-west', new Map([['v3', { requests: 5120 }], ['v2', { requests: 0 }], ...(v1 ? [['v1', v1] as const] : [])])]]);

  it.each([
    ['keeps a version that still had requests in the window', { requests: 12 }, 'keep', 'eu-west: keeping v1 (12 requests in the last 30 min: still serving sessions)'],
    ['keeps a version whose traffic is unknown (Prometheus unreachable)', { unknown: 'Prometheus at http://p:9090 unreachable' }, 'keep', 'eu-west: keeping v1 (traffic unknown (Prometheus at http://p:9090 unreachable), so it may still serve sessions)'],
    ['keeps a version whose traffic was not read', undefined, 'keep', 'eu-west: keeping v1 (traffic not read, so it may still serve sessions)'],
    ['deletes a version with no requests in the window, saying so', { requests: 0 }, 'delete', 'beyond the 1 newest, last live 33 d ago, no requests in the last 30 min'],
  ] as const)('%s', (_name, v1, verdict, text) => {
    const plan = planOf(planCleanup(states, { app, environment: 'production' }, { retention: idle }, now, [], traffic(v1)));
    if (verdict === 'keep') {
      expect(plan.steps).toEqual([]);
      expect(plan.notes).toContain(text);
    } else {
      expect(plan.steps).toMatchObject([{ kind: 'delete-version', version: 'v1', reason: text }]);
    }
  });

  it('shows every version\'s recent traffic in the dry run', () => {
    const plan = planOf(planCleanup(states, { app, environment: 'production' }, { retention: idle }, now, [], traffic({ requests: 0 })));
    expect(plan.notes).toEqual(['eu-west: keeping v3 (live; 5120 requests in the last 30 min)', 'eu-west: keeping v2 (rollback target; no requests in the last 30 min)']);
  });

  it('without retention.idle, decides exactly as before whatever the traffic', () => {
    const withTraffic = planOf(planCleanup(states, { app, environment: 'production' }, { retention: { ...retention, keep: 1 } }, now, [], traffic({ requests: 12 })));
    expect(withTraffic).toEqual(planOf(planCleanup(states, { app, environment: 'production' }, { retention: { ...retention, keep: 1 } }, now, [])));
    expect(brief(withTraffic)).toEqual(['eu-west delete v1']);
  });
});

describe('formatDuration', () => {
  it.each([
    [0, '0 s'],
    [2_000, '2 s'],
    [90_000, '1 min 30 s'],
    [1_800_000, '30 min'],
    [3_600_000, '1 h'],
    [5_400_000, '1 h 30 min'],
    [30 * 3_600_000, '30 h'],
    [72 * 3_600_000, '3 d'],
  ])('%i ms is %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
