/**
 * `npm run bench:zero-downtime [-- --seconds 60 --rps 1100 --switches 50]`: paced keep-alive traffic
 * through both sandbox regions' ingresses (new users on `/`, sessions pinned to `/v1/` and `/v2/`)
 * while promotions and rollbacks run back to back through executeRelease, with a proxy sync lag.
 * Every failed request counts; the main run must have none.
 *
 * Then two negative controls that must show failures, proving the measurement sees them:
 *  (a) the live Service's selector merge-patched directly (no bot, no checks) to a version whose
 *      pods are never ready: the ingress answers 503;
 *  (b) in a sandbox with a 500 ms proxy lag, the selector patched and the old version's pods
 *      deleted at once (grace 0) while the proxy view still points at them: the ingress answers 502.
 * Exit code 1 when the main run had a failure, ran fewer switches than asked, or a control saw none.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { PatchStrategy, setHeaderOptions, type CoreV1Api } from '@kubernetes/client-node';
import { numberArg, prepare, printResult, sleep, startReleaseWorld, type ReleaseWorld } from './bench-support.js';
import { startPacedTraffic, startPacedTrafficProcess, type PacedCounters, type PacedOptions } from './paced-traffic.js';

const seconds = numberArg('seconds', 60);
const rps = numberArg('rps', 1100);
// The claim under test; offered a little above it so the achieved rate clears it.
const rpsTarget = 1000;
const minSwitches = numberArg('switches', 50);
const maxInFlight = numberArg('max-in-flight', 1024);
const proxySyncDelayMs = 150;
const controlProxySyncDelayMs = 500;
const namespace = 'production';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
/** Load generator in this process (sharing the event loop with sandbox and bot) instead of a child. */
const inProcess = process.argv.includes('--in-process');

function traffic(options: PacedOptions): Promise<{ stop(): Promise<PacedCounters> }> {
  return inProcess ? Promise.resolve(startPacedTraffic(options)) : startPacedTrafficProcess(options);
}

const switchSorted = (values: readonly number[]): number[] => [...values].sort((a, b) => a - b);

function targetsOf(world: ReleaseWorld) {
  return world.sandbox.regions.map((r) => ({ url: r.ingressUrl, region: r.name }));
}

function describe(counters: PacedCounters): string {
  return [
    `  requests ${counters.sent} in ${(counters.elapsedMs / 1000).toFixed(1)} s = ${counters.rps} rps achieved (offered ${rps}), not sent (generator behind) ${counters.notSent}`,
    `  failed ${counters.failed} ${JSON.stringify(counters.failures)}, wrong version for a pinned session ${counters.wrongVersion}`,
    `  versions seen ${JSON.stringify(counters.versions)}, by region ${JSON.stringify(counters.byRegion)}`,
    `  latency p50 ${counters.latencyMs.p50} ms, p99 ${counters.latencyMs.p99} ms, max ${counters.latencyMs.max} ms; generator event-loop delay p99 ${counters.eventLoopDelayMs.p99} ms, max ${counters.eventLoopDelayMs.max} ms`,
  ].join('\n');
}

async function patchSelector(core: CoreV1Api, world: ReleaseWorld, version: string): Promise<void> {
  const body = { spec: { selector: { [world.app.labelKeys.name]: world.app.name, [world.app.labelKeys.version]: version } } };
  await core.patchNamespacedService({ name: world.app.name, namespace, body }, mergePatch);
}

