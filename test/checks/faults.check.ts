/**
 * `npm run check:faults`: 20 promotions (alternating v2/v1) through executeRelease against two
 * sandbox regions whose APIs answer 20% of requests with a fault: 500, 503 or 429 (15%), or a
 * stall (5%): the request is carried out but answered only after the adapter's request timeout, so
 * the client gives up on a change that was made. Every request also gets a little latency.
 *
 * A promotion that throws (observing the regions failed after retries, before any change) counts
 * as failed; the job layer retries such a job.
 *
 * After each promotion the live selectors are read from the regions' stores, without faults, and
 * compared with what the result claims. A "silent split" is regions on different versions while
 * the result says split=false; a "wrong claim" is a success (or clean rollback) whose regions are
 * not all on the target (or the previous) version. Either exits non-zero. A promotion that ends
 * split (and says so) is healed without faults before the next one, so each starts level.
 *
 * Last line: {"promotions":N,"succeeded":N,"rolled_back":N,"failed":N,"silent_splits":N}
 */
import { findApp, findEnvironment, type RegionConfig } from '../../src/config/index.js';
import type { ReleaseResult } from '../../src/core/events.js';
import { KubeCluster } from '../../src/kube/kube-cluster.js';
import { loadKubeConfig } from '../../src/kube/load-kubeconfig.js';
import { executeRelease } from '../../src/release/release.js';
import { mustType } from '../../src/sandbox/resource-types.js';
import { ClusterDirectory } from '../../src/wiring/release-environment.js';
import { startSandboxEnv } from '../support/sandbox-env.js';

const promotions = Number(process.env.FAULTS_PROMOTIONS ?? 20);
const requestTimeoutMs = 1000;
// Fewer tries than the adapter's default (5) make failures, and so rollbacks, more frequent.
const retryAttempts = process.env.FAULTS_RETRY_ATTEMPTS ? Number(process.env.FAULTS_RETRY_ATTEMPTS) : undefined;
const faults = { errorRate: 0.15, stallRate: 0.05, stallMs: requestTimeoutMs + 500, latencyMs: 5 };
const services = mustType('services');

const world = await startSandboxEnv({ policy: { verifyTimeoutSeconds: 8, healthSamples: 5 } });
const clusters = new ClusterDirectory(
  (region: RegionConfig) =>
    new KubeCluster({
      region: region.name,
      namespace: region.namespace,
      kubeconfig: loadKubeConfig({ path: region.kubeconfig!, context: region.context! }),
      requestTimeoutMs,
      pollIntervalMs: 100,
      ...(retryAttempts ? { retry: { attempts: retryAttempts } } : {}),
    }),
);
const { env, app } = clusters.environment(findEnvironment(world.config, 'production')!, findApp(world.config, 'shop')!);
const regions = world.sandbox.regions;

async function run(action: 'deploy' | 'bootstrap' | 'promote', version: string): Promise<ReleaseResult> {
  return executeRelease({ action, app, version, actor: 'faults-check' }, env, { reporter: { report: () => undefined } });
}

/** The live version of every region, read straight from its store (no API, no faults). */
function liveVersions(): string[] {
  return regions.map((r) => {
    const selector = (r.store.get(services, 'production', 'shop')?.spec as { selector?: Record<string, string> } | undefined)?.selector;
    return selector?.['app.kubernetes.io/version'] ?? '(none)';
  });
}

function setFaults(on: boolean): void {
  for (const region of regions) region.faults.set(on ? faults : { errorRate: 0, stallRate: 0, latencyMs: 0 });
}

const counts = { promotions: 0, succeeded: 0, rolled_back: 0, failed: 0, silent_splits: 0 };
let wrongClaims = 0;
let exitCode = 0;
try {
  for (const [action, version] of [['deploy', 'v1'], ['bootstrap', 'v1'], ['deploy', 'v2']] as const) {
    const result = await run(action, version);
    if (result.outcome !== 'succeeded') throw new Error(`setup ${action} ${version} failed: ${result.reasons.join('; ')}`);
  }
  console.log(`faults on both regions: ${JSON.stringify(faults)}; adapter request timeout ${requestTimeoutMs} ms, ${retryAttempts ?? 'default'} tries per call`);
  for (let i = 0; i < promotions; i++) {
    // Alternate from what is live, so a promotion that changed nothing is not followed by a no-op.
    const previous = liveVersions()[0]!;
    const target = previous === 'v2' ? 'v1' : 'v2';
    const started = performance.now();
    setFaults(true);
    let result: ReleaseResult | null = null;
    let thrown: string | null = null;
    try {
      result = await run('promote', target);
    } catch (error) {
      thrown = error instanceof Error ? error.message : String(error);
    } finally {
      setFaults(false);
    }
    const live = liveVersions();
    const level = new Set(live).size === 1;
    counts.promotions += 1;
    let verdict: string;
    if (result?.outcome === 'succeeded') counts.succeeded += 1;
    else if (result?.outcome === 'rolled-back') counts.rolled_back += 1;
    else counts.failed += 1;
    const claimsSplit = result?.split ?? false;
    if (!level && !claimsSplit) {
      counts.silent_splits += 1;
      verdict = 'SILENT SPLIT';
    } else if ((result?.outcome === 'succeeded' && live.some((v) => v !== target)) || (result?.outcome === 'rolled-back' && live.some((v) => v !== previous))) {
      wrongClaims += 1;
      verdict = 'WRONG CLAIM';
    } else {
      verdict = level ? 'consistent' : 'split, and said so';
    }
    const outcome = result ? result.outcome : `threw: ${thrown}`;
    const why = result && result.reasons.length > 0 ? ` — ${result.reasons[0]}` : '';
    const ms = Math.round(performance.now() - started);
    console.log(`#${i + 1} promote ${target}: ${outcome}, split=${claimsSplit}, live ${regions.map((r, k) => `${r.name}=${live[k]}`).join(' ')} → ${verdict} (${ms} ms)${why}`);
    if (!level) {
      const healed = await run('promote', target);
      console.log(`   healed without faults: ${healed.outcome}, live ${liveVersions().join(' ')}`);
    } else if (live[0] !== target && live[0] !== previous) {
      throw new Error(`regions are on ${live[0]}, neither ${target} nor ${previous}`);
    }
  }
  if (counts.silent_splits > 0 || wrongClaims > 0) exitCode = 1;
  if (wrongClaims > 0) console.log(`wrong claims: ${wrongClaims}`);
} catch (error) {
  console.error(error);
  exitCode = 2;
} finally {
  await world.stop();
}
console.log(JSON.stringify(counts));
process.exit(exitCode);
