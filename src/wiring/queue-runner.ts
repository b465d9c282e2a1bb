import { randomUUID } from 'node:crypto';
import { Job, type QueueEvents } from 'bullmq';
import type { Config } from '../config/index.js';
import type { ProgressEvent, ReleaseResult } from '../core/events.js';
import type { Action } from '../core/plan.js';
import { createRedis, queueSettingsOf, targetOf, type QueueSettings } from '../queue/connection.js';
import { enqueueRelease } from '../queue/enqueue.js';
import type { JobKind } from '../queue/names.js';
import type { PayloadInput } from '../queue/payloads.js';
import { createReleaseQueue, createReleaseQueueEvents } from '../queue/release-queue.js';

/** How the CLI runs a request through the queue (`--queue`); the CLI is given one by its entry point. */
export interface QueueRunner {
  /** onNote: lines about the job itself (queued as, waiting for a lease). */
  run(config: Config, request: QueuedRequest, onEvent: (event: ProgressEvent) => void, onNote?: (line: string) => void): Promise<ReleaseResult>;
}

export interface QueuedRequest {
  action: Exclude<Action, 'bootstrap'> | 'bootstrap';
  app: string;
  environment: string;
  version: string | null;
  actor: string;
  /** Idempotency key: the same id enqueued twice runs once (default: a fresh id). */
  requestId?: string | undefined;
}

const progressTypes = new Set<string>(['planned', 'step-started', 'step-finished', 'compensating', 'holding', 'finished']);

function isProgressEvent(data: unknown): data is ProgressEvent {
  return typeof data === 'object' && data !== null && progressTypes.has(String((data as { type?: unknown }).type));
}

/**
 * `cutover ... --queue`: enqueue the request on the release queue (so CI goes through the same
 * leases as Slack), follow the job's progress events live and answer its result.
 */
export function createQueueRunner(options: { newRequestId?: () => string } = {}): QueueRunner {
  return {
    async run(config: Config, request: QueuedRequest, onEvent: (event: ProgressEvent) => void, onNote?: (line: string) => void): Promise<ReleaseResult> {
      const settings = queueSettingsOf(config);
      const queue = createReleaseQueue(settings);
      let events: QueueEvents | undefined;
      try {
        const requestId = request.requestId ?? (options.newRequestId ?? (() => `cli-${randomUUID()}`))();
        // Read the events stream from where it stands now, so no event of this job is missed.
        const [last] = await lastEvent(settings, queue.keys.events!);
        events = createReleaseQueueEvents(settings, { lastEventId: last?.[0] ?? '0' });
        // enqueueRelease uses the request id as the job id.
        const jobId = requestId;
        let waitingNote: string | null = null;
        events.on('progress', ({ jobId: id, data }) => {
          if (id !== jobId) return;
          if (isProgressEvent(data)) onEvent(data);
          else if (typeof data === 'object' && data !== null && 'waitingFor' in data) {
            const note = String(data.waitingFor);
            if (note !== waitingNote) onNote?.(note);
            waitingNote = note;
          }
        });
        await events.waitUntilReady();
        const enqueued = await enqueueRelease(queue, request.action, payloadFor(request, requestId));
        onNote?.(enqueued.deduplicated ? `request ${requestId} was already queued as job ${enqueued.jobId}: following it` : `queued as job ${enqueued.jobId}`);
        const job = await Job.fromId(queue, jobId);
        if (!job) throw new Error(`job ${jobId} is gone from the queue`);
        return (await job.waitUntilFinished(events)) as ReleaseResult;
      } finally {
        await events?.close().catch(() => undefined);
        await queue.close().catch(() => undefined);
      }
    },
  };
}

function payloadFor(request: QueuedRequest, requestId: string): PayloadInput<JobKind> {
  const base = { requestId, app: request.app, environment: request.environment, requestedBy: request.actor, source: 'cli' as const };
  switch (request.action) {
    case 'deploy':
    case 'promote':
      return { ...base, version: request.version ?? '' };
    case 'rollback':
      return request.version ? { ...base, toVersion: request.version } : base;
    case 'bootstrap':
      return request.version ? { ...base, version: request.version } : base;
    case 'cleanup':
      return base;
  }
}

async function lastEvent(settings: QueueSettings, streamKey: string): Promise<[string, string[]][]> {
  const redis = createRedis(targetOf(settings), 'queue');
  try {
    return await redis.xrevrange(streamKey, '+', '-', 'COUNT', 1);
  } finally {
    redis.disconnect();
  }
}
