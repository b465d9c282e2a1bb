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
 * otherwise the HTTP receiver verifying SLACK_SIGNING_SECRET on PORT; /healthz either way.
 */

export interface BotOptions {
  config: Config;
  clusters?: ClusterDirectory;
  /** Default: PORT from the config's runtime settings. */
  port?: number;
  host?: string;
  log?: SlackLog;
  sweepIntervalMs?: number;
  /** How long a /readyz answer is reused (default 3 s). */
  readinessCacheMs?: number;
}

export interface RunningBot {
  bot: SlackBot;
  /** The port /healthz (and in HTTP mode /slack/events) listens on. */
  port: number;
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
      healthPort: options.port ?? config.runtime.port,
    });
    const { port } = await bot.start(options.port ?? config.runtime.port, options.host);
    return {
      bot,
      port,
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
  logger().info({ mode: running.bot.mode, port: running.port }, `cutover bot: ${running.bot.mode === 'socket' ? 'Socket Mode' : 'HTTP'}, /healthz, /readyz and /metrics on port ${running.port}`);
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
