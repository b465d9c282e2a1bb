/**
 * `npm run bench:queue`: 100 apps (1 replica) installed in 2 sandbox regions, 2 worker processes,
 * 100 promotions enqueued at once; then a contended round (several promotions per app, some
 * refused as already live, most waiting for the lease) to check the traffic lease; then one
 * promotion at a time to idle workers (100 samples) for the enqueue-to-start latency a single
 * release sees. Prints a human summary, then the figures as JSON on the last line.
 *
 * Lease violations: every job that held a traffic lease, whatever it did with it (ran, was refused
 * under the lease, or waited first), emits progress events only while it holds the lease: from
 * its first event (`planned`, or the `finished` of a refusal) to its `finished`; the `waitingFor`
 * events of a job waiting for the lease are not holding. All events go through one Redis stream,
 * so their order is Redis's own. A violation is a job with an event inside another job's holding
 * span on the same lease. A job's span runs from its first attempt to its last, so a job that lost
 * its lease and was retried while another held it counts as a violation: nothing in this bench
 * should make a job lose its lease. The leases' fence counters (one increment per acquisition) are
 * printed beside the jobs seen holding: more acquisitions than holders means re-acquisitions
 * (retried jobs) or holds that emitted no event, which this measure cannot see.
 *
 * Env: BENCH_APPS (100), BENCH_CONCURRENCY per worker (25), BENCH_CONTENDED_APPS (5),
 * BENCH_CONTENDED_PER_APP (4), BENCH_IDLE_SAMPLES (100).
 */
import type { Job } from 'bullmq';
import { enqueueRelease } from '../../src/queue/enqueue.js';
import { isEvent, waitFor, World, type ProgressRecord } from '../jobs/harness.js';

const appCount = Number(process.env.BENCH_APPS ?? 100);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 25);
const contendedApps = Number(process.env.BENCH_CONTENDED_APPS ?? 5);
const contendedPerApp = Number(process.env.BENCH_CONTENDED_PER_APP ?? 4);
const idleSamples = Number(process.env.BENCH_IDLE_SAMPLES ?? 100);
/** Pause after each idle sample's job finished, so the workers are back to waiting for work. */
const idlePauseMs = 200;

const names = Array.from({ length: appCount }, (_, i) => `app-${String(i).padStart(3, '0')}`);
const world = new World({
  sandbox: { readyDelayMs: 50, proxySyncDelayMs: 50 },
  apps: Object.fromEntries(names.map((name) => [name, {}])),
  policy: { bakeSeconds: 0, healthSamples: 3, verifyTimeoutSeconds: 20, readyTimeoutSeconds: 60 },
  worker: { concurrency },
});

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

async function inBatches<T>(items: T[], size: number, run: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(run));
}

async function finished(ids: string[]): Promise<Job[]> {
  const jobs: Job[] = [];
  await waitFor(
    async () => {
      const states = await Promise.all(ids.map((id) => world.queue.getJob(id)));
      const done = states.filter((j): j is Job => j !== undefined && j.finishedOn !== undefined);
      jobs.splice(0, jobs.length, ...done);
      return done.length === ids.length;
    },
    `${ids.length} jobs to finish`,
    600_000,
  );
  return jobs;
}

interface LeaseCount {
  /** Jobs with events inside another job's holding span on the same lease. */
  violations: number;
  /** Jobs seen holding a traffic lease (they emitted a holder's event). */
  holders: number;
  refusedHolders: number;
  waitedHolders: number;
}

