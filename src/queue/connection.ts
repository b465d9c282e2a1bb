import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import type { Config, RedisTarget } from '../config/index.js';
import { logConnectionState } from './connection-log.js';

/** A connection to a single server, a Sentinel-managed primary (both `Redis`) or a Redis Cluster. */
export type RedisClient = Redis | Cluster;

/** Where the queue room keeps its data: one Redis, one key prefix per installation. */
export interface QueueSettings {
  /** A single server's URL; ignored when `target` is set. */
  redisUrl: string;
  /** Every key cutover writes starts with this (BullMQ queues, leases, audit). No trailing ":". */
  prefix: string;
  /** Cluster or Sentinel (config `runtime.redis`); absent: the single server at redisUrl. */
  target?: RedisTarget;
}

/** The queue settings of a loaded configuration. */
export function queueSettingsOf(config: Config): QueueSettings {
  return { redisUrl: config.runtime.redisUrl, prefix: config.redis.prefix, target: config.runtime.redis };
}

export function targetOf(settings: QueueSettings): RedisTarget {
  return settings.target ?? { mode: 'standalone', url: settings.redisUrl };
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
  // Reconnect attempts at most 500 ms apart, so a worker answers within a second or two of Redis coming back.
  worker: { maxRetriesPerRequest: null, enableReadyCheck: true, retryStrategy: (times) => Math.min(100 * times, 500) },
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
    retryStrategy: (times) => Math.min(100 * 2 ** times, 500),
  },
};

/**
 * A Redis connection for one role; credentials are never logged here. Its state changes are logged
 * once each (unreachable, reachable again), not once per reconnection attempt.
 */
export function createRedis(url: string, role: ConnectionRole): Redis;
export function createRedis(target: string | RedisTarget, role: ConnectionRole): RedisClient;
export function createRedis(target: string | RedisTarget, role: ConnectionRole): RedisClient {
  const client = connect(target, role);
  logConnectionState(client, role);
  return client;
}

function connect(target: string | RedisTarget, role: ConnectionRole): RedisClient {
  if (typeof target === 'string') return new Redis(target, redisOptions(role));
  switch (target.mode) {
    case 'standalone':
      return new Redis(target.url, redisOptions(role));
    case 'sentinel':
      return new Redis(sentinelOptions(target, role));
    case 'cluster':
      return new Cluster(
        target.nodes.map((n) => ({ host: n.host, port: n.port })),
        clusterOptions(target, role),
      );
  }
}

export function redisOptions(role: ConnectionRole): RedisOptions {
  return { ...roleOptions[role], connectionName: `cutover-${role}` };
}

/** Options for a client that asks the sentinels where the primary of the master group is. */
export function sentinelOptions(target: Extract<RedisTarget, { mode: 'sentinel' }>, role: ConnectionRole): RedisOptions {
  const { auth } = target;
  return {
    ...redisOptions(role),
    sentinels: target.sentinels.map((n) => ({ host: n.host, port: n.port })),
    name: target.name,
    role: 'master',
    ...(auth.username ? { username: auth.username } : {}),
    ...(auth.password ? { password: auth.password } : {}),
    ...(target.sentinelPassword ? { sentinelPassword: target.sentinelPassword } : {}),
    ...(auth.tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
  };
}

/**
 * Options for a cluster client. ioredis reconnects a cluster as a whole (clusterRetryStrategy);
 * the per-node options carry the role's retry budget and timeouts.
 */
export function clusterOptions(target: Extract<RedisTarget, { mode: 'cluster' }>, role: ConnectionRole): ClusterOptions {
  const { retryStrategy, ...perNode } = redisOptions(role);
  const { auth } = target;
  return {
    ...(retryStrategy ? { clusterRetryStrategy: retryStrategy } : {}),
    enableReadyCheck: true,
    redisOptions: {
      ...perNode,
      ...(auth.username ? { username: auth.username } : {}),
      ...(auth.password ? { password: auth.password } : {}),
      ...(auth.tls ? { tls: {} } : {}),
    },
  };
}
