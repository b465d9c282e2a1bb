import { pathToFileURL } from 'node:url';
import type { Redis } from 'ioredis';
import { ConfigError, loadConfig, resolveConfigPath, type Config } from './config/index.js';
import { configureLogging, logger } from './observability/log.js';
import { collectProcessMetrics, webRegistry } from './observability/metrics.js';
import { createReadiness } from './observability/readiness.js';
import { createRedis, queueSettingsOf } from './queue/connection.js';
import { createReleaseQueue } from './queue/release-queue.js';
import { createSlackApp, redisReadiness, type SlackBot } from './slack/app.js';
import { errorText, structuredLog, type SlackLog } from './slack/ports.js';
import { releaseReader } from './wiring/release-reader.js';
import { kubeconfigProblem, redisProblem } from './wiring/preflight.js';
import { regionReadiness } from './wiring/readiness.js';
import { ClusterDirectory } from './wiring/release-environment.js';

/**
 * The web process (`Procfile`: web): the Slack app. Socket Mode when SLACK_APP_TOKEN is set,
 * otherwise the HTTP receiver verifying SLACK_SIGNING_SECRET on PORT; the probes and metrics on
 * their own port (web.metricsPort) either way.
 */

export interface BotOptions {
  config: Config;
  clusters?: ClusterDirectory;
  /** The Slack endpoint's port (HTTP mode). Default: PORT from the config's runtime settings. */
  port?: number;
  /** /healthz, /readyz and /metrics. Default: web.metricsPort from the config (0: a free port). */
  probesPort?: number;
  host?: string;
  log?: SlackLog;
  sweepIntervalMs?: number;
  /** How long a /readyz answer is reused (default 3 s). */
  readinessCacheMs?: number;
}

export interface RunningBot {
  bot: SlackBot;
  /** HTTP mode: the port of /slack/events (the only path it serves). */
  port: number;
  /** The port of /healthz, /readyz and /metrics: never the Slack endpoint's. */
  probesPort: number;
  stop(): Promise<void>;
}

export async function startBot(options: BotOptions): Promise<RunningBot> {
  const { config } = options;
  // Standalone, Cluster or Sentinel, as the environment configures it. The Slack code only sends
  // commands a cluster client has too; its parameter type is still Redis.
  const redis = createRedis(config.runtime.redis, 'client') as Redis;
  const queue = createReleaseQueue(queueSettingsOf(config));
  const closeRedis = async () => {
    await queue.close().catch(() => undefined);
    redis.disconnect();
  };
  const clusters = options.clusters ?? new ClusterDirectory();
  // /readyz: Redis answers and so does every region's API.
  const readiness = createReadiness([redisReadiness(redis), ...regionReadiness(config, clusters)], {
    ...(options.readinessCacheMs !== undefined ? { cacheMs: options.readinessCacheMs } : {}),
  });
  let bot: SlackBot;
  try {
    bot = createSlackApp({
      config,
      reader: releaseReader(config, clusters, redis),
      redis,
      queue,
      readiness,
      ...(options.log ? { log: options.log } : {}),
      ...(options.sweepIntervalMs !== undefined ? { sweepIntervalMs: options.sweepIntervalMs } : {}),
      ...(options.probesPort !== undefined ? { probesPort: options.probesPort } : {}),
    });
    const { port, probesPort } = await bot.start(options.port ?? config.runtime.port, options.host);
    return {
      bot,
      port,
      probesPort,
      async stop() {
        await bot.stop().catch(() => undefined);
        await closeRedis();
      },
    };
  } catch (error) {
    await closeRedis();
    throw error;
  }
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(resolveConfigPath(null));
  } catch (error) {
    console.error(error instanceof ConfigError ? error.message : `cutover bot: ${errorText(error)}`);
    process.exit(2);
  }
  configureLogging({ level: config.runtime.logLevel, secrets: config.runtime.secrets.values(), base: { process: 'web' } });
  collectProcessMetrics(webRegistry);
  const kubeconfig = kubeconfigProblem(config);
  const problem = kubeconfig ?? (await redisProblem(config.runtime.redis));
  if (problem !== null) {
    console.error(`cutover bot: cannot start: ${problem}`);
    process.exit(kubeconfig ? 2 : 1);
  }
  let running: RunningBot;
  try {
    running = await startBot({ config, log: structuredLog });
  } catch (error) {
    console.error(`cutover bot: cannot start: ${slackStartError(error)}`);
    process.exit(1);
  }
  const slack = running.bot.mode === 'socket' ? 'Socket Mode' : `HTTP, /slack/events on port ${running.port}`;
  logger().info({ mode: running.bot.mode, port: running.port, probesPort: running.probesPort }, `cutover bot: ${slack}; /healthz, /readyz and /metrics on port ${running.probesPort}`);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger().info(`cutover bot: ${signal}, stopping`);
    void running.stop().finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

/** One clear line for the usual start failures; Slack's error codes name the bad token. */
function slackStartError(error: unknown): string {
  const code = (error as { data?: { error?: string }; code?: string }).data?.error;
  if (code === 'invalid_auth' || code === 'not_authed' || code === 'account_inactive' || code === 'token_revoked') {
    return `Slack rejected SLACK_BOT_TOKEN (${code})`;
  }
  return errorText(error);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
