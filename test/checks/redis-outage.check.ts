/**
 * `npm run check:redis-outage` (issue 20.2): Redis goes away at a step boundary of a running
 * promotion, for 5, 40 and 70 s (scaled, see below), and comes back with its data (appendonly);
 * a real worker process runs the job throughout. Counted over every job: effects done twice (a
 * selector patched twice in one region by one job), reports made twice (more than one final
 * audit entry or "finished" line), jobs lost (not completed), and recovery: from Redis answering
 * again to the job's next progress line. Then one more outage (40 s, scaled) while the worker is
 * idle, and a job enqueued as soon as Redis answers: pickup is from that enqueue to the job's first
 * line (a worker that waits BullMQ's default 15 s before fetching again after an error fails it).
 * Prints JSON last:
 * {"outages","jobs","duplicated_effects","duplicated_reports","lost","recovery_p99_ms","idle_pickup_ms","scale"}.
 * Goal: 0/0/0, recovery p99 < 2000 ms and idle pickup < 2000 ms.
 *
 * Durations are scaled with --scale (default 0.1): the BullMQ lock (30 s), the stall interval
 * (15 s), the lease TTL (60 s) and the outages are all multiplied by it, so a 70 s outage stays
 * longer than both the lock and the lease, as in production, and the check takes about a minute.
 */
import { once } from 'node:events';
import { numberArg, stats } from '../bench/bench-support.js';
import { startPrivateRedis } from '../trust/private-redis.js';

const scale = numberArg('scale', 0.1);
const outagesS = [5, 40, 70];
const privateRedis = await startPrivateRedis({ appendonly: true });
process.env.REDIS_URL = privateRedis.url;
const { World, waitFor } = await import('../jobs/harness.js');
const { resultOf } = await import('../jobs/harness.js');
const { enqueueRelease } = await import('../../src/queue/enqueue.js');
const { readAudit } = await import('../../src/queue/audit.js');

const world = new World({
  apps: { shop: {} },
  policy: { lockTtlSeconds: Math.max(1, Math.round(60 * scale)), bakeSeconds: 0.5 },
  worker: { concurrency: 1, lockDurationMs: Math.max(500, Math.round(30_000 * scale)), stalledIntervalMs: Math.max(250, Math.round(15_000 * scale)) },
});
const problems: string[] = [];
const recoveries: number[] = [];
let duplicatedEffects = 0;
let duplicatedReports = 0;
let lost = 0;
let idlePickupMs = Number.NaN;
const jobs: string[] = [];

