import type { RedisClient } from './connection.js';

/**
 * A fenced lease: one holder at a time, expiring by itself (TTL) when its holder dies, and a
 * fencing token from a counter that only grows. Before each mutating step the holder checks that
 * its token is still current, so a worker that lost its lease (paused, partitioned, presumed
 * dead) stops instead of patching after another took over.
 *
 * The lease is a hash {holder, token, description} with a TTL; the counter is `<key>:fence` (see
 * fenceTtlMs for how long it is kept).
 * Acquiring again as the same holder (a job retried after its worker died) takes a new token,
 * which fences off the earlier attempt if it is in fact still running.
 */

export type AcquireResult = { token: number } | LeaseBusy;

/** Who holds a lease someone else asked for. */
export interface LeaseBusy {
  heldBy: string;
  description: string;
  expiresInMs: number;
  /** The holder's job kind, when it said (see LeaseHolderInfo). */
  kind: string;
  /** `running`: its job is running now; `waiting`: its job waits for a retry or a hold, keeping the lease. */
  state: 'running' | 'waiting';
  /** The holder's fencing token (what a take-over must name). */
  heldToken: number;
}

/** What a holder says about itself, so a waiting request can tell who holds the lease and whether it may supersede it. */
export interface LeaseHolderInfo {
  description?: string;
  kind?: string;
  actor?: string;
}

export interface LeaseInfo {
  holder: string;
  token: number;
  description: string;
  expiresInMs: number;
}

const busyReply = `
  return {0, holder, redis.call('PTTL', KEYS[1]), redis.call('HGET', KEYS[1], 'description') or '',
    redis.call('HGET', KEYS[1], 'kind') or '', redis.call('HGET', KEYS[1], 'state') or 'running', redis.call('HGET', KEYS[1], 'token') or '0'}
`;

const takeScript = `
local token = redis.call('INCR', KEYS[2])
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'token', token, 'description', ARGV[3], 'kind', ARGV[4], 'actor', ARGV[5], 'state', 'running')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if ARGV[8] ~= '0' then redis.call('PEXPIRE', KEYS[2], ARGV[8]) end
return {1, token}
`;

const acquireScript = `
local holder = redis.call('HGET', KEYS[1], 'holder')
if holder and holder ~= ARGV[1] then
${busyReply}
end
${takeScript}`;

// Take a lease whose holder's job is waiting (a retry or a hold) from that exact holder and token.
const takeOverScript = `
local holder = redis.call('HGET', KEYS[1], 'holder')
if holder and (holder ~= ARGV[6] or redis.call('HGET', KEYS[1], 'token') ~= ARGV[7] or redis.call('HGET', KEYS[1], 'state') ~= 'waiting') then
${busyReply}
end
${takeScript}`;

const parkScript = `
if redis.call('HGET', KEYS[1], 'holder') == ARGV[1] and redis.call('HGET', KEYS[1], 'token') == ARGV[2] then
  redis.call('HSET', KEYS[1], 'state', 'waiting')
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0
`;

const raiseFenceScript = `
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL') end
return 1
`;

const renewScript = `
if redis.call('HGET', KEYS[1], 'holder') == ARGV[1] and redis.call('HGET', KEYS[1], 'token') == ARGV[2] then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0
`;

const releaseScript = `
if redis.call('HGET', KEYS[1], 'holder') == ARGV[1] and redis.call('HGET', KEYS[1], 'token') == ARGV[2] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
`;

/**
 * How long a lease's fence counter outlives its last acquisition. An install lease exists per
 * version ever deployed, so its counter expires a week after the version was last installed or
 * cleaned up (any holder of one of its tokens lost its lease, TTL `lockTtlSeconds`, long before);
 * a traffic lease's counter (one per app and environment) is kept: its tokens are written into the
 * live Services, and a counter Redis lost is raised from them again (raiseFence). 0: no TTL.
 */
export function fenceTtlMs(key: string): number {
  return key.includes(':lease:install:') ? installFenceTtlMs : 0;
}

const installFenceTtlMs = 7 * 24 * 60 * 60_000;

