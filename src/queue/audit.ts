import type { RedisClient } from './connection.js';
import { auditKey } from './names.js';

export type AuditKind = 'requested' | 'approved' | 'rejected' | 'expired' | 'started' | 'succeeded' | 'failed' | 'rolled-back' | 'stopped' | 'superseded' | 'frozen' | 'unfrozen' | 'resumed' | 'override' | 'halted';

export interface AuditEntry {
  /** ISO time of the event (passed in, like every time in cutover). */
  at: string;
  kind: AuditKind;
  app: string;
  environment: string;
  version?: string;
  actor?: string;
  requestId: string;
  detail?: string;
  /** The release's Slack thread, `<channel>/<ts>`, when it has one (the App Home links to it). */
  thread?: string;
}

export interface StoredAuditEntry extends AuditEntry {
  /** The stream entry id, ordered by append time. */
  id: string;
}

const fields = ['at', 'kind', 'app', 'environment', 'version', 'actor', 'requestId', 'detail', 'thread'] as const;
const maxLength = 10_000;

/** Append an entry to the audit stream `<prefix>:audit` (the oldest beyond ~10 000 are trimmed). */
export async function appendAudit(redis: RedisClient, prefix: string, entry: AuditEntry): Promise<string> {
  const pairs: string[] = [];
  for (const field of fields) {
    const value = entry[field];
    if (value !== undefined) pairs.push(field, value);
  }
  const id = await redis.xadd(auditKey(prefix), 'MAXLEN', '~', maxLength, '*', ...pairs);
  return id ?? '';
}

const claimAndAppendScript = `
if redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2], 'NX') then
  redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', unpack(ARGV, 4))
  return 1
end
return 0
`;

/**
 * Set `claim.key` to `claim.value` if it is not set yet and, in the same step, append the entry:
 * the entry is written once per claim, even by a process killed right after. Answers whether this
 * call made the claim. On Redis Cluster the key must share the prefix's hash tag.
 */
export async function appendAuditOnce(redis: RedisClient, prefix: string, claim: { key: string; value: string; ttlSeconds: number }, entry: AuditEntry): Promise<boolean> {
  const pairs: string[] = [];
  for (const field of fields) {
    const value = entry[field];
    if (value !== undefined) pairs.push(field, value);
  }
  const claimed = await redis.eval(claimAndAppendScript, 2, auditKey(prefix), claim.key, claim.value, claim.ttlSeconds, maxLength, ...pairs);
  return claimed === 1;
}

/** The newest entries first, optionally for one app only. */
export async function readAudit(redis: RedisClient, prefix: string, query: { count: number; app?: string }): Promise<StoredAuditEntry[]> {
  const found: StoredAuditEntry[] = [];
  const page = query.app ? Math.max(100, query.count) : query.count;
  let end = '+';
  while (found.length < query.count) {
    const batch = await redis.xrevrange(auditKey(prefix), end, '-', 'COUNT', page);
    for (const [id, flat] of batch) {
      const entry = toEntry(id, flat);
      if (!query.app || entry.app === query.app) found.push(entry);
      if (found.length === query.count) break;
    }
    if (batch.length < page) break;
    end = `(${batch[batch.length - 1]![0]}`;
  }
  return found;
}

function toEntry(id: string, flat: string[]): StoredAuditEntry {
  const record: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) record[flat[i]!] = flat[i + 1]!;
  return {
    id,
    at: record.at ?? '',
    kind: record.kind as AuditKind,
    app: record.app ?? '',
    environment: record.environment ?? '',
    requestId: record.requestId ?? '',
    ...(record.version !== undefined ? { version: record.version } : {}),
    ...(record.actor !== undefined ? { actor: record.actor } : {}),
    ...(record.detail !== undefined ? { detail: record.detail } : {}),
    ...(record.thread !== undefined ? { thread: record.thread } : {}),
  };
}
