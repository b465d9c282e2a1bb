import type { Queue } from 'bullmq';
import { releaseJobOptions } from './enqueue.js';
import { cleanupSchedulerId } from './names.js';
import type { PayloadInput } from './payloads.js';

export interface CleanupSchedule {
  app: string;
  environment: string;
  /** Cron expression from the config, e.g. "0 3 * * *". */
  cron: string;
  /** IANA time zone for the cron expression; default UTC (without one, BullMQ reads it in the worker's local time). */
  tz?: string;
}

export interface SchedulerSync {
  created: string[];
  updated: string[];
  unchanged: string[];
  removed: string[];
}

const ownPrefix = 'cleanup:';

/** The payload every scheduled cleanup job carries; its job id (not requestId) is unique per run. */
export function scheduledCleanupPayload(app: string, environment: string): PayloadInput<'cleanup'> {
  return {
    requestId: `scheduled-cleanup-${app}-${environment}`.replace(/[^A-Za-z0-9._-]/g, '-'),
    app,
    environment,
    requestedBy: 'scheduler',
    approvedBy: [],
    source: 'scheduler',
  };
}

/**
 * Declare one cleanup job scheduler per app and environment (id `cleanup:<app>:<env>`) and remove
 * the cleanup schedulers the config no longer names. Idempotent: safe at every worker start, from
 * several replicas at once; schedulers whose cron and payload did not change are left untouched.
 */
export async function syncCleanupSchedulers(queue: Queue, wanted: CleanupSchedule[]): Promise<SchedulerSync> {
  const result: SchedulerSync = { created: [], updated: [], unchanged: [], removed: [] };
  const wantedIds = new Set<string>();
  for (const schedule of wanted) {
    const id = cleanupSchedulerId(schedule.app, schedule.environment);
    wantedIds.add(id);
    const data = scheduledCleanupPayload(schedule.app, schedule.environment);
    const tz = schedule.tz ?? 'UTC';
    const existing = await queue.getJobScheduler(id);
    if (existing && existing.pattern === schedule.cron && existing.tz === tz && sameJson(existing.template?.data, data)) {
      result.unchanged.push(id);
      continue;
    }
    await queue.upsertJobScheduler(
      id,
      { pattern: schedule.cron, tz },
      { name: 'cleanup', data, opts: releaseJobOptions('cleanup') },
    );
    (existing ? result.updated : result.created).push(id);
  }
  for (const scheduler of await allSchedulers(queue)) {
    const id = scheduler.id ?? scheduler.key;
    if (id.startsWith(ownPrefix) && !wantedIds.has(id)) {
      await queue.removeJobScheduler(id);
      result.removed.push(id);
    }
  }
  return result;
}

async function allSchedulers(queue: Queue): Promise<{ id?: string | null; key: string }[]> {
  const page = 500;
  const all: { id?: string | null; key: string }[] = [];
  for (let start = 0; ; start += page) {
    const batch = await queue.getJobSchedulers(start, start + page - 1, true);
    all.push(...batch);
    if (batch.length < page) return all;
  }
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
