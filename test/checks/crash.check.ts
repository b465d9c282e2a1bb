/**
 * `npm run check:crash`: the crash matrix. A two-region promotion (eu-west then us-east, a bake
 * between them) runs on real worker processes; the worker running it is SIGKILLed at one step
 * boundary, and another worker, already running, takes the job over once BullMQ sees it stalled.
 *
 * Each worker reaches Redis through its own tripwire proxy (test/jobs/redis-tripwire.ts): every
 * step boundary is a Redis command (the saved cursor, a progress event, the report-once marker),
 * so the kill lands exactly at the named point, on every run. One app per kill point, so each
 * promotion starts from v1 live with v2 installed in both regions.
 *
 * For every kill point: both regions end on one version (read from the regions' stores), the
 * version the stored result claims (v2 when succeeded, v1 when rolled back); the final result
 * went out exactly once (one 'finished' progress event, one summary line in the workers' logs,
 * one final audit entry); the stored result says what happened.
 *
 * Last line: {"kill_points":N,"consistent":N,...}. Exits 1 when any kill point is inconsistent.
 */
import type { KubeObject } from '../../src/sandbox/store.js';
import { readAudit } from '../../src/queue/audit.js';
import { enqueueRelease } from '../../src/queue/enqueue.js';
import { mustType } from '../../src/sandbox/resource-types.js';
import type { ReleaseResult } from '../../src/core/events.js';
import { readRunCursor } from '../../jobs/run-release-job.js';
import { isEvent, resultOf, waitFor, World, type WorkerProcess } from '../jobs/harness.js';
import { redisUrl } from '../queue/redis-fixture.js';
import { RedisTripwireProxy, Tripwires, type Tripwire } from '../jobs/redis-tripwire.js';

const cursorAt = (phase: 'forward' | 'compensation', completed: number): string => `"runCursor":{"phase":"${phase}","completed":${completed},`;
const stepEvent = (type: 'step-started' | 'step-finished', index: number, kind: string, region: string): string =>
  `{"type":"${type}","index":${index},"step":{"kind":"${kind}","region":"${region}"`;

// The plan of every promotion: 0 precheck eu-west, 1 precheck us-east (both side by side, one
// cursor save), 2 switch eu-west, 3 verify eu-west, 4 bake eu-west, 5 switch us-east, 6 verify us-east.
interface KillPoint {
  label: string;
  wire: Tripwire;
  /** us-east's v2 pods are scaled to 0 after the bake, so its verify fails and the runner compensates. */
  failUsEast?: boolean;
  expect: 'succeeded' | 'rolled-back';
}

const killPoints: KillPoint[] = [
  { label: 'after both prechecks (cursor saved, no switch begun)', wire: { match: cursorAt('forward', 2), action: 'kill-after-reply' }, expect: 'succeeded' },
  {
    label: 'eu-west selector patched, before the switch is recorded or verified',
    wire: { match: stepEvent('step-finished', 2, 'switch', 'eu-west'), action: 'kill-before' },
    expect: 'succeeded',
  },
  { label: 'eu-west switch recorded, before its verify', wire: { match: cursorAt('forward', 3), action: 'kill-after-reply' }, expect: 'succeeded' },
  { label: 'after eu-west verify (cursor saved, bake not begun)', wire: { match: cursorAt('forward', 4), action: 'kill-after-reply' }, expect: 'succeeded' },
  { label: 'during the bake (0.7 s into 1.5 s)', wire: { match: stepEvent('step-started', 4, 'bake', 'eu-west'), action: 'kill-later', delayMs: 700 }, expect: 'succeeded' },
  { label: 'after the bake (cursor saved, us-east switch not begun)', wire: { match: cursorAt('forward', 5), action: 'kill-after-reply' }, expect: 'succeeded' },
  {
    label: 'us-east selector patched, before the switch is recorded or verified',
    wire: { match: stepEvent('step-finished', 5, 'switch', 'us-east'), action: 'kill-before' },
    expect: 'succeeded',
  },
  { label: 'us-east switch recorded, before its verify', wire: { match: cursorAt('forward', 6), action: 'kill-after-reply' }, expect: 'succeeded' },
  { label: 'after us-east verify, before the final report', wire: { match: cursorAt('forward', 7), action: 'kill-after-reply' }, expect: 'succeeded' },
  { label: 'final report begun (marker "reporting" and audit entry written), nothing delivered', wire: { match: ':reported:', action: 'kill-after-reply' }, expect: 'succeeded' },
  {
    label: 'final report delivered (marker "reported"), job not completed',
    wire: { match: '$8\r\nreported\r\n', action: 'kill-after-reply' },
    expect: 'succeeded',
  },
  {
    label: 'us-east verify failed: compensation begun, before its first step',
    wire: { match: cursorAt('compensation', 0), action: 'kill-after-reply' },
    failUsEast: true,
    expect: 'rolled-back',
  },
  {
    label: 'us-east verify failed: during the compensation, after its first step (us-east switched back)',
    wire: { match: cursorAt('compensation', 1), action: 'kill-after-reply' },
    failUsEast: true,
    expect: 'rolled-back',
  },
];

