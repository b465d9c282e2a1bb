import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readAudit } from '../../src/queue/audit.js';
import { FreezeStore } from '../../src/queue/freezes.js';
import { ALICE, BOB, CHANNEL, EVE, queuedJobs, slackConfig, startWorld, textOf, type World } from './harness.js';

/**
 * Freezes and stops from Slack, through the real Bolt app and the Slack stand-in: only freezers
 * freeze and stop; a freeze refuses a promotion at request time (nothing queued, no approval
 * asked) while a rollback goes through; `--override` is for breakGlass users and asks for an approval.
 */

let world: World;

beforeAll(async () => {
  world = await startWorld({
    config: (prefix) => {
      const config = slackConfig(prefix);
      const production = config.environments.production!;
      production.freezers = { users: [BOB], usergroups: [] };
      production.breakGlass = [ALICE];
      return config;
    },
  });
});
afterAll(async () => {
  await world?.stop();
});
beforeEach(async () => {
  world.standIn.reset();
  await world.queue.obliterate({ force: true });
  const store = new FreezeStore(world.redis, world.prefix);
  await store.unfreeze('production', 'all', BOB, Date.now());
  await store.unfreeze('production', 'shop', BOB, Date.now());
  await store.resume('production', 'all', BOB, Date.now());
});

async function answer(user: string, text: string) {
  const result = await world.driver.slashCommand(user, text);
  expect(result.status).toBe(200);
  const post = await world.standIn.waitFor((s) => s.responseUrlPosts().find((p) => p.url === result.responseUrl));
  return { type: post.response_type, text: textOf(post) };
}

describe('freezes from Slack', () => {
  it('only a freezer may freeze; anyone else is told who may, and nothing is frozen', async () => {
    const refused = await answer(EVE, 'freeze all --env production 2h "incident 4711"');
    expect(refused.type).toBe('ephemeral');
    expect(refused.text).toContain('<@U00000EVE> may not freeze, stop or lift them here');
    expect(await new FreezeStore(world.redis, world.prefix).freezes('production', ['shop'])).toEqual([]);
  });

  it('refuses a promotion at request time while a rollback goes through', async () => {
    const frozen = await answer(BOB, '/release freeze shop --env production 2h "incident 4711"');
    expect(frozen.type).toBe('in_channel');
    expect(frozen.text).toMatch(/shop in production is frozen by <@U00000BOB> for another 2 h .*incident 4711/);

    expect((await answer(ALICE, 'status shop --env production')).text).toContain('🧊 shop in production is frozen by <@U00000BOB>');
    expect((await answer(ALICE, 'status cart --env production')).text).not.toContain('frozen');

    const refused = await answer(ALICE, 'promote shop v2 --env production');
    expect(refused.type).toBe('ephemeral');
    expect(refused.text).toContain('promote is refused: shop in production is frozen by <@U00000BOB>');
    expect(refused.text).toContain('--override');
    expect(await queuedJobs(world.queue)).toEqual([]);
    expect(world.standIn.messages(CHANNEL).filter((m) => m.text?.startsWith('Approval needed'))).toEqual([]);

    // cart is not frozen; a rollback of shop is never refused for a freeze.
    world.clusters.installed.shop = ['v0', 'v1', 'v2'];
    const rollback = await world.driver.slashCommand(EVE, 'rollback shop --env production');
    expect(rollback.status).toBe(200);
    await world.standIn.waitFor(async () => (await queuedJobs(world.queue)).find((j) => j.name === 'rollback'), 15_000);

    const audit = await readAudit(world.redis, world.prefix, { count: 50 });
    expect(audit.find((e) => e.kind === 'frozen')).toMatchObject({ app: 'shop', environment: 'production', actor: BOB });
  });

  it('lets a breakGlass user override with a reason, behind an approval; anyone else is refused', async () => {
    await answer(BOB, 'freeze all --env production 1h "release freeze"');
    const notBreakGlass = await answer(BOB, 'promote shop v2 --env production --override "I know better"');
    expect(notBreakGlass.text).toContain('<@U00000BOB> may not override a freeze here');

    await world.driver.slashCommand(ALICE, 'promote shop v2 --env production --override "hotfix for 4711"');
    const request = await world.standIn.waitFor((s) => s.messages(CHANNEL).find((m) => m.text?.startsWith('Approval needed')));
    expect(textOf(request)).toContain('Break glass:* this overrides a freeze in force. Reason: hotfix for 4711');
    expect((await queuedJobs(world.queue)).filter((j) => j.name === 'promote')).toEqual([]);
  });
});

describe('stop-the-line from Slack', () => {
  it('a freezer stops and resumes; both are announced in the channel and audited', async () => {
    const stopped = await answer(BOB, 'stop all --env production "error rate up"');
    expect(stopped.type).toBe('in_channel');
    expect(stopped.text).toContain('<@U00000BOB> stopped every app in production: error rate up');
    expect(await new FreezeStore(world.redis, world.prefix).stops('production', ['shop'])).toMatchObject([{ scope: 'all', by: BOB, reason: 'error rate up', rollback: false }]);
    expect((await answer(ALICE, 'status shop --env production')).text).toContain('🛑 <@U00000BOB> stopped every app in production: error rate up');
    const resumed = await answer(BOB, 'resume all --env production');
    expect(resumed.text).toContain('resumed every app in production');
    expect(await new FreezeStore(world.redis, world.prefix).stops('production', ['shop'])).toEqual([]);
    const kinds = (await readAudit(world.redis, world.prefix, { count: 50 })).map((e) => e.kind);
    expect(kinds).toEqual(expect.arrayContaining(['stopped', 'resumed']));
  });
});
