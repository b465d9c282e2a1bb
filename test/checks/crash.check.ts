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
 * One more kill point is not a worker's: the bot process (src/bot.ts, behind its own tripwire) is
 * SIGKILLed right after an approval's transition to approved (and into the outbox) reached Redis,
 * before it enqueued the job. Another bot process completes the outbox; the release runs once,
 * under its approval, which ends used.
 *
 * Last line: {"kill_points":N,"consistent":N,...}. Exits 1 when any kill point is inconsistent.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { ApprovalStore } from '../../src/queue/approvals.js';
import { approveActionId } from '../../src/slack/blocks.js';
import { createSlackDriver, startSlackStandIn, type SlackStandIn } from '../../src/sandbox/slack/index.js';
import type { KubeObject } from '../../src/sandbox/store.js';
import { readAudit } from '../../src/queue/audit.js';
import { enqueueRelease } from '../../src/queue/enqueue.js';
import { mustType } from '../../src/sandbox/resource-types.js';
import type { ReleaseResult } from '../../src/core/events.js';
import { readRunCursor } from '../../jobs/run-release-job.js';
import { isEvent, resultOf, root, waitFor, World, type WorkerProcess } from '../jobs/harness.js';
import { redisUrl } from '../queue/redis-fixture.js';
import { RedisTripwireProxy, Tripwires, type Tripwire } from '../jobs/redis-tripwire.js';
import { freePort } from '../../src/sandbox/free-port.js';

const cursorAt = (phase: 'forward' | 'compensation', completed: number): string => `"runCursor":{"phase":"${phase}","completed":${completed},`;
const stepEvent = (type: 'step-started' | 'step-finished', index: number, kind: string, region: string): string =>
  `{"type":"${type}","index":${index},"step":{"kind":"${kind}","region":"${region}"`;

// The plan of every promotion: 0 precheck eu-west, 1 precheck us-east (both side by side, one
// cursor save), 2 switch eu-west, 3 verify eu-west, 4 bake eu-west, 5 switch us-east, 6 verify us-east.
interface KillPoint {
  label: string;
  /** Absent: no worker is killed (the cases below the kills). */
  wire?: Tripwire;
  /** us-east's v2 pods are scaled to 0 after the bake, so its verify fails and the runner compensates. */
  failUsEast?: boolean;
  /**
   * kill (default): SIGKILL at the wire. pause: SIGSTOP right after the us-east switch passed its
   * lease check; another worker finishes, a rollback follows, then SIGCONT: the old write must be
   * refused. outside: an operator switches eu-west back to v1 by hand during the bake. approval:
   * the bot is killed between an approval's transition and its enqueue.
   */
  kind?: 'kill' | 'pause' | 'outside' | 'approval';
  expect: 'succeeded' | 'rolled-back' | 'stopped';
  /**
   * 'started' audit entries expected: by default at least 2 (the victim's run and the one that took
   * over). 1 where the victim had reported its end: the run that takes over completes the job with
   * that result and does no work, so it audits nothing (issue 20, "finished twice").
   */
  auditedRuns?: 1;
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
    auditedRuns: 1,
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
  { label: 'worker paused (SIGSTOP) past its lease TTL right before the us-east switch, woken after a takeover and a rollback', kind: 'pause', expect: 'succeeded' },
  { label: 'operator switches eu-west back to v1 by hand during the bake', kind: 'outside', expect: 'stopped' },
  { label: 'bot killed after an approval was recorded (approved, in the outbox), before it enqueued the job', kind: 'approval', expect: 'succeeded' },
];

const only = process.env.CRASH_POINTS ? process.env.CRASH_POINTS.split(',').map(Number) : null;
const selected = killPoints.map((point, index) => ({ point, number: index + 1, app: `shop${index + 1}` })).filter((p) => !only || only.includes(p.number));

