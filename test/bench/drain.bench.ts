/**
 * `npm run bench:drain`: hazard e of issue 15, sessions pinned to `/v1/` while v1 is cleaned up.
 * Two sandbox regions, a real Prometheus scraping their ingress metrics, v1..v3 installed (live
 * v3, rollback target v2, v1 beyond the newest and old enough by every other rule). Pinned
 * sessions hit `/v1/app.js` in both regions while a cleanup runs every second, then stop while
 * the cleanups go on. Two rows, same procedure, one app each:
 *   drain_aware:   retention.idle on (cutover: delete only after the idle window without requests)
 *   count_and_age: retention by count and age only (cutover before issue 18, and a plain
 *                  "delete old versions" job): v1 goes while its sessions still use it
 * Prints requests and failures per row; the last line is JSON. Exit code 1 when drain_aware
 * failed a pinned request or never deleted v1, or when count_and_age failed none (then the
 * measurement could not see the hazard). Without Prometheus: one line saying so, exit code 1.
 */
import { findApp, findEnvironment, parseConfig, type Config } from '../../src/config/index.js';
import type { ReleaseResult } from '../../src/core/events.js';
import type { Action } from '../../src/core/plan.js';
import { executeRelease, observeEnvironment, observeTraffic } from '../../src/release/release.js';
import { prometheusUnavailable, startPrometheus } from '../../src/sandbox/prometheus.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { ClusterDirectory } from '../../src/wiring/release-environment.js';
import { startPinnedSessions, type PinnedCounters } from '../support/pinned-sessions.js';
import { exitWith, mustSucceed, numberArg, printResult, sleep } from './bench-support.js';

const sessionSeconds = numberArg('session-seconds', 10);
const windowSeconds = numberArg('window-seconds', 4);
const concurrency = numberArg('concurrency', 4);
const cleanupEveryMs = 1000;

interface Row {
  pinned_requests: number;
  failed: number;
  failures: Record<string, number>;
  rps: number;
  cleanups: number;
  v1_deleted: boolean;
  /** When v1's deletion finished, from the moment the sessions stopped (negative: while they ran). */
  v1_deleted_after_sessions_ms: number | null;
}

function configFor(sandbox: Sandbox, prometheusUrl: string): string {
  const retention = { keep: 1, minAgeSinceLiveHours: 0, graceAfterInstallHours: 0 };
  const app = (name: string) => ({ image: `registry.example.com/${name}:{version}`, replicas: 2, hosts: [`${name}.example.com`], terminationGracePeriodSeconds: 1, environments: [name === 'shop' ? 'drain' : 'plain'] });
  const regions = sandbox.regions.map((r) => ({ name: r.name, kubeconfig: sandbox.kubeconfigPath, context: r.name, namespace: 'production', liveUrl: r.ingressUrl }));
  const policy = { bakeSeconds: 0, readyTimeoutSeconds: 30, verifyTimeoutSeconds: 10, healthSamples: 3 };
  return JSON.stringify({
    apps: { shop: app('shop'), cart: app('cart') },
    environments: {
      drain: { regions, prometheus: { url: prometheusUrl, timeoutSeconds: 2 }, policy: { ...policy, retention: { ...retention, idle: { windowMinutes: windowSeconds / 60 } } } },
      plain: { regions, policy: { ...policy, retention } },
    },
  });
}

