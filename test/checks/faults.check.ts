/**
 * `npm run check:faults`: promotions through executeRelease against two sandbox regions with
 * injected API faults, in two profiles, each promotion judged by what the clusters say afterwards.
 *
 * 1. Random faults: 20 promotions (alternating v2/v1) while both regions' APIs answer 20% of
 *    requests with a fault: 500, 503 or 429 (15%), or a stall (5%): the request is carried out but
 *    answered only after the adapter's request timeout, so the client gives up on a change that
 *    was made. Every request also gets a little latency. With 5 tries per call these rarely fail
 *    for good, so this profile mostly shows that retries keep promotions level.
 * 2. Forced failure paths: each scenario opens a fault window on one region at a chosen moment of
 *    the run (from the run's own progress events): a region failing every call from its switch,
 *    a region unreachable from its switch, a region whose API stalls longer than the verify
 *    timeout from its verify, and a region failing every call while the compensation switches it
 *    back. Requires rolled_back + failed > 0: a profile that forced no failure path proves nothing.
 *
 * A promotion that throws (observing the regions failed after retries, before any change) counts
 * as failed; the job layer retries such a job.
 *
 * After each promotion every fault window is closed and the live selectors are read through each
 * region's API (as an operator would), then compared with what the result claims. A "silent split"
 * is regions on different versions while the result does not say split: true; a "wrong claim" is
 * a success (or clean rollback) whose regions are not all on the target (or the previous) version.
 * A promotion that ends split (and says so) is healed without faults before the next one.
 *
 * A result that says split while the regions are level is counted as a false alarm (not a failure).
 *
 * Exit code 1 on any silent split or wrong claim in either profile, or when the forced profile
 * rolled nothing back and failed nothing; 2 when the check itself broke.
 * Last line: {"promotions","succeeded","rolled_back","failed","silent_splits","wrong_claims","false_alarms",
 *   "forced":{…the same fields…,"scenarios":{name:["outcome: verdict",…]}}}
 */
import { findApp, findEnvironment, type EnvironmentConfig, type RegionConfig } from '../../src/config/index.js';
import type { ProgressEvent, ReleaseResult } from '../../src/core/events.js';
import type { AppSpec } from '../../src/core/model.js';
import { KubeCluster } from '../../src/kube/kube-cluster.js';
import { loadKubeConfig } from '../../src/kube/load-kubeconfig.js';
import { executeRelease, type ReleaseEnvironment } from '../../src/release/release.js';
import type { FaultSettings } from '../../src/sandbox/faults.js';
import { ClusterDirectory } from '../../src/wiring/release-environment.js';
import { liveSelectors, startSandboxEnv } from '../support/sandbox-env.js';

const promotions = Number(process.env.FAULTS_PROMOTIONS ?? 20);
const forcedRounds = Number(process.env.FAULTS_FORCED_ROUNDS ?? 2);
const requestTimeoutMs = 1000;
// Fewer tries than the adapter's default (5) make failures, and so rollbacks, more frequent.
const retryAttempts = process.env.FAULTS_RETRY_ATTEMPTS ? Number(process.env.FAULTS_RETRY_ATTEMPTS) : undefined;
const randomFaults = { errorRate: 0.15, stallRate: 0.05, stallMs: requestTimeoutMs + 500, latencyMs: 5 };
const noFaults: FaultSettings = { errorRate: 0, latencyMs: 0, unreachable: false, stallRate: 0, stallMs: 2000 };
const verifyTimeoutSeconds = 8;
const forcedVerifyTimeoutSeconds = 3;
/** Longer than the adapter's whole retry budget for one call (5 tries, backoff capped at 2 s, Retry-After 1 s). */
const failingWindowMs = 12_000;
/** Stalls longer than the verify timeout, for longer than one call's retries (5 tries of 1 s plus backoff). */
const stallMs = 2 * forcedVerifyTimeoutSeconds * 1000;
const stallWindowMs = 10_000;

const world = await startSandboxEnv({ policy: { verifyTimeoutSeconds, healthSamples: 5 } });
const regions = world.sandbox.regions;
const [first, second] = regions.map((r) => r.name) as [string, string];

function environmentOf(options: { requestTimeoutMs?: number; retry?: { attempts: number } }, policy: Partial<EnvironmentConfig['policy']> = {}): { env: ReleaseEnvironment; app: AppSpec } {
  const clusters = new ClusterDirectory(
    (region: RegionConfig) =>
      new KubeCluster({ region: region.name, namespace: region.namespace, kubeconfig: loadKubeConfig({ path: region.kubeconfig!, context: region.context! }), pollIntervalMs: 100, ...options }),
  );
  const environment = findEnvironment(world.config, 'production')!;
  return clusters.environment({ ...environment, policy: { ...environment.policy, ...policy } }, findApp(world.config, 'shop')!);
}

