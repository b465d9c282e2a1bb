import type { Redis } from 'ioredis';
import type { ApprovalRequest } from '../core/approval.js';

/**
 * Approval requests in Redis, keyed by the channel and ts of the request message (what a
 * reaction event names). Updates are compare-and-set on a revision, so two reactions handled at
 * once (or by two bot replicas) never lose each other's effect. Pending requests are indexed by
 * expiry for the sweep. Also: Slack event dedupe and one-shot claims (SET NX EX).
 */

export interface ApprovalRecord {
  request: ApprovalRequest;
  channel: string;
  /** The request message: the thread root. */
  ts: string;
  /** The plan the approvers see, as text. */
  planText: string;
}

export interface MessageRef {
  channel: string;
  ts: string;
}

export interface Transition {
  before: ApprovalRecord;
  after: ApprovalRecord;
}

/** Records outlive their expiry by a week, so late reactions still get a clear answer. */
const keepAfterExpiryMs = 7 * 24 * 60 * 60_000;

const createScript = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'rev', '1', 'json', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
return 1
`;

const casScript = `
if redis.call('HGET', KEYS[1], 'rev') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'rev', tostring(tonumber(ARGV[1]) + 1), 'json', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if ARGV[4] == 'pending' then
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[6])
else
  redis.call('ZREM', KEYS[2], ARGV[6])
end
return 1
`;

export class ApprovalGate {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** Store a new request; false if one is already stored for that message. */
  async create(record: ApprovalRecord): Promise<boolean> {
    const { request } = record;
    const created = await this.redis.eval(
      createScript,
      2,
      this.key(record),
      this.pendingKey(),
      JSON.stringify(record),
      this.ttl(request),
      request.expiresAt,
      member(record),
    );
    return created === 1;
  }

  async get(ref: MessageRef): Promise<ApprovalRecord | null> {
    const json = await this.redis.hget(this.key(ref), 'json');
    return json === null ? null : (JSON.parse(json) as ApprovalRecord);
  }

  /**
   * Read, change with `change` (pure), write back if nobody wrote in between; retried on a
   * conflict. Returns the transition, or null when no record exists. `change` returning the same
   * object writes nothing.
   */
  async update(ref: MessageRef, change: (record: ApprovalRecord) => ApprovalRecord): Promise<Transition | null> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const [rev = null, json = null] = await this.redis.hmget(this.key(ref), 'rev', 'json');
      if (rev === null || json === null) return null;
      const before = JSON.parse(json) as ApprovalRecord;
      const after = change(before);
      if (after === before) return { before, after };
      const written = await this.redis.eval(
        casScript,
        2,
        this.key(ref),
        this.pendingKey(),
        rev,
        JSON.stringify(after),
        this.ttl(after.request),
        after.request.state,
        after.request.expiresAt,
        member(ref),
      );
      if (written === 1) return { before, after };
    }
    throw new Error(`approval ${ref.channel}/${ref.ts}: too many concurrent updates`);
  }

  /** Pending requests whose expiry has passed. */
  async due(now: number): Promise<MessageRef[]> {
    const members = await this.redis.zrangebyscore(this.pendingKey(), '-inf', now, 'LIMIT', 0, 100);
    return members.map(parseMember);
  }

  /** True the first time an event id is seen (within a day): Slack re-delivers events. */
  async claimEvent(eventId: string): Promise<boolean> {
    return this.claimOnce(`event:${eventId}`, 24 * 60 * 60);
  }

  /** Forget a claim, so a re-delivery of an event whose handling failed is handled again. */
  async releaseEvent(eventId: string): Promise<void> {
    await this.releaseClaim(`event:${eventId}`);
  }

  async releaseClaim(key: string): Promise<void> {
    await this.redis.del(`${this.prefix}:slack:once:${key}`);
  }

  /** True for the first caller with this key within `ttlSeconds`. */
  async claimOnce(key: string, ttlSeconds: number): Promise<boolean> {
    return (await this.redis.set(`${this.prefix}:slack:once:${key}`, '1', 'EX', ttlSeconds, 'NX')) === 'OK';
  }

  /** A small value kept per thread (e.g. the progress message ts), for a job resumed elsewhere. */
  async remember(key: string, value: string, ttlSeconds: number): Promise<void> {
    await this.redis.set(`${this.prefix}:slack:memo:${key}`, value, 'EX', ttlSeconds);
  }

  async recall(key: string): Promise<string | null> {
    return this.redis.get(`${this.prefix}:slack:memo:${key}`);
  }

  private key(ref: MessageRef): string {
    return `${this.prefix}:slack:approval:${ref.channel}:${ref.ts}`;
  }

  private pendingKey(): string {
    return `${this.prefix}:slack:approvals:pending`;
  }

  private ttl(request: ApprovalRequest): number {
    return Math.max(60_000, request.expiresAt - Date.now() + keepAfterExpiryMs);
  }
}

function member(ref: MessageRef): string {
  return `${ref.channel}/${ref.ts}`;
}

function parseMember(text: string): MessageRef {
  const slash = text.indexOf('/');
  return { channel: text.slice(0, slash), ts: text.slice(slash + 1) };
}