async function mainRun(world: ReleaseWorld) {
  const switchMs: number[] = [];
  const outcomes: Record<string, number> = {};
  const load = await traffic({ targets: targetsOf(world), rps, maxInFlight, sessionVersions: ['v1', 'v2'] });
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const started = performance.now();
  let counters: PacedCounters;
  try {
    await sleep(1000);
    let next: 'promote' | 'rollback' = 'promote';
    while (performance.now() - started < seconds * 1000 || switchMs.length < minSwitches) {
      const t0 = performance.now();
      const result = await world.release(next, next === 'promote' ? 'v2' : null);
      outcomes[`${next} ${result.outcome}`] = (outcomes[`${next} ${result.outcome}`] ?? 0) + 1;
      if (result.outcome !== 'succeeded') throw new Error(`${next}: ${result.outcome}: ${result.reasons.join('; ')}`);
      switchMs.push(performance.now() - t0);
      next = next === 'promote' ? 'rollback' : 'promote';
    }
    await sleep(1000);
  } finally {
    counters = await load.stop();
    loop.disable();
  }
  // Minus the histogram's own 1 ms sampling interval.
  const ms = (ns: number): number => Math.max(0, Math.round((ns - 1e6) / 1e5) / 10);
  const sandboxLoopDelayMs = { p50: ms(loop.percentile(50)), p99: ms(loop.percentile(99)), max: ms(loop.max) };
  return { switchMs, outcomes, counters, sandboxLoopDelayMs };
}

/** (a) A switch to a version with no ready pods, bypassing every check the bot makes. */
async function controlNoReadyPods(world: ReleaseWorld) {
  const region = world.env.regions[0]!.name;
  const { core, apps } = world.api(region);
  const labels = { [world.app.labelKeys.name]: world.app.name, [world.app.labelKeys.version]: 'v3' };
  await apps.createNamespacedDeployment({
    namespace,
    body: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: `${world.app.name}-v3`, labels },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels, annotations: { 'sandbox.cutover.dev/never-ready': 'true' } },
          spec: { containers: [{ name: world.app.name, image: 'registry.example.com/shop:v3', ports: [{ containerPort: 8080 }] }] },
        },
      },
    },
  });
  await sleep(500);
  // The bot would not do this: its precheck refuses a version without ready pods.
  const refused = await world.release('promote', 'v3');
  const service = await core.readNamespacedService({ name: world.app.name, namespace });
  const live = service.spec?.selector?.[world.app.labelKeys.version] ?? 'v1';
  const load = await traffic({ targets: targetsOf(world), rps, maxInFlight, paths: ['/'] });
  await sleep(1000);
  await patchSelector(core, world, 'v3');
  await sleep(1500);
  await patchSelector(core, world, live);
  await sleep(1000);
  const counters = await load.stop();
  return { region, counters, botOutcome: refused.outcome, botReasons: refused.reasons };
}

/** (b) Old pods deleted right after the switch while the proxy view still lags. */
async function controlDeletedOldPods() {
  const world = await startReleaseWorld({ sandbox: { proxySyncDelayMs: controlProxySyncDelayMs, readyDelayMs: 100, graceScale: 0.2 }, policy: { bakeSeconds: 0, healthSamples: 5, verifyTimeoutSeconds: 10 } });
  try {
    await prepare(world, ['v1', 'v2']);
    const region = world.env.regions[0]!.name;
    const { core } = world.api(region);
    const load = await traffic({ targets: targetsOf(world), rps, maxInFlight, paths: ['/'] });
    await sleep(1000);
    await patchSelector(core, world, 'v2');
    const pods = await core.listNamespacedPod({ namespace, labelSelector: `${world.app.labelKeys.name}=${world.app.name},${world.app.labelKeys.version}=v1` });
    await Promise.all(pods.items.map((pod) => core.deleteNamespacedPod({ name: pod.metadata!.name!, namespace, gracePeriodSeconds: 0 })));
    await sleep(2000);
    const counters = await load.stop();
    return { region, deletedPods: pods.items.length, counters };
  } finally {
    await world.stop();
  }
}

