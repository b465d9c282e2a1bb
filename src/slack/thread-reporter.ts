import { WebClient } from '@slack/web-api';
import type { Redis } from 'ioredis';
import type { Config } from '../config/index.js';
import type { ProgressEvent, ReleaseResult, Reporter } from '../core/events.js';
import { ApprovalStore } from '../queue/approvals.js';
import { SlackMemo } from './slack-memo.js';
import { ChannelPacer } from './channel-pacer.js';
import type { SlackMessage } from './block-kit.js';
import { approvalStateMessage, progressMessage, summaryMessage } from './blocks.js';
import { errorText, type SlackLog } from './ports.js';
import { finishedRootMessage, type RootRequest } from './thread-root.js';

/**
 * Reports a release into its Slack thread without tripping rate limits: ONE progress message,
 * posted on the first event and then edited with chat.update at most once per interval (events
 * in between are coalesced into the next edit); the per-region summary posted once as a reply;
 * the root message updated with the final state. A Slack failure never fails the release.
 */

export interface ThreadTarget {
  channel: string;
  threadTs: string;
}

export interface ThreadReporterOptions {
  client: WebClient;
  target: ThreadTarget;
  /** Identifies the release (the request id); the summary is posted once per thread and key. */
  releaseKey: string;
  /** Keeps the progress message ts and the summary mark across job retries and worker crashes. */
  gate?: SlackMemo | undefined;
  /** Where an approved release's request is kept, for its final root message. */
  approvals?: ApprovalStore | undefined;
  /**
   * Least time between two Slack writes of this thread; default 1100 ms: Slack allows about one
   * message a second per channel, and the margin absorbs jitter in when requests arrive.
   */
  minIntervalMs?: number | undefined;
  /** Paces posts per channel with the bot and the other workers. */
  pacer?: ChannelPacer | undefined;
  log?: SlackLog | undefined;
}

const dayS = 24 * 60 * 60;

export class ThreadReporter implements Reporter {
  private events: ProgressEvent[] = [];
  private progressTs: string | null = null;
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private lastWriteAt = Number.NEGATIVE_INFINITY;
  private finished = false;
  private readonly minIntervalMs: number;
  /** Slack writes made, for tests and the log. */
  readonly writes = { posts: 0, updates: 0 };

  constructor(private readonly options: ThreadReporterOptions) {
    this.minIntervalMs = options.minIntervalMs ?? 1100;
  }

  report(event: ProgressEvent): void | Promise<void> {
    if (this.finished) return;
    // A resumed job plans again: the message shows the latest attempt.
    if (event.type === 'planned') this.events = [];
    this.events.push(event);
    if (event.type === 'finished') {
      this.finished = true;
      return this.finish(event.result);
    }
    this.schedule();
  }

