import type { Queue } from 'bullmq';
import { approverIds } from '../core/approval.js';
import type { ApprovalRecord, ApprovalStore } from './approvals.js';
import { enqueueRelease, type Enqueued } from './enqueue.js';
import type { JobKind } from './names.js';
import type { PayloadInput } from './payloads.js';

/**
 * The job an approved request leads to. Its job id (and request id) is the approval id, so
 * enqueueing it again, by the approving bot, the outbox sweep or another replica, adds nothing;
 * it carries the approval id the worker verifies, and reports into the request's thread.
 */
export function approvedJobPayload(record: ApprovalRecord): { kind: JobKind; payload: PayloadInput<JobKind> } {
  const { request } = record;
  const base = {
    requestId: request.id,
    approvalId: request.id,
    app: request.app,
    environment: request.environment,
    requestedBy: request.requester,
    approvedBy: approverIds(request),
    source: request.origin.via === 'cli' ? ('cli' as const) : ('slack' as const),
    slack: { channel: record.channel, threadTs: record.ts },
    planDigest: request.planDigest,
  };
  const version = request.version;
  switch (request.action) {
    case 'deploy':
    case 'promote':
      return { kind: request.action, payload: { ...base, version: version ?? '' } };
    case 'rollback':
      return { kind: 'rollback', payload: { ...base, ...(version ? { toVersion: version } : {}) } };
    case 'bootstrap':
      return { kind: 'bootstrap', payload: { ...base, ...(version ? { version } : {}) } };
    case 'cleanup':
      return { kind: 'cleanup', payload: base };
  }
}

/** Enqueue the job of an approved request (once: the job id is the approval id), then clear its outbox entry. */
export async function enqueueApproved(queue: Queue, approvals: ApprovalStore, record: ApprovalRecord): Promise<Enqueued> {
  const { kind, payload } = approvedJobPayload(record);
  const enqueued = await enqueueRelease(queue, kind, payload);
  await approvals.queued(record.request.id);
  return enqueued;
}

export interface OutboxResult {
  id: string;
  record: ApprovalRecord | null;
  enqueued?: Enqueued;
  error?: unknown;
}

/**
 * Complete approvals whose enqueue was not confirmed (the approving process died between the
 * transition and the enqueue, or Redis failed it): enqueue each again. Safe to run anywhere, any
 * number of times.
 */
export async function sweepApprovalOutbox(queue: Queue, approvals: ApprovalStore, now: number, beforeFirstEnqueue?: (record: ApprovalRecord) => Promise<void>): Promise<OutboxResult[]> {
  const results: OutboxResult[] = [];
  for (const id of await approvals.unqueued(now)) {
    const record = await approvals.get(id);
    if (!record || record.request.state !== 'approved') {
      // Used, superseded or gone: nothing to enqueue any more.
      await approvals.queued(id);
      results.push({ id, record });
      continue;
    }
    try {
      // Said before the job exists, so the job's own last word on the request comes after it.
      if (beforeFirstEnqueue && !(await queue.getJob(id))) await beforeFirstEnqueue(record);
      results.push({ id, record, enqueued: await enqueueApproved(queue, approvals, record) });
    } catch (error) {
      results.push({ id, record, error });
    }
  }
  return results;
}
