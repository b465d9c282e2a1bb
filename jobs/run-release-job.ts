import { DelayedError, UnrecoverableError, type Job, type Queue } from 'bullmq';
import type { RedisClient } from '../src/queue/connection.js';
import { findEnvironment, type Config } from '../src/config/index.js';
import type { ProgressEvent, ReleaseResult, Reporter } from '../src/core/events.js';
import { describeJob, leaseNeededFor, supersedes, versionsToMarkInUse, type LeaseRequest } from '../src/core/exclusion.js';
import type { AppSpec, RegionState } from '../src/core/model.js';
import type { Plan } from '../src/core/plan.js';
import { logger } from '../src/observability/log.js';
import { leaseWaitsTotal, queueWaitSeconds } from '../src/observability/metrics.js';
import { appendAudit, appendAuditOnce, type AuditEntry, type AuditKind } from '../src/queue/audit.js';
import { markInUse, unmarkInUse, versionsInUse } from '../src/queue/in-use.js';
import { acquireLease, LeaseKeeper, LostLeaseError, parkLease, raiseFence, readLease, takeOverLease } from '../src/queue/lease.js';
import { describeSuperseded, markSuperseded, readSuperseded, watchSuperseded } from '../src/queue/supersede.js';
import { leaseKey, type JobKind } from '../src/queue/names.js';
import { parsePayload, type PayloadOf, type ReleasePayload } from '../src/queue/payloads.js';
import { releaseLeaseAndWake, waitForLease } from '../src/queue/wait-for-lease.js';
import { executeRelease, observeForAttempt, refusedResult, supersededResult, type ReleaseEnvironment, type ReleaseRequest } from '../src/release/release.js';
import { RunInterrupted, RunSuperseded, type RunCursor } from '../src/release/runner.js';
import { activeStop, rollbackAfterStop, RunStopped, waitWhileStopped, watchStops } from './stop-the-line.js';

/** The environment and app a job acts on; throws for names the config does not know. */
export type EnvironmentFor = (app: string, environment: string) => { env: ReleaseEnvironment; app: AppSpec };

/** Makes the user-facing reporter of a job (log lines today, the Slack thread later). */
export type ReporterFactory = (job: Job, payload: ReleasePayload) => Reporter;

/** What every processor is given by the worker process. */
export interface JobContext {
  /** Leases, in-use marks, audit and report markers. */
  redis: RedisClient;
  /** The release queue, to wake jobs waiting for a lease this job releases. */
  queue: Queue;
  prefix: string;
  config: Config;
  environmentFor: EnvironmentFor;
  reporterFor: ReporterFactory;
  /** Aborted when the worker shuts down: the runner stops between steps and the job is handed back. */
  shutdown: AbortSignal;
  /** Base delay before a job that waits for a lease tries again (default 2 s). */
  leaseRetryMs?: number;
  now?: () => Date;
}

/** What a job kind adds around the shared procedure, while its lease is held. */
export interface Preparation {
  /** Run this plan (made from the attempt's observation) instead of planning again. */
  plan?: Plan;
  /** Refuse instead of running, with these reasons. */
  refusal?: string[];
  /** Throws when something this preparation holds was lost; checked before each mutating step. */
  guard?: () => void;
  /** Give back what the preparation took (e.g. cleanup's install leases). */
  releaseLeases?: () => Promise<void>;
}

export interface PreparedRun {
  job: Job;
  payload: ReleasePayload;
  request: ReleaseRequest;
  env: ReleaseEnvironment;
  context: JobContext;
  holder: string;
  ttlMs: number;
  inUse: readonly string[];
  cursor: RunCursor | undefined;
  /** This attempt's one observation of every region. */
  observed: readonly RegionState[];
}

export interface JobSpec<K extends JobKind> {
  kind: K;
  /** The version the job is about: what it installs, promotes or rolls back to. */
  version: (payload: PayloadOf<K>) => string | null;
  prepare?: (run: PreparedRun) => Promise<Preparation>;
}

const reportedTtlSeconds = 7 * 24 * 60 * 60;

/** How often a running job looks for a superseded mark, and a superseding job for the lease. */
const supersedePollMs = 250;

