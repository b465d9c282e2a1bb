import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confirm, decide, openApproval, planDigest } from '../../src/core/approval.js';
import { readAudit } from '../../src/queue/audit.js';
import { ApprovalStore } from '../../src/queue/approvals.js';
import { enqueueRelease } from '../../src/queue/enqueue.js';
import { FreezeStore } from '../../src/queue/freezes.js';
import { previewRelease } from '../../src/release/release.js';
import { ClusterDirectory } from '../../src/wiring/release-environment.js';
import { findApp, findEnvironment } from '../../src/config/index.js';
import { isEvent, resultOf, waitFor, World } from './harness.js';

/**
 * Freezes and stops are enforced by the worker (real worker processes, two sandbox regions): a
 * promotion queued before a freeze began is refused when it starts, a rollback goes through, a
 * break-glass override runs only under an approval asked for by a breakGlass user; a stop halts a
 * running promotion at a step boundary and `resume` lets it finish.
 */

const ALICE = 'U0000ALICE';
const BOB = 'U00000BOB';
const MALLORY = 'U0MALLORY';
const approvers = { users: [BOB], usergroups: [] };
const world = new World({
  apps: { shop: {}, cart: {} },
  policy: { bakeSeconds: 4 },
  production: { breakGlass: [ALICE], slack: { approvals: { approvers } } },
});
let freezes: FreezeStore;

beforeAll(async () => {
  await world.start();
  await world.prepare('shop', { install: ['v2', 'v3', 'v4'], promote: ['v2'] });
  await world.prepare('cart', { install: ['v2', 'v3'] });
  freezes = new FreezeStore(world.redis, world.prefix);
}, 120_000);
afterAll(async () => {
  await world.stop();
});

const job = (requestId: string, extra: { app?: string; requestedBy?: string; approvalId?: string } = {}) => ({ requestId, app: 'shop', environment: 'production', requestedBy: ALICE, source: 'cli' as const, ...extra });
const promotion = (requestId: string, version: string, extra: { app?: string; requestedBy?: string; approvalId?: string } = {}) => ({ ...job(requestId, extra), version });

/** An approved promotion request as the bot stores it, optionally breaking glass. */
async function approvedOverride(id: string, version: string, requester: string, override: string): Promise<void> {
  const { env, app } = new ClusterDirectory().environment(findEnvironment(world.config, 'production')!, findApp(world.config, 'shop')!);
  const planned = await previewRelease({ action: 'promote', app, version, actor: requester }, env);
  if (!planned.ok) throw new Error(planned.reasons.join('; '));
  const now = Date.now();
  const store = new ApprovalStore(world.redis, world.prefix);
  const request = openApproval({ id, app: 'shop', environment: 'production', action: 'promote', version, planDigest: planDigest(planned.plan), requester, now, override }, { required: 1, expiresMinutes: 30 });
  const voted = decide(request, { user: BOB, kind: 'approve', via: 'button', at: now }, { approvers }, () => []).request;
  const approved = confirm(voted, { at: now, reactionsOnMessage: null, groupMembers: () => [], membershipCheckedAt: now }, { approvers }).request;
  const created = await store.create({ request: approved, channel: 'C0RELEASES', ts: `1700000000.${String(now).slice(-6)}`, planText: 'plan' });
  if (!created) throw new Error(`approval ${id} not stored`);
}

describe('a freeze is enforced by the worker', () => {
  it('refuses a promotion queued before the freeze began, and lets a rollback through', async () => {
    // Queued while no worker runs, then the freeze begins, then the workers start.
    await enqueueRelease(world.queue, 'promote', promotion('queued-before-freeze', 'v3'));
    const now = Date.now();
    await freezes.freeze({ scope: 'all', environment: 'production', reason: 'incident 4711', from: now, until: now + 3_600_000, by: BOB });
    await world.startWorkers(2);

    const refused = await resultOf(world.queue, 'queued-before-freeze');
    expect(refused.outcome).toBe('refused');
    expect(refused.reasons.join('\n')).toMatch(/promote is refused: every app in production is frozen by <@U00000BOB> for another .*: incident 4711\. A rollback is still allowed/);
    expect(await world.liveVersions('shop')).toEqual({ 'eu-west': 'v2', 'us-east': 'v2' });

    await enqueueRelease(world.queue, 'rollback', job('rollback-in-freeze'));
    expect((await resultOf(world.queue, 'rollback-in-freeze')).outcome).toBe('succeeded');
    expect(await world.liveVersions('shop')).toEqual({ 'eu-west': 'v1', 'us-east': 'v1' });
  }, 60_000);

  it('lets a break-glass override through only under an approval asked for by a breakGlass user, and audits it', async () => {
    await approvedOverride('apr-shop-mallory', 'v3', MALLORY, 'hotfix');
    await enqueueRelease(world.queue, 'promote', promotion('apr-shop-mallory', 'v3', { requestedBy: MALLORY, approvalId: 'apr-shop-mallory' }));
    const refused = await resultOf(world.queue, 'apr-shop-mallory');
    expect(refused.outcome).toBe('refused');
    expect(refused.reasons.join('\n')).toContain('the override does not count: <@U0MALLORY> may not override a freeze here');

    await approvedOverride('apr-shop-alice', 'v3', ALICE, 'hotfix for 4711');
    await enqueueRelease(world.queue, 'promote', promotion('apr-shop-alice', 'v3', { approvalId: 'apr-shop-alice' }));
    const overridden = await resultOf(world.queue, 'apr-shop-alice');
    expect(overridden.reasons).toEqual([]);
    expect(overridden.outcome).toBe('succeeded');
    expect(await world.liveVersions('shop')).toEqual({ 'eu-west': 'v3', 'us-east': 'v3' });
    const audit = await readAudit(world.redis, world.prefix, { app: 'shop', count: 50 });
    expect(audit.find((e) => e.kind === 'override')).toMatchObject({ actor: ALICE, requestId: 'apr-shop-alice', detail: 'break glass through a freeze: hotfix for 4711' });
    expect((await readAudit(world.redis, world.prefix, { count: 50 })).find((e) => e.kind === 'frozen')).toMatchObject({ app: 'all', actor: BOB });

  }, 60_000);

  it('is lifted by unfreeze', async () => {
    expect(await freezes.unfreeze('production', 'all', BOB, Date.now())).toBe(true);
    expect(await freezes.freezes('production', ['shop'])).toEqual([]);
  });
});

