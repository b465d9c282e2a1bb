import { randomUUID } from 'node:crypto';
import { Job, UnrecoverableError, type JobsOptions, type Queue } from 'bullmq';
import { logger } from '../observability/log.js';
import type { JobKind } from './names.js';
import { describeIssues, payloadSchemas, type PayloadInput } from './payloads.js';

/**
 * BullMQ takes a job without a priority before any prioritized one, so every kind gets one.
 * Lower runs first: an emergency rollback overtakes queued promotions and installs.
 */
export const jobPriority: Record<JobKind, number> = {
  rollback: 1,
  promote: 5,
  bootstrap: 5,
  cleanup: 20,
  deploy: 10,
};

const day = 24 * 60 * 60;

export interface EnqueueOptions {
  /** Tries for transient failures (Kubernetes or Redis errors); default 5. */
  attempts?: number;
  /** First retry delay, doubled each time; default 2 s. */
  backoffMs?: number;
  /**
   * How long a finished job is kept, in seconds; default one day. A re-sent request is recognised
   * only while its job is kept: BullMQ ignores an add whose jobId exists, and forgets the id
   * once removeOnComplete/removeOnFail has removed the job.
   */
  keepFinishedSeconds?: number;
  delayMs?: number;
}

export interface Enqueued {
  jobId: string;
  /** true: a job with this request id already existed; nothing was added. */
  deduplicated: boolean;
}

/** Validate and enqueue a release job, at most once per request id. */
export async function enqueueRelease<K extends JobKind>(
  queue: Queue,
  kind: K,
  payload: PayloadInput<K>,
  options: EnqueueOptions = {},
): Promise<Enqueued> {
  const parsed = payloadSchemas[kind].safeParse(payload);
  if (!parsed.success) throw new UnrecoverableError(`invalid ${kind} request: ${describeIssues(parsed.error)}`);
  const enqueueId = randomUUID();
  const data = { ...parsed.data, enqueueId };
  const jobId = parsed.data.requestId;
  await queue.add(kind, data, { ...releaseJobOptions(kind, options), jobId });
  // The add script answers the same for a new and an existing id; the stored data tells which.
  const stored = await Job.fromId(queue, jobId);
  const deduplicated = stored !== undefined && (stored.data as { enqueueId?: string }).enqueueId !== enqueueId;
  logger().info(
    { requestId: jobId, jobId, kind, app: parsed.data.app, environment: parsed.data.environment, source: parsed.data.source, deduplicated },
    deduplicated ? 'release already queued' : 'release enqueued',
  );
  return { jobId, deduplicated };
}

/** Job options every release job gets (also used as the cleanup scheduler's job template). */
export function releaseJobOptions(kind: JobKind, options: EnqueueOptions = {}): JobsOptions {
  const keep = options.keepFinishedSeconds ?? day;
  return {
    attempts: options.attempts ?? 5,
    backoff: { type: 'exponential', delay: options.backoffMs ?? 2_000 },
    priority: jobPriority[kind],
    removeOnComplete: { age: keep },
    removeOnFail: { age: keep },
    ...(options.delayMs ? { delay: options.delayMs } : {}),
  };
}
