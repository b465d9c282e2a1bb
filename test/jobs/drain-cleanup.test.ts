import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findApp, findEnvironment, parseConfig } from '../../src/config/index.js';
import type { ProgressEvent } from '../../src/core/events.js';
import type { Plan } from '../../src/core/plan.js';
import { PrometheusClient } from '../../src/prometheus/client.js';
import { idleQuery } from '../../src/release/metrics.js';
import { executeRelease, previewRelease } from '../../src/release/release.js';
import { ClusterDirectory } from '../../src/wiring/release-environment.js';
import { prometheusForTests } from '../support/prometheus.js';
import { startPinnedSessions } from '../support/pinned-sessions.js';
import { resultOf, waitFor, World } from './harness.js';
import { freePort } from '../../src/sandbox/free-port.js';

/**
 * Drain-aware cleanup (issue 18, and row e of the hazard benchmark): with `retention.idle`, a
 * version is deleted only once its route had no requests for the window, read from a real
 * Prometheus scraping the sandbox's ingress metrics. Sessions pinned to /v1/ keep v1 installed
 * through cleanups run by a worker process; once they stop, the next cleanups delete it; no
 * pinned request fails.
 */

const hasPrometheus = await prometheusForTests('test/jobs/drain-cleanup.test.ts');
const host = 'shop.example.com';
const window = '4 s';

const world = new World({
  apps: { shop: {} },
  prometheus: true,
  // keep 1, no age limits: only traffic keeps v1 (live v3, rollback target v2).
  policy: { retention: { keep: 1, minAgeSinceLiveHours: 0, graceAfterInstallHours: 0, idle: { windowMinutes: 4 / 60 } } },
});
const clusters = new ClusterDirectory();
let sequence = 0;

function environment(prometheusUrl?: string) {
  const config = prometheusUrl ? parseConfig(JSON.stringify(documentWith(prometheusUrl)), {}, 'drain.json') : world.setupConfig;
  return clusters.environment(findEnvironment(config, 'production')!, findApp(config, 'shop')!);
}

/** The setup config as a document again, with another Prometheus URL. */
function documentWith(prometheusUrl: string): Record<string, unknown> {
  const production = findEnvironment(world.setupConfig, 'production')!;
  const policy = { retention: { keep: 1, minAgeSinceLiveHours: 0, graceAfterInstallHours: 0, idle: { windowMinutes: 4 / 60 } } };
  const regions = production.regions.map(({ prometheus: _, ...region }) => region);
  return {
    redis: world.setupConfig.redis,
    apps: { shop: { image: 'registry.example.com/shop:{version}', hosts: [host], replicas: 1, terminationGracePeriodSeconds: 1 } },
    environments: { production: { regions, policy, prometheus: { url: prometheusUrl, timeoutSeconds: 2 } } },
  };
}

/** Run one cleanup through the queue and a worker process; its plan (with the notes) and its result. */
async function cleanup(): Promise<{ plan: Plan; deleted: string[] }> {
  const jobId = `drain-cleanup-${++sequence}`;
  await world.queue.add('cleanup', { requestId: jobId, app: 'shop', environment: 'production', requestedBy: 'U0OPS', source: 'cli', approvedBy: [] }, { jobId });
  const result = await resultOf(world.queue, jobId, 30_000);
  expect(result.outcome).toBe('succeeded');
  const planned = world.eventsOf(jobId).map((e) => e.data as ProgressEvent).find((e): e is Extract<ProgressEvent, { type: 'planned' }> => e.type === 'planned');
  const finished = world.eventsOf(jobId).map((e) => e.data as ProgressEvent).filter((e) => e.type === 'step-finished' && e.step.kind === 'delete-version' && e.outcome === 'ok');
  return { plan: planned!.plan, deleted: finished.map((e) => (e.type === 'step-finished' ? `${e.step.region}/${(e.step as { version: string }).version}` : '')) };
}

