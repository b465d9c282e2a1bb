import { Queue, Worker, type Processor, type RedisOptions } from 'bullmq';
import { redisOptions, type ConnectionRole, type QueueSettings } from './connection.js';
import { releaseQueueName } from './names.js';

/**
 * Every worker replica uses the same stall detection: a job whose worker stopped renewing its
 * BullMQ lock for lockDuration is handed to another worker after at most stalledInterval.
 */
export const workerTimings = {
  lockDuration: 30_000,
  stalledInterval: 15_000,
  maxStalledCount: 3,
} as const;

/** The producer side of the "releases" queue; it owns (and closes) its fail-fast connection. */
export function createReleaseQueue(settings: QueueSettings): Queue {
  return new Queue(releaseQueueName, {
    prefix: settings.prefix,
    connection: connectionFor(settings, 'queue'),
    // Otherwise every call waits for Redis to come back: a Slack handler must answer instead.
    skipWaitingForReady: true,
  });
}

export type WorkerTimings = { [K in keyof typeof workerTimings]: number };

export interface ReleaseWorkerOptions {
  concurrency?: number;
  autorun?: boolean;
  /** Shorter timings for tests; every replica of an installation must use the same ones. */
  timings?: Partial<WorkerTimings>;
}

/** A worker on the "releases" queue with the shared timings; it owns its connections. */
export function createReleaseWorker(settings: QueueSettings, processor: Processor, options: ReleaseWorkerOptions = {}): Worker {
  return new Worker(releaseQueueName, processor, {
    prefix: settings.prefix,
    connection: connectionFor(settings, 'worker'),
    concurrency: options.concurrency ?? 4,
    autorun: options.autorun ?? true,
    ...workerTimings,
    ...options.timings,
  });
}

// BullMQ creates (and on close, closes) the ioredis client from these options; its option type
// is a loose subset of ioredis's, hence the widening.
function connectionFor(settings: QueueSettings, role: ConnectionRole): RedisOptions {
  return { ...(redisOptions(role) as RedisOptions), url: settings.redisUrl };
}