/** See the header: holding spans from the Redis-ordered progress events of every job (promotions hold the traffic lease). */
function countLeaseViolations(jobs: Job[], events: ProgressRecord[]): LeaseCount {
  const spans = new Map<string, { job: string; start: number; end: number }[]>();
  const count: LeaseCount = { violations: 0, holders: 0, refusedHolders: 0, waitedHolders: 0 };
  for (const job of jobs) {
    const own = events.filter((e) => e.jobId === job.id);
    const holding = own.filter((e) => !('waitingFor' in e.data));
    if (holding.length === 0) continue;
    count.holders += 1;
    if (holding.some((e) => isEvent(e.data, 'finished') && e.data.result.outcome === 'refused')) count.refusedHolders += 1;
    if (own.some((e) => 'waitingFor' in e.data)) count.waitedHolders += 1;
    const data = job.data as { app: string; environment: string };
    const key = `${data.app}/${data.environment}`;
    spans.set(key, [...(spans.get(key) ?? []), { job: job.id!, start: holding[0]!.seq, end: holding.at(-1)!.seq }]);
  }
  for (const list of spans.values()) {
    const violating = new Set<string>();
    for (const a of list) {
      for (const b of list) {
        if (a !== b && b.start > a.start && b.start < a.end) violating.add(b.job).add(a.job);
      }
    }
    count.violations += violating.size;
  }
  return count;
}

/** Traffic lease acquisitions, from each lease's fence counter (absent counter: null). */
async function leaseAcquisitions(apps: string[]): Promise<number | null> {
  const counters = await Promise.all(apps.map((app) => world.redis.get(`${world.prefix}:lease:traffic:${app}:production:fence`)));
  return counters.every((c) => c === null) ? null : counters.reduce((sum, c) => sum + Number(c ?? 0), 0);
}

/** One promotion at a time to idle workers: enqueue-to-start of each (the job's own timestamps). */
async function idleEnqueueToStart(samples: number): Promise<{ delays: number[]; jobs: Job[] }> {
  const delays: number[] = [];
  const jobs: Job[] = [];
  for (let i = 0; i < samples; i++) {
    const app = names[i % names.length]!;
    const live = Object.values(await world.liveVersions(app))[0];
    const id = `idle-${i}-${app}`;
    await enqueueRelease(world.queue, 'promote', { requestId: id, app, environment: 'production', version: live === 'v2' ? 'v1' : 'v2', requestedBy: 'bench', source: 'cli' });
    const [job] = await finished([id]);
    delays.push(job!.processedOn! - job!.timestamp);
    jobs.push(job!);
    await new Promise((resolve) => setTimeout(resolve, idlePauseMs));
  }
  return { delays, jobs };
}

