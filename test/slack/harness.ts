import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { parseConfig, type Config } from '../../src/config/index.js';
import type { RegionState } from '../../src/core/model.js';
import type { Plan, PlanResult } from '../../src/core/plan.js';
import { createReleaseQueue } from '../../src/queue/release-queue.js';
import { createSlackDriver, startSlackStandIn, type SlackDriver, type SlackStandIn, type StandInOptions } from '../../src/sandbox/slack/index.js';
import { createSlackApp, type SlackBot } from '../../src/slack/app.js';
import type { PlanQuery, ReleaseReader, SlackLog } from '../../src/slack/ports.js';
import { deleteKeys, redisUrl, testPrefix, testRedis } from '../queue/redis-fixture.js';

export const SIGNING_SECRET = 'test-signing-secret';
export const CHANNEL = 'C0RELEASES';
export const ALICE = 'U0000ALICE';
export const BOB = 'U00000BOB';
export const CAROL = 'U000CAROL';
export const EVE = 'U00000EVE';

/** Production needs one approval from the S0APPROVERS group (bob, carol); alice may ask; eve may not. */
export function slackConfig(prefix: string, extra: { expiresMinutes?: number; auditChannel?: string; required?: number } = {}): Config {
  const region = (name: string, port: number) => ({ name, namespace: 'production', liveUrl: `http://127.0.0.1:${port}` });
  const config = {
    redis: { prefix },
    web: { metricsPort: 0 },
    apps: {
      // Apps sharing a namespace need routes of their own.
      shop: { image: 'registry.example.com/shop:{version}', hosts: ['shop.example.com'] },
      cart: { image: 'registry.example.com/cart:{version}', hosts: ['cart.example.com'] },
    },
    environments: {
      staging: { defaultFor: ['deploy', 'status'], regions: [region('eu-west', 1)] },
      production: {
        protected: true,
        defaultFor: ['promote', 'rollback', 'cleanup', 'bootstrap'],
        regions: [region('eu-west', 2), region('us-east', 3)],
        slack: {
          approvals: {
            required: extra.required ?? 1,
            approvers: { usergroups: ['S0APPROVERS'] },
            requesters: { users: [ALICE] },
            expiresMinutes: extra.expiresMinutes ?? 30,
            // Eve is on call: she may roll back (ungated), nothing else.
            actions: { rollback: { requesters: { users: [EVE] } } },
          },
          ...(extra.auditChannel ? { auditChannel: extra.auditChannel } : {}),
        },
      },
    },
  };
  return parseConfig(JSON.stringify(config), { SLACK_BOT_TOKEN: 'xoxb-test', SLACK_SIGNING_SECRET: SIGNING_SECRET }, 'slack-test.yaml');
}

/** The far side (Kubernetes) of the bot, in memory: what is live and installed per app. */
export class FakeClusters implements ReleaseReader {
  live: Record<string, string | null> = { shop: 'v1', cart: 'v1' };
  installed: Record<string, string[]> = { shop: ['v1', 'v2'], cart: ['v1'] };
  previews: PlanQuery[] = [];

  async preview(query: PlanQuery): Promise<PlanResult> {
    this.previews.push(query);
    const regions = query.environment === 'staging' ? ['eu-west'] : ['eu-west', 'us-east'];
    const installed = this.installed[query.app] ?? [];
    const live = this.live[query.app] ?? null;
    const plan: Plan = { action: query.action, app: query.app, environment: query.environment, version: query.version, regions, steps: [], notes: [] };
    if (query.action === 'promote' || query.action === 'rollback') {
      const to = query.version ?? 'v0';
      if (!installed.includes(to)) return { ok: false, reasons: [`${to} is not installed; installed versions: ${installed.join(', ')}`] };
      plan.steps = regions.flatMap((region) => [
        { kind: 'precheck' as const, region, version: to, minReady: 1 },
        { kind: 'switch' as const, region, from: live, to },
        { kind: 'verify' as const, region, version: to },
      ]);
    } else if (query.action === 'deploy') {
      plan.steps = regions.map((region) => ({ kind: 'install' as const, region, version: query.version ?? '' }));
    }
    return { ok: true, plan };
  }