const only = process.env.CRASH_POINTS ? process.env.CRASH_POINTS.split(',').map(Number) : null;
const selected = killPoints.map((point, index) => ({ point, number: index + 1, app: `shop${index + 1}` })).filter((p) => !only || only.includes(p.number));

const deployments = mustType('deployments');
const services = mustType('services');
const pods = mustType('pods');
const started = performance.now();
const world = new World({
  apps: Object.fromEntries(selected.map((s) => [s.app, {}])),
  policy: { bakeSeconds: 1.5, verifyTimeoutSeconds: 2, healthSamples: 3 },
  worker: { concurrency: 2, lockDurationMs: 1500, stalledIntervalMs: 500 },
});
const wires = new Tripwires();
const proxies: RedisTripwireProxy[] = [];

async function spawnProxiedWorker(): Promise<WorkerProcess> {
  const proxy = await RedisTripwireProxy.start(new URL(redisUrl), wires);
  proxies.push(proxy);
  const worker = world.spawnWorker({ REDIS_URL: proxy.url });
  proxy.pid = worker.child.pid;
  return worker;
}

async function ready(worker: WorkerProcess): Promise<void> {
  await waitFor(() => worker.lines.some((l) => l.msg === 'worker ready'), `worker ${worker.child.pid} to be ready:\n${worker.output.join('\n')}`, 30_000);
}

/** The live version of every region, straight from its store. */
function liveVersions(app: string): Record<string, string> {
  return Object.fromEntries(
    world.sandbox.regions.map((r) => {
      const selector = (r.store.get(services, 'production', app)?.spec as { selector?: Record<string, string> } | undefined)?.selector;
      return [r.name, selector?.['app.kubernetes.io/version'] ?? '(none)'];
    }),
  );
}