describe('stop-the-line', () => {
  it('halts a running promotion at a step boundary, says who stopped it and why, and resume lets it finish', async () => {
    // A long bake after the first region's switch: the stop lands while the promotion runs.
    await enqueueRelease(world.queue, 'promote', promotion('promote-then-stop', 'v2', { app: 'cart' }));
    await waitFor(() => world.eventsOf('promote-then-stop').some((e) => isEvent(e.data, 'step-finished') && e.data.step.kind === 'switch'), 'the first region to switch', 30_000);
    await freezes.stop({ scope: 'cart', environment: 'production', reason: 'error rate up', by: BOB, at: Date.now(), rollback: false });

    await waitFor(() => world.eventsOf('promote-then-stop').some((e) => isEvent(e.data, 'stopped')), 'the promotion to halt', 30_000);
    const stopped = world.eventsOf('promote-then-stop').find((e) => isEvent(e.data, 'stopped'))!.data;
    expect(stopped).toMatchObject({ type: 'stopped', reason: '<@U00000BOB> stopped cart in production: error rate up' });
    // Halted between regions: one switched, the other not, and nothing compensated.
    const live = await world.liveVersions('cart');
    expect(Object.values(live).sort()).toEqual(['v1', 'v2']);
    const steps = world.eventsOf('promote-then-stop').filter((e) => isEvent(e.data, 'step-finished')).length;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(world.eventsOf('promote-then-stop').filter((e) => isEvent(e.data, 'step-finished')).length).toBe(steps);
    expect(await (await world.queue.getJob('promote-then-stop'))!.isCompleted()).toBe(false);
    expect(world.eventsOf('promote-then-stop').filter((e) => isEvent(e.data, 'stopped'))).toHaveLength(1);

    await freezes.resume('production', 'cart', BOB, Date.now());
    expect((await resultOf(world.queue, 'promote-then-stop', 30_000)).outcome).toBe('succeeded');
    expect(await world.liveVersions('cart')).toEqual({ 'eu-west': 'v2', 'us-east': 'v2' });
    const kinds = (await readAudit(world.redis, world.prefix, { count: 100 })).map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['stopped', 'halted', 'resumed']));
  }, 90_000);

  it('with --rollback, a halted promotion that switched a region is rolled back to the version live before it', async () => {
    await enqueueRelease(world.queue, 'promote', promotion('promote-then-stop-rollback', 'v3', { app: 'cart' }));
    await waitFor(() => world.eventsOf('promote-then-stop-rollback').some((e) => isEvent(e.data, 'step-finished') && e.data.step.kind === 'switch'), 'the first region to switch', 30_000);
    await freezes.stop({ scope: 'cart', environment: 'production', reason: 'bad canary', by: BOB, at: Date.now(), rollback: true });

    const rollback = await resultOf(world.queue, 'promote-then-stop-rollback-stop-rollback', 30_000);
    expect(rollback.outcome).toBe('succeeded');
    expect(await world.liveVersions('cart')).toEqual({ 'eu-west': 'v2', 'us-east': 'v2' });
    // The halted promotion was superseded by that rollback: it never touches a region again, even after resume.
    await freezes.resume('production', 'cart', BOB, Date.now());
    expect((await resultOf(world.queue, 'promote-then-stop-rollback', 30_000)).outcome).toBe('superseded');
    expect(await world.liveVersions('cart')).toEqual({ 'eu-west': 'v2', 'us-east': 'v2' });
  }, 90_000);
});