/**
 * The procedure every release job follows: validate; end at once if a newer release superseded
 * it; take the lease its kind needs (or wait, delayed, saying who holds it; or supersede the
 * holder); observe every region once; reconcile or plan from that; run fenced; report the final
 * summary once; audit; and give the lease back, or keep it while the job waits for its own retry.
 */
export async function runReleaseJob<K extends JobKind>(job: Job, token: string | undefined, context: JobContext, spec: JobSpec<K>): Promise<ReleaseResult> {
  const payload = parsePayload(spec.kind, job.data);
  const { env, app } = resolveTarget(context, payload);
  const version = spec.version(payload);
  const leaseRequest: LeaseRequest = { kind: spec.kind, app: payload.app, environment: payload.environment, version };
  const key = leaseKey(context.prefix, leaseNeededFor(leaseRequest));
  const holder = job.id ?? payload.requestId;
  const ttlMs = lockTtlMs(context.config, payload.environment);
  const { redis, prefix } = context;
  const request: ReleaseRequest = { action: spec.kind, app, version, actor: payload.requestedBy };
  const reporter = new JobReporter(job, payload, context, version);

  const earlier = await finishedEarlier(context, job);
  if (earlier) {
    // BullMQ runs a job again when its completion did not reach Redis (the lock was lost during an
    // outage): the first run did the work, reported and audited; this one only completes the job.
    await job.log('finished by an earlier run whose completion did not reach Redis: completing it, nothing runs again').catch(() => undefined);
    logger().info({ outcome: earlier.outcome }, 'job already finished by an earlier run: completing it without running again');
    completedEarlier.add(earlier);
    return earlier;
  }

  const superseded = await readSuperseded(redis, prefix, holder);
  if (superseded) {
    await releaseLeaseHeldBy(context, key, holder);
    const result = await supersededResult(request, env, `${describeSuperseded(superseded)}: this job does not touch any region again`);
    await reporter.report({ type: 'finished', result });
    return result;
  }

  // Stop-the-line: a job of a stopped scope waits before it takes anything (stop-the-line.ts).
  const stopped = await activeStop(redis, prefix, spec.kind, payload.app, payload.environment);
  if (stopped) {
    await releaseLeaseHeldBy(context, key, holder);
    return waitWhileStopped(job, token, stopped, reporter);
  }

  const info = { description: describeJob(leaseRequest), kind: spec.kind, actor: payload.requestedBy };
  let acquired = await acquireLease(redis, key, holder, ttlMs, info);
  if ('heldBy' in acquired && supersedes(spec.kind, acquired.kind)) {
    const by = { jobId: holder, kind: spec.kind, actor: payload.requestedBy, at: new Date().toISOString() };
    await markSuperseded(redis, prefix, acquired.heldBy, by);
    // A holder waiting for its retry is taken over now; a running one stops at its next step.
    if (acquired.state === 'waiting') acquired = await takeOverLease(redis, key, holder, ttlMs, info, { holder: acquired.heldBy, token: acquired.heldToken });
    if ('heldBy' in acquired) {
      return waitForLease(job, token, { ...acquired, description: `${acquired.description}, superseded by this ${spec.kind}` }, { leaseKey: key, redis, retryMs: supersedePollMs });
    }
    logger().info({ superseded: by }, 'took the lease over from a waiting job it supersedes');
  }
  if ('heldBy' in acquired) {
    leaseWaitsTotal.inc({ kind: spec.kind });
    logger().debug({ heldBy: acquired.heldBy, holderDoes: acquired.description }, 'waiting for the lease');
    return waitForLease(job, token, acquired, { leaseKey: key, redis, retryMs: context.leaseRetryMs ?? 2_000 });
  }

  let lease = acquired.token;
  const marked = versionsToMarkInUse(leaseRequest);
  const markAll = () => Promise.all(marked.map((v) => markInUse(redis, prefix, payload.app, payload.environment, v, holder, ttlMs)));
  let keeper = new LeaseKeeper(redis, key, holder, lease, ttlMs, { alsoRenew: markAll }).start();
  const supersede = new AbortController();
  const stopWatching = watchSuperseded(redis, prefix, holder, (by) => supersede.abort(new RunSuperseded(describeSuperseded(by))), supersedePollMs);
  const stopLine = new AbortController();
  const stopWatchingStops = watchStops(redis, prefix, spec.kind, payload.app, payload.environment, (stop) => stopLine.abort(new RunStopped(stop)));
  let preparation: Preparation | undefined;
  let cursorAtFailure: RunCursor | undefined;
  // Whether BullMQ runs this job again (a retry, a hold, a hand-back): then the lease is kept for it.
  let runsAgain = false;
  try {
    await markAll();
    const cursor = readRunCursor(job.data);
    cursorAtFailure = cursor;
    if (!cursor && job.attemptsMade === 0 && job.processedOn) queueWaitSeconds.observe({ kind: spec.kind }, Math.max(0, job.processedOn - job.timestamp) / 1000);
    // Every run that does work says so (a resumed run names the steps it found recorded); a run of a job an earlier run finished never gets here.
    await appendAudit(redis, prefix, auditEntry(context, payload, 'started', version, cursor ? `attempt ${job.attemptsMade + 1} by job ${holder}, after ${cursor.records.length} recorded steps` : `job ${holder}`));
    let observed = await observeForAttempt(env, app, cursor);
    const newest = newestFence(observed);
    if (leaseRequest.kind !== 'deploy' && newest !== null && newest >= lease) {
      // A Service carries a token this lease's counter never gave out since: Redis lost it. Count
      // on from the cluster's token, and look again with the new one.
      await raiseFence(redis, key, newest);
      await keeper.stop({ release: false });
      const again = await acquireLease(redis, key, holder, ttlMs, info);
      if ('heldBy' in again) throw new RunInterrupted(`the lease went to ${again.heldBy} while its fencing token was raised`);
      lease = again.token;
      keeper = new LeaseKeeper(redis, key, holder, lease, ttlMs, { alsoRenew: markAll }).start();
      observed = await observeForAttempt(env, app, cursor);
    }
    const inUse = spec.kind === 'cleanup' ? await versionsInUse(redis, prefix, payload.app, payload.environment) : [];
    preparation = await spec.prepare?.({ job, payload, request, env, context, holder, ttlMs, inUse, cursor, observed });
    if (preparation?.refusal) {
      const result = refusedResult(request, env, preparation.refusal);
      await reporter.report({ type: 'finished', result });
      return result;
    }
    const held = keeper;
    return await executeRelease(request, env, {
      reporter,
      cursor,
      observed,
      saveCursor: async (next) => {
        cursorAtFailure = next;
        await saveRunCursor(job, next);
      },
      guard: async () => {
        preparation?.guard?.();
        await held.assertFenced();
      },
      fence: lease,
      signal: AbortSignal.any([context.shutdown, held.signal, supersede.signal, stopLine.signal]),
      inUse,
      plan: preparation?.plan,
      // Held regions are retried by BullMQ from the saved cursor while attempts remain.
      retryHeld: job.attemptsMade + 1 < (job.opts.attempts ?? 1),
      ...(context.now ? { now: context.now } : {}),
    });
  } catch (error) {
    const halted: unknown = stopLine.signal.reason;
    if (error instanceof RunInterrupted && halted instanceof RunStopped && !keeper.lost && !context.shutdown.aborted) {
      // Halted at a step boundary by a stop: wait (delayed, cursor saved) until resumed; compensate only if asked.
      runsAgain = true;
      const rollback = await rollbackAfterStop(context.queue, payload, halted.stop, cursorAtFailure);
      if (rollback) await job.log(`stopped with --rollback: rollback ${rollback} enqueued`);
      await appendAudit(redis, prefix, auditEntry(context, payload, 'halted', version, `${halted.message}${rollback ? `; rollback ${rollback} enqueued` : ''}`));
      return await waitWhileStopped(job, token, halted.stop, reporter);
    }
    if (error instanceof RunInterrupted && context.shutdown.aborted && !keeper.lost) {
      // Handed back without spending an attempt: another worker resumes from the saved cursor.
      runsAgain = true;
      await job.log(`handed back: ${error.message}`);
      await job.moveToDelayed(Date.now() + 100, token);
      throw new DelayedError(error.message);
    }
    const failure = await classifyFailure(error, job);
    runsAgain = !failure.final;
    if (failure.final) {
      // The thread and the audit hear about it once, like any other outcome.
      await reporter.report({ type: 'finished', result: failedResult(request, env, failure.message, job, cursorAtFailure) }).catch(() => undefined);
    }
    throw failure.error;
  } finally {
    stopWatching();
    stopWatchingStops();
    await preparation?.releaseLeases?.().catch(() => undefined);
    await Promise.all(marked.map((v) => unmarkInUse(redis, prefix, payload.app, payload.environment, v, holder).catch(() => undefined)));
    const lost = keeper.lost !== null;
    await keeper.stop({ release: false });
    if (runsAgain && !lost) {
      // Kept for this job's next attempt: nothing interleaves unseen, except a rollback that supersedes it.
      await parkLease(redis, key, holder, lease, nextAttemptDelayMs(job) + ttlMs).catch(() => false);
    } else {
      // Token-checked: a lease another run took over is left alone.
      await releaseLeaseAndWake(context.queue, redis, key, holder, lease).catch(() => false);
    }
  }
}