/** Scale us-east's v2 to 0 and wait until none of its pods is ready any more (the worker waits meanwhile). */
async function scaleUsEastToZero(app: string): Promise<void> {
  const region = world.sandbox.regions.find((r) => r.name === 'us-east')!;
  const deployment = region.store.get(deployments, 'production', `${app}-v2`)!;
  region.store.update(deployments, { ...deployment, spec: { ...(deployment.spec as object), replicas: 0 } });
  const isReadyV2 = (pod: KubeObject): boolean => {
    const labels = pod.metadata.labels ?? {};
    if (labels['app.kubernetes.io/name'] !== app || labels['app.kubernetes.io/version'] !== 'v2' || pod.metadata.deletionTimestamp) return false;
    const conditions = (pod.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? [];
    return conditions.some((c) => c.type === 'Ready' && c.status === 'True');
  };
  await waitFor(() => !region.store.list(pods, 'production').some(isReadyV2), `${app}-v2 pods in us-east to stop being ready`, 5_000);
  // Past the ingress proxy's sync lag, so no live sample can still reach a v2 pod.
  await new Promise((resolve) => setTimeout(resolve, 150));
}

interface Verdict {
  number: number;
  label: string;
  consistent: boolean;
  problems: string[];
  outcome: string;
  live: Record<string, string>;
  cursorAtKill: string;
  liveAtKill: Record<string, string>;
  finishedEvents: number;
  summaryLines: number;
  finalAudits: number;
  runs: number;
  seconds: number;
}

async function runKillPoint(entry: (typeof selected)[number], killsSoFar: number): Promise<Verdict> {
  const { point, number, app } = entry;
  const jobId = `crash-${number}`;
  const t0 = performance.now();
  if (point.failUsEast) wires.arm({ match: cursorAt('forward', 5), action: 'hold', whileHeld: () => scaleUsEastToZero(app) });
  wires.arm(point.wire);
  await enqueueRelease(world.queue, 'promote', { requestId: jobId, app, environment: 'production', version: 'v2', requestedBy: 'U0CRASH', source: 'cli' });
  const trip = await wires.killed(killsSoFar + 1, 45_000);
  wires.disarm();
  const victim = world.workers.find((w) => w.child.pid === trip.pid);
  await victim?.exited;
  const job = await world.queue.getJob(jobId);
  const cursor = readRunCursor(job?.data);
  const liveAtKill = liveVersions(app);
  const cursorAtKill = cursor ? `${cursor.phase} ${cursor.completed}/${cursor.phase === 'forward' ? cursor.forwardSteps.length : cursor.compensationSteps.length}` : 'none';
  // A fresh standby for the next kill point; it starts while the survivor finishes this job.
  const standby = spawnProxiedWorker();

  const problems: string[] = [];
  let result: ReleaseResult | null = null;
  try {
    result = await resultOf(world.queue, jobId, 45_000);
  } catch (error) {
    problems.push(error instanceof Error ? error.message : String(error));
  }
  // Let the last progress events and log lines arrive.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const live = liveVersions(app);
  const versions = new Set(Object.values(live));
  if (versions.size !== 1) problems.push(`regions split: ${JSON.stringify(live)}`);
  const expectedLive = point.expect === 'succeeded' ? 'v2' : 'v1';
  if (result && result.outcome !== point.expect) problems.push(`stored result says ${result.outcome}, expected ${point.expect}: ${result.reasons.join('; ')}`);
  if (Object.values(live).some((v) => v !== expectedLive)) problems.push(`live ${JSON.stringify(live)}, expected ${expectedLive} everywhere`);
  if (result) {
    if (result.split) problems.push('result claims a split');
    if (result.outcome === 'succeeded' && !result.regions.every((r) => r.outcome === 'switched')) {
      problems.push(`regions not all switched in the result: ${result.regions.map((r) => `${r.region}=${r.outcome}`).join(', ')}`);
    }
    if (result.outcome === 'rolled-back') {
      const c = result.compensation;
      if (!c?.ran || c.failed.length > 0 || [...c.restored].sort().join() !== 'eu-west,us-east') problems.push(`compensation details: ${JSON.stringify(c)}`);
      if (!result.reasons.some((r) => r.startsWith('us-east'))) problems.push(`no us-east failure in the reasons: ${result.reasons.join('; ')}`);
    }
  }
  const finishedEvents = world.eventsOf(jobId).filter((e) => isEvent(e.data, 'finished')).length;
  const summaries = world.workers.flatMap((w) => w.lines).filter((l) => l.job === jobId && l.event === 'finished');
  const audit = (await readAudit(world.redis, world.prefix, { count: 100, app })).filter((e) => e.requestId === jobId);
  const finalAudits = audit.filter((e) => e.kind === 'succeeded' || e.kind === 'rolled-back' || e.kind === 'failed').length;
  const runs = audit.filter((e) => e.kind === 'started').length;
  if (finishedEvents !== 1) problems.push(`${finishedEvents} 'finished' progress events`);
  if (summaries.length !== 1) problems.push(`${summaries.length} summary lines in the workers' logs`);
  else if (result && point.expect === 'rolled-back' && !String(summaries[0]!.msg).includes('rolled back')) problems.push(`summary does not say rolled back: ${String(summaries[0]!.msg)}`);
  if (finalAudits !== 1) problems.push(`${finalAudits} final audit entries`);
  if (runs < 2) problems.push(`only ${runs} run(s) audited: the job was not taken over`);
  const survivors = world.workersThatRan(jobId).filter((w) => w !== victim);
  if (survivors.length === 0) problems.push('no other worker ran the job');

  await ready(await standby);
  return {
    number,
    label: point.label,
    consistent: problems.length === 0,
    problems,
    outcome: result?.outcome ?? 'none',
    live,
    cursorAtKill,
    liveAtKill,
    finishedEvents,
    summaryLines: summaries.length,
    finalAudits,
    runs,
    seconds: Math.round((performance.now() - t0) / 100) / 10,
  };
}

const verdicts: Verdict[] = [];
let exitCode = 0;
try {
  await world.start();
  const preparing = [...selected];
  await Promise.all(
    Array.from({ length: 3 }, async () => {
      for (let next = preparing.shift(); next; next = preparing.shift()) await world.prepare(next.app, { install: ['v2'] });
    }),
  );
  const workers = await Promise.all([spawnProxiedWorker(), spawnProxiedWorker()]);
  await Promise.all(workers.map(ready));
  console.log(`prepared ${selected.length} apps (v1 live, v2 installed in eu-west and us-east) in ${((performance.now() - started) / 1000).toFixed(1)} s; 2 workers ready`);
  for (const entry of selected) {
    const verdict = await runKillPoint(entry, verdicts.length);
    verdicts.push(verdict);
    const show = (versions: Record<string, string>): string => Object.entries(versions).map(([r, v]) => `${r}=${v}`).join(' ');
    const live = show(verdict.live);
    console.log(
      `#${verdict.number} ${verdict.label}: killed with cursor ${verdict.cursorAtKill}, live ${show(verdict.liveAtKill)}; ${verdict.outcome}, then live ${live}; finished events ${verdict.finishedEvents}, summary lines ${verdict.summaryLines}, final audits ${verdict.finalAudits}, runs ${verdict.runs} (${verdict.seconds} s) → ${verdict.consistent ? 'consistent' : `INCONSISTENT: ${verdict.problems.join('; ')}`}`,
    );
  }
  if (verdicts.some((v) => !v.consistent)) exitCode = 1;
} catch (error) {
  console.error(error);
  exitCode = 2;
} finally {
  await world.stop().catch(() => undefined);
  await Promise.all(proxies.map((p) => p.close().catch(() => undefined)));
}
const outcomes: Record<string, number> = {};
for (const v of verdicts) outcomes[v.outcome] = (outcomes[v.outcome] ?? 0) + 1;
console.log(
  JSON.stringify({
    kill_points: verdicts.length,
    consistent: verdicts.filter((v) => v.consistent).length,
    outcomes,
    inconsistent: verdicts.filter((v) => !v.consistent).map((v) => ({ point: v.number, label: v.label, problems: v.problems })),
    seconds: Math.round((performance.now() - started) / 1000),
  }),
);
process.exit(exitCode);