/** Take the lease if it is free (or already ours); otherwise say who holds it and for how long. */
export async function acquireLease(redis: RedisClient, key: string, holder: string, ttlMs: number, info: string | LeaseHolderInfo = ''): Promise<AcquireResult> {
  const { description = '', kind = '', actor = '' } = typeof info === 'string' ? { description: info } : info;
  return acquireReply(await redis.eval(acquireScript, 2, key, `${key}:fence`, holder, Math.ceil(ttlMs), description, kind, actor, '', '', fenceTtlMs(key)));
}

/**
 * Take the lease from a holder whose job is waiting (for a retry, or holding at an unreachable
 * region): it succeeds only while that holder, with that token, still holds it in state
 * `waiting`; otherwise answers who holds it now. The old holder's writes are fenced off by the
 * new token.
 */
export async function takeOverLease(redis: RedisClient, key: string, holder: string, ttlMs: number, info: LeaseHolderInfo, from: { holder: string; token: number }): Promise<AcquireResult> {
  const reply = await redis.eval(takeOverScript, 2, key, `${key}:fence`, holder, Math.ceil(ttlMs), info.description ?? '', info.kind ?? '', info.actor ?? '', from.holder, String(from.token), fenceTtlMs(key));
  return acquireReply(reply);
}

/**
 * Keep the lease while the holder's job waits to run again (a retry, a hold, a hand-back): the
 * lease says `waiting` and lasts `ttlMs` more, so nothing else interleaves unseen, except a
 * request that supersedes it (an emergency rollback).
 */
export async function parkLease(redis: RedisClient, key: string, holder: string, token: number, ttlMs: number): Promise<boolean> {
  return (await redis.eval(parkScript, 1, key, holder, String(token), Math.ceil(ttlMs))) === 1;
}

/**
 * Make the next token greater than `atLeast`: a cluster object carries a token from before Redis
 * lost its data (a flush, a failover without persistence), and new tokens must fence above it.
 */
export async function raiseFence(redis: RedisClient, key: string, atLeast: number): Promise<void> {
  await redis.eval(raiseFenceScript, 1, `${key}:fence`, String(atLeast));
}

function acquireReply(raw: unknown): AcquireResult {
  const reply = raw as [number, ...unknown[]];
  if (reply[0] === 1) return { token: Number(reply[1]) };
  return {
    heldBy: String(reply[1]),
    expiresInMs: Math.max(0, Number(reply[2])),
    description: String(reply[3]),
    kind: typeof reply[4] === 'string' ? reply[4] : '',
    state: reply[5] === 'waiting' ? 'waiting' : 'running',
    heldToken: Number(reply[6] ?? 0),
  };
}

/** Extend the lease; false when it expired or another holder took it over. */
export async function renewLease(redis: RedisClient, key: string, holder: string, token: number, ttlMs: number): Promise<boolean> {
  return (await redis.eval(renewScript, 1, key, holder, String(token), Math.ceil(ttlMs))) === 1;
}

/** Give the lease up; only its current holder with its current token can. */
export async function releaseLease(redis: RedisClient, key: string, holder: string, token: number): Promise<boolean> {
  return (await redis.eval(releaseScript, 1, key, holder, String(token))) === 1;
}

/** True only while the lease is held with this token. */
export async function checkFence(redis: RedisClient, key: string, token: number): Promise<boolean> {
  return (await redis.hget(key, 'token')) === String(token);
}

/** Who holds the lease now, or null when it is free. */
export async function readLease(redis: RedisClient, key: string): Promise<LeaseInfo | null> {
  const [fields, pttl] = await Promise.all([redis.hgetall(key), redis.pttl(key)]);
  if (!fields.holder || !fields.token) return null;
  return { holder: fields.holder, token: Number(fields.token), description: fields.description ?? '', expiresInMs: Math.max(0, pttl) };
}

export type LostLeaseCode = 'taken-over' | 'expired' | 'stopped';

/** The lease is no longer ours: stop before the next mutating step. */
export class LostLeaseError extends Error {
  override readonly name = 'LostLeaseError';
  constructor(
    readonly code: LostLeaseCode,
    readonly key: string,
    readonly token: number,
    detail: string,
  ) {
    super(`lease ${key} (token ${token}) lost: ${detail}`);
  }
}

