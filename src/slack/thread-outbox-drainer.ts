import { randomUUID } from 'node:crypto';
import { ErrorCode, WebClient, type WebAPIPlatformError, type WebAPIRateLimitedError } from '@slack/web-api';
import type { Redis } from 'ioredis';
import type { Config } from '../config/index.js';
import type { ReleaseResult } from '../core/events.js';
import { ApprovalStore } from '../queue/approvals.js';
import { ThreadOutbox, type StoredOutboxEntry, type ThreadRef } from '../queue/thread-outbox.js';
import type { SlackMessage } from './block-kit.js';
import { approvalStateMessage } from './blocks.js';
import { ChannelPacer } from './channel-pacer.js';
import { errorText, type SlackLog } from './ports.js';
import { SlackMemo } from './slack-memo.js';
import { finishedRootMessage, type RootRequest } from './thread-root.js';
import { rootMemoKey, type ThreadOp } from './thread-reporter.js';

/**
 * Delivers the thread outboxes to Slack, outside every release lease: each thread in order, one
 * drainer per thread at a time (a Redis lock, so worker replicas share the work), every request
 * with a timeout and no retries inside the client; a failed write is retried with backoff (the
 * thread waits, others go on) up to `maxAttempts`, then dropped with an error line. Successive
 * progress snapshots of a thread coalesce into the newest, and the progress message of a thread is
 * edited at most once per `minIntervalMs`; the summary and the root's update follow at once, their
 * posts paced per channel by the pacer (Slack: about one message a second per channel).
 */

export interface DrainerOptions {
  client: WebClient;
  outbox: ThreadOutbox;
  memo: SlackMemo;
  approvals?: ApprovalStore | undefined;
  pacer?: ChannelPacer | undefined;
  log?: SlackLog | undefined;
  /** Least time between two writes to one thread (default 1100 ms). */
  minIntervalMs?: number;
  /** Deliveries of one entry before it is dropped (default 12: about 5 minutes with the default backoff). */
  maxAttempts?: number;
  /** First retry delay, doubled per failure up to maxBackoffMs (defaults 500 ms and 30 s). */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** How often the due threads are looked for (default 200 ms). */
  pollMs?: number;
}

export interface DrainerSettings {
  requestTimeoutMs: number;
  maxAttempts: number;
  maxBackoffMs: number;
}

const dayS = 24 * 60 * 60;
/** Slack errors worth another try; any other platform error (channel_not_found, invalid_blocks, …) will not change. */
const transientErrors = new Set(['fatal_error', 'internal_error', 'service_unavailable', 'request_timeout', 'ratelimited']);

type Delivery = { ok: true } | { ok: false; transient: boolean; reason: string; retryAfterMs?: number };

export class ThreadOutboxDrainer {
  private readonly owner = randomUUID();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;
  private stopped = false;
  private readonly progressTs = new Map<string, string>();
  /** Slack writes made and entries dropped, for tests and the log. */
  readonly counts = { posts: 0, updates: 0, dropped: 0, failures: 0 };

  constructor(private readonly options: DrainerOptions) {}

  start(): this {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.drainOnce()
        .catch((error: unknown) => this.options.log?.warn(`thread outbox: ${errorText(error)}`))
        .finally(() => {
          this.running = null;
          if (!this.stopped) this.timer = setTimeout(tick, this.options.pollMs ?? 200);
        });
    };
    tick();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /** Deliver what is due now in every thread; resolves when each due thread had its turn. */
  async drainOnce(now = Date.now()): Promise<void> {
    const threads = await this.options.outbox.due(now);
    await Promise.all(threads.map((thread) => this.drainThread(thread)));
  }

  private async drainThread(thread: ThreadRef): Promise<void> {
    const { outbox } = this.options;
    const lockMs = 120_000;
    if (!(await outbox.lock(thread, this.owner, lockMs))) return;
    try {
      const entries = await outbox.pending(thread);
      let index = 0;
      // Progress entries are snapshots: only the newest of a run of them needs to reach Slack.
      while (index + 1 < entries.length && entries[index]!.op === 'progress' && entries[index + 1]!.op === 'progress' && sameRelease(entries[index]!, entries[index + 1]!)) {
        await outbox.done(thread, entries[index]!.streamId, Date.now());
        index++;
      }
      const entry = entries[index];
      if (!entry) {
        await outbox.done(thread, null, Date.now());
        return;
      }
      const delivery = await this.deliver(thread, entry);
      const interval = this.options.minIntervalMs ?? 1100;
      if (delivery.ok) {
        await outbox.forgetTries(entry.id).catch(() => undefined);
        await outbox.done(thread, entry.streamId, Date.now() + pauseBefore(entries[index + 1], interval));
        return;
      }
      this.counts.failures++;
      const tries = delivery.transient ? await outbox.failed(entry.id) : Number.POSITIVE_INFINITY;
      const maxAttempts = this.options.maxAttempts ?? 12;
      if (tries >= maxAttempts) {
        this.counts.dropped++;
        const why = delivery.transient ? `Slack still failing after ${maxAttempts} attempts` : 'Slack refused it';
        this.options.log?.error(`thread ${ref(thread)}: ${entry.op} ${entry.id} dropped, ${why}: ${delivery.reason}`);
        await outbox.forgetTries(entry.id).catch(() => undefined);
        await outbox.done(thread, entry.streamId, Date.now() + interval);
        return;
      }
      const backoff = Math.min((this.options.backoffMs ?? 500) * 2 ** (tries - 1), this.options.maxBackoffMs ?? 30_000);
      const wait = Math.max(backoff, delivery.retryAfterMs ?? 0);
      if (tries === 1) this.options.log?.warn(`thread ${ref(thread)}: ${entry.op} not delivered (${delivery.reason}); retrying, the thread waits`);
      await outbox.done(thread, null, Date.now() + wait);
    } finally {
      await outbox.unlock(thread, this.owner).catch(() => undefined);
    }
  }