const deployments = mustType('deployments');
const services = mustType('services');
const pods = mustType('pods');
const started = performance.now();
const BOB = 'U00000BOB';
const ALICE = 'U0000ALICE';
const SIGNING_SECRET = 'crash-check-signing-secret';
// The approval kill point releases to "batch", which gates promote behind one approval by bob.
const gatedEnvironment = 'batch';
const world = new World({
  apps: Object.fromEntries(selected.map((s) => [s.app, s.point.kind === 'approval' ? { environments: [gatedEnvironment] } : {}])),
  batch: { protected: true, slack: { approvals: { approvers: { users: [BOB] }, requesters: { users: [ALICE] } } } },
  policy: { bakeSeconds: 1.5, verifyTimeoutSeconds: 2, healthSamples: 3, lockTtlSeconds: 5 },
  worker: { concurrency: 2, lockDurationMs: 1500, stalledIntervalMs: 500 },
});
const wires = new Tripwires();
const proxies: RedisTripwireProxy[] = [];

function spawnProxiedWorker(): Promise<WorkerProcess> {
  return world.spawnProxiedWorker(wires, proxies);
}

async function ready(worker: WorkerProcess): Promise<void> {
  await waitFor(() => worker.lines.some((l) => l.msg === 'worker ready'), `worker ${worker.child.pid} to be ready:\n${worker.output.join('\n')}`, 30_000);
}

