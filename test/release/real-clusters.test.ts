/**
 * Real clusters, real apps (issue "Real clusters, real apps"): a release that cannot reach the
 * ingress verifies through the API server's service proxy; an unready target pod is reported, not
 * fatal; `verify.via: endpoints` says plainly that no traffic was sampled; a route that strips the
 * version prefix serves an app that knows nothing of `/<version>/`.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findApp, findEnvironment, parseConfig, type Config } from '../../src/config/index.js';
import type { ProgressEvent, ReleaseResult } from '../../src/core/events.js';
import type { Action } from '../../src/core/plan.js';
import { sample } from '../../src/release/live-probe.js';
import { executeRelease } from '../../src/release/release.js';
import { ClusterDirectory } from '../../src/wiring/release-environment.js';
import { configYaml, liveSelectors, startSandboxEnv, type SandboxEnv } from '../support/sandbox-env.js';

let world: SandboxEnv;
const clusters = new ClusterDirectory();

beforeAll(async () => {
  world = await startSandboxEnv({ apps: ['proxied', 'unready', 'counted', 'stripped'] });
}, 30_000);
afterAll(async () => {
  await world?.stop();
});

type Edit = (config: { apps: Record<string, Record<string, unknown>>; environments: { production: { regions: Record<string, unknown>[]; policy: Record<string, unknown> } } }) => void;

async function configWith(name: string, edit: Edit): Promise<Config> {
  const raw = JSON.parse(configYaml(world.sandbox, { apps: ['proxied', 'unready', 'counted', 'stripped'] })) as Parameters<Edit>[0];
  edit(raw);
  const file = path.join(world.dir, `${name}.json`);
  await writeFile(file, JSON.stringify(raw));
  return parseConfig(JSON.stringify(raw), {}, file);
}

async function release(config: Config, action: Action, app: string, version: string | null, steps: string[] = []): Promise<ReleaseResult> {
  const { env, app: spec } = clusters.environment(findEnvironment(config, 'production')!, findApp(config, app)!);
  const onEvent = (event: ProgressEvent) => {
    if (event.type === 'step-finished') steps.push(`${event.step.region}:${event.step.kind}:${event.outcome}: ${event.detail}`);
  };
  return executeRelease({ action, app: spec, version, actor: 'test' }, env, { reporter: { report: onEvent } });
}

async function ready(config: Config, app: string, versions: string[]): Promise<void> {
  for (const [action, version] of [['deploy', versions[0]!], ['bootstrap', versions[0]!], ...versions.slice(1).map((v) => ['deploy', v])] as [Action, string][]) {
    const result = await release(config, action, app, version);
    if (result.outcome !== 'succeeded') throw new Error(`${action} ${app} ${version}: ${result.reasons.join('; ')}`);
  }
}

describe('verification without a route from cutover to the ingress', () => {
  it('with no liveUrl, deploys and promotes by sampling the Services through the API server', async () => {
    const config = await configWith('no-ingress', (c) => {
      for (const region of c.environments.production.regions) delete region.liveUrl;
    });
    expect(findEnvironment(config, 'production')!.regions.every((r) => r.liveUrl === undefined)).toBe(true);
    await ready(config, 'proxied', ['v1', 'v2']);
    const steps: string[] = [];
    const result = await release(config, 'promote', 'proxied', 'v2', steps);
    expect(result.outcome, result.reasons.join('; ')).toBe('succeeded');
    expect(await liveSelectors(world.sandbox, 'proxied')).toEqual({ 'eu-west': 'v2', 'us-east': 'v2' });
    expect(steps.find((s) => s.startsWith('eu-west:precheck'))).toContain('/v2/healthz on Service proxied-v2 (through the service proxy) answers');
    expect(steps.find((s) => s.startsWith('eu-west:verify'))).toMatch(/live samples through the service proxy answered v2/);
    expect(result.regions[0]!.health?.samples).toMatchObject({ v2: expect.any(Number) });
  });

  it('with verify.via endpoints, says plainly that no traffic was sampled', async () => {
    const config = await configWith('endpoints-only', (c) => {
      c.environments.production.policy.verify = { via: 'endpoints' };
    });
    await ready(config, 'counted', ['v1', 'v2']);
    const steps: string[] = [];
    const result = await release(config, 'promote', 'counted', 'v2', steps);
    expect(result.outcome).toBe('succeeded');
    expect(steps.find((s) => s.startsWith('eu-west:verify'))).toContain('traffic not sampled (verify.via: endpoints)');
    expect(result.regions[0]!.health?.samples).toEqual({});
  });

  it('refuses at config load verify.via ingress without a liveUrl', async () => {
    await expect(
      configWith('ingress-without-url', (c) => {
        c.environments.production.policy.verify = { via: 'ingress' };
        delete c.environments.production.regions[1]!.liveUrl;
      }),
    ).rejects.toThrow(/environments\.production\.regions\[1\]\.liveUrl: Required when policy\.verify\.via is ingress/);
  });
});

describe('readiness as real controllers report it', () => {
  it('promotes with 1 of 3 target pods never ready: the unready pod is reported, not fatal', async () => {
    const config = await configWith('unready', (c) => {
      c.apps['unready']!.replicas = 3;
      c.apps['unready']!.podAnnotations = { 'sandbox.cutover.dev/unready-pods': '1' };
    });
    await ready(config, 'unready', ['v1', 'v2']);
    const steps: string[] = [];
    const result = await release(config, 'promote', 'unready', 'v2', steps);
    expect(result.outcome, result.reasons.join('; ')).toBe('succeeded');
    expect(result.regions.map((r) => r.health?.unreadyPods)).toEqual([1, 1]);
    expect(steps.find((s) => s.startsWith('eu-west:verify'))).toContain('2 ready v2 endpoints (1 not ready yet, reported, not waited for)');
  });
});

describe('routes that strip the version prefix', () => {
  it('serves an app that knows nothing of /<version>/ through its version route (Ingress, ingress-nginx rewrite)', async () => {
    const config = await configWith('stripped', (c) => {
      c.apps['stripped']!.stripVersionPrefix = true;
      // The app serves its health path and "/" only, like a stock image.
      c.apps['stripped']!.podAnnotations = { 'sandbox.cutover.dev/serves': '{health}, /' };
    });
    await ready(config, 'stripped', ['v1', 'v2']);
    const result = await release(config, 'promote', 'stripped', 'v2');
    expect(result.outcome, result.reasons.join('; ')).toBe('succeeded');
    // fetch() may not set Host; the probe's own GET does, as a browser reaching stripped.example.com would.
    const target = { url: world.sandbox.regions[0]!.ingressUrl, host: 'stripped.example.com', versionHeader: 'x-app-version' };
    expect(await sample(target, '/v1/healthz', 2_000)).toMatchObject({ status: 200, version: 'v1' });
  });

  it('without the rewrite, the same app fails the route check, and the reason says where', async () => {
    const config = await configWith('not-stripped', (c) => {
      c.apps['stripped']!.podAnnotations = { 'sandbox.cutover.dev/serves': '{health}, /' };
    });
    const result = await release(config, 'deploy', 'stripped', 'v3');
    expect(result.outcome).toBe('failed');
    expect(result.reasons.join('\n')).toMatch(/\/v3\/healthz did not answer with v3: HTTP 404/);
  });
});
