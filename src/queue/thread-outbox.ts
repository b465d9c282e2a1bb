import type { RedisClient } from './connection.js';

/**
 * Per-thread outboxes of Slack writes. A release job appends what its thread should show (Redis
 * only, so no Slack call ever runs while it holds a lease); a drainer outside the job delivers
 * each thread's entries in order. Layout (all under the prefix):
 * - `slack:outbox:thread:<channel>:<thread ts>`: a stream per thread, oldest first, capped at 1,000
 *   entries, expiring a day after its last append;
 * - `slack:outbox:due`: a sorted set of threads with entries, scored by when the drainer may next
 *   write to them (a failed write pushes its thread back: that is the backoff); a thread leaves it
 *   when its stream is empty;
 * - `slack:outbox:once:<entry id>`: the append claim (a day), so the same entry (job, attempt,
 *   sequence) is appended once even when a run repeats it;
 * - `slack:outbox:tries:<entry id>`: failed deliveries of an entry (a day);
 * - `slack:outbox:lock:<channel>:<thread ts>`: one drainer per thread at a time (PX).
 */

export interface ThreadRef {
  channel: string;
  threadTs: string;
}

export interface OutboxEntry {
  /** Idempotency key: `<job id>:<attempt>:<sequence>`. */
  id: string;
  /** What to do: the drainer's operation name. */
  op: string;
  /** JSON the operation reads. */
  body: string;
}

export interface StoredOutboxEntry extends OutboxEntry {
  /** The stream entry id. */
  streamId: string;
}

const dayS = 24 * 60 * 60;
const maxEntries = 1_000;

// KEYS: stream, due index, claim. ARGV: entry id, op, body, ttl s, now ms, thread member, cap.
const appendScript = `
if not redis.call('SET', KEYS[3], '1', 'EX', ARGV[4], 'NX') then return 0 end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[7], '*', 'id', ARGV[1], 'op', ARGV[2], 'body', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
redis.call('ZADD', KEYS[2], 'NX', ARGV[5], ARGV[6])
return 1
`;

// KEYS: stream, due index. ARGV: stream id to delete (or ''), thread member, next due ms.
const ackScript = `
if ARGV[1] ~= '' then redis.call('XDEL', KEYS[1], ARGV[1]) end
if redis.call('XLEN', KEYS[1]) == 0 then
  redis.call('ZREM', KEYS[2], ARGV[2])
  return 0
end
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[2])
return 1
`;

const unlockScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export class ThreadOutbox {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  /** Append an entry to its thread's outbox; false when this entry id was appended before. */
  async append(thread: ThreadRef, entry: OutboxEntry, now = Date.now()): Promise<boolean> {
    const appended = await this.redis.eval(appendScript, 3, this.streamKey(thread), this.dueKey(), `${this.prefix}:slack:outbox:once:${entry.id}`, entry.id, entry.op, entry.body, dayS, now, member(thread), maxEntries);
    return appended === 1;
  }

  /** Threads whose next write is due, oldest first. */
  async due(now: number, limit = 20): Promise<ThreadRef[]> {
    const members = await this.redis.zrangebyscore(this.dueKey(), '-inf', now, 'LIMIT', 0, limit);
    return members.map(parseMember);
  }

  /** The thread's entries, oldest first. */
  async pending(thread: ThreadRef, count = 20): Promise<StoredOutboxEntry[]> {
    const rows = await this.redis.xrange(this.streamKey(thread), '-', '+', 'COUNT', count);
    return rows.map(([streamId, flat]) => {
      const record: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) record[flat[i]!] = flat[i + 1]!;
      return { streamId, id: record.id ?? streamId, op: record.op ?? '', body: record.body ?? '{}' };
    });
  }

  /**
   * Remove a delivered (or dropped) entry and say when the thread is next due; a thread with
   * nothing left leaves the index. Answers whether entries remain.
   */
  async done(thread: ThreadRef, streamId: string | null, nextDueMs: number): Promise<boolean> {
    return (await this.redis.eval(ackScript, 2, this.streamKey(thread), this.dueKey(), streamId ?? '', member(thread), nextDueMs)) === 1;
  }

  /** Count a failed delivery of an entry; answers how many have failed so far. */
  async failed(entryId: string): Promise<number> {
    const key = `${this.prefix}:slack:outbox:tries:${entryId}`;
    const tries = await this.redis.incr(key);
    await this.redis.expire(key, dayS);
    return tries;
  }

  async forgetTries(entryId: string): Promise<void> {
    await this.redis.del(`${this.prefix}:slack:outbox:tries:${entryId}`);
  }

  /** Take the thread for one drainer; null when another has it. */
  async lock(thread: ThreadRef, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(this.lockKey(thread), owner, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async unlock(thread: ThreadRef, owner: string): Promise<void> {
    await this.redis.eval(unlockScript, 1, this.lockKey(thread), owner);
  }

  /** Entries waiting in every thread (for tests, metrics and operators). */
  async backlog(): Promise<number> {
    const threads = await this.redis.zrange(this.dueKey(), 0, -1);
    let total = 0;
    for (const m of threads) total += await this.redis.xlen(this.streamKey(parseMember(m)));
    return total;
  }

  private streamKey(thread: ThreadRef): string {
    return `${this.prefix}:slack:outbox:thread:${member(thread)}`;
  }

  private lockKey(thread: ThreadRef): string {
    return `${this.prefix}:slack:outbox:lock:${member(thread)}`;
  }

  private dueKey(): string {
    return `${this.prefix}:slack:outbox:due`;
  }
}

function member(thread: ThreadRef): string {
  return `${thread.channel}:${thread.threadTs}`;
}

function parseMember(value: string): ThreadRef {
  const at = value.indexOf(':');
  return { channel: value.slice(0, at), threadTs: value.slice(at + 1) };
}
