/**
 * Found while writing `npm run check:faults`: when region 2 switched, then failed its verify, and switching it
 * back failed too, the result said split=false while region 1 was restored and region 2 stayed on
 * the target. A split must always be said.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findApp, findEnvironment } from '../../src/config/index.js';
import type { ProgressEvent, ReleaseResult } from '../../src/core/events.js';
import type { Action } from '../../src/core/plan.js';
import { executeRelease } from '../../src/release/release.js';
import { mustType } from '../../src/sandbox/resource-types.js';
import { startSandboxEnv, type SandboxEnv } from '../support/sandbox-env.js';

let world: SandboxEnv;

beforeAll(async () => {
  world = await startSandboxEnv({ policy: { verifyTimeoutSeconds: 1 } });
});
afterAll(async () => {
  await world?.stop();
});

async function release(action: Action, version: string, onEvent: (event: ProgressEvent) => void = () => undefined): Promise<ReleaseResult> {
  const { env, app } = world.clusters.environment(findEnvironment(world.config, 'production')!, findApp(world.config, 'shop')!);
  return executeRelease({ action, app, version, actor: 'test' }, env, { reporter: { report: onEvent } });
}

function liveVersions(): string[] {
  return world.sandbox.regions.map((r) => {
    const spec = r.store.get(mustType('services'), 'production', 'shop')?.spec as { selector?: Record<string, string> } | undefined;
    return spec?.selector?.['app.kubernetes.io/version'] ?? '';
  });
}

describe('a promotion whose compensation cannot switch region 2 back', () => {
  it('says the regions are split', async () => {
    for (const [action, version] of [['deploy', 'v1'], ['bootstrap', 'v1'], ['deploy', 'v2']] as const) {
      expect((await release(action, version)).outcome).toBe('succeeded');
    }
    const usEast = world.sandbox.regions[1]!;
    // us-east switches, then its API becomes unreachable: its verify fails and so does switching it back.
    const result = await release('promote', 'v2', (event) => {
      if (event.type === 'step-finished' && event.step.region === 'us-east' && event.step.kind === 'switch') usEast.faults.set({ unreachable: true });
    });
    usEast.faults.set({ unreachable: false });

    expect(liveVersions()).toEqual(['v1', 'v2']);
    expect(result.outcome).toBe('failed');
    expect(result.compensation).toMatchObject({ ran: true, restored: ['eu-west'], failed: ['us-east'] });
    expect(result.split).toBe(true);
  });
});
