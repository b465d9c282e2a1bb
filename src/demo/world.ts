import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBot, type RunningBot } from '../bot.js';
import type { Queue } from 'bullmq';
import { parseConfig, type Config } from '../config/index.js';
import { queueSettingsOf } from '../queue/connection.js';
import { createReleaseQueue } from '../queue/release-queue.js';
import { mustType } from '../sandbox/resource-types.js';
import { prometheusUnavailable, startPrometheus, type RunningPrometheus } from '../sandbox/prometheus.js';
import { startSandbox, type Sandbox } from '../sandbox/sandbox.js';
import { createSlackDriver, startSlackStandIn, type SlackDriver, type SlackStandIn } from '../sandbox/slack/index.js';
import { ClusterDirectory } from '../wiring/release-environment.js';
import { ensureRedis, type DemoRedis } from './redis.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const people = {
  alice: 'U0000ALICE',
  bob: 'U00000BOB',
  carol: 'U000CAROL',
  eve: 'U00000EVE',
} as const;
export type Person = keyof typeof people;
export const channel = 'C0RELEASES';
const signingSecret = `demo-${randomBytes(8).toString('hex')}`;

export interface DemoWorld {
  sandbox: Sandbox;
  redis: DemoRedis;
  standIn: SlackStandIn;
  driver: SlackDriver;
  bot: RunningBot;
  /** The release queue, read for the jobs' results (their return values). */
  queue: Queue;
  config: Config;
  configPath: string;
  workers: ChildProcess[];
  names: Record<string, string>;
  /** How Slack reaches the bot: signed HTTP requests or the bot's Socket Mode WebSocket. */
  transport: 'http' | 'socket';
  /** `--metrics`: the Prometheus scraping both ingresses (health gates and drain-aware cleanup on); null: off. */
  prometheus: RunningPrometheus | null;
  stop(): Promise<void>;
}

/**
 * Everything the demo runs, all real except the far sides: two sandbox regions (Kubernetes),
 * Redis, the Slack stand-in (slack.com, with Slack's rate tiers and Block Kit limits), the bot
 * (src/bot.ts) over HTTP or Socket Mode, and worker processes (jobs/worker.ts) exactly as the
 * Procfile starts them. As after a real install, the bot is in no channel until it is invited.
 */
