import { Cluster, Redis } from 'ioredis';
import type { Config, RedisTarget } from '../config/index.js';
import { isKubeError } from '../kube/errors.js';
import { loadKubeConfig } from '../kube/load-kubeconfig.js';
import { clusterOptions, redisOptions, sentinelOptions } from '../queue/connection.js';

/**
 * Checks the entry points run before they start serving, so a broken deployment fails at once
 * with one line instead of failing every job later (kubeconfig) or retrying forever (Redis).
 */

/** The first region whose kubeconfig cannot be loaded (missing file, unknown context), or null. Reads files only. */
export function kubeconfigProblem(config: Config): string | null {
  for (const environment of Object.values(config.environments)) {
    for (const region of environment.regions) {
      try {
        loadKubeConfig({ ...(region.kubeconfig ? { path: region.kubeconfig } : {}), ...(region.context ? { context: region.context } : {}) });
      } catch (error) {
        if (!isKubeError(error, 'kubeconfig')) throw error;
        return `region ${region.name} of ${environment.name}: ${error.message}`;
      }
    }
  }
  return null;
}

/** Null when Redis answers within `timeoutMs`; else why not, naming where (never the credentials). */
export async function redisProblem(target: RedisTarget, timeoutMs = 5_000): Promise<string | null> {
  const where = redisWhere(target);
  // One attempt, no offline queue: this answers "is it there now", it does not wait for it.
  const once = { retryStrategy: () => null, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true };
  let client: Redis | Cluster;
  switch (target.mode) {
    case 'standalone':
      client = new Redis(target.url, { ...redisOptions('client'), ...once });
      break;
    case 'sentinel':
      client = new Redis({ ...sentinelOptions(target, 'client'), ...once, sentinelRetryStrategy: () => null });
      break;
    case 'cluster': {
      const options = clusterOptions(target, 'client');
      client = new Cluster(target.nodes, { ...options, lazyConnect: true, enableOfflineQueue: false, clusterRetryStrategy: () => null, redisOptions: { ...options.redisOptions, ...once } });
      break;
    }
  }
  const errors: string[] = [];
  client.on('error', (error: Error) => errors.push(reasonOf(error)));
  let timer: NodeJS.Timeout | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    });
    await Promise.race([client.connect().then(() => client.ping()), timeout]);
    return null;
  } catch (error) {
    return `Redis at ${where} is unreachable (${errors[0] ?? reasonOf(error)})`;
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}

function reasonOf(error: unknown): string {
  const record = error as { code?: unknown; message?: unknown };
  if (typeof record.code === 'string' && /^E[A-Z]+$/.test(record.code)) return record.code;
  return String(record.message ?? error).split('\n')[0]!.slice(0, 200);
}

/** host:port list of a target, without user or password. */
export function redisWhere(target: RedisTarget): string {
  const list = (nodes: { host: string; port: number }[]) => nodes.map((n) => (n.host.includes(':') ? `[${n.host}]:${n.port}` : `${n.host}:${n.port}`)).join(',');
  switch (target.mode) {
    case 'standalone': {
      try {
        const url = new URL(target.url);
        return `${url.hostname}:${url.port || '6379'}`;
      } catch {
        return 'REDIS_URL';
      }
    }
    case 'cluster':
      return `cluster ${list(target.nodes)}`;
    case 'sentinel':
      return `sentinels ${list(target.sentinels)} (${target.name})`;
  }
}
