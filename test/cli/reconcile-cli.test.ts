/**
 * "Reconcile, never replay" through the CLI without the queue: a change made by hand during a
 * release stops it instead of being overwritten or reported as success, and two CLIs racing each
 * other never both claim success.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.js';
import { cliIn, liveSelectors, patchSelectorByHand, startSandboxEnv, type SandboxEnv } from '../support/sandbox-env.js';
import { waitFor } from '../jobs/harness.js';

let world: SandboxEnv;
beforeAll(async () => {
  world = await startSandboxEnv({ policy: { bakeSeconds: 2 } });
  for (const argv of [['deploy', 'shop', 'v1'], ['bootstrap', 'shop', 'v1'], ['deploy', 'shop', 'v2'], ['deploy', 'shop', 'v3']]) {
    const result = await cli(...argv);
    if (result.code !== 0) throw new Error(`${argv.join(' ')}: ${[...result.out, ...result.err].join('\n')}`);
  }
}, 120_000);
afterAll(async () => {
  await world?.stop();
});

const cli = (...argv: string[]) => cliIn(world, ...argv);

describe('a release never overwrites, nor reports success over, a change made outside it', () => {
  it('an operator switches eu-west to v3 while it bakes: us-east is not touched, the CLI exits 1 and says what it found', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const running = runCli(['promote', 'shop', 'v2'], { out: (l) => out.push(l), err: (l) => err.push(l), env: { CUTOVER_CONFIG: world.configPath }, clusters: world.clusters });
    await waitFor(() => out.some((l) => l.startsWith('✓ eu-west: verify')), 'eu-west to be verified (the bake begins)', 20_000);
    await patchSelectorByHand(world.sandbox, 'eu-west', 'shop', 'v3');
    const code = await running;
    const text = [...out, ...err].join('\n');

    expect(code, text).toBe(1);
    expect(await liveSelectors(world.sandbox)).toEqual({ 'eu-west': 'v3', 'us-east': 'v1' });
    expect(text).not.toMatch(/✓ us-east: switch/);
    expect(text).toContain('⏹️ promote shop v2 in production: stopped, a region was changed outside this release — SPLIT');
    expect(text).toContain('eu-west was changed outside this release: live is v3, promoted by unknown (the selector was changed without cutover) (this release expected v2), during the bake');
    expect(text).toMatch(/eu-west: .* · now on v3 \(changed without cutover\)/);
    expect(text).toContain('SPLIT: the regions serve different versions now (eu-west: v3, us-east: v1): to put every region on one version, run `/release promote shop v3 --env production`');

    // status says the regions disagree, and keeps the right rollback target after the manual switch
    const status = await cli('status', 'shop');
    expect(status.out).toContain('WARNING: the regions serve different versions: eu-west: v3, us-east: v1');
    expect(status.out).toContain('eu-west: live v3 (switched without cutover), previous v2');

    // the resolving command it printed works
    expect((await cli('promote', 'shop', 'v3')).code).toBe(0);
    expect(await liveSelectors(world.sandbox)).toEqual({ 'eu-west': 'v3', 'us-east': 'v3' });
  });

  it('two CLIs promoting different versions at once: at most one succeeds, and no success is claimed over the other change', async () => {
    expect(await liveSelectors(world.sandbox)).toEqual({ 'eu-west': 'v3', 'us-east': 'v3' });
    const [a, b] = await Promise.all([cli('promote', 'shop', 'v1', '--json'), cli('promote', 'shop', 'v2', '--json')]);
    const results = [a, b].map((r) => JSON.parse(r.out.at(-1)!) as { outcome: string; version: string; reasons: string[] });
    const live = await liveSelectors(world.sandbox);

    const succeeded = results.filter((r) => r.outcome === 'succeeded');
    expect(succeeded.length).toBeLessThanOrEqual(1);
    for (const winner of succeeded) expect(live).toEqual({ 'eu-west': winner.version, 'us-east': winner.version });
    const others = results.filter((r) => r.outcome !== 'succeeded');
    expect(others.length).toBeGreaterThanOrEqual(1);
    for (const loser of others) {
      expect(loser.outcome).toBe('stopped');
      expect(loser.reasons.join('\n')).toMatch(/was changed outside this release: live is v[12]/);
    }
    expect([a.code, b.code].sort()).toEqual(succeeded.length === 1 ? [0, 1] : [1, 1]);
  });
});