  async status(app: string, environment: string): Promise<RegionState[]> {
    const regions = environment === 'staging' ? ['eu-west'] : ['eu-west', 'us-east'];
    const live = this.live[app] ?? null;
    return regions.map((region) => ({
      region,
      live: { version: live, previousVersion: null, promotedAt: null, promotedBy: null },
      liveRouteExists: true,
      versions: (this.installed[app] ?? []).map((version) => ({
        version,
        desiredReplicas: 2,
        readyReplicas: 2,
        updatedReplicas: 2,
        createdAt: '2026-01-01T00:00:00Z',
        retiredAt: null,
        hasService: true,
        hasRoute: true,
      })),
    }));
  }
}

export interface World {
  standIn: SlackStandIn;
  driver: SlackDriver;
  bot: SlackBot;
  botUrl: string;
  /** Where /healthz, /readyz and /metrics answer: not the Slack endpoint's port. */
  probesUrl: string;
  clusters: FakeClusters;
  redis: Redis;
  queue: Queue;
  prefix: string;
  config: Config;
  clock: { offsetMs: number };
  logs: string[];
  /** The same lines with their level. */
  logLines: { level: 'info' | 'warn' | 'error'; message: string }[];
  stop(): Promise<void>;
}

export async function startWorld(
  options: { expiresMinutes?: number; auditChannel?: string; required?: number; reader?: ReleaseReader; config?: (prefix: string) => Config; standIn?: StandInOptions; usergroupTtlMs?: number; homeRefreshMs?: number } = {},
): Promise<World> {
  const prefix = testPrefix();
  const standIn = await startSlackStandIn({ ...(options.auditChannel ? { channels: [CHANNEL, options.auditChannel] } : {}), ...options.standIn });
  const config = options.config?.(prefix) ?? slackConfig(prefix, options);
  const redis = testRedis();
  const queue = createReleaseQueue({ redisUrl, prefix });
  const clusters = new FakeClusters();
  const clock = { offsetMs: 0 };
  const logs: string[] = [];
  const logLines: World['logLines'] = [];
  const line = (level: 'info' | 'warn' | 'error') => (message: string) => {
    logs.push(message);
    logLines.push({ level, message });
  };
  const log: SlackLog = { info: line('info'), warn: line('warn'), error: line('error') };
  const bot = createSlackApp({
    config,
    reader: options.reader ?? clusters,
    redis,
    queue,
    botToken: standIn.botToken,
    slackApiUrl: standIn.apiUrl,
    log,
    now: () => Date.now() + clock.offsetMs,
    sweepIntervalMs: 0,
    ...(options.usergroupTtlMs !== undefined ? { usergroupTtlMs: options.usergroupTtlMs } : {}),
    ...(options.homeRefreshMs !== undefined ? { homeRefreshMs: options.homeRefreshMs } : {}),
  });
  const { port, probesPort } = await bot.start(0, '127.0.0.1');
  const botUrl = `http://127.0.0.1:${port}`;
  const probesUrl = `http://127.0.0.1:${probesPort}`;
  const driver = createSlackDriver({ botUrl: `${botUrl}/slack/events`, signingSecret: SIGNING_SECRET, standIn });
  return {
    standIn,
    driver,
    bot,
    botUrl,
    probesUrl,
    clusters,
    redis,
    queue,
    prefix,
    config,
    clock,
    logs,
    logLines,
    async stop() {
      await bot.stop();
      await queue.close();
      await deleteKeys(redis, prefix);
      redis.disconnect();
      await standIn.close();
    },
  };
}

/** Jobs on the queue in any state. */
export async function queuedJobs(queue: Queue) {
  return queue.getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed']);
}

/** Text of a recorded message or ephemeral, blocks included, for matching. */
export function textOf(message: { text?: string; blocks?: unknown[] } | undefined): string {
  if (!message) return '';
  return `${message.text ?? ''}\n${JSON.stringify(message.blocks ?? [])}`;
}

/** Alice asks in the channel; resolves with the new top-level message (approval request or "Queued"). */
export async function askAsAlice(standIn: SlackStandIn, driver: SlackDriver, text: string) {
  const before = standIn.messages(CHANNEL).length;
  await driver.slashCommand(ALICE, text);
  return standIn.waitFor((s) => s.messages(CHANNEL).slice(before).find((m) => !m.thread_ts), 15_000);
}

/** The thread's summary reply once the release finished: the progress message has the same title, the summary a line per region. */
export function summaryInThread(standIn: SlackStandIn, threadTs: string, title: string) {
  return standIn.waitFor((s) => s.replies(CHANNEL, threadTs).find((m) => m.text?.startsWith(title) && m.text.includes('\neu-west: ')), 30_000);
}
