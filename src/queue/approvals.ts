import type { ApprovalRequest } from '../core/approval.js';
import type { RedisClient } from './connection.js';

/**
 * Approval requests in Redis, where the bot, the CLI and the workers all read them. A record is
 * keyed by its request id and found from its Slack message (channel and ts: what a reaction or a
 * button press names). Updates are compare-and-set on a revision, so two decisions handled at
 * once (two bot replicas, a worker claiming it) never lose each other's effect. In the same
 * atomic step the indexes follow the state: pending requests by expiry (the expiry sweep), and
 * approved ones in the outbox until their job is known to be queued (the outbox sweep), so an
 * approval is never lost between its transition and the enqueue.
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

/** How long after its approval the outbox sweep takes over an enqueue the approving process did not confirm. */
export const outboxGraceMs = 2_000;

const createScript = `
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'rev', '1', 'json', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[2])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
return 1
`;

// KEYS: record, pending index, outbox. ARGV: rev read, new json, ttl, state before, state after,
// expiry, id, outbox due time.
const casScript = `
if redis.call('HGET', KEYS[1], 'rev') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'rev', tostring(tonumber(ARGV[1]) + 1), 'json', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if ARGV[5] == 'pending' then
  redis.call('ZADD', KEYS[2], ARGV[6], ARGV[7])
else
  redis.call('ZREM', KEYS[2], ARGV[7])
end
if ARGV[5] == 'approved' then
  if ARGV[4] ~= 'approved' then redis.call('ZADD', KEYS[3], ARGV[8], ARGV[7]) end
else
  redis.call('ZREM', KEYS[3], ARGV[7])
end
return 1
`;

export class ApprovalStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Store a new request and index its message; false if that id or message already has one. */
  async create(record: ApprovalRecord): Promise<boolean> {
    const { request } = record;
    const created = await this.redis.eval(createScript, 3, this.key(request.id), this.messageKey(record), this.pendingKey(), JSON.stringify(record), this.ttl(request), request.expiresAt, request.id);
    return created === 1;
  }

  async get(id: string): Promise<ApprovalRecord | null> {
    const json = await this.redis.hget(this.key(id), 'json');
    return json === null ? null : (JSON.parse(json) as ApprovalRecord);
  }

  /** The request posted as this message, if any. */
  async byMessage(ref: MessageRef): Promise<ApprovalRecord | null> {
    const id = await this.redis.get(this.messageKey(ref));
    return id === null ? null : this.get(id);
  }

  /**
   * Read, change with `change` (pure), write back if nobody wrote in between; retried on a
   * conflict. Returns the transition, or null when no record exists. `change` returning the same
   * object writes nothing.
   */
  async update(id: string, change: (record: ApprovalRecord) => ApprovalRecord): Promise<Transition | null> {
    for (let attempt = 0; attempt < 50; attempt++) {
      const [rev = null, json = null] = await this.redis.hmget(this.key(id), 'rev', 'json');
      if (rev === null || json === null) return null;
      const before = JSON.parse(json) as ApprovalRecord;
      const after = change(before);
      if (after === before) return { before, after };
      const written = await this.redis.eval(
        casScript,
        3,
        this.key(id),
        this.pendingKey(),
        this.outboxKey(),
        rev,
        JSON.stringify(after),
        this.ttl(after.request),
        before.request.state,
        after.request.state,
        after.request.expiresAt,
        id,
        this.now() + outboxGraceMs,
      );
      if (written === 1) return { before, after };
    }
    throw new Error(`approval ${id}: too many concurrent updates`);
  }

  /** Ids of pending requests whose expiry has passed. */
  /** Ids of pending requests, soonest to expire first. */
  async pending(limit = 50): Promise<string[]> {
    return this.redis.zrange(this.pendingKey(), 0, limit - 1);
  }

  async due(now: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.pendingKey(), '-inf', now, 'LIMIT', 0, 100);
  }

  /** Ids of approved requests whose job was not confirmed queued within the grace time. */
  async unqueued(now: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.outboxKey(), '-inf', now, 'LIMIT', 0, 100);
  }

  /** The job of this approval is queued: the outbox sweep need not. */
  async queued(id: string): Promise<void> {
    await this.redis.zrem(this.outboxKey(), id);
  }

  /** Where a state is indexed, for tests and operators. */
  async isIndexed(id: string, index: 'pending' | 'outbox'): Promise<boolean> {
    return (await this.redis.zscore(index === 'pending' ? this.pendingKey() : this.outboxKey(), id)) !== null;
  }

  private key(id: string): string {
    return `${this.prefix}:approval:${id}`;
  }

  private messageKey(ref: MessageRef): string {
    return `${this.prefix}:approval-message:${ref.channel}:${ref.ts}`;
  }

  private pendingKey(): string {
    return `${this.prefix}:approvals:pending`;
  }

  private outboxKey(): string {
    return `${this.prefix}:approvals:outbox`;
  }

  private ttl(request: ApprovalRequest): number {
    return Math.max(60_000, request.expiresAt - this.now() + keepAfterExpiryMs);
  }
}