// Profile 1 keeps a short request timeout, so stalls become timeouts on changes that were made.
const { env: randomEnv, app } = environmentOf({ requestTimeoutMs, ...(retryAttempts ? { retry: { attempts: retryAttempts } } : {}) });
// Profile 2 keeps the same 1 s request timeout and the adapter's default 5 tries. With the 10 s
// default a stall shorter than 10 s is only a slow answer, and verify accepts a late answer.
const { env: forcedEnv } = environmentOf({ requestTimeoutMs }, { verifyTimeoutSeconds: forcedVerifyTimeoutSeconds });

async function run(env: ReleaseEnvironment, action: 'deploy' | 'bootstrap' | 'promote', version: string, onEvent: (event: ProgressEvent) => void = () => undefined): Promise<ReleaseResult> {
  return executeRelease({ action, app, version, actor: 'faults-check' }, env, { reporter: { report: onEvent } });
}

/** Fault windows opened during one promotion; closing them all restores fault-free regions. */
class FaultWindows {
  private readonly timers = new Set<NodeJS.Timeout>();

  open(region: string, faults: Partial<FaultSettings>, ms: number): void {
    const handle = regions.find((r) => r.name === region)!.faults;
    handle.set(faults);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      handle.set(noFaults);
    }, ms);
    this.timers.add(timer);
  }

  closeAll(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const region of regions) region.faults.set(noFaults);
  }
}

/** A forced failure path: fault windows opened on a region when the run reaches an event. */
interface Scenario {
  name: string;
  triggers: Array<{ when: (event: ProgressEvent) => boolean; region: string; faults: Partial<FaultSettings>; windowMs: number }>;
}

const startsStep = (kind: string, region: string, phase: 'forward' | 'compensation' = 'forward') => (event: ProgressEvent) =>
  event.type === 'step-started' && event.phase === phase && event.step.kind === kind && event.step.region === region;

const scenarios: Scenario[] = [
  { name: `${second} fails every call from its switch`, triggers: [{ when: startsStep('switch', second), region: second, faults: { errorRate: 1 }, windowMs: failingWindowMs }] },
  { name: `${second} unreachable from its switch`, triggers: [{ when: startsStep('switch', second), region: second, faults: { unreachable: true }, windowMs: failingWindowMs }] },
  {
    name: `${first} stalls longer than the verify timeout from its verify`,
    triggers: [{ when: startsStep('verify', first), region: first, faults: { stallRate: 1, stallMs }, windowMs: stallWindowMs }],
  },
  {
    name: `${first} fails every call while the compensation switches it back`,
    triggers: [
      { when: startsStep('switch', second), region: second, faults: { errorRate: 1 }, windowMs: failingWindowMs },
      { when: (event) => event.type === 'compensating', region: first, faults: { errorRate: 1 }, windowMs: failingWindowMs },
    ],
  },
];

interface Counts {
  promotions: number;
  succeeded: number;
  rolled_back: number;
  failed: number;
  silent_splits: number;
  wrong_claims: number;
  /** Said split: true while the regions were level: not dangerous, but a false alarm to the user. */
  false_alarms: number;
}
const emptyCounts = (): Counts => ({ promotions: 0, succeeded: 0, rolled_back: 0, failed: 0, silent_splits: 0, wrong_claims: 0, false_alarms: 0 });

async function observedLive(): Promise<string[]> {
  const live = await liveSelectors(world.sandbox);
  return regions.map((r) => live[r.name] ?? '(none)');
}

/**
 * One promotion to the other version, judged by the regions observed afterwards; heals a split it
 * reports so the next promotion starts level. Answers the outcome word for the scenario table.
 */
