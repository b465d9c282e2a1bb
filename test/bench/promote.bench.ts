/**
 * `npm run bench:promote [-- --n 20]`: N promotions alternating v1 <-> v2 across two sandbox regions
 * through the product's executeRelease, against a baseline in the same run and the same sandbox:
 * the original article's CI job, `kubectl patch svc shop` in each region in turn, each region
 * measured to the same data-plane convergence the bot's verify waits for.
 *
 * Bot overhead per promotion = wall time of executeRelease − (proxySyncDelayMs × regions) − bake.
 * The proxy sync lag is the only delay the sandbox imposes on a switch between two versions whose
 * pods are already ready (ready delays do not apply, bake is 0 here), so what remains is the bot's
 * own work: observe + plan, per region a precheck (API reads and one request through the version
 * route), the selector patch, the EndpointSlice wait and the consecutive live samples. The
 * baseline's overhead is computed the same way (kubectl process start and the same polling).
 *
 * `overhead_ratio` = (cutover total − imposed waits) ÷ (kubectl job total − the same waits), p50
 * (goal ≤ 0.2), and `overhead_breakdown_ms`: where cutover's overhead goes (observe, plan,
 * prechecks, switch + verify beyond the proxy lag, other steps, the runner between steps, the final
 * observation), p50 of each part; the parts of one promotion add up to its overhead.
 *
 * Promotions and baseline switches are interleaved in blocks (bot v2, bot v1, kubectl v2,
 * kubectl v1, ...) so both see the same machine state; one block is run first as an untimed warm-up.
 */
import { spawn } from 'node:child_process';
import { kubeRequestsTotal } from '../../src/observability/metrics.js';
import { waitForVersion } from '../../src/release/live-probe.js';
import { executeRelease, observeForAttempt, planRelease } from '../../src/release/release.js';
import { formatStats, mustSucceed, numberArg, prepare, printResult, startReleaseWorld, stats } from './bench-support.js';

const n = Math.round(numberArg('n', 20));
const proxySyncDelayMs = numberArg('proxy-sync-ms', 100);
const readyDelayMs = 50;
const healthSamples = 5;
const bakeSeconds = 0;
const versions = ['v1', 'v2'] as const;
const namespace = 'production';

const world = await startReleaseWorld({
  sandbox: { proxySyncDelayMs, readyDelayMs, graceScale: 0.1 },
  policy: { bakeSeconds, healthSamples, verifyTimeoutSeconds: 10 },
});

interface BotRun {
  totalMs: number;
  /** Kubernetes API requests the promotion made, by verb (every attempt and watch counted). */
  apiCalls: Record<string, number>;
  /** Step durations by kind, summed over regions (precheck, switch, verify, ...). */
  steps: Record<string, number>;
  regions: { region: string; patchMs: number; endpointsMs: number; dataPlaneMs: number }[];
  /** Where the promotion's wall time went, ms: observe, plan, step kinds (wall time, overlaps merged), runner between steps, final observation. */
  phases: { observe: number; plan: number; steps: Record<string, number>; runner: number; final: number };
}
interface BaselineRun {
  totalMs: number;
  regions: { region: string; kubectlMs: number; dataPlaneMs: number }[];
}

async function apiCallsByVerb(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const value of (await kubeRequestsTotal.get()).values) counts[String(value.labels.verb)] = (counts[String(value.labels.verb)] ?? 0) + value.value;
  return counts;
}

async function promote(version: string): Promise<BotRun> {
  const steps: Record<string, number> = {};
  const intervals: { kind: string; from: number; to: number }[] = [];
  const startedAt = new Map<number, number>();
  const callsBefore = await apiCallsByVerb();
  // executeRelease's own sequence (observe, plan, run), with the observation and the plan timed apart.
  const started = performance.now();
  const observed = await observeForAttempt(world.env, world.app);
  const observedAt = performance.now();
  const request = { action: 'promote' as const, app: world.app, version, actor: 'bench' };
  const planned = planRelease(request, world.env, observed, new Date());
  const plannedAt = performance.now();
  if (!planned.ok) throw new Error(`promote ${version}: ${planned.reasons.join('; ')}`);
  const result = await mustSucceed(
    executeRelease(request, world.env, {
      observed,
      plan: planned.plan,
      reporter: {
        report: (event) => {
          if (event.type === 'step-started') startedAt.set(event.index, performance.now());
          if (event.type !== 'step-finished') return;
          steps[event.step.kind] = (steps[event.step.kind] ?? 0) + event.durationMs;
          intervals.push({ kind: event.step.kind, from: startedAt.get(event.index) ?? performance.now() - event.durationMs, to: performance.now() });
        },
      },
    }),
    `promote ${version}`,
  );
  const endedAt = performance.now();
  const totalMs = endedAt - started;
  const lastStepEnd = Math.max(plannedAt, ...intervals.map((i) => i.to));
  const byKind = Object.fromEntries([...new Set(intervals.map((i) => i.kind))].map((kind) => [kind, wallTime(intervals.filter((i) => i.kind === kind))]));
  const callsAfter = await apiCallsByVerb();
  const apiCalls = Object.fromEntries(Object.entries(callsAfter).map(([verb, count]) => [verb, count - (callsBefore[verb] ?? 0)]).filter(([, count]) => Number(count) > 0));
  return {
    totalMs,
    apiCalls,
    steps,
    regions: result.regions.map((r) => ({ region: r.region, patchMs: r.timings.patchMs ?? NaN, endpointsMs: r.timings.endpointsMs ?? NaN, dataPlaneMs: r.timings.dataPlaneMs ?? NaN })),
    phases: { observe: observedAt - started, plan: plannedAt - observedAt, steps: byKind, runner: lastStepEnd - plannedAt - wallTime(intervals), final: endedAt - lastStepEnd },
  };
}

