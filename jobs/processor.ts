import { DelayedError, UnrecoverableError, type Job } from 'bullmq';
import type { ReleaseResult } from '../src/core/events.js';
import { logger, withRequestContext } from '../src/observability/log.js';
import { jobsTotal, observeRegionSwitches } from '../src/observability/metrics.js';
import { isJobKind, type JobKind } from '../src/queue/names.js';
import { processBootstrap } from './bootstrap.js';
import { processCleanup } from './cleanup.js';
import { processDeploy } from './deploy.js';
import { processPromote } from './promote.js';
import { processRollback } from './rollback.js';
import { completedEarlier, type JobContext } from './run-release-job.js';

type JobProcessor = (job: Job, token: string | undefined, context: JobContext) => Promise<ReleaseResult>;

const processors: Record<JobKind, JobProcessor> = {
  deploy: processDeploy,
  promote: processPromote,
  rollback: processRollback,
  cleanup: processCleanup,
  bootstrap: processBootstrap,
};

/**
 * The BullMQ processor of the release queue: the job name is its kind. Each run carries the
 * request id the job was enqueued with in every log line (Kubernetes calls included) and is
 * counted by kind and outcome.
 */
export function createReleaseProcessor(context: JobContext): (job: Job, token?: string) => Promise<ReleaseResult> {
  return (job, token) => {
    if (!isJobKind(job.name)) return Promise.reject(new UnrecoverableError(`unknown job kind "${job.name}"`));
    const kind = job.name;
    const data = (job.data ?? {}) as { requestId?: unknown; app?: unknown; environment?: unknown };
    const text = (value: unknown): string | undefined => (typeof value === 'string' ? value : undefined);
    const fields = { requestId: text(data.requestId) ?? job.id, jobId: job.id, kind, app: text(data.app), environment: text(data.environment) };
    return withRequestContext(fields, () => measured(job, kind, () => processors[kind](job, token, context)));
  };
}

async function measured(job: Job, kind: JobKind, run: () => Promise<ReleaseResult>): Promise<ReleaseResult> {
  logger().debug({ attempt: job.attemptsMade + 1 }, 'job picked up');
  try {
    const result = await run();
    if (completedEarlier.has(result)) return result;
    jobsTotal.inc({ kind, outcome: result.outcome });
    observeRegionSwitches(result.regions);
    const level = result.outcome === 'succeeded' ? 'info' : 'warn';
    logger()[level]({ outcome: result.outcome, totalMs: Math.round(result.totalMs), split: result.split }, `job ${result.outcome}`);
    return result;
  } catch (error) {
    if (error instanceof DelayedError) throw error;
    const willRetry = !(error instanceof UnrecoverableError) && job.attemptsMade + 1 < (job.opts.attempts ?? 1);
    jobsTotal.inc({ kind, outcome: willRetry ? 'retry' : 'error' });
    logger().warn({ attempt: job.attemptsMade + 1, willRetry, error: error instanceof Error ? error.message : String(error) }, willRetry ? 'job failed, will retry' : 'job failed');
    throw error;
  }
}
