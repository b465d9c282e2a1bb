import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitCodes } from '../../src/cli.js';
import { FreezeStore } from '../../src/queue/freezes.js';
import { deleteKeys, testPrefix, testRedis } from '../queue/redis-fixture.js';
import { cliIn, startSandboxEnv, type SandboxEnv } from '../support/sandbox-env.js';

/**
 * The CLI obeys freezes like Slack and the workers: deploy, promote and cleanup are refused with
 * exit 4 and change nothing (so is a direct run during a stop); a rollback goes through; status
 * (and --json) shows freezes and stops.
 */

const prefix = testPrefix();
const redis = testRedis();
let world: SandboxEnv;
beforeAll(async () => {
  world = await startSandboxEnv({ sandbox: { regions: ['eu-west', 'us-east'] }, prefix });
  for (const argv of [['deploy', 'shop', 'v1'], ['bootstrap', 'shop', 'v1'], ['deploy', 'shop', 'v2'], ['promote', 'shop', 'v2'], ['deploy', 'shop', 'v3']]) {
    const run = await cliIn(world, ...argv);
    if (run.code !== 0) throw new Error(`setup ${argv.join(' ')}: ${run.err.join('\n')}`);
  }
}, 90_000);
afterAll(async () => {
  await world?.stop();
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

describe('cutover under a freeze', () => {
  it('refuses promote with exit 4 and changes nothing; a rollback goes through; status shows the freeze and the stop', async () => {
    const now = Date.now();
    const store = new FreezeStore(redis, prefix);
    await store.freeze({ scope: 'shop', environment: 'production', reason: 'incident 4711', from: now, until: now + 3_600_000, by: 'U00000BOB' });
    await store.stop({ scope: 'all', environment: 'production', reason: 'error rate up', by: 'U00000BOB', at: now, rollback: false });

    const refused = await cliIn(world, 'promote', 'shop', 'v3');
    expect(refused.code).toBe(exitCodes.frozen);
    expect(refused.code).toBe(4);
    expect(refused.err.join('\n')).toMatch(/promote is refused: shop in production is frozen by <@U00000BOB> .*incident 4711/);
    expect((await cliIn(world, 'deploy', 'shop', 'v4')).code).toBe(4);

    const status = await cliIn(world, 'status', 'shop');
    expect(status.out).toContain('eu-west: live v2, previous v1');
    expect(status.out.join('\n')).toMatch(/FROZEN: shop in production is frozen .*incident 4711/);
    expect(status.out).toContain('STOPPED: <@U00000BOB> stopped every app in production: error rate up');
    const json = JSON.parse((await cliIn(world, 'status', 'shop', '--json')).out.at(-1)!) as { freezes: unknown[]; stops: unknown[] };
    expect(json.freezes).toMatchObject([{ scope: 'shop', reason: 'incident 4711', source: 'ad-hoc' }]);
    expect(json.stops).toMatchObject([{ scope: 'all', reason: 'error rate up' }]);

    const rollback = await cliIn(world, 'rollback', 'shop');
    expect(rollback.code).toBe(0);
    expect((await cliIn(world, 'status', 'shop')).out).toContain('eu-west: live v1, previous v2');

    await store.unfreeze('production', 'shop', 'U00000BOB', Date.now());
    const stopped = await cliIn(world, 'promote', 'shop', 'v3');
    expect(stopped.code).toBe(4);
    expect(stopped.err.join('\n')).toContain('stopped every app in production: error rate up. Nothing was changed');
    await store.resume('production', 'all', 'U00000BOB', Date.now());
    expect((await cliIn(world, 'promote', 'shop', 'v3')).code).toBe(0);
  }, 60_000);
});
