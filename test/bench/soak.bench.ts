/**
 * `npm run bench:soak`: the memory budget of the two processes, measured. Starts the built web
 * process (`node dist/src/bot.js`, HTTP receiver, signed requests) and one worker
 * (`node dist/jobs/worker.js`) at the concurrency of deploy/configmap.yaml, each with the
 * NODE_OPTIONS of its deploy/ manifest, against two sandbox regions, real Redis and the Slack
 * stand-in (its own process). Phases: idle (baseline), steady (signed /release commands at
 * SOAK_RATE per second), burst (SOAK_BURST_RATE per second for SOAK_BURST_SECONDS), steady again;
 * during all but idle the worker runs promotions back to back (2 per unit of concurrency queued),
 * and the command mix makes the web process read both clusters (status, dry runs), read the audit
 * (history) and post approval requests. RSS is sampled from /proc/<pid>/status (and the kernel's
 * peak, VmHWM), the V8 heap from each process's /metrics. Prints each process's peak RSS as a
 * fraction of its deploy/ memory limit (goal ≤ 0.75), then the figures as JSON on the last line.
 * Exit code 1 when a process died, a goal was missed or a command was not acknowledged.
 *
 * Env: SOAK_SECONDS (90, load phases; plus 10 s idle before and 10 s after), SOAK_RATE (5),
 * SOAK_BURST_RATE (50), SOAK_BURST_SECONDS (10), SOAK_CONCURRENCY (deploy/configmap.yaml's worker.concurrency),
 * SOAK_APPS (apps the worker promotes: 3 per unit of concurrency).
 */
import http from 'node:http';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { V1ConfigMap } from '@kubernetes/client-node';
import { parseConfig } from '../../src/config/index.js';
import { enqueueRelease } from '../../src/queue/enqueue.js';
import { slackSignatureHeaders } from '../../src/sandbox/slack/index.js';
import { World } from '../jobs/harness.js';
import { redisUrl } from '../queue/redis-fixture.js';
import { ALICE, CHANNEL, SIGNING_SECRET } from '../slack/harness.js';
import { readManifests } from '../support/apply-manifests.js';
import { processBudget, repoRoot } from '../support/memory-budget.js';
import { stats } from './bench-support.js';
import { freePort } from '../../src/sandbox/free-port.js';
import { cpuSecondsOf, logLine, MemorySampler, round1, startProduct, type ProductProcess } from './soak-processes.js';

const GOAL = 0.75;
const idleSeconds = 10;
const drainSeconds = 10;
const loadSeconds = Number(process.env.SOAK_SECONDS ?? 90);
const rate = Number(process.env.SOAK_RATE ?? 5);
const burstRate = Number(process.env.SOAK_BURST_RATE ?? 50);
const burstSeconds = Math.min(loadSeconds, Number(process.env.SOAK_BURST_SECONDS ?? 10));
const deployedConfig = (await readManifests(`${repoRoot}deploy/configmap.yaml`)).find((o) => o.kind === 'ConfigMap') as V1ConfigMap;
const deployedConcurrency = parseConfig(deployedConfig.data!['cutover.yaml']!, {}, 'deploy/configmap.yaml').worker.concurrency;
const concurrency = Number(process.env.SOAK_CONCURRENCY ?? deployedConcurrency);
const appCount = Number(process.env.SOAK_APPS ?? Math.max(6, concurrency * 3));
const texts = ['status shop --env production', 'promote shop v2 --env production --dry-run', 'help', 'history shop', 'promote shop v2 --env production', 'promot shop v2'];
const budgets = { web: await processBudget('web'), worker: await processBudget('worker') };

const jobApps = Array.from({ length: appCount }, (_, i) => `job-${String(i).padStart(3, '0')}`);
const world = new World({
  sandbox: { readyDelayMs: 50, proxySyncDelayMs: 50 },
  apps: { shop: { environments: ['production'], channels: [CHANNEL] }, ...Object.fromEntries(jobApps.map((name) => [name, { environments: ['batch'] }])) },
  policy: { bakeSeconds: 0, healthSamples: 3, verifyTimeoutSeconds: 20, readyTimeoutSeconds: 60 },
  batch: {},
  production: { protected: true, slack: { approvals: { required: 1, approvers: { usergroups: ['S0APPROVERS'] }, requesters: { users: [ALICE] } } } },
  worker: { concurrency, metricsPort: 0 },
});