const world = await startReleaseWorld({ sandbox: { proxySyncDelayMs, readyDelayMs: 100, graceScale: 0.2 }, policy: { bakeSeconds: 0, healthSamples: 5, verifyTimeoutSeconds: 10 } });
let mainCounters: PacedCounters;
let main: Awaited<ReturnType<typeof mainRun>>;
let controlA: Awaited<ReturnType<typeof controlNoReadyPods>>;
try {
  await prepare(world, ['v1', 'v2']);
  console.log(`load generator: ${inProcess ? 'in this process (--in-process)' : 'a child process'}; sandbox and bot in this process`);
  console.log(`main run: ${rps} rps offered through ${world.env.regions.length} ingresses for >= ${seconds} s, promote v2 / rollback back to back (>= ${minSwitches}), proxy sync lag ${proxySyncDelayMs} ms`);
  main = await mainRun(world);
  mainCounters = main.counters;
  console.log(describe(mainCounters));
  console.log(`  sandbox+bot process event-loop delay p50 ${main.sandboxLoopDelayMs.p50} ms, p99 ${main.sandboxLoopDelayMs.p99} ms, max ${main.sandboxLoopDelayMs.max} ms`);
  console.log(`  switches ${main.switchMs.length} ${JSON.stringify(main.outcomes)}, each p50 ${switchSorted(main.switchMs)[Math.floor(main.switchMs.length / 2)]?.toFixed(0)} ms, max ${switchSorted(main.switchMs).at(-1)?.toFixed(0)} ms`);

  console.log(`control (a): live selector merge-patched straight to v3 (never-ready pods) in ${world.env.regions[0]!.name} for 1.5 s, checks bypassed`);
  controlA = await controlNoReadyPods(world);
  console.log(`  the bot itself: promote v3 -> ${controlA.botOutcome} (${controlA.botReasons.join('; ')})`);
  console.log(describe(controlA.counters));
} finally {
  await world.stop();
}

console.log(`control (b): selector patched to v2, then v1's pods deleted with grace 0, proxy sync lag ${controlProxySyncDelayMs} ms`);
const controlB = await controlDeletedOldPods();
console.log(`  deleted ${controlB.deletedPods} pods in ${controlB.region}`);
console.log(describe(controlB.counters));

const problems: string[] = [];
if (mainCounters.failed > 0) problems.push(`main run had ${mainCounters.failed} failed requests`);
if (mainCounters.wrongVersion > 0) problems.push(`main run served ${mainCounters.wrongVersion} pinned sessions by another version`);
if (main.switchMs.length < minSwitches) problems.push(`only ${main.switchMs.length} switches`);
if (controlA.counters.failed === 0) problems.push('control (a) saw no failure: the measurement is blind');
if (controlB.counters.failed === 0) problems.push('control (b) saw no failure: the measurement is blind');
if (mainCounters.rps < rpsTarget) console.log(`WARNING: achieved ${mainCounters.rps} rps, below the ${rpsTarget} rps the claim needs (offered ${rps}, ${mainCounters.notSent} not sent)`);
console.log(problems.length === 0 ? 'OK: no failed request during the switches; both controls saw failures' : `FAILED: ${problems.join('; ')}`);
printResult({
  requests: mainCounters.sent,
  failed: mainCounters.failed,
  failures: mainCounters.failures,
  wrong_version: mainCounters.wrongVersion,
  not_sent: mainCounters.notSent,
  rps: mainCounters.rps,
  rps_offered: rps,
  rps_target_met: mainCounters.rps >= rpsTarget,
  load_generator: inProcess ? 'in-process' : 'child-process',
  seconds: Math.round(mainCounters.elapsedMs / 100) / 10,
  switches: main.switchMs.length,
  proxy_sync_delay_ms: proxySyncDelayMs,
  versions: mainCounters.versions,
  latency_ms: mainCounters.latencyMs,
  generator_event_loop_delay_ms: mainCounters.eventLoopDelayMs,
  sandbox_event_loop_delay_ms: main.sandboxLoopDelayMs,
  switch_ms: { p50: Math.round(switchSorted(main.switchMs)[Math.floor(main.switchMs.length / 2)] ?? 0), max: Math.round(switchSorted(main.switchMs).at(-1) ?? 0) },
  control_no_ready_pods_failed: controlA.counters.failed,
  control_no_ready_pods_failures: controlA.counters.failures,
  control_deleted_old_pods_failed: controlB.counters.failed,
  control_deleted_old_pods_failures: controlB.counters.failures,
});
process.exitCode = problems.length === 0 ? 0 : 1;
