import type { RedisClient } from './connection.js';
import { inUseKey } from './names.js';

/**
 * Versions being installed or promoted, per app and environment, read by cleanup. Each mark is a
 * member `<version>|<holder>` scored by its expiry (Redis server time, so worker clocks do not
 * matter); a dead worker's mark lapses by itself. Two jobs can mark the same version.
 */

const markScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return 1
`;

const readScript = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. now, '+inf')
`;

function member(version: string, holder: string): string {
  return `${version}|${holder}`;
}

/** Mark (or refresh the mark of) a version as in use by a holder for ttlMs. */
export async function markInUse(redis: RedisClient, prefix: string, app: string, environment: string, version: string, holder: string, ttlMs: number): Promise<void> {
  const ttl = Math.ceil(ttlMs);
  // The whole set expires a while after its last mark, so no key outlives its marks for long.
  await redis.eval(markScript, 1, inUseKey(prefix, app, environment), member(version, holder), ttl, ttl * 2);
}

export async function unmarkInUse(redis: RedisClient, prefix: string, app: string, environment: string, version: string, holder: string): Promise<void> {
  await redis.zrem(inUseKey(prefix, app, environment), member(version, holder));
}

/** Versions with at least one unexpired mark, sorted. */
export async function versionsInUse(redis: RedisClient, prefix: string, app: string, environment: string): Promise<string[]> {
  const members = (await redis.eval(readScript, 1, inUseKey(prefix, app, environment))) as string[];
  return [...new Set(members.map((m) => m.slice(0, m.indexOf('|'))))].sort();
}