/** Wall time covered by intervals, overlaps counted once (steps run in parallel, e.g. prechecks). */
function wallTime(intervals: readonly { from: number; to: number }[]): number {
  let total = 0;
  let end = -Infinity;
  for (const { from, to } of [...intervals].sort((a, b) => a.from - b.from)) {
    if (to <= end) continue;
    total += to - Math.max(from, end);
    end = to;
  }
  return total;
}

function kubectl(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('kubectl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`kubectl ${args.join(' ')} exited ${code}: ${stderr.trim()}`))));
  });
}

/** The article's CI job: patch the live Service's selector in each region in turn, each to data-plane convergence. */
async function baselineSwitch(version: string): Promise<BaselineRun> {
  const started = performance.now();
  const regions: BaselineRun['regions'] = [];
  for (const region of world.env.regions) {
    const selector = { [world.app.labelKeys.name]: world.app.name, [world.app.labelKeys.version]: version };
    const regionStarted = performance.now();
    await kubectl(['--kubeconfig', world.sandbox.kubeconfigPath, '--context', region.name, '-n', namespace, 'patch', 'svc', world.app.name, '-p', JSON.stringify({ spec: { selector } })]);
    const kubectlMs = performance.now() - regionStarted;
    const seen = await waitForVersion(region.target.sampler!, { routePath: world.app.healthPath, service: world.app.name, podPath: world.app.healthPath }, version, { consecutive: healthSamples, timeoutMs: 10_000 });
    if (!seen.converged) throw new Error(`baseline: ${region.name} did not converge on ${version}: ${seen.lastError}`);
    regions.push({ region: region.name, kubectlMs, dataPlaneMs: performance.now() - regionStarted });
  }
  return { totalMs: performance.now() - started, regions };
}

const hasKubectl = await kubectl(['version', '--client']).then(
  () => true,
  () => false,
);