describe.skipIf(!hasPrometheus)('drain-aware cleanup against a real Prometheus', () => {
  beforeAll(async () => {
    await world.start();
    // v2 and v3 promoted in turn: live v3, rollback target v2, v1 beyond the newest.
    await world.prepare('shop', { install: ['v2', 'v3'], promote: ['v2', 'v3'] });
    await world.startWorkers(1);
  }, 120_000);
  afterAll(async () => {
    await world.stop();
  });

  it('keeps every version when Prometheus cannot be reached, saying why in the dry run', async () => {
    const nobody = await freePort();
    const { env, app } = environment(`http://127.0.0.1:${nobody}`);
    const planned = await previewRelease({ action: 'cleanup', app, version: null, actor: 'test' }, env);
    expect(planned.ok && planned.plan.steps).toEqual([]);
    expect(planned.ok && planned.plan.notes).toContain(
      `eu-west: keeping v1 (traffic unknown (Prometheus at http://127.0.0.1:${nobody} is unreachable: ECONNREFUSED), so it may still serve sessions)`,
    );
  });

  it('keeps v1 while sessions are pinned to /v1/, deletes it once they stop, and no pinned request fails', async () => {
    const sessions = startPinnedSessions({ ingressUrls: world.sandbox.regions.map((r) => r.ingressUrl), version: 'v1', host });
    try {
      // Until Prometheus has scraped the sessions' first requests in both regions.
      const { env, app } = environment();
      const prometheus = new PrometheusClient({ url: world.prometheus!.url, timeoutMs: 2000 });
      const idle = env.policy.retention.idle!;
      await waitFor(async () => {
        const seen = await Promise.all(env.regions.map((r) => prometheus.queryValue(idleQuery(idle, app, 'v1', r.name, 'production'))));
        return seen.every((n) => (n ?? 0) > 0);
      }, 'Prometheus to see the pinned sessions', 20_000);

      // The dry run shows each version's recent traffic and why it stays.
      const preview = await previewRelease({ action: 'cleanup', app, version: null, actor: 'test' }, env);
      expect(preview.ok && preview.plan.steps).toEqual([]);
      const notes = preview.ok ? preview.plan.notes : [];
      expect(notes.find((n) => n.startsWith('eu-west: keeping v1 '))).toMatch(new RegExp(`^eu-west: keeping v1 \\(\\d+ requests in the last ${window}: still serving sessions\\)$`));
      expect(notes.find((n) => n.startsWith('eu-west: keeping v3 '))).toMatch(new RegExp(`^eu-west: keeping v3 \\(live; (no|\\d+) requests? in the last ${window}\\)$`));

      // A cleanup run by a worker while the sessions go on keeps v1 in both regions.
      const during = await cleanup();
      expect(during.deleted).toEqual([]);
      expect(during.plan.notes.filter((n) => /keeping v1 \(\d+ requests/.test(n))).toHaveLength(2);
      expect(await world.installedVersions('shop')).toEqual({ 'eu-west': ['v1', 'v2', 'v3'], 'us-east': ['v1', 'v2', 'v3'] });

      // A plan made earlier (when v1 looked idle) is not carried out: the deletion reads the traffic again first.
      const stale: Plan = { ...(preview.ok ? preview.plan : ({} as Plan)), steps: env.regions.map((r) => ({ kind: 'delete-version', region: r.name, version: 'v1', reason: 'a plan made earlier' })), notes: [] };
      const skipped: string[] = [];
      const carried = await executeRelease({ action: 'cleanup', app, version: null, actor: 'test' }, env, {
        plan: stale,
        reporter: { report: (e) => void (e.type === 'step-finished' && skipped.push(`${e.outcome}: ${e.detail}`)) },
      });
      expect(carried.outcome).toBe('succeeded');
      expect(skipped).toHaveLength(2);
      for (const line of skipped) expect(line).toMatch(new RegExp(`^skipped: kept v1: \\d+ requests in the last ${window} when about to delete it \\(drain-aware cleanup\\)$`));
      expect(await world.installedVersions('shop')).toEqual({ 'eu-west': ['v1', 'v2', 'v3'], 'us-east': ['v1', 'v2', 'v3'] });
    } finally {
      const pinned = await sessions.stop();
      expect(pinned.sent).toBeGreaterThan(0);
      expect(pinned.failures).toEqual({});
      expect(pinned.failed).toBe(0);
    }

    // Sessions over: once the window has passed without a request, a cleanup deletes v1, saying why.
    let after = await cleanup();
    while (after.deleted.length === 0) {
      expect(after.plan.notes.some((n) => n.includes('keeping v1'))).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 1000));
      after = await cleanup();
    }
    expect(after.deleted.sort()).toEqual(['eu-west/v1', 'us-east/v1']);
    for (const step of after.plan.steps) {
      expect(step.kind === 'delete-version' && step.reason).toMatch(new RegExp(`^beyond the 1 newest, last live .* ago, no requests in the last ${window}$`));
    }
    expect(await world.installedVersions('shop')).toEqual({ 'eu-west': ['v2', 'v3'], 'us-east': ['v2', 'v3'] });
  }, 120_000);
});