try {
  await world.start();
  // The check's own event listener: its connection errors during the outages are expected.
  world.queueEvents.on('error', () => undefined);
  await world.prepare('shop', { install: ['v2'] });
  const [worker] = await world.startWorkers(1);
  let target = 'v2';
  for (const [index, seconds] of outagesS.entries()) {
    const jobId = `outage-${index}`;
    jobs.push(jobId);
    const before = worker!.lines.length;
    await enqueueRelease(world.queue, 'promote', { requestId: jobId, app: 'shop', environment: 'production', version: target, requestedBy: 'U0OPS', source: 'cli' });
    // At a step boundary: right after the job's first step finished.
    await waitFor(() => worker!.lines.slice(before).some((l) => l.job === jobId && l.event === 'step-finished'), `${jobId}: its first step`, 30_000);
    await privateRedis.shutdown();
    const outageMs = seconds * 1000 * scale;
    await new Promise((resolve) => setTimeout(resolve, outageMs));
    const seenBeforeUp = worker!.lines.length;
    await privateRedis.start();
    const upAt = Date.now();
    try {
      // The check's own fail-fast clients may time out while they reconnect: ask again.
      const result = await retrying(() => resultOf(world.queue, jobId, 120_000));
      if (result.outcome !== 'succeeded') problems.push(`${jobId}: ${result.outcome} ${result.reasons.join('; ')}`);
    } catch (error) {
      lost++;
      problems.push(`${jobId}: ${error instanceof Error ? error.message : String(error)}`);
    }
    const timeOf = (l: Record<string, unknown>) => Date.parse(String(l.time));
    const next = worker!.lines.slice(seenBeforeUp).find((l) => l.job === jobId && timeOf(l) >= upAt);
    if (next) recoveries.push(timeOf(next) - upAt);
    else problems.push(`${jobId}: no progress line after Redis came back`);
    const lines = worker!.lines.filter((l) => l.job === jobId);
    const patched = lines.filter((l) => l.event === 'step-finished' && typeof l.msg === 'string' && /^ok [a-z-]+: switch/.test(l.msg) && !l.msg.includes('nothing patched'));
    const regions = patched.map((l) => String(l.msg).split(':')[0]);
    duplicatedEffects += regions.length - new Set(regions).size;
    const finals = (await readAudit(world.redis, world.prefix, { count: 100, app: 'shop' })).filter((e) => e.requestId === jobId && e.kind !== 'started');
    const finished = lines.filter((l) => l.event === 'finished').length;
    duplicatedReports += Math.max(0, finals.length - 1) + Math.max(0, finished - 1);
    const messages = worker!.lines.slice(before).map((l) => (typeof l.msg === 'string' ? l.msg : ''));
    if (messages.some((m) => /shutting down/.test(m))) problems.push(`${jobId}: a line says "shutting down" though nothing was`);
    console.log(`outage ${seconds} s (scaled to ${(outageMs / 1000).toFixed(1)} s) during ${jobId}: ${messages.filter((m) => /redis|lease|Missing lock/i.test(m)).slice(0, 4).join(' | ') || 'no Redis lines'}`);
    if (process.env.OUTAGE_DEBUG) for (const l of worker!.lines.slice(before)) console.log(`  ${String(l.time)} ${String(l.level)} ${typeof l.job === 'string' ? l.job : ''} ${String(l.msg)}`);
    target = target === 'v2' ? 'v1' : 'v2';
  }
  // The worker idle through an outage: how soon does it take a job once Redis is back?
  await privateRedis.shutdown();
  await new Promise((resolve) => setTimeout(resolve, 40_000 * scale));
  await privateRedis.start();
  await retrying(() => world.redis.ping());
  const probeId = 'outage-idle';
  jobs.push(probeId);
  const askedAt = Date.now();
  await retrying(() => enqueueRelease(world.queue, 'promote', { requestId: probeId, app: 'shop', environment: 'production', version: target, requestedBy: 'U0OPS', source: 'cli' }));
  // From when the job is in Redis: the check's own client may take a while to reconnect.
  const enqueuedAt = Date.now();
  console.log(`the probe job was queued ${enqueuedAt - askedAt} ms after Redis answered the check`);
  try {
    await waitFor(() => worker!.lines.some((l) => l.job === probeId), `${probeId}: its first line`, 30_000);
    const first = worker!.lines.find((l) => l.job === probeId)!;
    idlePickupMs = Date.parse(String(first.time)) - enqueuedAt;
    const result = await retrying(() => resultOf(world.queue, probeId, 60_000));
    if (result.outcome !== 'succeeded') problems.push(`${probeId}: ${result.outcome} ${result.reasons.join('; ')}`);
  } catch (error) {
    lost++;
    problems.push(`${probeId}: ${error instanceof Error ? error.message : String(error)}`);
  }
  console.log(`outage 40 s (scaled to ${(40 * scale).toFixed(1)} s) with the worker idle: a job enqueued when Redis answered started after ${Number.isNaN(idlePickupMs) ? 'never' : `${idlePickupMs} ms`}`);
  const unstructured = worker!.output.filter((line) => line.includes('Unhandled error event'));
  if (unstructured.length > 0) problems.push(`${unstructured.length} "[ioredis] Unhandled error event" lines`);
  worker!.child.kill('SIGTERM');
  await once(worker!.child, 'exit');
} finally {
  await world.stop().catch(() => undefined);
  await privateRedis.destroy();
}

async function retrying<T>(ask: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await ask();
    } catch (error) {
      if (attempt >= 20 || !/timed out|Connection is closed|ECONNREFUSED|max retries/i.test(String(error))) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

for (const problem of problems) console.log(`problem: ${problem}`);
const recovery = stats(recoveries);
const result = {
  outages: outagesS.length,
  jobs: jobs.length,
  duplicated_effects: duplicatedEffects,
  duplicated_reports: duplicatedReports,
  lost,
  recovery_p99_ms: Math.round(recovery.p99),
  idle_pickup_ms: Number.isNaN(idlePickupMs) ? null : idlePickupMs,
  scale,
  outages_scaled_s: outagesS.map((s) => s * scale),
};
const ok = duplicatedEffects === 0 && duplicatedReports === 0 && lost === 0 && recovery.p99 < 2000 && idlePickupMs < 2000 && problems.length === 0;
console.log(ok ? '✅ no duplicated effect or report, nothing lost, recovery and idle pickup within 2 s' : '❌ goal missed');
console.log(JSON.stringify(result));
process.exit(ok ? 0 : 1);