/** Results this process answered without running (an earlier run finished the job): counted once, by that run. */
export const completedEarlier = new WeakSet<ReleaseResult>();

function resultKey(prefix: string, job: Job): string {
  return `${prefix}:result:${job.id}:${job.timestamp}`;
}

/** The result of an earlier run of this very job that reported its end, if any. */
async function finishedEarlier(context: JobContext, job: Job): Promise<ReleaseResult | null> {
  const { redis, prefix } = context;
  const result = await redis.get(resultKey(prefix, job));
  if (result === null) return null;
  return (await redis.get(`${prefix}:reported:${job.id}:${job.timestamp}`)) === 'reported' ? (JSON.parse(result) as ReleaseResult) : null;
}

/** Give back a lease this job still holds from an earlier attempt (it ends without running). */
async function releaseLeaseHeldBy(context: JobContext, key: string, holder: string): Promise<void> {
  const held = await readLease(context.redis, key).catch(() => null);
  if (held?.holder === holder) await releaseLeaseAndWake(context.queue, context.redis, key, holder, held.token).catch(() => false);
}

/** The newest fencing token any region's live Service carries. */
function newestFence(states: readonly RegionState[]): number | null {
  const fences = states.flatMap((s) => (typeof s.live?.fence === 'number' ? [s.live.fence] : []));
  return fences.length > 0 ? Math.max(...fences) : null;
}