let exitCode = 0;
try {
  const setupStarted = Date.now();
  await world.start();
  await inBatches(names, 10, (name) => world.prepare(name, { install: ['v2'] }));
  const setupMs = Date.now() - setupStarted;
  console.log(`setup: ${appCount} apps with v1 live and v2 installed in 2 regions in ${(setupMs / 1000).toFixed(1)} s`);
  await world.startWorkers(2);

  const enqueuedAt = Date.now();
  await Promise.all(names.map((app) => enqueueRelease(world.queue, 'promote', { requestId: `bench-${app}`, app, environment: 'production', version: 'v2', requestedBy: 'bench', source: 'cli' })));
  const jobs = await finished(names.map((app) => `bench-${app}`));
  const wallMs = Math.max(...jobs.map((j) => j.finishedOn!)) - enqueuedAt;
  const startDelays = jobs.map((j) => (j.processedOn ?? j.finishedOn!) - j.timestamp).sort((a, b) => a - b);
  const succeeded = jobs.filter((j) => (j.returnvalue as { outcome?: string } | null)?.outcome === 'succeeded').length;
  const perWorker = world.workers.map((w) => new Set(w.lines.filter((l) => typeof l.job === 'string' && l.job.startsWith('bench-')).map((l) => l.job)).size);
  console.log(`100 promotions: ${succeeded}/${jobs.length} succeeded in ${(wallMs / 1000).toFixed(2)} s; jobs per worker ${perWorker.join(' / ')}`);

  // Contended round: several promotions per app at once, alternating v1 and v2; the lease serializes them.
  const contended = names.slice(0, contendedApps).flatMap((app) => Array.from({ length: contendedPerApp }, (_, i) => ({ app, version: i % 2 === 0 ? 'v1' : 'v2', id: `contended-${app}-${i}` })));
  const contendedAt = Date.now();
  await Promise.all(contended.map((c) => enqueueRelease(world.queue, 'promote', { requestId: c.id, app: c.app, environment: 'production', version: c.version, requestedBy: 'bench', source: 'cli' })));
  const contendedJobs = await finished(contended.map((c) => c.id));
  const contendedWallMs = Math.max(...contendedJobs.map((j) => j.finishedOn!)) - contendedAt;
  await new Promise((resolve) => setTimeout(resolve, 500));
  // A promotion to the version that is already live is refused ("already live"), which depends on the order the lease gave.
  const contendedOutcomes: Record<string, number> = {};
  for (const job of contendedJobs) {
    const outcome = (job.returnvalue as { outcome?: string } | null)?.outcome ?? 'failed-job';
    contendedOutcomes[outcome] = (contendedOutcomes[outcome] ?? 0) + 1;
  }
  console.log(`contended: ${contended.length} promotions over ${contendedApps} apps in ${(contendedWallMs / 1000).toFixed(2)} s (${JSON.stringify(contendedOutcomes)})`);

  const idle = await idleEnqueueToStart(idleSamples);
  const idleDelays = [...idle.delays].sort((a, b) => a - b);
  console.log(
    `idle: ${idleDelays.length} promotions one at a time (${idlePauseMs} ms apart): enqueue-to-start p50 ${percentile(idleDelays, 50)} ms, p99 ${percentile(idleDelays, 99)} ms, max ${idleDelays.at(-1)} ms`,
  );

  await new Promise((resolve) => setTimeout(resolve, 500));
  const lease = countLeaseViolations([...jobs, ...contendedJobs, ...idle.jobs], world.events);
  const acquisitions = await leaseAcquisitions(names);
  console.log(
    `lease: ${lease.holders} jobs held a traffic lease (${lease.refusedHolders} refused under it, ${lease.waitedHolders} waited for it first); ` +
      `${acquisitions ?? 'unknown'} acquisitions by the fence counters; ${lease.violations} violations`,
  );
  const violations = lease.violations;

  const figures = {
    apps: appCount,
    workers: 2,
    concurrency_per_worker: concurrency,
    promotions: jobs.length,
    promotions_succeeded: succeeded,
    enqueue_to_start_p50_ms: percentile(startDelays, 50),
    enqueue_to_start_p99_ms: percentile(startDelays, 99),
    enqueue_to_start_max_ms: startDelays[startDelays.length - 1] ?? 0,
    wall_ms_100_promotions: wallMs,
    jobs_per_worker: perWorker,
    contended_promotions: contended.length,
    contended_outcomes: contendedOutcomes,
    contended_wall_ms: contendedWallMs,
    idle_samples: idleDelays.length,
    idle_enqueue_to_start_p50_ms: percentile(idleDelays, 50),
    idle_enqueue_to_start_p99_ms: percentile(idleDelays, 99),
    idle_enqueue_to_start_max_ms: idleDelays.at(-1) ?? 0,
    lease_violations: violations,
    lease_holders: lease.holders,
    lease_holders_refused: lease.refusedHolders,
    lease_holders_waited: lease.waitedHolders,
    lease_acquisitions: acquisitions,
    lease_violations_measured_by: 'jobs with a progress event inside another job\'s holding span (first non-waiting event to finished) on the same traffic lease, in Redis stream order, over every job that held one',
    setup_ms: setupMs,
  };
  if (violations > 0 || succeeded < jobs.length) exitCode = 1;
  console.log(JSON.stringify(figures));
} catch (error) {
  console.error(error);
  exitCode = 1;
} finally {
  await world.stop();
}
process.exit(exitCode);
