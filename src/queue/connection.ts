import { Redis, type RedisOptions } from 'ioredis';

/** Where the queue room keeps its data: one Redis, one key prefix per installation. */
export interface QueueSettings {
  redisUrl: string;
  /** Every key cutover writes starts with this (BullMQ queues, leases, audit). No trailing ":". */
  prefix: string;
}

/**
 * - worker: BullMQ workers block on Redis and must retry forever (`maxRetriesPerRequest: null`).
 * - queue: producers called from an HTTP or Slack handler fail fast, so a handler never hangs
 *   while Redis is down (bounded retries, short connect and command timeouts).
 * - client: leases, in-use marks and audit inside a worker; a command that cannot complete
 *   within a lease renewal period is better failed than left pending.
 */
export type ConnectionRole = 'worker' | 'queue' | 'client';

const roleOptions: Record<ConnectionRole, RedisOptions> = {
  worker: { maxRetriesPerRequest: null, enableReadyCheck: true },
  queue: {
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    commandTimeout: 3_000,
    retryStrategy: (times) => Math.min(200 * 2 ** times, 5_000),
  },
  client: {
    maxRetriesPerRequest: 2,
    connectTimeout: 2_000,
    commandTimeout: 3_000,
    retryStrategy: (times) => Math.min(100 * 2 ** times, 2_000),
  },
};

/** A Redis connection for one role; the URL may carry credentials, which are never logged here. */
export function createRedis(url: string, role: ConnectionRole): Redis {
  return new Redis(url, redisOptions(role));
}

export function redisOptions(role: ConnectionRole): RedisOptions {
  return { ...roleOptions[role], connectionName: `cutover-${role}` };
}