/** When BullMQ will run a job again after this attempt failed (its exponential or fixed backoff). */
function nextAttemptDelayMs(job: Job): number {
  const backoff = job.opts.backoff;
  if (backoff === undefined) return 0;
  if (typeof backoff === 'number') return backoff;
  const base = backoff.delay ?? 0;
  return backoff.type === 'exponential' ? base * 2 ** job.attemptsMade : base;
}

/**
 * Forwards each event to the job's progress (QueueEvents listeners such as `cutover --queue`
 * follow it) and to the user-facing reporter. The final summary goes out once per job, even when
 * the job is run again after a crash between reporting and completing.
 */
class JobReporter implements Reporter {
  private readonly user: Reporter;

  constructor(
    private readonly job: Job,
    private readonly payload: ReleasePayload,
    private readonly context: JobContext,
    private readonly version: string | null,
  ) {
    this.user = context.reporterFor(job, payload);
  }

  async report(event: ProgressEvent): Promise<void> {
    if (event.type !== 'finished') return this.deliver(event);
    // The marker goes 'reporting' (set together with the final audit entry) -> 'reported' (after
    // delivery). A run that finds 'reporting' follows one that died in between: it delivers the
    // summary, which nobody may have seen, but does not audit again.
    const { redis, prefix } = this.context;
    const marker = `${prefix}:reported:${this.job.id}:${this.job.timestamp}`;
    const { outcome, reasons } = event.result;
    const kind: AuditKind = outcome === 'refused' ? 'failed' : outcome;
    const entry = auditEntry(this.context, this.payload, kind, this.version, outcome === 'refused' ? `refused: ${reasons.join('; ')}` : reasons.join('; ') || undefined);
    const claimed = await appendAuditOnce(redis, prefix, { key: marker, value: 'reporting', ttlSeconds: reportedTtlSeconds }, entry);
    if (!claimed && (await redis.get(marker)) !== 'reporting') {
      await this.job.log('final summary already reported by an earlier run of this job; not repeated');
      return;
    }
    await this.deliver(event);
    // The result first: a run that finds 'reported' completes the job with it.
    await redis.set(resultKey(prefix, this.job), JSON.stringify(event.result), 'EX', reportedTtlSeconds);
    await redis.set(marker, 'reported', 'EX', reportedTtlSeconds, 'XX');
  }