export interface LeaseKeeperOptions {
  /** Renewal period; default a third of the TTL. */
  intervalMs?: number;
  /** Other marks to refresh at each renewal (e.g. markInUse); a failure here is not a lost lease. */
  alsoRenew?: () => Promise<unknown>;
}

/**
 * Renews a held lease every ttl/3. When a renewal fails (taken over, expired, or Redis unreachable
 * for longer than the TTL) `signal` aborts with a LostLeaseError and `assertHeld()` throws it.
 */
export class LeaseKeeper {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private renewing = false;
  /** When renewals started failing to reach Redis (null: the last one reached it). */
  private unreachableSince: number | null = null;
  /** Until when the lease is certainly ours: start of the last successful renewal + TTL. */
  private heldUntil: number;

  constructor(
    private readonly redis: RedisClient,
    readonly key: string,
    readonly holder: string,
    readonly token: number,
    private readonly ttlMs: number,
    private readonly options: LeaseKeeperOptions = {},
  ) {
    this.heldUntil = Date.now() + ttlMs;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get lost(): LostLeaseError | null {
    return this.controller.signal.aborted ? (this.controller.signal.reason as LostLeaseError) : null;
  }

  start(): this {
    const interval = this.options.intervalMs ?? Math.max(10, Math.floor(this.ttlMs / 3));
    this.timer = setInterval(() => void this.renew(), interval);
    this.timer.unref();
    return this;
  }

  /** Throws LostLeaseError if the lease is lost or may have expired; cheap, no Redis round trip. */
  assertHeld(): void {
    if (!this.controller.signal.aborted && Date.now() >= this.heldUntil) {
      this.lose('expired', 'no successful renewal within the TTL');
    }
    const lost = this.lost;
    if (lost) throw lost;
  }

  /**
   * assertHeld, then confirm the token in Redis: call right before a mutating step. An answer that
   * arrives after the lease may have expired (it waited out a Redis outage in the client's queue)
   * does not count: Redis may have restarted from a copy older than a takeover.
   */
  async assertFenced(): Promise<void> {
    this.assertHeld();
    if (!(await checkFence(this.redis, this.key, this.token))) {
      await this.loseWithReason();
    }
    this.assertHeld();
  }

  /**
   * Stop renewing and, unless `release: false`, release the lease if it is still ours. Returns
   * whether it was released; a Redis error leaves it to expire by its TTL.
   */
  async stop(options: { release?: boolean } = {}): Promise<boolean> {
    clearInterval(this.timer);
    this.timer = undefined;
    this.lose('stopped', 'the keeper was stopped');
    if (options.release === false) return false;
    return releaseLease(this.redis, this.key, this.holder, this.token).catch(() => false);
  }

  private async renew(): Promise<void> {
    if (this.renewing || this.controller.signal.aborted) return;
    this.renewing = true;
    const startedAt = Date.now();
    try {
      if (await renewLease(this.redis, this.key, this.holder, this.token, this.ttlMs)) {
        this.heldUntil = startedAt + this.ttlMs;
        await this.options.alsoRenew?.().catch(() => undefined);
      } else {
        await this.loseWithReason();
      }
      this.unreachableSince = null;
    } catch {
      // Redis unreachable: keep trying while the lease may still be ours.
      this.unreachableSince ??= startedAt;
      if (Date.now() >= this.heldUntil) {
        const seconds = Math.round((Date.now() - this.unreachableSince) / 1000);
        this.lose('expired', `Redis unreachable for ${seconds} s, longer than the lease's TTL: lease lost, the job resumes from its saved cursor`);
      }
    } finally {
      this.renewing = false;
    }
  }

  private async loseWithReason(): Promise<void> {
    const now = await readLease(this.redis, this.key).catch(() => null);
    if (now && now.token !== this.token) this.lose('taken-over', `now held by ${now.holder} with token ${now.token}`);
    else this.lose('expired', 'the lease expired before it was renewed');
  }

  private lose(code: LostLeaseCode, detail: string): void {
    if (this.controller.signal.aborted) return;
    clearInterval(this.timer);
    this.controller.abort(new LostLeaseError(code, this.key, this.token, detail));
  }
}