  /** Resolves when every write so far is done. */
  async flushed(): Promise<void> {
    await this.chain;
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    const wait = Math.max(0, this.lastWriteAt + this.minIntervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.serially('progress', () => this.writeProgress());
    }, wait);
  }

  private serially(what: string, task: () => Promise<void>): Promise<void> {
    this.chain = this.chain.then(task).catch((error: unknown) => this.options.log?.warn(`thread ${this.ref()}: ${what}: ${errorText(error)}`));
    return this.chain;
  }

  private async paced(): Promise<void> {
    const wait = this.lastWriteAt + this.minIntervalMs - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    this.lastWriteAt = Date.now();
  }

  private async writeProgress(): Promise<void> {
    if (!this.events.some((e) => e.type === 'planned')) return;
    const { client, target, gate } = this.options;
    const rendered = progressMessage(this.events);
    const memo = `progress:${this.ref()}:${this.options.releaseKey}`;
    if (this.progressTs === null && gate) this.progressTs = await gate.recall(memo).catch(() => null);
    await this.paced();
    if (this.progressTs === null) {
      await this.options.pacer?.wait(target.channel);
      const posted = await client.chat.postMessage({ channel: target.channel, thread_ts: target.threadTs, ...rendered });
      this.writes.posts++;
      this.progressTs = posted.ts ?? null;
      if (this.progressTs !== null) await gate?.remember(memo, this.progressTs, dayS).catch(() => undefined);
    } else {
      await client.chat.update({ channel: target.channel, ts: this.progressTs, ...rendered });
      this.writes.updates++;
    }
  }

  private async finish(result: ReleaseResult): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.serially('progress', () => this.writeProgress());
    await this.serially('summary', () => this.writeSummary(result));
    await this.serially('root', () => this.writeRoot(result));
  }

  private async writeSummary(result: ReleaseResult): Promise<void> {
    const { client, target, gate } = this.options;
    const mark = `summary:${this.ref()}:${this.options.releaseKey}`;
    if (gate && !(await gate.claimOnce(mark, 7 * dayS))) return;
    await this.paced();
    try {
      await this.options.pacer?.wait(target.channel);
      await client.chat.postMessage({ channel: target.channel, thread_ts: target.threadTs, ...summaryMessage(result) });
      this.writes.posts++;
    } catch (error) {
      await gate?.releaseClaim(mark).catch(() => undefined);
      throw error;
    }
  }

  private async writeRoot(result: ReleaseResult): Promise<void> {
    const { client, target } = this.options;
    const rendered = await this.rootMessage(result);
    await this.paced();
    await client.chat.update({ channel: target.channel, ts: target.threadTs, ...rendered });
    this.writes.updates++;
  }

  private async rootMessage(result: ReleaseResult): Promise<SlackMessage> {
    const { gate, approvals, target } = this.options;
    if (!gate) return finishedRootMessage(result, null);
    const approval = approvals ? await approvals.byMessage({ channel: target.channel, ts: target.threadTs }).catch(() => null) : null;
    if (approval) return approvalStateMessage(approval.request, { planText: approval.planText, result });
    const root = await gate.recall(rootMemoKey(target)).catch(() => null);
    return finishedRootMessage(result, root === null ? null : (JSON.parse(root) as RootRequest));
  }

  private ref(): string {
    return `${this.options.target.channel}/${this.options.target.threadTs}`;
  }
}

/** Where the command handler keeps who asked for an ungated release, for the final root message. */
export function rootMemoKey(target: ThreadTarget): string {
  return `root:${target.channel}/${target.threadTs}`;
}

export interface ThreadReporterFactoryOptions {
  client: WebClient;
  gate?: SlackMemo | undefined;
  approvals?: ApprovalStore | undefined;
  pacer?: ChannelPacer | undefined;
  minIntervalMs?: number | undefined;
  log?: SlackLog | undefined;
}

/** For the worker: a thread reporter for a job whose payload names a Slack thread, else null. */
export function threadReporterFactory(options: ThreadReporterFactoryOptions): (payload: { requestId: string; slack?: ThreadTarget | undefined }) => ThreadReporter | null {
  return (payload) => (payload.slack ? new ThreadReporter({ ...options, target: payload.slack, releaseKey: payload.requestId }) : null);
}

export type ThreadReporterFor = ReturnType<typeof threadReporterFactory>;

/**
 * The worker's Slack side, from the config: a factory of thread reporters posting with
 * SLACK_BOT_TOKEN (to SLACK_API_URL when set), or null when no bot token is configured.
 */
export function workerThreadReporters(config: Config, redis: Redis, log?: SlackLog, minIntervalMs?: number): ThreadReporterFor | null {
  const token = config.runtime.secrets.slackBotToken;
  if (!token) return null;
  const client = new WebClient(token, config.runtime.slackApiUrl ? { slackApiUrl: config.runtime.slackApiUrl } : {});
  const { prefix } = config.redis;
  return threadReporterFactory({ client, gate: new SlackMemo(redis, prefix), approvals: new ApprovalStore(redis, prefix), pacer: new ChannelPacer(redis, prefix), log, minIntervalMs });
}
