import type { RedisClient } from './connection.js';

/**
 * Superseding: an emergency rollback never waits behind a promotion (or cleanup) of the same app
 * and environment. It marks that job superseded; the job stops at its next step boundary (or, if
 * it waits for a retry or a hold, never runs again) and ends as "superseded by ...".
 */

export interface SupersededBy {
  jobId: string;
  kind: string;
  actor: string;
  at: string;
}

const keepSeconds = 24 * 60 * 60;

export function supersededKey(prefix: string, jobId: string): string {
  return `${prefix}:superseded:${jobId}`;
}

/** Mark a job superseded (the first mark wins: it names who superseded it first). */
export async function markSuperseded(redis: RedisClient, prefix: string, jobId: string, by: SupersededBy): Promise<void> {
  await redis.set(supersededKey(prefix, jobId), JSON.stringify(by), 'EX', keepSeconds, 'NX');
}

export async function readSuperseded(redis: RedisClient, prefix: string, jobId: string): Promise<SupersededBy | null> {
  const raw = await redis.get(supersededKey(prefix, jobId));
  if (raw === null) return null;
  try {
    return JSON.parse(raw) as SupersededBy;
  } catch {
    return null;
  }
}

/** "superseded by rollback slack-123 requested by <@UBOB>" */
export function describeSuperseded(by: SupersededBy): string {
  return `superseded by ${by.kind} ${by.jobId} requested by ${by.actor}`;
}

/**
 * Polls the mark while a job runs and calls `onSuperseded` once when it appears. A poll is one
 * GET; every `intervalMs` (250 ms: an emergency rollback waits at most about that plus the
 * current step).
 */
export function watchSuperseded(redis: RedisClient, prefix: string, jobId: string, onSuperseded: (by: SupersededBy) => void, intervalMs = 250): () => void {
  let stopped = false;
  const timer = setInterval(() => {
    void readSuperseded(redis, prefix, jobId).then(
      (by) => {
        if (by && !stopped) {
          stopped = true;
          clearInterval(timer);
          onSuperseded(by);
        }
      },
      () => undefined,
    );
  }, intervalMs);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