  private async deliver(thread: ThreadRef, entry: StoredOutboxEntry): Promise<Delivery> {
    const op = JSON.parse(entry.body) as ThreadOp;
    try {
      switch (op.op) {
        case 'progress':
          await this.writeProgress(thread, op.releaseKey, op.message);
          break;
        case 'summary':
          await this.writeSummary(thread, op.releaseKey, op.message);
          break;
        case 'root':
          await this.writeRoot(thread, op.result);
          break;
      }
      return { ok: true };
    } catch (error) {
      return classify(error);
    }
  }

  private async writeProgress(thread: ThreadRef, releaseKey: string, message: SlackMessage): Promise<void> {
    const { client, memo } = this.options;
    const key = `progress:${ref(thread)}:${releaseKey}`;
    let ts = this.progressTs.get(key) ?? (await memo.recall(key));
    if (ts === null) {
      await this.options.pacer?.wait(thread.channel, 'background');
      const posted = await client.chat.postMessage({ channel: thread.channel, thread_ts: thread.threadTs, ...message });
      this.counts.posts++;
      ts = posted.ts ?? null;
      if (ts !== null) await memo.remember(key, ts, dayS).catch(() => undefined);
    } else {
      await client.chat.update({ channel: thread.channel, ts, ...message });
      this.counts.updates++;
    }
    if (ts !== null) this.progressTs.set(key, ts);
  }

  private async writeSummary(thread: ThreadRef, releaseKey: string, message: SlackMessage): Promise<void> {
    const { client, memo } = this.options;
    const mark = `summary:${ref(thread)}:${releaseKey}`;
    if (!(await memo.claimOnce(mark, 7 * dayS))) return;
    try {
      await this.options.pacer?.wait(thread.channel, 'background');
      await client.chat.postMessage({ channel: thread.channel, thread_ts: thread.threadTs, ...message });
      this.counts.posts++;
    } catch (error) {
      await memo.releaseClaim(mark).catch(() => undefined);
      throw error;
    }
  }

  private async writeRoot(thread: ThreadRef, result: ReleaseResult): Promise<void> {
    const rendered = await this.rootMessage(thread, result);
    await this.options.client.chat.update({ channel: thread.channel, ts: thread.threadTs, ...rendered });
    this.counts.updates++;
  }

  private async rootMessage(thread: ThreadRef, result: ReleaseResult): Promise<SlackMessage> {
    const { approvals, memo } = this.options;
    const approval = approvals ? await approvals.byMessage({ channel: thread.channel, ts: thread.threadTs }).catch(() => null) : null;
    if (approval) return approvalStateMessage(approval.request, { planText: approval.planText, result });
    const root = await memo.recall(rootMemoKey(thread)).catch(() => null);
    return finishedRootMessage(result, root === null ? null : (JSON.parse(root) as RootRequest));
  }
}

function sameRelease(a: StoredOutboxEntry, b: StoredOutboxEntry): boolean {
  return (JSON.parse(a.body) as ThreadOp).releaseKey === (JSON.parse(b.body) as ThreadOp).releaseKey;
}

function ref(thread: ThreadRef): string {
  return `${thread.channel}/${thread.threadTs}`;
}

/** Transient: timeouts, connection errors, 5xx, 429 (with its Retry-After); permanent: Slack's other error names. */
function classify(error: unknown): Delivery {
  const reason = errorText(error);
  const code = (error as { code?: unknown } | null)?.code;
  if (code === ErrorCode.RateLimitedError) return { ok: false, transient: true, reason, retryAfterMs: (error as WebAPIRateLimitedError).retryAfter * 1000 };
  if (code === ErrorCode.PlatformError) {
    const name = (error as WebAPIPlatformError).data.error;
    return { ok: false, transient: transientErrors.has(name), reason };
  }
  return { ok: false, transient: true, reason };
}

/**
 * The worker's drainer, from the config: posting with SLACK_BOT_TOKEN (to SLACK_API_URL when
 * set), each request bounded by `worker.slackOutbox.requestTimeoutMs`; null without a bot token.
 */
export function workerThreadDrainer(config: Config, redis: Redis, log?: SlackLog): ThreadOutboxDrainer | null {
  const token = config.runtime.secrets.slackBotToken;
  if (!token) return null;
  const settings = config.worker.slackOutbox;
  const client = new WebClient(token, {
    ...(config.runtime.slackApiUrl ? { slackApiUrl: config.runtime.slackApiUrl } : {}),
    timeout: settings.requestTimeoutMs,
    // The outbox retries, with the thread waiting and everything else going on.
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
  });
  const { prefix } = config.redis;
  return new ThreadOutboxDrainer({
    client,
    outbox: new ThreadOutbox(redis, prefix),
    memo: new SlackMemo(redis, prefix),
    approvals: new ApprovalStore(redis, prefix),
    pacer: new ChannelPacer(redis, prefix),
    log,
    maxAttempts: settings.maxAttempts,
    maxBackoffMs: settings.maxBackoffMs,
  });
}

/**
 * How long a thread waits before its next write: a progress edit (or whatever comes next) waits the
 * interval, so a running release edits its message about once a second; a summary or a root update
 * already queued goes at once (a post is paced per channel by the pacer).
 */
function pauseBefore(next: StoredOutboxEntry | undefined, intervalMs: number): number {
  return next === undefined || next.op === 'progress' ? intervalMs : 0;
}