async function runRow(config: Config, appName: string, environment: string, sandbox: Sandbox, clusters: ClusterDirectory): Promise<Row> {
  const { env, app } = clusters.environment(findEnvironment(config, environment)!, findApp(config, appName)!);
  const release = (action: Action, version: string | null): Promise<ReleaseResult> => executeRelease({ action, app, version, actor: 'bench' }, env, { reporter: { report: () => undefined } });
  for (const [action, version] of [['deploy', 'v1'], ['bootstrap', 'v1'], ['deploy', 'v2'], ['promote', 'v2'], ['deploy', 'v3'], ['promote', 'v3']] as const) {
    await mustSucceed(release(action, version), `${appName}: ${action} ${version}`);
  }
  const sessions = startPinnedSessions({ ingressUrls: sandbox.regions.map((r) => r.ingressUrl), version: 'v1', host: `${appName}.example.com`, concurrency, pauseMs: 0 });
  const started = performance.now();
  // The hazard is a cleanup while sessions are in use: let them run until Prometheus has scraped
  // their requests in both regions (read through the drain environment, for both rows alike).
  // Without this the first cleanup can run before any scrape saw them, and both rows measure that race.
  const { env: metricsEnv } = clusters.environment(findEnvironment(config, 'drain')!, findApp(config, appName)!);
  const seenBy = performance.now() + 15_000;
  for (;;) {
    const traffic = await observeTraffic(metricsEnv, app, await observeEnvironment(metricsEnv, app));
    const seen = [...(traffic?.values() ?? [])].every((versions) => {
      const v1 = versions.get('v1');
      return v1 !== undefined && 'requests' in v1 && v1.requests > 0;
    });
    if (seen) break;
    if (performance.now() > seenBy) throw new Error(`${appName}: Prometheus saw no request of the pinned sessions within 15 s; is the ingress scraped?`);
    await sleep(250);
  }
  let sessionsStoppedAt: number | null = null;
  let deletedAt: number | null = null;
  let cleanups = 0;
  let pinned: PinnedCounters | null = null;
  const stopSessions = (async () => {
    await sleep(sessionSeconds * 1000);
    sessionsStoppedAt = performance.now();
    pinned = await sessions.stop();
  })();
  // Cleanups every second, as a frequent cron would run them, until v1 is gone (or long after the window).
  const deadline = started + (sessionSeconds + windowSeconds * 4 + 20) * 1000;
  while (deletedAt === null && performance.now() < deadline) {
    const result = await release('cleanup', null);
    if (result.outcome !== 'succeeded') throw new Error(`${appName}: cleanup ${result.outcome}: ${result.reasons.join('; ')}`);
    cleanups += 1;
    const states = await observeEnvironment(env, app);
    if (states.every((s) => s.versions.every((v) => v.version !== 'v1'))) deletedAt = performance.now();
    else await sleep(cleanupEveryMs);
  }
  await stopSessions;
  const counted = pinned ?? (await sessions.stop());
  const seconds = ((sessionsStoppedAt ?? performance.now()) - started) / 1000;
  return {
    pinned_requests: counted.sent,
    failed: counted.failed,
    failures: counted.failures,
    rps: Math.round(counted.sent / seconds),
    cleanups,
    v1_deleted: deletedAt !== null,
    v1_deleted_after_sessions_ms: deletedAt !== null && sessionsStoppedAt !== null ? Math.round(deletedAt - sessionsStoppedAt) : null,
  };
}

async function main(): Promise<number> {
  const missing = await prometheusUnavailable();
  if (missing !== null) {
    console.log(`bench:drain needs a real Prometheus: ${missing}; hazard e is not covered`);
    printResult({ bench: 'drain', covered: false, reason: missing });
    return 1;
  }
  const sandbox = await startSandbox({ readyDelayMs: 100, proxySyncDelayMs: 100, graceScale: 0.2 });
  const prometheus = await startPrometheus({ targets: sandbox.regions.map((r) => ({ url: r.ingressMetricsUrl, labels: { region: r.name } })), scrapeIntervalMs: 500 });
  try {
    await prometheus.waitForTargets();
    const config = parseConfig(configFor(sandbox, prometheus.url), {}, 'drain.bench.json');
    const clusters = new ClusterDirectory();
    console.log(`prometheus ${prometheus.version} at ${prometheus.url}, scrape 500 ms; idle window ${windowSeconds} s; sessions ${sessionSeconds} s, ${concurrency} loops per region; a cleanup every ${cleanupEveryMs} ms`);
    const drainAware = await runRow(config, 'shop', 'drain', sandbox, clusters);
    console.log(`drain_aware    ${JSON.stringify(drainAware)}`);
    const countAndAge = await runRow(config, 'cart', 'plain', sandbox, clusters);
    console.log(`count_and_age  ${JSON.stringify(countAndAge)}`);
    const ok = drainAware.failed === 0 && drainAware.v1_deleted && (drainAware.v1_deleted_after_sessions_ms ?? -1) >= 0 && countAndAge.failed > 0;
    if (!ok) console.log('FAILED: drain_aware must fail no pinned request and delete v1 only after the sessions stopped; count_and_age must show the hazard (failed > 0)');
    printResult({
      bench: 'drain',
      covered: true,
      prometheus: prometheus.version,
      window_s: windowSeconds,
      session_s: sessionSeconds,
      rows: { drain_aware: drainAware, count_and_age: countAndAge },
      hazard_e: { cutover_failed: drainAware.failed, baseline_failed: countAndAge.failed, cutover_pinned_requests: drainAware.pinned_requests, baseline_pinned_requests: countAndAge.pinned_requests },
      ok,
    });
    return ok ? 0 : 1;
  } finally {
    await prometheus.stop();
    await sandbox.stop();
  }
}

exitWith(main);
