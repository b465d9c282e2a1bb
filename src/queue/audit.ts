import type { Redis } from 'ioredis';
import { auditKey } from './names.js';

export type AuditKind = 'requested' | 'approved' | 'rejected' | 'expired' | 'started' | 'succeeded' | 'failed' | 'rolled-back';

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
}

export interface StoredAuditEntry extends AuditEntry {
  /** The stream entry id, ordered by append time. */
  id: string;
}

const fields = ['at', 'kind', 'app', 'environment', 'version', 'actor', 'requestId', 'detail'] as const;
const maxLength = 10_000;

/** Append an entry to the audit stream `<prefix>:audit` (the oldest beyond ~10 000 are trimmed). */
export async function appendAudit(redis: Redis, prefix: string, entry: AuditEntry): Promise<string> {
  const pairs: string[] = [];
  for (const field of fields) {
    const value = entry[field];
    if (value !== undefined) pairs.push(field, value);
  }
  const id = await redis.xadd(auditKey(prefix), 'MAXLEN', '~', maxLength, '*', ...pairs);
  return id ?? '';
}

/** The newest entries first, optionally for one app only. */
export async function readAudit(redis: Redis, prefix: string, query: { count: number; app?: string }): Promise<StoredAuditEntry[]> {
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
  };
}