/** The live version of every region, straight from its store. */
function liveVersions(app: string, namespace = 'production'): Record<string, string> {
  return Object.fromEntries(
    world.sandbox.regions.map((r) => {
      const selector = (r.store.get(services, namespace, app)?.spec as { selector?: Record<string, string> } | undefined)?.selector;
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
  if (entry.point.kind === 'pause') return runPausedWorker(entry);
  if (entry.point.kind === 'outside') return runOutsideChange(entry);
  if (entry.point.kind === 'approval') return runApprovalKill(entry);
  const { point, number, app } = entry;
  const jobId = `crash-${number}`;
  const t0 = performance.now();
  if (!point.wire) throw new Error(`kill point ${number} has no wire`);
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
  const finalAudits = audit.filter((e) => finalKinds.has(e.kind)).length;
  const runs = audit.filter((e) => e.kind === 'started').length;
  if (finishedEvents !== 1) problems.push(`${finishedEvents} 'finished' progress events`);
  if (summaries.length !== 1) problems.push(`${summaries.length} summary lines in the workers' logs`);
  else if (result && point.expect === 'rolled-back' && !String(summaries[0]!.msg).includes('rolled back')) problems.push(`summary does not say rolled back: ${String(summaries[0]!.msg)}`);
  if (finalAudits !== 1) problems.push(`${finalAudits} final audit entries`);
  if (point.auditedRuns === 1) {
    if (runs !== 1) problems.push(`${runs} runs audited: the run that took over a reported job did work again`);
  } else if (runs < 2) problems.push(`only ${runs} run(s) audited: the job was not taken over`);
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

const finalKinds = new Set(['succeeded', 'rolled-back', 'failed', 'stopped', 'superseded']);

/** The release went out once: one 'finished' event, one summary line, one final audit entry. */
async function reportedOnce(jobId: string, app: string, problems: string[]): Promise<{ finishedEvents: number; summaryLines: number; finalAudits: number; runs: number }> {
  await new Promise((resolve) => setTimeout(resolve, 300));
  const finishedEvents = world.eventsOf(jobId).filter((e) => isEvent(e.data, 'finished')).length;
  const summaryLines = world.workers.flatMap((w) => w.lines).filter((l) => l.job === jobId && l.event === 'finished').length;
  const audit = (await readAudit(world.redis, world.prefix, { count: 100, app })).filter((e) => e.requestId === jobId);
  const finalAudits = audit.filter((e) => finalKinds.has(e.kind)).length;
  if (finishedEvents !== 1) problems.push(`${finishedEvents} 'finished' progress events`);
  if (summaryLines !== 1) problems.push(`${summaryLines} summary lines in the workers' logs`);
  if (finalAudits !== 1) problems.push(`${finalAudits} final audit entries`);
  return { finishedEvents, summaryLines, finalAudits, runs: audit.filter((e) => e.kind === 'started').length };
}

function verdictOf(entry: (typeof selected)[number], t0: number, problems: string[], outcome: string, liveAtKill: Record<string, string>, reports: Awaited<ReturnType<typeof reportedOnce>>): Verdict {
  return {
    number: entry.number,
    label: entry.point.label,
    consistent: problems.length === 0,
    problems,
    outcome,
    live: liveVersions(entry.app),
    cursorAtKill: 'not killed',
    liveAtKill,
    ...reports,
    seconds: Math.round((performance.now() - t0) / 100) / 10,
  };
}

/**
 * SIGSTOP the worker running the promotion right after its us-east switch passed the lease check
 * (the step-started event is held at the proxy), let the lease expire, let another worker finish
 * the job and a rollback put both regions back on v1, then SIGCONT it: the Service now carries a
 * newer fencing token, so its write is refused and nothing flips back to v2.
 */
async function runPausedWorker(entry: (typeof selected)[number]): Promise<Verdict> {
  const { number, app } = entry;
  const jobId = `crash-${number}`;
  const rollbackId = `${jobId}-rollback`;
  const t0 = performance.now();
  const problems: string[] = [];
  let liveAtPause: Record<string, string> = {};
  let afterRollback: string | undefined;
  const holdsBefore = wires.trips.filter((t) => t.action === 'hold').length;
  wires.arm({
    match: stepEvent('step-started', 5, 'switch', 'us-east'),
    action: 'hold',
    whileHeld: async () => {
      const victim = world.workers.find((w) => w.lines.some((l) => l.job === jobId));
      if (!victim) throw new Error('no worker runs the job');
      victim.child.kill('SIGSTOP');
      liveAtPause = liveVersions(app);
      try {
        const finished = await resultOf(world.queue, jobId, 45_000);
        if (finished.outcome !== 'succeeded') problems.push(`the job resumed by another worker ended ${finished.outcome}`);
        await enqueueRelease(world.queue, 'rollback', { requestId: rollbackId, app, environment: 'production', requestedBy: 'U0ONCALL', source: 'cli' });
        const rollback = await resultOf(world.queue, rollbackId, 45_000);
        if (rollback.outcome !== 'succeeded') problems.push(`the rollback after the takeover ended ${rollback.outcome}`);
        afterRollback = serviceVersion(app, 'us-east');
      } finally {
        victim.child.kill('SIGCONT');
      }
    },
  });
  await enqueueRelease(world.queue, 'promote', { requestId: jobId, app, environment: 'production', version: 'v2', requestedBy: 'U0CRASH', source: 'cli' });
  await waitFor(() => wires.trips.filter((t) => t.action === 'hold').length > holdsBefore, 'the paused worker to be let go', 120_000);
  // The woken worker tries its us-east switch now; give it the time to.
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const live = liveVersions(app);
  if (Object.values(live).some((v) => v !== 'v1')) problems.push(`live ${JSON.stringify(live)} after the woken worker ran: expected v1 everywhere`);
  if (serviceVersion(app, 'us-east') !== afterRollback) problems.push(`us-east's live Service was written after the rollback (resourceVersion ${afterRollback} → ${serviceVersion(app, 'us-east')})`);
  const reports = await reportedOnce(jobId, app, problems);
  const result = await resultOf(world.queue, jobId, 1_000).catch(() => null);
  return verdictOf(entry, t0, problems, result?.outcome ?? 'none', liveAtPause, reports);
}

/** The us-east live Service's resourceVersion and selector, as a fingerprint of "written or not". */
function serviceVersion(app: string, region: string): string {
  const service = world.sandbox.regions.find((r) => r.name === region)!.store.get(services, 'production', app);
  const selector = (service?.spec as { selector?: Record<string, string> } | undefined)?.selector;
  return `${service?.metadata.resourceVersion}:${selector?.['app.kubernetes.io/version']}`;
}

/** An operator switches eu-west back to v1 by hand while it bakes: the job stops, us-east is never touched. */
async function runOutsideChange(entry: (typeof selected)[number]): Promise<Verdict> {
  const { number, app } = entry;
  const jobId = `crash-${number}`;
  const t0 = performance.now();
  const problems: string[] = [];
  await enqueueRelease(world.queue, 'promote', { requestId: jobId, app, environment: 'production', version: 'v2', requestedBy: 'U0CRASH', source: 'cli' });
  await waitFor(() => world.eventsOf(jobId).some((e) => isEvent(e.data, 'step-started') && e.data.step.kind === 'bake'), 'the bake to begin', 45_000);
  const liveAtChange = liveVersions(app);
  const euWest = world.sandbox.regions.find((r) => r.name === 'eu-west')!;
  const service = euWest.store.get(services, 'production', app)!;
  const spec = service.spec as { selector: Record<string, string> };
  euWest.store.update(services, { ...service, spec: { ...spec, selector: { ...spec.selector, 'app.kubernetes.io/version': 'v1' } } });
  const result = await resultOf(world.queue, jobId, 45_000).catch((error: unknown) => {
    problems.push(error instanceof Error ? error.message : String(error));
    return null;
  });
  if (result && result.outcome !== 'stopped') problems.push(`stored result says ${result.outcome}, expected stopped: ${result.reasons.join('; ')}`);
  if (result && !result.reasons.some((r) => r.startsWith('eu-west was changed outside this release: live is v1'))) problems.push(`the reasons do not say what changed: ${result?.reasons.join('; ')}`);
  const live = liveVersions(app);
  if (Object.values(live).some((v) => v !== 'v1')) problems.push(`live ${JSON.stringify(live)}: expected v1 everywhere (us-east untouched)`);
  if (world.eventsOf(jobId).some((e) => isEvent(e.data, 'step-started') && e.data.step.kind === 'switch' && e.data.step.region === 'us-east')) problems.push('us-east was switched after the outside change');
  const reports = await reportedOnce(jobId, app, problems);
  return verdictOf(entry, t0, problems, result?.outcome ?? 'none', liveAtChange, reports);
}

/** A bot process (Procfile web) on the Slack stand-in, its Redis traffic through `redisUrl`. */
interface BotProcess {
  child: ChildProcess;
  output: string[];
  port: Promise<number>;
  exited: Promise<number | null>;
}

async function spawnBot(standIn: SlackStandIn, redis: string): Promise<BotProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/bot.ts'], {
    cwd: root,
    env: { ...process.env, CUTOVER_CONFIG: world.configPath, REDIS_URL: redis, PORT: String(await freePort()), SLACK_BOT_TOKEN: standIn.botToken, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: standIn.apiUrl, SLACK_APP_TOKEN: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const port = new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output.push(chunk.toString());
      const found = /"port":(\d+)/.exec(output.join(''));
      if (found) resolve(Number(found[1]));
    });
    child.once('exit', () => reject(new Error(`the bot exited before it listened:\n${output.join('')}`)));
  });
  port.catch(() => undefined);
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  return { child, output, port, exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
}

/**
 * Alice asks to promote v2 in the gated environment through a bot process; the tripwire kills that
 * bot right after the compare-and-set that made the approval 'approved' (and put it in the outbox)
 * ran in Redis, before the enqueue. A second bot process starts: its outbox sweep enqueues the job
 * under the approval id; a worker verifies the approval and runs it, once.
 */
async function runApprovalKill(entry: (typeof selected)[number]): Promise<Verdict> {
  const { app } = entry;
  const t0 = performance.now();
  const problems: string[] = [];
  const standIn = await startSlackStandIn();
  const proxy = await RedisTripwireProxy.start(new URL(redisUrl), wires);
  proxies.push(proxy);
  const first = await spawnBot(standIn, proxy.url);
  proxy.pid = first.child.pid;
  let second: BotProcess | undefined;
  const store = new ApprovalStore(world.redis, world.prefix);
  try {
    const driver = createSlackDriver({ standIn, botUrl: `http://127.0.0.1:${await first.port}/slack/events`, signingSecret: SIGNING_SECRET });
    await driver.slashCommand(ALICE, `promote ${app} v2 --env ${gatedEnvironment}`);
    const request = await standIn.waitFor((s) => s.messages().find((m) => !m.thread_ts && m.text?.startsWith('Approval needed')), 20_000);
    const ref = { channel: request.channel, ts: request.ts };
    await waitFor(async () => (await store.byMessage(ref)) !== null, 'the stored approval request', 10_000);
    const kills = wires.trips.filter((t) => t.action !== 'hold').length;
    // The CAS script's arguments: the state before and the state after.
    wires.arm({ match: '$7\r\npending\r\n$8\r\napproved\r\n', action: 'kill-after-reply' });
    await driver.pressButton(BOB, ref, approveActionId);
    const trip = await wires.killed(kills + 1, 20_000);
    wires.disarm();
    if (trip.pid !== first.child.pid) problems.push(`the tripwire killed pid ${trip.pid}, not the bot`);
    await first.exited;
    const record = (await store.byMessage(ref))!;
    const id = record.request.id;
    const liveAtKill = liveVersions(app, gatedEnvironment);
    if (record.request.state !== 'approved') problems.push(`the approval is ${record.request.state} at the kill, expected approved`);
    if (!(await store.isIndexed(id, 'outbox'))) problems.push('the approval is not in the outbox at the kill');
    if (await world.queue.getJob(id)) problems.push('the job was already queued at the kill: the kill did not land between the transition and the enqueue');

    second = await spawnBot(standIn, redisUrl);
    await second.port;
    let result: ReleaseResult | null = null;
    try {
      result = await resultOf(world.queue, id, 45_000);
    } catch (error) {
      problems.push(error instanceof Error ? error.message : String(error));
    }
    if (result && result.outcome !== 'succeeded') problems.push(`the approved release ended ${result.outcome}: ${result.reasons.join('; ')}`);
    const live = liveVersions(app, gatedEnvironment);
    if (Object.values(live).some((v) => v !== 'v2')) problems.push(`live ${JSON.stringify(live)}, expected v2 everywhere`);
    const after = (await store.get(id))!.request;
    if (after.state !== 'used') problems.push(`the approval ended ${after.state}, expected used`);
    const jobs = (await world.queue.getJobs(['completed', 'failed', 'active', 'waiting', 'delayed', 'prioritized'])).filter((j) => (j.data as { app?: string }).app === app);
    if (jobs.length !== 1) problems.push(`${jobs.length} jobs for ${app}, expected exactly one`);
    const reports = await reportedOnce(id, app, problems);
    if (reports.runs !== 1) problems.push(`${reports.runs} runs audited, expected one`);
    return { ...verdictOf(entry, t0, problems, result?.outcome ?? 'none', liveAtKill, reports), live, cursorAtKill: 'bot killed after approved, before enqueue' };
  } finally {
    for (const bot of [first, second]) if (bot && bot.child.exitCode === null && bot.child.signalCode === null) bot.child.kill('SIGKILL');
    await Promise.all([first.exited, second?.exited]);
    await standIn.close();
  }
}

const verdicts: Verdict[] = [];
let exitCode = 0;
try {
  await world.start();
  const preparing = [...selected];
  await Promise.all(
    Array.from({ length: 3 }, async () => {
      for (let next = preparing.shift(); next; next = preparing.shift()) await world.prepare(next.app, { install: ['v2'] }, next.point.kind === 'approval' ? gatedEnvironment : 'production');
    }),
  );
  const workers = await Promise.all([spawnProxiedWorker(), spawnProxiedWorker()]);
  await Promise.all(workers.map(ready));
  console.log(`prepared ${selected.length} apps (v1 live, v2 installed in eu-west and us-east) in ${((performance.now() - started) / 1000).toFixed(1)} s; 2 workers ready`);
  for (const entry of selected) {
    const verdict = await runKillPoint(entry, wires.trips.filter((t) => t.action !== 'hold').length);
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
