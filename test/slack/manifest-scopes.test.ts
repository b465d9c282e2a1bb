import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { eventually } from '../queue/redis-fixture.js';
import { ALICE, BOB, CHANNEL, queuedJobs, startWorld, textOf, type World } from './harness.js';

/**
 * config/slack-app-manifest.yaml asks for exactly the scopes the bot uses: with only those, the
 * whole approval flow works against the stand-in (which answers missing_scope and withholds
 * events as Slack does); without any one of them, something the bot needs breaks.
 */

const manifest = parse(readFileSync(new URL('../../config/slack-app-manifest.yaml', import.meta.url), 'utf8')) as {
  oauth_config: { scopes: { bot: string[] } };
  settings: { event_subscriptions: { bot_events: string[] } };
};
const scopes = manifest.oauth_config.scopes.bot;
let world: World;

beforeAll(async () => {
  world = await startWorld({ standIn: { scopes }, usergroupTtlMs: 0 });
});
afterAll(async () => {
  await world?.stop();
});
beforeEach(async () => {
  world.standIn.reset();
  world.standIn.setScopes(scopes);
  await world.queue.obliterate({ force: true });
});

/** Alice asks, tries to approve her own request, Bob (through the approvers user group) approves. */
async function approvalFlow(): Promise<void> {
  const before = world.standIn.messages(CHANNEL).length;
  await world.driver.slashCommand(ALICE, 'promote shop v2');
  const request = await world.standIn.waitFor((s) => s.messages(CHANNEL).slice(before).find((m) => m.text?.startsWith('Approval needed')), 5000);
  await world.driver.reaction(ALICE, { channel: CHANNEL, ts: request.ts }, 'white_check_mark');
  await world.standIn.waitFor((s) => s.ephemerals(CHANNEL).find((e) => e.user === ALICE), 5000);
  await world.driver.reaction(BOB, { channel: CHANNEL, ts: request.ts }, 'white_check_mark');
  await eventually(() => queuedJobs(world.queue).then((jobs) => jobs.length === 1), 'the approved job', 5000);
}

describe('the Slack app manifest', () => {
  it('asks for four scopes, the two reaction events and app_home_opened', () => {
    expect(scopes).toEqual(['commands', 'chat:write', 'reactions:read', 'usergroups:read']);
    expect(manifest.settings.event_subscriptions.bot_events).toEqual(['reaction_added', 'reaction_removed', 'app_home_opened']);
  });

  it('is enough for the whole approval flow: no call answered missing_scope, no event withheld', async () => {
    await approvalFlow();
    expect(world.standIn.calls().filter((c) => c.error === 'missing_scope')).toEqual([]);
  });

  it.each(scopes)('needs %s: without it the flow breaks', async (scope) => {
    world.standIn.setScopes(scopes.filter((s) => s !== scope));
    await expect(approvalFlow()).rejects.toThrow();
    if (scope === 'chat:write' || scope === 'usergroups:read') {
      expect(world.standIn.calls().find((c) => c.error === 'missing_scope')).toMatchObject({ error: 'missing_scope' });
    }
    if (scope === 'usergroups:read') expect(textOf(world.standIn.ephemerals(CHANNEL).find((e) => e.user === BOB))).toContain('lacks the `usergroups:read` scope');
  });
});