// The Slack stand-in in its own process (as in bench:ack): the web process's replies load it, not this one.
const slack = spawn(process.execPath, ['--import', 'tsx', new URL('./ack-slack-child.ts', import.meta.url).pathname], { stdio: ['pipe', 'pipe', 'inherit'] });
// Its lines are queued as they come: one may arrive while the sandbox is still being set up.
const slackLines: string[] = [];
const slackWaiters: ((line: string) => void)[] = [];
createInterface({ input: slack.stdout }).on('line', (line) => (slackWaiters.length > 0 ? slackWaiters.shift()!(line) : slackLines.push(line)));
const nextSlackLine = async <T>(): Promise<T> => JSON.parse(slackLines.length > 0 ? slackLines.shift()! : await new Promise<string>((resolve) => slackWaiters.push(resolve))) as T;

const agent = new http.Agent({ keepAlive: true, maxSockets: 200 });
function post(port: number, body: string): Promise<{ status: number; ms: number }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const headers = { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body), ...slackSignatureHeaders(SIGNING_SECRET, body) };
    const request = http.request({ host: '127.0.0.1', port, path: '/slack/events', method: 'POST', agent, headers }, (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0, ms: performance.now() - started }));
    });
    request.on('error', () => resolve({ status: 0, ms: performance.now() - started }));
    request.end(body);
  });
}