export async function startDemoWorld(env: NodeJS.ProcessEnv, say: (line: string) => void, options: { workers?: number; socketMode?: boolean; helmBinary?: string; metrics?: boolean } = {}): Promise<DemoWorld> {
  const cleanups: (() => Promise<void>)[] = [];
  const stop = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  try {
    const redis = await ensureRedis(env);
    cleanups.push(() => redis.stop());
    say(`redis      ${redis.url} (${redis.origin === 'started' ? 'started for the demo' : redis.origin === 'REDIS_URL' ? 'from REDIS_URL' : 'already running'})`);

    const dir = await mkdtemp(path.join(tmpdir(), 'cutover-demo-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const sandbox = await startSandbox({ readyDelayMs: 600, proxySyncDelayMs: 150, graceScale: 0.5, kubeconfigPath: path.join(dir, 'kubeconfig') });
    cleanups.push(() => sandbox.stop());
    for (const region of sandbox.regions) say(`region     ${region.name.padEnd(8)} API ${region.apiUrl}  ingress ${region.ingressUrl}`);
    say(`kubeconfig ${sandbox.kubeconfigPath}`);

    let prometheus: RunningPrometheus | null = null;
    if (options.metrics) {
      const missing = await prometheusUnavailable();
      if (missing !== null) {
        say(`metrics    off: ${missing}; health gates and drain-aware cleanup are not shown`);
      } else {
        const started = await startPrometheus({ targets: sandbox.regions.map((r) => ({ url: r.ingressMetricsUrl, labels: { region: r.name } })) });
        cleanups.push(() => started.stop());
        await started.waitForTargets();
        prometheus = started;
        say(`prometheus ${started.url} (${started.version}) scrapes both ingresses' metrics every second: health gates and drain-aware cleanup on`);
      }
    }

    const standIn = await startSlackStandIn({ rateLimits: 'slack', botChannels: [] });
    cleanups.push(() => standIn.close());
    const names = Object.fromEntries(standIn.users().map((u) => [u.id, u.name]));
    standIn.invite(channel);
    say(`slack      alice: /invite @cutover in #releases (the bot posts only where it was invited)`);

    if (options.helmBinary) {
      // What the platform team does once per namespace: the Secret the chart references, not made by the chart.
      for (const region of sandbox.regions) {
        region.store.create(mustType('secrets'), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'shop-secrets', namespace: 'production' }, type: 'Opaque', data: { 'db-password': Buffer.from(randomBytes(12).toString('hex')).toString('base64') } });
      }
      say(`chart      examples/charts/shop rendered by ${options.helmBinary} (helm template shop-<version>); Secret shop-secrets created in both regions`);
    }
    const prefix = `cutover-demo-${randomBytes(4).toString('hex')}`;
    const configText = demoConfig(sandbox, prefix, prometheus?.url ?? null, options.helmBinary);
    const configPath = path.join(dir, 'cutover.json');
    await writeFile(configPath, configText);
    const transport = options.socketMode ? 'socket' : 'http';
    const secrets = {
      SLACK_BOT_TOKEN: standIn.botToken,
      SLACK_API_URL: standIn.apiUrl,
      REDIS_URL: redis.url,
      ...(transport === 'socket' ? { SLACK_APP_TOKEN: standIn.appToken } : { SLACK_SIGNING_SECRET: signingSecret }),
    };
    const config = parseConfig(configText, secrets, configPath);

    const quiet = { info: () => undefined, warn: () => undefined, error: (m: string) => say(`bot error: ${m}`) };
    const bot = await startBot({ config, clusters: new ClusterDirectory(), port: 0, host: '127.0.0.1', log: quiet });
    cleanups.push(() => bot.stop());
    let driver: SlackDriver;
    if (transport === 'socket') {
      say(`slack bot  Socket Mode: a WebSocket opened through apps.connections.open on the Slack stand-in ${standIn.apiUrl} (/healthz on port ${bot.port})`);
      driver = createSlackDriver({ standIn, socketMode: true });
    } else {
      say(`slack bot  http://127.0.0.1:${bot.port}/slack/events (HTTP receiver, signed requests) against the Slack stand-in ${standIn.apiUrl}`);
      driver = createSlackDriver({ botUrl: `http://127.0.0.1:${bot.port}/slack/events`, signingSecret, standIn });
    }

    const queue = createReleaseQueue(queueSettingsOf(config));
    cleanups.push(() => queue.close());

    const workers: ChildProcess[] = [];
    cleanups.push(() => stopWorkers(workers));
    const count = options.workers ?? 2;
    await Promise.all(Array.from({ length: count }, () => startWorker(configPath, { ...env, ...secrets, CUTOVER_CONFIG: '' }, workers)));
    say(`workers    ${count} processes: node --import tsx jobs/worker.ts`);

    return { sandbox, redis, standIn, driver, bot, queue, config, configPath, workers, names, transport, prometheus, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The live route's 5xx ratio in a region over the last 5 s; `or vector(0)`: no 5xx is 0, not "no data". */
export const demoErrorRatio =
  '(sum(rate(nginx_ingress_controller_requests{ingress="{{app}}",region="{{region}}",status=~"5.."}[5s])) or vector(0)) / sum(rate(nginx_ingress_controller_requests{ingress="{{app}}",region="{{region}}"}[5s]))';

/** The default idle query with the region label the demo's Prometheus adds. */
const demoIdleQuery =
  'sum(increase(nginx_ingress_controller_requests{namespace="{{namespace}}",service="{{service}}",region="{{region}}"}[{{window}}])) or on() (0 * sum(nginx_ingress_controller_requests{namespace="{{namespace}}",region="{{region}}"}))';

function demoConfig(sandbox: Sandbox, prefix: string, prometheusUrl: string | null, helmBinary?: string): string {
  // --metrics: every switched region bakes 5 s under an error-ratio gate; cleanup waits for 15 s without requests.
  const metrics = prometheusUrl
    ? {
        policy: {
          bakeSeconds: 5,
          gateIntervalSeconds: 1,
          // A region that had no traffic yet (the first promotion) has no error ratio to judge.
          gates: { 'error-ratio': { query: demoErrorRatio, condition: '< 0.01', onNoData: 'pass' } },
          // One Prometheus scrapes both regions: the idle query counts each region's own requests.
          retention: { keep: 1, minAgeSinceLiveHours: 0, graceAfterInstallHours: 0, idle: { windowMinutes: 0.25, query: demoIdleQuery } },
        },
        prometheus: { url: prometheusUrl, timeoutSeconds: 2 },
      }
    : null;
  const config = {
    redis: { prefix },
    // The bot's probes on a free port, beside whatever else runs on this machine.
    web: { metricsPort: 0 },
    apps: {
      shop: {
        image: 'registry.example.com/shop:{version}',
        ...(helmBinary ? { install: { kind: 'helm', chart: path.join(root, 'examples/charts/shop'), helmBinary, values: { podAnnotations: { 'sandbox.cutover.dev/ready-after-ms': '600' } } } } : {}),
        replicas: 2,
        terminationGracePeriodSeconds: 4,
        slack: { channels: [channel] },
      },
    },
    environments: {
      production: {
        protected: true,
        defaultFor: ['deploy', 'promote', 'rollback', 'cleanup', 'bootstrap', 'status', 'history'],
        regions: sandbox.regions.map((r) => ({ name: r.name, kubeconfig: sandbox.kubeconfigPath, context: r.name, namespace: 'production', liveUrl: r.ingressUrl })),
        policy: {
          bakeSeconds: 1,
          readyTimeoutSeconds: 30,
          verifyTimeoutSeconds: 15,
          healthSamples: 10,
          retention: { keep: 1, minAgeSinceLiveHours: 0, graceAfterInstallHours: 0 },
          ...metrics?.policy,
        },
        ...(metrics ? { prometheus: metrics.prometheus } : {}),
        slack: {
          approvals: {
            required: 1,
            approvers: { users: [people.bob, people.carol] },
            requesters: { users: [people.alice, people.bob] },
            expiresMinutes: 10,
          },
        },
        // bob may freeze and stop; alice may break glass (--override "reason"), behind an approval.
        freezers: { users: [people.bob] },
        breakGlass: [people.alice],
      },
    },
  };
  return JSON.stringify(config, null, 2);
}

function startWorker(configPath: string, env: NodeJS.ProcessEnv, workers: ChildProcess[]): Promise<void> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'jobs/worker.ts', '--config', configPath], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  workers.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`a worker did not start within 30 s:\n${output}`)), 30_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('"worker ready"')) {
        clearTimeout(timer);
        resolve();
      }
      // Keep only the tail, for the error above.
      if (output.length > 20_000) output = output.slice(-10_000);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`a worker exited with code ${code}:\n${output}`));
    });
  });
}

async function stopWorkers(workers: ChildProcess[]): Promise<void> {
  await Promise.all(
    workers.map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }),
  );
}
