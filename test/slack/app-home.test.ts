import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RegionState } from '../../src/core/model.js';
import { appendAudit } from '../../src/queue/audit.js';
import { ALICE, BOB, CAROL, CHANNEL, queuedJobs, slackConfig, startWorld, textOf, type World } from './harness.js';

/**
 * The Home tab, through the real Bolt app and the Slack stand-in: opening it publishes
 * (views.publish) where every app stands, a warning where regions disagree, freezes and stops,
 * the approvals waiting for this user with working Approve buttons, and the last releases with
 * links to their threads; a change publishes it again.
 */

let world: World;

beforeAll(async () => {
  world = await startWorld({
    homeRefreshMs: 200,
    config: (prefix) => {
      const config = slackConfig(prefix);
      config.environments.production!.freezers = { users: [BOB], usergroups: [] };
      return config;
    },
  });
  // cart is split in production: eu-west on v2, us-east still on v1.
  const status = world.clusters.status.bind(world.clusters);
  world.clusters.status = async (app: string, environment: string): Promise<RegionState[]> => {
    const states = await status(app, environment);
    if (app !== 'cart' || environment !== 'production') return states;
    return states.map((s) => (s.region === 'eu-west' ? { ...s, live: { ...s.live!, version: 'v2' } } : s));
  };
});
afterAll(async () => {
  await world?.stop();
});

const homeText = (user: string) => JSON.stringify(world.standIn.homeView(user)?.view ?? {});

describe('the App Home', () => {
  it('shows live versions, a split, freezes, stops, approvals waiting for this user and the last releases', async () => {
    await world.driver.slashCommand(ALICE, 'promote shop v2');
    const request = await world.standIn.waitFor((s) => s.messages(CHANNEL).find((m) => m.text?.startsWith('Approval needed')));
    await world.driver.slashCommand(BOB, 'freeze cart --env production 2h "incident 4711"');
    await world.driver.slashCommand(BOB, 'stop shop --env production "error rate up"');
    await world.standIn.waitFor((s) => s.responseUrlPosts().filter((p) => p.response_type === 'in_channel').length >= 2);
    await appendAudit(world.redis, world.prefix, { at: new Date().toISOString(), kind: 'succeeded', app: 'shop', environment: 'staging', version: 'v2', actor: ALICE, requestId: 'slack-1', thread: `${CHANNEL}/1700000000.000100` });

    expect((await world.driver.openAppHome(BOB)).status).toBe(200);
    const bob = await world.standIn.waitFor((s) => s.homeView(BOB));
    const blocks = bob.view.blocks as unknown[];
    expect(bob.view.type).toBe('home');
    expect(blocks.length).toBeLessThanOrEqual(100);
    const text = homeText(BOB);
    expect(text).toContain('*shop* in production: eu-west `v1` · us-east `v1`');
    expect(text).toContain('⚠️ the regions serve different versions: eu-west: v2, us-east: v1');
    expect(text).toContain('🧊 cart in production is frozen by <@U00000BOB>');
    expect(text).toContain('🛑 <@U00000BOB> stopped shop in production: error rate up');
    expect(text).toContain('*promote shop v2 in production* asked by <@U0000ALICE>');
    expect(text).toContain('✅ succeeded shop v2 in staging by <@U0000ALICE>');
    expect(text).toContain('<https://slack.com/archives/C0RELEASES/p1700000000000100|thread>');

    // Alice asked, so nothing waits for her approval.
    await world.driver.openAppHome(ALICE);
    await world.standIn.waitFor((s) => s.homeView(ALICE));
    expect(homeText(ALICE)).toContain('Nothing is waiting for you.');
    expect(homeText(ALICE)).not.toContain('cutover_approve');

    // Bob approves from the Home tab: the same decision as the button on the request message.
    const recordId = /request (apr-[^"\\]+)/.exec(textOf(request))?.[1];
    expect(recordId).toBeDefined();
    const pressed = await world.driver.pressHomeButton(BOB, 'cutover_approve', recordId);
    expect(pressed.status).toBe(200);
    await world.standIn.waitFor(async () => (await queuedJobs(world.queue)).find((j) => j.name === 'promote'), 10_000);
    // The Home tab is published again (debounced) once the approval is decided.
    await world.standIn.waitFor((s) => (s.homeView(BOB)?.publishedAt ?? 0) > bob.publishedAt && !JSON.stringify(s.homeView(BOB)!.view).includes('cutover_approve'), 10_000);
    expect(homeText(BOB)).toContain('Nothing is waiting for you.');
  }, 40_000);

  it('is published again when a worker finishes a release, which only the audit trail tells this process', async () => {
    await world.driver.openAppHome(CAROL);
    const before = await world.standIn.waitFor((s) => s.homeView(CAROL));
    expect(homeText(CAROL)).toContain('*shop* in production: eu-west `v1` · us-east `v1`');
    // A worker in another process promotes shop to v3: the clusters change, and it writes the audit.
    const status = world.clusters.status.bind(world.clusters);
    world.clusters.status = async (app: string, environment: string): Promise<RegionState[]> => {
      const states = await status(app, environment);
      return app === 'shop' && environment === 'production' ? states.map((s) => ({ ...s, live: { ...s.live!, version: 'v3' } })) : states;
    };
    await appendAudit(world.redis, world.prefix, { at: new Date().toISOString(), kind: 'succeeded', app: 'shop', environment: 'production', version: 'v3', actor: ALICE, requestId: 'worker-1' });

    await world.standIn.waitFor((s) => (s.homeView(CAROL)?.publishedAt ?? 0) > before.publishedAt, 10_000);
    expect(homeText(CAROL)).toContain('*shop* in production: eu-west `v3` · us-east `v3`');
    expect(homeText(CAROL)).toContain('✅ succeeded shop v3 in production by <@U0000ALICE>');
  }, 20_000);
});