let phase = 'idle';
const processes: ProductProcess[] = [];
let exitCode = 0;
let figures: Record<string, unknown> | undefined;
try {
  const setupStarted = Date.now();
  await world.start();
  await world.prepare('shop', { install: ['v2'] });
  for (let i = 0; i < jobApps.length; i += 6) await Promise.all(jobApps.slice(i, i + 6).map((app) => world.prepare(app, { install: ['v2'] }, 'batch')));
  const { apiUrl, botToken } = await nextSlackLine<{ apiUrl: string; botToken: string }>();
  const commandsPlanned = Math.ceil(rate * (loadSeconds - burstSeconds) + burstRate * burstSeconds) + 100;
  slack.stdin.write(`issue ${commandsPlanned}\n`);
  const { urls } = await nextSlackLine<{ urls: string[] }>();
  console.log(`setup: sandbox (2 regions), shop in production, ${appCount} apps in batch, in ${((Date.now() - setupStarted) / 1000).toFixed(1)} s`);

  const common = { REDIS_URL: redisUrl, CUTOVER_CONFIG: world.configPath, SLACK_API_URL: apiUrl, SLACK_BOT_TOKEN: botToken, LOG_LEVEL: 'warn' };
  const nodeOptions = (b: typeof budgets.web): Record<string, string> => (b.nodeOptions === null ? {} : { NODE_OPTIONS: b.nodeOptions });
  const webPort = await freePort();
  const web = startProduct(repoRoot, 'web', 'dist/src/bot.js', [], { ...common, ...nodeOptions(budgets.web), PORT: String(webPort), SLACK_SIGNING_SECRET: SIGNING_SECRET, LOG_LEVEL: 'info' });
  const worker = startProduct(repoRoot, 'worker', 'dist/jobs/worker.js', [], { ...common, ...nodeOptions(budgets.worker), LOG_LEVEL: 'info' });
  processes.push(web, worker);
  const webReady = await logLine(web, (l) => typeof l.probesPort === 'number');
  const workerMetrics = await logLine(worker, (l) => l.msg === 'metrics server listening');
  await logLine(worker, (l) => l.msg === 'worker ready');
  const samplers = {
    web: new MemorySampler(web.child.pid!, `http://127.0.0.1:${webReady.probesPort as number}/metrics`, () => phase),
    worker: new MemorySampler(worker.child.pid!, `http://127.0.0.1:${workerMetrics.metricsPort as number}/metrics`, () => phase),
  };
  for (const s of Object.values(samplers)) s.start();
  console.log(`web pid ${web.child.pid} (NODE_OPTIONS ${budgets.web.nodeOptions ?? 'unset'}), worker pid ${worker.child.pid} (NODE_OPTIONS ${budgets.worker.nodeOptions ?? 'unset'}, concurrency ${concurrency})`);
  await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));

  // The worker: promotions back to back, two per unit of concurrency waiting or running, one per app at a time.
  const live = new Map(jobApps.map((app) => [app, 'v1']));
  const busy = new Set<string>();
  const jobMs: number[] = [];
  const outcomes: Record<string, number> = {};
  const jobStarted = new Map<string, number>();
  let jobSeq = 0;
  let feeding = true;
  world.queueEvents.on('completed', ({ jobId, returnvalue }) => {
    const [, app] = /^soak-\d+-(.+)$/.exec(jobId) ?? [];
    if (!app) return;
    const result = (typeof returnvalue === 'string' ? JSON.parse(returnvalue) : returnvalue) as { outcome?: string } | null;
    outcomes[result?.outcome ?? 'unknown'] = (outcomes[result?.outcome ?? 'unknown'] ?? 0) + 1;
    if (result?.outcome === 'succeeded') live.set(app, live.get(app) === 'v1' ? 'v2' : 'v1');
    busy.delete(app);
  });
  world.queueEvents.on('failed', ({ jobId }) => {
    const [, app] = /^soak-\d+-(.+)$/.exec(jobId) ?? [];
    if (app) busy.delete(app);
    outcomes.failed = (outcomes.failed ?? 0) + 1;
  });
  const feeder = (async () => {
    while (feeding) {
      for (const app of jobApps) {
        if (busy.size >= concurrency * 2) break;
        if (busy.has(app)) continue;
        busy.add(app);
        const id = `soak-${jobSeq++}-${app}`;
        jobStarted.set(id, Date.now());
        await enqueueRelease(world.queue, 'promote', { requestId: id, app, environment: 'batch', version: live.get(app) === 'v1' ? 'v2' : 'v1', requestedBy: 'soak', source: 'cli' });
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  world.queueEvents.on('completed', ({ jobId }) => {
    const at = jobStarted.get(jobId);
    if (at !== undefined) jobMs.push(Date.now() - at);
    jobStarted.delete(jobId);
  });

  // The web process: signed commands, open loop at the phase's rate (a slow ack does not slow the sender).
  const acks: { status: number; ms: number; phase: string }[] = [];
  let sent = 0;
  const inflight = new Set<Promise<void>>();
  const send = () => {
    const i = sent++;
    const body = new URLSearchParams({
      token: 'sandboxverificationtoken0', team_id: 'T0CUTOVER', team_domain: 'cutover', channel_id: CHANNEL, channel_name: 'releases', user_id: ALICE, user_name: 'alice',
      command: '/release', text: texts[i % texts.length]!, api_app_id: 'A0CUTOVER', is_enterprise_install: 'false', response_url: urls[i % urls.length]!, trigger_id: `${Date.now()}.${i}.soak`,
    }).toString();
    const at = phase;
    const pending: Promise<void> = post(webPort, body).then((r) => {
      acks.push({ ...r, phase: at });
      inflight.delete(pending);
    });
    inflight.add(pending);
  };
  const steadyBefore = Math.floor((loadSeconds - burstSeconds) / 2);
  const schedule: [string, number, number][] = [
    ['steady', rate, steadyBefore],
    ['burst', burstRate, burstSeconds],
    ['steady', rate, loadSeconds - burstSeconds - steadyBefore],
  ];
  for (const [name, perSecond, seconds] of schedule) {
    phase = name;
    const started = performance.now();
    let due = 0;
    while (performance.now() - started < seconds * 1000) {
      const target = Math.floor(((performance.now() - started) / 1000) * perSecond);
      for (; due < target; due++) send();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    console.log(`${name}: ${perSecond} commands/s for ${seconds} s; web RSS peak ${round1(samplers.web.peakIn(name).rssMiB)} MiB, worker ${round1(samplers.worker.peakIn(name).rssMiB)} MiB; jobs finished so far ${jobMs.length}`);
  }
  phase = 'drain';
  feeding = false;
  await feeder;
  await Promise.all(inflight);
  // After the load: what stays is the processes' own, not a backlog (a leak would show here).
  await new Promise((resolve) => setTimeout(resolve, drainSeconds * 1000));
  const cpu = { web: await cpuSecondsOf(web.child.pid!), worker: await cpuSecondsOf(worker.child.pid!), bench: process.cpuUsage() };
  console.log(`CPU over the run: web ${cpu.web} s, worker ${cpu.worker} s, this process (sandbox, load, Redis clients) ${round1((cpu.bench.user + cpu.bench.system) / 1e6)} s`);
  for (const s of Object.values(samplers)) await s.stop();
  const died = processes.filter((p) => p.child.exitCode !== null || p.child.signalCode !== null);
  for (const p of died) console.log(`${p.name} DIED (exit ${p.child.exitCode}, signal ${p.child.signalCode}):\n${p.other.join('\n')}`);

  const ackStats = stats(acks.map((a) => a.ms));
  const ackIn = (name: string) => stats(acks.filter((a) => a.phase === name).map((a) => a.ms));
  const notAcked = acks.filter((a) => a.status !== 200).length;
  const firstJobs = stats(jobMs.slice(0, 100));
  const lastJobs = stats(jobMs.slice(-100));
  const report = (name: 'web' | 'worker') => {
    const s = samplers[name];
    const budget = budgets[name];
    const idle = s.peakIn('idle');
    const drained = s.samples.filter((x) => x.phase === 'drain').at(-1);
    const peak = s.peakRssMiB;
    const heapPeak = Math.max(0, ...s.samples.map((x) => x.heapUsedMiB ?? 0));
    // Memory outside V8's heap (code, new space, buffers, sockets): what the heap cap must leave room for.
    const nonHeap = Math.max(0, ...s.samples.filter((x) => x.heapTotalMiB !== null).map((x) => x.rssMiB - x.heapTotalMiB!));
    const fraction = Math.round((peak / budget.limitMiB) * 1000) / 1000;
    console.log(
      `${name.padEnd(6)} peak RSS ${round1(peak)} MiB of ${budget.limitMiB} MiB = ${(fraction * 100).toFixed(1)}% (goal ≤ ${GOAL * 100}%), idle ${round1(idle.rssMiB)} MiB, ${drainSeconds} s after the load ${round1(drained?.rssMiB ?? 0)} MiB; ` +
        `heap used peak ${round1(heapPeak)} MiB (cap ${budget.heapMiB ?? 'unset'} MiB), outside the heap up to ${round1(nonHeap)} MiB, median first/last third ${round1(s.heapMedian(0, 1 / 3))} / ${round1(s.heapMedian(2 / 3, 1))} MiB`,
    );
    return {
      limit_mib: budget.limitMiB,
      heap_cap_mib: budget.heapMiB,
      idle_rss_mib: round1(idle.rssMiB),
      peak_rss_mib: round1(peak),
      peak_fraction_of_limit: fraction,
      peak_heap_used_mib: round1(heapPeak),
      peak_non_heap_mib: round1(nonHeap),
      heap_used_median_first_third_mib: round1(s.heapMedian(0, 1 / 3)),
      heap_used_median_last_third_mib: round1(s.heapMedian(2 / 3, 1)),
      after_drain_rss_mib: round1(drained?.rssMiB ?? 0),
      within_goal: fraction <= GOAL,
    };
  };
  console.log(`commands: ${acks.length} sent, ${notAcked} not acknowledged with 200, ack p50 ${ackStats.p50} ms p99 ${ackStats.p99} ms (steady p50 ${ackIn('steady').p50} ms, burst p50 ${ackIn('burst').p50} ms)`);
  console.log(`jobs: ${jobMs.length} finished ${JSON.stringify(outcomes)}, enqueue-to-finished p50 first 100 ${firstJobs.p50} ms, last 100 ${lastJobs.p50} ms`);
  const webFigures = { ...report('web'), steady_rate: rate, burst_rate: burstRate, burst_seconds: burstSeconds, steady_peak_rss_mib: round1(samplers.web.peakIn('steady').rssMiB), burst_peak_rss_mib: round1(samplers.web.peakIn('burst').rssMiB), commands: acks.length, commands_not_acked: notAcked, ack_p50_ms: ackStats.p50, ack_p99_ms: ackStats.p99, ack_steady_p50_ms: ackIn('steady').p50, ack_burst_p50_ms: ackIn('burst').p50 };
  const workerFigures = { ...report('worker'), concurrency, apps: appCount, jobs: jobMs.length, job_outcomes: outcomes, job_ms_p50_first_100: firstJobs.p50, job_ms_p50_last_100: lastJobs.p50 };
  figures = { load_seconds: loadSeconds, goal_fraction: GOAL, web: webFigures, worker: workerFigures, processes_died: died.length };
  if (died.length > 0 || notAcked > 0 || !webFigures.within_goal || !workerFigures.within_goal) exitCode = 1;
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  agent.destroy();
  for (const p of processes) p.child.kill('SIGTERM');
  await Promise.all(processes.map((p) => Promise.race([p.exited, new Promise((resolve) => setTimeout(resolve, 10_000))])));
  for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  slack.stdin.end();
  slack.kill('SIGTERM');
  await world.stop();
}
if (figures) console.log(JSON.stringify(figures));
process.exit(exitCode);