async function promoteAndJudge(label: string, counts: Counts, env: ReleaseEnvironment, during: { start(): void; onEvent(event: ProgressEvent): void; stop(): void }): Promise<string> {
  // Alternate from what is live, so a promotion that changed nothing is not followed by a no-op.
  const previous = (await observedLive())[0]!;
  const target = previous === 'v2' ? 'v1' : 'v2';
  const started = performance.now();
  let result: ReleaseResult | null = null;
  let thrown: string | null = null;
  during.start();
  try {
    result = await run(env, 'promote', target, (event) => during.onEvent(event));
  } catch (error) {
    thrown = error instanceof Error ? error.message : String(error);
  } finally {
    during.stop();
  }
  const live = await observedLive();
  const level = new Set(live).size === 1;
  counts.promotions += 1;
  if (result?.outcome === 'succeeded') counts.succeeded += 1;
  else if (result?.outcome === 'rolled-back') counts.rolled_back += 1;
  else counts.failed += 1;
  const claimsSplit = result?.split === true;
  let verdict: string;
  if (!level && !claimsSplit) {
    counts.silent_splits += 1;
    verdict = 'SILENT SPLIT';
  } else if ((result?.outcome === 'succeeded' && live.some((v) => v !== target)) || (result?.outcome === 'rolled-back' && live.some((v) => v !== previous))) {
    counts.wrong_claims += 1;
    verdict = 'WRONG CLAIM';
  } else if (level && claimsSplit) {
    counts.false_alarms += 1;
    verdict = 'level, though it said split';
  } else {
    verdict = level ? 'consistent' : 'split, and said so';
  }
  const outcome = result ? result.outcome : `threw: ${thrown}`;
  const why = result && result.reasons.length > 0 ? ` — ${result.reasons[0]}` : '';
  const ms = Math.round(performance.now() - started);
  console.log(`${label} promote ${target}: ${outcome}, split=${claimsSplit}, live ${regions.map((r, k) => `${r.name}=${live[k]}`).join(' ')} → ${verdict} (${ms} ms)${why}`);
  if (!level) {
    const healed = await run(randomEnv, 'promote', target);
    console.log(`   healed without faults: ${healed.outcome}, live ${(await observedLive()).join(' ')}`);
  } else if (live[0] !== target && live[0] !== previous) {
    throw new Error(`regions are on ${live[0]}, neither ${target} nor ${previous}`);
  }
  return `${result ? result.outcome : 'threw'}: ${verdict}`;
}

const random = emptyCounts();
const forced = { ...emptyCounts(), scenarios: {} as Record<string, string[]> };
let exitCode = 0;
try {
  for (const [action, version] of [['deploy', 'v1'], ['bootstrap', 'v1'], ['deploy', 'v2']] as const) {
    const result = await run(randomEnv, action, version);
    if (result.outcome !== 'succeeded') throw new Error(`setup ${action} ${version} failed: ${result.reasons.join('; ')}`);
  }

  console.log(`profile 1, random faults on both regions: ${JSON.stringify(randomFaults)}; adapter request timeout ${requestTimeoutMs} ms, ${retryAttempts ?? 'default'} tries per call, verify timeout ${verifyTimeoutSeconds} s`);
  const setRandom = (on: boolean) => {
    for (const region of regions) region.faults.set(on ? randomFaults : noFaults);
  };
  for (let i = 0; i < promotions; i++) {
    await promoteAndJudge(`#${i + 1}`, random, randomEnv, { start: () => setRandom(true), onEvent: () => undefined, stop: () => setRandom(false) });
  }

  console.log(`profile 2, forced failure paths, ${forcedRounds} rounds; adapter request timeout ${requestTimeoutMs} ms, default tries per call, verify timeout ${forcedVerifyTimeoutSeconds} s`);
  for (let round = 1; round <= forcedRounds; round++) {
    for (const scenario of scenarios) {
      const windows = new FaultWindows();
      const fired = new Set<number>();
      const onEvent = (event: ProgressEvent): void => {
        scenario.triggers.forEach((trigger, k) => {
          if (fired.has(k) || !trigger.when(event)) return;
          fired.add(k);
          windows.open(trigger.region, trigger.faults, trigger.windowMs);
        });
      };
      const outcome = await promoteAndJudge(`round ${round}, ${scenario.name}:`, forced, forcedEnv, { start: () => undefined, onEvent, stop: () => windows.closeAll() });
      const note = fired.size < scenario.triggers.length ? `${outcome} (only ${fired.size} of ${scenario.triggers.length} fault windows opened)` : outcome;
      (forced.scenarios[scenario.name] ??= []).push(note);
    }
  }

  for (const [name, counts] of [['random faults', random], ['forced failure paths', forced]] as const) {
    console.log(
      `${name}: ${counts.promotions} promotions, ${counts.succeeded} succeeded, ${counts.rolled_back} rolled back, ${counts.failed} failed, ` +
        `${counts.silent_splits} silent splits, ${counts.wrong_claims} wrong claims, ${counts.false_alarms} said split while level`,
    );
  }
  if (random.silent_splits + random.wrong_claims + forced.silent_splits + forced.wrong_claims > 0) exitCode = 1;
  if (forced.rolled_back + forced.failed === 0) {
    console.log('FAILED: the forced profile reached no failure path (nothing rolled back, nothing failed): it proves nothing');
    exitCode = 1;
  }
} catch (error) {
  console.error(error);
  exitCode = 2;
} finally {
  await world.stop();
}
console.log(JSON.stringify({ ...random, forced }));
process.exit(exitCode);
