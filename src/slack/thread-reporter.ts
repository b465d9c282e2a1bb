import type { Redis } from 'ioredis';
import type { Config } from '../config/index.js';
import type { ProgressEvent, Reporter } from '../core/events.js';
import { ThreadOutbox, type ThreadRef } from '../queue/thread-outbox.js';
import { progressMessage, summaryMessage } from './blocks.js';
import { errorText, type SlackLog } from './ports.js';

/**
 * Reports a release into its Slack thread without ever calling Slack: each event appends to the
 * thread's outbox in Redis (src/queue/thread-outbox.ts) what the thread should show — the
 * progress message as it stands, then the per-region summary, then the root's final state — and
 * the outbox drainer (thread-outbox-drainer.ts) delivers them, in order, outside any release
 * lease. Entries are keyed by job, attempt and sequence, so a repeated append is a no-op. A
 * failed append never fails the release.
 */

export type ThreadTarget = ThreadRef;

/** The operations an outbox entry names, and their bodies. */
export type ThreadOp =
  | { op: 'progress'; releaseKey: string; message: ReturnType<typeof progressMessage> }
  | { op: 'summary'; releaseKey: string; message: ReturnType<typeof summaryMessage> }
  | { op: 'root'; releaseKey: string; result: Extract<ProgressEvent, { type: 'finished' }>['result'] };

export interface ThreadReporterOptions {
  outbox: ThreadOutbox;
  target: ThreadTarget;
  /** Identifies the release (the request id): one progress message and one summary per thread and key. */
  releaseKey: string;
  /** Job id and attempt: with the sequence, the entries' idempotency keys. */
  run: { jobId: string; attempt: number };
  log?: SlackLog | undefined;
}

export class ThreadReporter implements Reporter {
  private events: ProgressEvent[] = [];
  private sequence = 0;
  private finished = false;

  constructor(private readonly options: ThreadReporterOptions) {}

  async report(event: ProgressEvent): Promise<void> {
    if (this.finished) return;
    // A resumed job plans again: the message shows the latest attempt.
    if (event.type === 'planned') this.events = [];
    this.events.push(event);
    if (!this.events.some((e) => e.type === 'planned')) return;
    const { releaseKey } = this.options;
    await this.append({ op: 'progress', releaseKey, message: progressMessage(this.events) });
    if (event.type !== 'finished') return;
    this.finished = true;
    await this.append({ op: 'summary', releaseKey, message: summaryMessage(event.result) });
    await this.append({ op: 'root', releaseKey, result: event.result });
  }

  private async append(op: ThreadOp): Promise<void> {
    const { run, target, outbox } = this.options;
    const id = `${run.jobId}:${run.attempt}:${this.sequence++}`;
    try {
      await outbox.append(target, { id, op: op.op, body: JSON.stringify(op) });
    } catch (error) {
      this.options.log?.warn(`thread ${target.channel}/${target.threadTs}: outbox append ${op.op}: ${errorText(error)}`);
    }
  }
}

/** Where the command handler keeps who asked for an ungated release, for the final root message. */
export function rootMemoKey(target: ThreadTarget): string {
  return `root:${target.channel}/${target.threadTs}`;
}

export type ThreadReporterFor = (payload: { requestId: string; slack?: ThreadTarget | undefined }, run: { jobId: string; attempt: number }) => ThreadReporter | null;

/** For the worker: a thread reporter for a job whose payload names a Slack thread, else null. */
export function threadReporterFactory(outbox: ThreadOutbox, log?: SlackLog): ThreadReporterFor {
  return (payload, run) => (payload.slack ? new ThreadReporter({ outbox, target: payload.slack, releaseKey: payload.requestId, run, log }) : null);
}

/**
 * The worker's Slack side, from the config: a factory of thread reporters appending to the
 * outboxes, or null when no bot token is configured (nothing would deliver them).
 */
export function workerThreadReporters(config: Config, redis: Redis, log?: SlackLog): ThreadReporterFor | null {
  if (!config.runtime.secrets.slackBotToken) return null;
  return threadReporterFactory(new ThreadOutbox(redis, config.redis.prefix), log);
}
