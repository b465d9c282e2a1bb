import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebClient } from '@slack/web-api';
import { Job, type Queue, type QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import { findEnvironment, type Config } from '../config/index.js';
import { approverIds, describeState, type ApprovalOrigin } from '../core/approval.js';
import type { ProgressEvent, ReleaseResult } from '../core/events.js';
import type { Action, Plan } from '../core/plan.js';
import { ApprovalStore } from '../queue/approvals.js';
import { createRedis, queueSettingsOf, targetOf, type QueueSettings } from '../queue/connection.js';
import { enqueueRelease } from '../queue/enqueue.js';
import type { JobKind } from '../queue/names.js';
import type { PayloadInput } from '../queue/payloads.js';
import { createReleaseQueue, createReleaseQueueEvents } from '../queue/release-queue.js';
import { postApprovalRequest } from '../slack/approval-request.js';
import { ChannelPacer } from '../slack/channel-pacer.js';
import { postingGuidance } from '../slack/command-handler.js';

/** How the CLI runs a request through the queue (`--queue`); the CLI is given one by its entry point. */
export interface QueueRunner {
  /** onNote: lines about the job itself (queued as, waiting for a lease). */
  run(config: Config, request: QueuedRequest, onEvent: (event: ProgressEvent) => void, onNote?: (line: string) => void): Promise<ReleaseResult>;
  /**
   * `--request-approval`: post the approval request in Slack (as a Slack user's command would),
   * wait for its decision, then follow the job the approval starts.
   */
  runApproved(config: Config, request: ApprovalRunRequest, onEvent: (event: ProgressEvent) => void, onNote?: (line: string) => void): Promise<ApprovedRun>;
}

export interface ApprovalRunRequest extends Omit<QueuedRequest, 'requestId'> {
  /** The plan the approvers see, made by the CLI from the clusters now; the worker checks it against its own observation. */
  plan: Plan;
  /** Where the request is posted. */
  channel: string;
  origin: Extract<ApprovalOrigin, { via: 'cli' }>;
  /** How long to wait for the approved job to be queued by the bot (default 2 minutes). */
  queuedWithinMs?: number;
  /** How often the request is read while waiting (default 1 s). */
  pollMs?: number;
}

/** The decision and, when approved, what the release did. */
export type ApprovedRun =
  | { decided: 'approved'; requestId: string; result: ReleaseResult }
  | { decided: 'rejected' | 'expired' | 'superseded'; requestId: string; reason: string }
  /** Slack refused the request message (e.g. the bot is not in the channel): nothing was asked. */
  | { decided: 'not-posted'; requestId: null; reason: string };

export interface QueuedRequest {
  action: Exclude<Action, 'bootstrap'> | 'bootstrap';
  app: string;
  environment: string;
  version: string | null;
  actor: string;
  /** Idempotency key: the same id enqueued twice runs once (default: a fresh id). */
  requestId?: string | undefined;
}

const progressTypes = new Set<string>(['planned', 'step-started', 'step-finished', 'compensating', 'holding', 'stopped', 'finished']);

function isProgressEvent(data: unknown): data is ProgressEvent {
  return typeof data === 'object' && data !== null && progressTypes.has(String((data as { type?: unknown }).type));
}

/**
 * `cutover ... --queue`: enqueue the request on the release queue (so CI goes through the same
 * leases as Slack), follow the job's progress events live and answer its result.
 */
export function createQueueRunner(options: { newRequestId?: () => string } = {}): QueueRunner {
  return {
    async run(config: Config, request: QueuedRequest, onEvent: (event: ProgressEvent) => void, onNote?: (line: string) => void): Promise<ReleaseResult> {
      const settings = queueSettingsOf(config);
      const queue = createReleaseQueue(settings);
      let events: QueueEvents | undefined;
      try {
        const requestId = request.requestId ?? (options.newRequestId ?? (() => `cli-${randomUUID()}`))();
        // Read the events stream from where it stands now, so no event of this job is missed.
        const [last] = await lastEvent(settings, queue.keys.events!);
        events = createReleaseQueueEvents(settings, { lastEventId: last?.[0] ?? '0' });
        // enqueueRelease uses the request id as the job id.
        const jobId = requestId;
        let waitingNote: string | null = null;
        events.on('progress', ({ jobId: id, data }) => {
          if (id !== jobId) return;
          if (isProgressEvent(data)) onEvent(data);
          else if (typeof data === 'object' && data !== null && 'waitingFor' in data) {
            const note = String(data.waitingFor);
            if (note !== waitingNote) onNote?.(note);
            waitingNote = note;
          }
        });
        await events.waitUntilReady();
        const enqueued = await enqueueRelease(queue, request.action, payloadFor(request, requestId));
        onNote?.(enqueued.deduplicated ? `request ${requestId} was already queued as job ${enqueued.jobId}: following it` : `queued as job ${enqueued.jobId}`);
        const job = await Job.fromId(queue, jobId);
        if (!job) throw new Error(`job ${jobId} is gone from the queue`);
        return (await job.waitUntilFinished(events)) as ReleaseResult;
      } finally {
        await events?.close().catch(() => undefined);
        await queue.close().catch(() => undefined);
      }
    },

    async runApproved(config, request, onEvent, onNote = () => undefined) {
      const settings = queueSettingsOf(config);
      const token = config.runtime.secrets.slackBotToken;
      if (!token) throw new Error('--request-approval needs SLACK_BOT_TOKEN to post the approval request');
      const environment = findEnvironment(config, request.environment);
      if (!environment) throw new Error(`unknown environment ${request.environment}`);
      const queue = createReleaseQueue(settings);
      const redis = createRedis(targetOf(settings), 'client');
      let events: QueueEvents | undefined;
      try {
        // Listen before anything is posted: no progress event of the job can be missed.
        const [last] = await lastEvent(settings, queue.keys.events!);
        events = createReleaseQueueEvents(settings, { lastEventId: last?.[0] ?? '0' });
        await events.waitUntilReady();
        const approvals = new ApprovalStore(redis, settings.prefix);
        const client = new WebClient(token, config.runtime.slackApiUrl ? { slackApiUrl: config.runtime.slackApiUrl } : {});
        // The Slack code only sends commands a cluster client has too; its parameter type is still Redis.
        const posting = {
          config,
          redis: redis as Redis,
          prefix: settings.prefix,
          client,
          now: Date.now,
          pacer: new ChannelPacer(redis as Redis, settings.prefix),
          approvals,
          log: { info: () => undefined, warn: (m: string) => onNote(`warning: ${m}`), error: (m: string) => onNote(`warning: ${m}`) },
        };
        const posted = await postApprovalRequest(posting, { app: request.app, version: request.version, action: request.action, plan: request.plan, environment, requester: request.actor, channel: request.channel, origin: request.origin });
        if (!posted.ok) return { decided: 'not-posted', requestId: null, reason: postingGuidance(posted.error, request.channel, undefined, 'the approval request') };
        const { request: asked } = posted.record;
        const expires = new Date(asked.expiresAt).toISOString().slice(0, 16).replace('T', ' ');
        onNote(`waiting for approval: request ${asked.id} posted in channel ${request.channel}, needs ${asked.requiredApprovals} approval${asked.requiredApprovals === 1 ? '' : 's'}, expires ${expires} UTC`);
        const decided = await waitForDecision(approvals, asked.id, request.pollMs ?? 1_000, onNote);
        if (decided.request.state !== 'approved' && decided.request.state !== 'used') {
          const by = decided.request.rejectedBy ? ` by ${decided.request.rejectedBy}` : '';
          return { decided: decided.request.state === 'pending' ? 'expired' : (decided.request.state), requestId: asked.id, reason: `approval request ${asked.id} was ${describeState(decided.request)}${by}: nothing ran` };
        }
        onNote(`approved by ${approverIds(decided.request).join(', ')}: following job ${asked.id}`);
        const job = await waitForJob(queue, asked.id, request.queuedWithinMs ?? 120_000);
        events.on('progress', ({ jobId, data }) => {
          if (jobId === asked.id && isProgressEvent(data)) onEvent(data);
        });
        return { decided: 'approved', requestId: asked.id, result: (await job.waitUntilFinished(events)) as ReleaseResult };
      } finally {
        await events?.close().catch(() => undefined);
        await queue.close().catch(() => undefined);
        redis.disconnect();
      }
    },
  };
}

/** Read the request until it leaves `pending`, saying so when its approvals change. */
async function waitForDecision(approvals: ApprovalStore, id: string, pollMs: number, onNote: (line: string) => void) {
  let said = '';
  for (;;) {
    const record = await approvals.get(id);
    if (!record) throw new Error(`approval request ${id} is gone from Redis`);
    if (record.request.state !== 'pending') return record;
    if (Date.now() >= record.request.expiresAt + 60_000) return { ...record, request: { ...record.request, state: 'expired' as const } };
    const count = `${record.request.votes.length}/${record.request.requiredApprovals}`;
    if (record.request.votes.length > 0 && count !== said) onNote(`${count} approvals so far (${approverIds(record.request).join(', ')})`);
    if (record.request.votes.length > 0) said = count;
    await sleep(pollMs);
  }
}

/** The approving bot enqueues the job (or its outbox sweep does); wait for it. */
async function waitForJob(queue: Queue, id: string, withinMs: number): Promise<Job> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const job = await Job.fromId(queue, id);
    if (job) return job;
    if (Date.now() > deadline) throw new Error(`approved, but job ${id} was not queued within ${Math.round(withinMs / 1000)} s: is the cutover bot (web process) running? It queues approved releases`);
    await sleep(500);
  }
}

function payloadFor(request: QueuedRequest, requestId: string): PayloadInput<JobKind> {
  const base = { requestId, app: request.app, environment: request.environment, requestedBy: request.actor, source: 'cli' as const };
  switch (request.action) {
    case 'deploy':
    case 'promote':
      return { ...base, version: request.version ?? '' };
    case 'rollback':
      return request.version ? { ...base, toVersion: request.version } : base;
    case 'bootstrap':
      return request.version ? { ...base, version: request.version } : base;
    case 'cleanup':
      return base;
  }
}

async function lastEvent(settings: QueueSettings, streamKey: string): Promise<[string, string[]][]> {
  const redis = createRedis(targetOf(settings), 'queue');
  try {
    return await redis.xrevrange(streamKey, '+', '-', 'COUNT', 1);
  } finally {
    redis.disconnect();
  }
}
