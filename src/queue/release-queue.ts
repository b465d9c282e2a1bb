import { Queue, QueueEvents, Worker, type ConnectionOptions, type Processor, type RedisOptions } from 'bullmq';
import type { Cluster } from 'ioredis';
import { createRedis, redisOptions, sentinelOptions, targetOf, type ConnectionRole, type QueueSettings } from './connection.js';
import { logBullmqConnections } from './connection-log.js';
import { releaseQueueName } from './names.js';

/**
 * Every worker replica uses the same stall detection: a job whose worker stopped renewing its
 * BullMQ lock for lockDuration is handed to another worker after at most stalledInterval.
 */
export const workerTimings = {
  lockDuration: 30_000,
  stalledInterval: 15_000,
  maxStalledCount: 3,
  /**
   * How long the worker waits before fetching again after a Redis error (BullMQ's default is
   * 15 s, which made a worker resume 8-18 s after Redis was back; issue 20).
   */
  runRetryDelay: 500,
} as const;

/** The producer side of the "releases" queue; it owns (and closes) its fail-fast connection. */
export function createReleaseQueue(settings: QueueSettings): Queue {
  const { connection, owned } = connectionFor(settings, 'queue');
  const queue = new Queue(releaseQueueName, {
    prefix: settings.prefix,
    connection,
    // Otherwise every call waits for Redis to come back: a Slack handler must answer instead.
    skipWaitingForReady: true,
  });
  logBullmqConnections(queue, 'bullmq queue');
  return closingAlso(queue, owned);
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
  const { connection, owned } = connectionFor(settings, 'worker');
  const worker = new Worker(releaseQueueName, processor, {
    prefix: settings.prefix,
    connection,
    concurrency: options.concurrency ?? 4,
    autorun: options.autorun ?? true,
    ...workerTimings,
    ...options.timings,
  });
  logBullmqConnections(worker, 'bullmq worker');
  return closingAlso(worker, owned);
}

/** Progress and completion events of the "releases" queue; it owns its connection. */
export function createReleaseQueueEvents(settings: QueueSettings, options: { lastEventId?: string } = {}): QueueEvents {
  const { connection, owned } = connectionFor(settings, 'worker');
  const events = new QueueEvents(releaseQueueName, { prefix: settings.prefix, connection, ...options });
  logBullmqConnections(events, 'bullmq events');
  return closingAlso(events, owned);
}

/**
 * BullMQ creates (and on close, closes) the ioredis client from plain options; its option type is
 * a loose subset of ioredis's, hence the widening. A cluster client cannot be described by
 * options, so it is created here, handed over, and closed after its owner.
 */
function connectionFor(settings: QueueSettings, role: ConnectionRole): { connection: ConnectionOptions; owned: Cluster | null } {
  const target = targetOf(settings);
  switch (target.mode) {
    case 'standalone':
      return { connection: { ...(redisOptions(role) as RedisOptions), url: target.url }, owned: null };
    case 'sentinel':
      return { connection: sentinelOptions(target, role) as RedisOptions, owned: null };
    case 'cluster': {
      const cluster = createRedis(target, role) as Cluster;
      return { connection: cluster, owned: cluster };
    }
  }
}

function closingAlso<T extends { close(...args: never[]): Promise<void> }>(owner: T, client: Cluster | null): T {
  if (!client) return owner;
  const close = owner.close.bind(owner) as (...args: unknown[]) => Promise<void>;
  (owner as unknown as { close: (...args: unknown[]) => Promise<void> }).close = async (...args: unknown[]) => {
    try {
      await close(...args);
    } finally {
      await client.quit().catch(() => client.disconnect());
    }
  };
  return owner;
}
