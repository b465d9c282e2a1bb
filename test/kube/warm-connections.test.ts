import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findApp, findEnvironment } from '../../src/config/index.js';
import { executeRelease, observeEnvironment } from '../../src/release/release.js';
import { startSandboxEnv, type SandboxEnv } from '../support/sandbox-env.js';

// client-node makes a new agent per API call; without keep-alive every call is a new TLS connection.
describe('connections to a region are kept warm', () => {
  let world: SandboxEnv;
  beforeAll(async () => {
    world = await startSandboxEnv();
  });
  afterAll(async () => {
    await world.stop();
  });

  it('repeated observations and a release open no new connection to the API servers once warm', async () => {
    const { env, app } = world.clusters.environment(findEnvironment(world.config, 'production')!, findApp(world.config, 'shop')!);
    const release = (action: 'deploy' | 'bootstrap' | 'promote', version: string) => executeRelease({ action, app, version, actor: 'test' }, env, { reporter: { report: () => undefined } });
    expect((await release('deploy', 'v1')).outcome).toBe('succeeded');
    expect((await release('bootstrap', 'v1')).outcome).toBe('succeeded');
    expect((await release('deploy', 'v2')).outcome).toBe('succeeded');
    const accepted = () => world.sandbox.regions.reduce((sum, region) => sum + region.apiConnectionsAccepted(), 0);

    await observeEnvironment(env, app);
    const warm = accepted();
    for (let i = 0; i < 10; i++) await observeEnvironment(env, app);
    expect((await release('promote', 'v2')).outcome).toBe('succeeded');
    // Ten observations and a promotion make well over a hundred API calls; a few new connections
    // at most (calls in parallel beyond the warm ones), not one per call.
    expect(accepted() - warm).toBeLessThanOrEqual(4);
  });
});