try {
  await prepare(world, versions);
  const regionCount = world.env.regions.length;
  const waitedMs = proxySyncDelayMs * regionCount + bakeSeconds * 1000 * (regionCount - 1);
  const bot: BotRun[] = [];
  const baseline: BaselineRun[] = [];

  // Warm-up block (JIT, keep-alive connections, kubectl's discovery cache), not measured.
  await promote('v2');
  await promote('v1');
  if (hasKubectl) {
    await baselineSwitch('v2');
    await baselineSwitch('v1');
  }

  while (bot.length < n) {
    for (const version of ['v2', 'v1']) if (bot.length < n) bot.push(await promote(version));
    if (hasKubectl) for (const version of ['v2', 'v1']) if (baseline.length < n) baseline.push(await baselineSwitch(version));
  }

  const perRegion = (pick: (r: BotRun['regions'][number]) => number) =>
    Object.fromEntries(world.env.regions.map(({ name }) => [name, stats(bot.flatMap((run) => run.regions.filter((r) => r.region === name).map(pick)))]));
  const botFigures = {
    total_ms: stats(bot.map((r) => r.totalMs)),
    overhead_ms: stats(bot.map((r) => r.totalMs - waitedMs)),
    steps_ms: Object.fromEntries(['precheck', 'switch', 'verify'].map((kind) => [kind, stats(bot.map((r) => r.steps[kind] ?? 0))])),
    outside_steps_ms: stats(bot.map((r) => r.totalMs - Object.values(r.steps).reduce((a, b) => a + b, 0))),
    patch_ms: perRegion((r) => r.patchMs),
    endpoints_ms: perRegion((r) => r.endpointsMs),
    data_plane_ms: perRegion((r) => r.dataPlaneMs),
    kube_api_calls: stats(bot.map((r) => Object.values(r.apiCalls).reduce((a, b) => a + b, 0))),
    kube_api_calls_by_verb: Object.fromEntries([...new Set(bot.flatMap((r) => Object.keys(r.apiCalls)))].sort().map((verb) => [verb, stats(bot.map((r) => r.apiCalls[verb] ?? 0))])),
  };
  // Cutover's overhead, split so that the parts add up to it: the imposed proxy lag is taken off switch + verify.
  const breakdown = (run: BotRun): Record<string, number> => {
    const { observe, plan, steps: kinds, runner, final } = run.phases;
    const switchVerify = (kinds.switch ?? 0) + (kinds.verify ?? 0) - waitedMs;
    const other = Object.entries(kinds).filter(([kind]) => !['precheck', 'switch', 'verify'].includes(kind)).reduce((sum, [, ms]) => sum + ms, 0);
    return { observe, plan, prechecks: kinds.precheck ?? 0, switch_verify_beyond_lag: switchVerify, other_steps: other, runner_between_steps: runner, final_observation: final };
  };
  const overheadBreakdown = Object.fromEntries(Object.keys(breakdown(bot[0]!)).map((part) => [part, stats(bot.map((run) => breakdown(run)[part]!)).p50]));
  const baselineFigures = hasKubectl
    ? {
        total_ms: stats(baseline.map((r) => r.totalMs)),
        overhead_ms: stats(baseline.map((r) => r.totalMs - waitedMs)),
        kubectl_patch_ms: Object.fromEntries(world.env.regions.map(({ name }) => [name, stats(baseline.flatMap((run) => run.regions.filter((r) => r.region === name).map((r) => r.kubectlMs)))])),
        data_plane_ms: Object.fromEntries(world.env.regions.map(({ name }) => [name, stats(baseline.flatMap((run) => run.regions.filter((r) => r.region === name).map((r) => r.dataPlaneMs)))])),
      }
    : null;

  console.log(`${n} promotions alternating v1 <-> v2 across ${world.env.regions.map((r) => r.name).join(', ')}`);
  console.log(`sandbox: proxySyncDelayMs ${proxySyncDelayMs}, readyDelayMs ${readyDelayMs}; policy: bake ${bakeSeconds} s, ${healthSamples} consecutive live samples`);
  console.log(`bot overhead = total − proxySyncDelayMs × ${regionCount} regions − bake = total − ${waitedMs} ms`);
  console.log('');
  console.log('cutover (executeRelease: precheck, switch, verify per region)');
  for (const { name } of world.env.regions) {
    console.log(formatStats(`  ${name} selector patch round trip`, botFigures.patch_ms[name]!));
    console.log(formatStats(`  ${name} EndpointSlice convergence`, botFigures.endpoints_ms[name]!));
    console.log(formatStats(`  ${name} data-plane convergence`, botFigures.data_plane_ms[name]!));
  }
  console.log(formatStats('  total per promotion', botFigures.total_ms));
  console.log(formatStats('  bot overhead per promotion', botFigures.overhead_ms));
  for (const [kind, figures] of Object.entries(botFigures.steps_ms)) console.log(formatStats(`  ${kind} steps (both regions, incl. waits)`, figures));
  console.log(formatStats('  outside steps (observe, plan, report)', botFigures.outside_steps_ms));
  const byVerb = Object.entries(botFigures.kube_api_calls_by_verb).map(([verb, figures]) => `${verb} ${figures.p50}`);
  console.log(`  Kubernetes API requests per promotion (both regions): p50 ${botFigures.kube_api_calls.p50}, max ${botFigures.kube_api_calls.max} (p50 by verb: ${byVerb.join(', ')})`);
  let ratio: number | null = null;
  let overheadRatio: number | null = null;
  const breakdownText = Object.entries(overheadBreakdown).map(([part, ms]) => `${part} ${ms}`).join(', ');
  console.log(`  overhead_breakdown_ms p50 (sums to the overhead): ${breakdownText}`);
  if (baselineFigures) {
    console.log('');
    console.log('baseline (CI job: kubectl patch svc per region in turn, then poll ingress to convergence)');
    for (const { name } of world.env.regions) {
      console.log(formatStats(`  ${name} kubectl patch (process)`, baselineFigures.kubectl_patch_ms[name]!));
      console.log(formatStats(`  ${name} data-plane convergence`, baselineFigures.data_plane_ms[name]!));
    }
    console.log(formatStats('  total per switch', baselineFigures.total_ms));
    console.log(formatStats('  overhead per switch', baselineFigures.overhead_ms));
    ratio = Math.round((botFigures.total_ms.p50 / baselineFigures.total_ms.p50) * 100) / 100;
    overheadRatio = Math.round((botFigures.overhead_ms.p50 / baselineFigures.overhead_ms.p50) * 100) / 100;
    console.log('');
    console.log(`ratio cutover / baseline, total p50: ${ratio}  (cutover also prechecks and verifies EndpointSlices; the baseline does neither)`);
    console.log(`overhead_ratio (cutover total − ${waitedMs} ms imposed) ÷ (kubectl job total − the same), p50: ${overheadRatio}  (goal ≤ 0.2, stretch 0.1)`);
  } else {
    console.log('\nbaseline skipped: kubectl is not on PATH');
  }
  printResult({
    promotions: n,
    proxy_sync_delay_ms: proxySyncDelayMs,
    waited_ms: waitedMs,
    bot: botFigures,
    baseline: baselineFigures,
    ratio_total_p50: ratio,
    overhead_ratio: overheadRatio,
    overhead_breakdown_ms: overheadBreakdown,
  });
} finally {
  await world.stop();
}