  private async deliver(event: ProgressEvent): Promise<void> {
    await this.job.updateProgress(event);
    try {
      await this.user.report(event);
    } catch (error) {
      // A reporter that cannot post (Slack down) never stops a release.
      await this.job.log(`reporter failed on ${event.type}: ${error instanceof Error ? error.message : String(error)}`).catch(() => undefined);
    }
  }
}

function resolveTarget(context: JobContext, payload: ReleasePayload): { env: ReleaseEnvironment; app: AppSpec } {
  try {
    return context.environmentFor(payload.app, payload.environment);
  } catch (error) {
    throw new UnrecoverableError(error instanceof Error ? error.message : String(error));
  }
}

function lockTtlMs(config: Config, environment: string): number {
  return (findEnvironment(config, environment)?.policy.lockTtlSeconds ?? 60) * 1000;
}

/** The cursor a previous run of this job saved, if any. */
export function readRunCursor(data: unknown): RunCursor | undefined {
  const saved = (data as { runCursor?: unknown } | null)?.runCursor;
  if (typeof saved !== 'object' || saved === null) return undefined;
  const cursor = saved as Partial<RunCursor>;
  const valid = (cursor.phase === 'forward' || cursor.phase === 'compensation') && typeof cursor.completed === 'number' && Array.isArray(cursor.forwardSteps) && Array.isArray(cursor.compensationSteps) && Array.isArray(cursor.records);
  return valid ? (saved as RunCursor) : undefined;
}

/** Save the runner's cursor next to the payload; updateData replaces the data, so merge. */
export async function saveRunCursor(job: Job, cursor: RunCursor): Promise<void> {
  await job.updateData({ ...(job.data as object), runCursor: cursor });
}

/**
 * What BullMQ should do with a failure: transient errors (a `transient: true` property, as the
 * Kubernetes adapter's errors carry), interruptions and unknown errors are retried with backoff;
 * errors that say they are not transient fail the job at once. `final`: no attempt follows.
 */
async function classifyFailure(error: unknown, job: Job): Promise<{ error: unknown; final: boolean; message: string }> {
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof DelayedError) return { error, final: false, message };
  const retryable = !(error instanceof UnrecoverableError) && (isTransient(error) !== false || error instanceof RunInterrupted || error instanceof LostLeaseError);
  const lastAttempt = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
  await job.log(`${retryable && !lastAttempt ? 'will retry' : 'failed'}: ${message}`).catch(() => undefined);
  const final = !retryable || lastAttempt;
  if (retryable || error instanceof UnrecoverableError) return { error, final, message };
  return { error: new UnrecoverableError(message), final, message };
}

/** The result of a job that failed outside the runner (e.g. a region unreachable before any step). */
function failedResult(request: ReleaseRequest, env: ReleaseEnvironment, message: string, job: Job, cursor: RunCursor | undefined): ReleaseResult {
  const attempts = `after ${job.attemptsMade + 1} attempt${job.attemptsMade === 0 ? '' : 's'}`;
  const reasons = [`${message} (${attempts})`];
  const switched = cursor?.records.some((r) => r.step.kind === 'switch' && r.outcome === 'ok') ?? false;
  if (switched) reasons.push('the release stopped after switching some regions: check `status` and roll back or promote again');
  return { ...refusedResult(request, env, reasons), outcome: 'failed', split: switched };
}

/** true/false when the error says so, undefined when it does not know. */
function isTransient(error: unknown): boolean | undefined {
  const flag = (error as { transient?: unknown } | null)?.transient;
  return typeof flag === 'boolean' ? flag : undefined;
}

function auditEntry(context: JobContext, payload: ReleasePayload, kind: AuditKind, version: string | null, detail?: string): AuditEntry {
  return {
    at: (context.now?.() ?? new Date()).toISOString(),
    kind,
    app: payload.app,
    environment: payload.environment,
    ...(version ? { version } : {}),
    actor: payload.requestedBy,
    requestId: payload.requestId,
    ...(detail ? { detail } : {}),
    ...(payload.slack ? { thread: `${payload.slack.channel}/${payload.slack.threadTs}` } : {}),
  };
}
