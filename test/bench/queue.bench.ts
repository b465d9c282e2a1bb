/**
 * `npm run bench:queue`: 100 apps (1 replica) installed in 2 sandbox regions, 2 worker processes,
 * 100 promotions enqueued at once; then a contended round (several promotions per app) to check
 * the traffic lease. Prints a human summary, then the figures as JSON on the last line.
 *
 * Env: BENCH_APPS (100), BENCH_CONCURRENCY per worker (25), BENCH_CONTENDED_APPS (5),
 * BENCH_CONTENDED_PER_APP (4).
 */
import type { Job } from 'bullmq';
import { enqueueRelease } from '../../src/queue/enqueue.js';
import { isEvent, waitFor, World, type ProgressRecord } from '../jobs/harness.js';

const appCount = Number(process.env.BENCH_APPS ?? 100);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 25);
const contendedApps = Number(process.env.BENCH_CONTENDED_APPS ?? 5);
const contendedPerApp = Number(process.env.BENCH_CONTENDED_PER_APP ?? 4);

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

/** Traffic jobs of the same app and environment whose planned..finished spans overlap in the event stream. */
function leaseViolations(jobs: Job[], events: ProgressRecord[]): number {
  const spans = new Map<string, { start: number; end: number }[]>();
  for (const job of jobs) {
    const own = events.filter((e) => e.jobId === job.id);
    const start = own.find((e) => isEvent(e.data, 'planned'))?.seq;
    const end = own.find((e) => isEvent(e.data, 'finished'))?.seq;
    if (start === undefined || end === undefined) continue;
    const data = job.data as { app: string; environment: string };
    const key = `${data.app}/${data.environment}`;
    spans.set(key, [...(spans.get(key) ?? []), { start, end }]);
  }
  let violations = 0;
  for (const list of spans.values()) {
    list.sort((a, b) => a.start - b.start);
    for (let i = 1; i < list.length; i++) if (list[i]!.start < list[i - 1]!.end) violations++;
  }
  return violations;
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
  const violations = leaseViolations([...jobs, ...contendedJobs], world.events);
  // A promotion to the version that is already live is refused ("already live"), which depends on the order the lease gave.
  const contendedOutcomes: Record<string, number> = {};
  for (const job of contendedJobs) {
    const outcome = (job.returnvalue as { outcome?: string } | null)?.outcome ?? 'failed-job';
    contendedOutcomes[outcome] = (contendedOutcomes[outcome] ?? 0) + 1;
  }
  console.log(`contended: ${contended.length} promotions over ${contendedApps} apps in ${(contendedWallMs / 1000).toFixed(2)} s (${JSON.stringify(contendedOutcomes)}); lease violations ${violations}`);

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
    lease_violations: violations,
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
