import type { ConfigIssue } from './errors.js';

export interface RedisNode {
  host: string;
  port: number;
}

/** Credentials and TLS for Cluster and Sentinel (a single server carries them in REDIS_URL). */
export interface RedisAuth {
  username: string | null;
  password: string | null;
  tls: boolean;
}

/**
 * Where Redis is: one server (REDIS_URL), a Redis Cluster (REDIS_CLUSTER_NODES, seed nodes) or a
 * primary managed by Sentinel (REDIS_SENTINELS + REDIS_SENTINEL_NAME).
 */
export type RedisTarget =
  | { mode: 'standalone'; url: string }
  | { mode: 'cluster'; nodes: RedisNode[]; auth: RedisAuth }
  | { mode: 'sentinel'; sentinels: RedisNode[]; name: string; auth: RedisAuth; sentinelPassword: string | null };

/**
 * The hash tag Redis Cluster hashes a key by when the key starts with this prefix: the text between
 * the first "{" and the first "}" after it, if not empty. Null when the prefix has none.
 */
export function hashTagOf(prefix: string): string | null {
  const open = prefix.indexOf('{');
  if (open < 0) return null;
  const close = prefix.indexOf('}', open + 1);
  return close > open + 1 ? prefix.slice(open + 1, close) : null;
}

/** On a cluster every key cutover and BullMQ write must land in one slot: the prefix needs a hash tag. */
export function redisPrefixIssues(prefix: string, target: RedisTarget): ConfigIssue[] {
  if (target.mode !== 'cluster' || hashTagOf(prefix) !== null) return [];
  const suggestion = prefix.includes('{') || prefix.includes('}') ? 'cutover' : prefix;
  return [
    {
      where: 'file',
      path: 'redis.prefix',
      message: `"${prefix.slice(0, 40)}" has no hash tag, but REDIS_CLUSTER_NODES is set: on Redis Cluster the prefix must contain one, e.g. "{${suggestion}}", so every queue, lease and fence key lands in the same slot`,
    },
  ];
}

/** Reads the Redis variables of the environment; problems are added to `issues`. */
export function readRedisTarget(env: NodeJS.ProcessEnv, issues: ConfigIssue[], defaultUrl: string): { target: RedisTarget; secrets: string[] } {
  const text = (name: string): string | null => {
    const value = env[name]?.trim();
    return value ? value : null;
  };
  const bad = (path: string, message: string): void => {
    issues.push({ where: 'env', path, message });
  };

  const url = text('REDIS_URL');
  const clusterNodes = text('REDIS_CLUSTER_NODES');
  const sentinels = text('REDIS_SENTINELS');
  const sentinelName = text('REDIS_SENTINEL_NAME');
  const sentinelPassword = text('REDIS_SENTINEL_PASSWORD');
  const username = text('REDIS_USERNAME');
  // A password may legitimately start or end with spaces: not trimmed.
  const password = env.REDIS_PASSWORD ? env.REDIS_PASSWORD : null;
  const tlsText = text('REDIS_TLS')?.toLowerCase() ?? null;
  const secrets = [password, sentinelPassword].filter((v): v is string => v !== null);

  if (clusterNodes === null && sentinels === null) {
    for (const name of ['REDIS_USERNAME', 'REDIS_PASSWORD', 'REDIS_TLS'] as const) {
      if (text(name) !== null) bad(name, 'is only used with REDIS_CLUSTER_NODES or REDIS_SENTINELS; for a single server put it into REDIS_URL (rediss://user:password@host:port)');
    }
    for (const name of ['REDIS_SENTINEL_NAME', 'REDIS_SENTINEL_PASSWORD'] as const) {
      if (text(name) !== null) bad(name, 'needs REDIS_SENTINELS (host:port,host:port)');
    }
    return { target: { mode: 'standalone', url: url ?? defaultUrl }, secrets };
  }

  const exclusive = [url !== null && 'REDIS_URL', clusterNodes !== null && 'REDIS_CLUSTER_NODES', sentinels !== null && 'REDIS_SENTINELS'].filter((n): n is string => typeof n === 'string');
  if (exclusive.length > 1) bad(exclusive[1]!, `cannot be combined with ${exclusive[0]}: set only one of REDIS_URL, REDIS_CLUSTER_NODES, REDIS_SENTINELS`);

  let tls = false;
  if (tlsText !== null) {
    tls = ['true', '1', 'yes'].includes(tlsText);
    if (!tls && !['false', '0', 'no'].includes(tlsText)) bad('REDIS_TLS', `must be true or false, got "${tlsText.slice(0, 20)}"`);
  }
  const auth: RedisAuth = { username, password, tls };

  if (clusterNodes !== null) {
    for (const name of ['REDIS_SENTINEL_NAME', 'REDIS_SENTINEL_PASSWORD'] as const) {
      if (text(name) !== null) bad(name, 'needs REDIS_SENTINELS, not REDIS_CLUSTER_NODES');
    }
    return { target: { mode: 'cluster', nodes: parseNodes('REDIS_CLUSTER_NODES', clusterNodes, bad), auth }, secrets };
  }
  if (sentinelName === null) bad('REDIS_SENTINEL_NAME', 'is required with REDIS_SENTINELS: the name of the master group the sentinels monitor (e.g. mymaster)');
  return {
    target: { mode: 'sentinel', sentinels: parseNodes('REDIS_SENTINELS', sentinels!, bad), name: sentinelName ?? '', auth, sentinelPassword },
    secrets,
  };
}

const hostPattern = /^([A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/;

/** "host:port,host:port"; IPv6 addresses in brackets: "[::1]:7000". */
function parseNodes(variable: string, list: string, bad: (path: string, message: string) => void): RedisNode[] {
  const nodes: RedisNode[] = [];
  for (const entry of list.split(',').map((e) => e.trim())) {
    const match = /^(\[[0-9A-Fa-f:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(entry);
    const host = match?.[1]?.replace(/^\[(.*)\]$/, '$1');
    const port = Number(match?.[2]);
    if (!match || !host || (!match[1]!.startsWith('[') && !hostPattern.test(host)) || port < 1 || port > 65535) {
      bad(variable, `must be a comma-separated list of host:port, got "${entry.slice(0, 60)}"`);
      continue;
    }
    nodes.push({ host, port });
  }
  return nodes;
}

/** The target without secrets, for logs and JSON. */
export function describeRedisTarget(target: RedisTarget): Record<string, unknown> {
  const auth = (a: RedisAuth) => ({ username: a.username, password: a.password === null ? null : '[redacted]', tls: a.tls });
  const list = (nodes: RedisNode[]) => nodes.map((n) => (n.host.includes(':') ? `[${n.host}]:${n.port}` : `${n.host}:${n.port}`));
  switch (target.mode) {
    case 'standalone':
      return { mode: 'standalone' };
    case 'cluster':
      return { mode: 'cluster', nodes: list(target.nodes), ...auth(target.auth) };
    case 'sentinel':
      return { mode: 'sentinel', sentinels: list(target.sentinels), name: target.name, ...auth(target.auth), sentinelPassword: target.sentinelPassword === null ? null : '[redacted]' };
  }
}
