import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { ConfigError, environmentsOf, findApp, findEnvironment, loadConfig, resolveConfigPath, type Config } from '../src/config/index.js';
import { startMetricsServer, type MetricsServer } from '../src/observability/http.js';
import { configureLogging, logger } from '../src/observability/log.js';
import { collectProcessMetrics, workerRegistry } from '../src/observability/metrics.js';
import { createRedis, queueSettingsOf } from '../src/queue/connection.js';
import { createReleaseQueue, createReleaseWorker } from '../src/queue/release-queue.js';
import { syncCleanupSchedulers, type CleanupSchedule } from '../src/queue/scheduler.js';
import { workerThreadDrainer } from '../src/slack/thread-outbox-drainer.js';
import { workerThreadReporters } from '../src/slack/thread-reporter.js';
import { ClusterDirectory } from '../src/wiring/release-environment.js';
import { kubeconfigProblem, redisProblem } from '../src/wiring/preflight.js';
import { createLogReporter } from './log-reporter.js';
import { createReleaseProcessor } from './processor.js';
import type { EnvironmentFor } from './run-release-job.js';

/** The worker process (Procfile `worker:`): runs release jobs until SIGTERM or SIGINT. */

function log(level: 'info' | 'warn' | 'error', msg: string, extra: Record<string, unknown> = {}): void {
  logger()[level](extra, msg);
}

function readConfig(): Config {
  const { values } = parseArgs({ args: process.argv.slice(2), options: { config: { type: 'string', short: 'c' } }, allowPositionals: false });
  try {
    return loadConfig(resolveConfigPath(values.config, process.env), process.env);
  } catch (error) {
    process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
    process.exit(2);
  }
}

/** Fail at start, in one line, on what would otherwise fail every job (kubeconfig) or retry forever (Redis). */
async function preflight(config: Config): Promise<void> {
  const kubeconfig = kubeconfigProblem(config);
  const problem = kubeconfig ?? (await redisProblem(config.runtime.redis));
  if (problem === null) return;
  process.stderr.write(`cutover worker: cannot start: ${problem}\n`);
  process.exit(kubeconfig ? 2 : 1);
}

/** One cleanup scheduler per app and environment whose policy names a cron. */
export function cleanupSchedules(config: Config): CleanupSchedule[] {
  return Object.values(config.apps).flatMap((app) =>
    environmentsOf(config, app).flatMap((env) => (env.policy.cleanupCron ? [{ app: app.name, environment: env.name, cron: env.policy.cleanupCron, tz: env.policy.cleanupTimezone }] : [])),
  );
}

function environmentResolver(config: Config, clusters: ClusterDirectory): EnvironmentFor {
  return (appName, envName) => {
    const app = findApp(config, appName);
    if (!app) throw new Error(`unknown app "${appName}"`);
    const environment = findEnvironment(config, envName);
    if (!environment) throw new Error(`unknown environment "${envName}"`);
    if (!environmentsOf(config, app).includes(environment)) throw new Error(`${appName} is not released to ${envName}`);
    return clusters.environment(environment, app);
  };
}

const config = readConfig();
configureLogging({ level: config.runtime.logLevel, secrets: config.runtime.secrets.values(), base: { process: 'worker' } });
await preflight(config);
const settings = queueSettingsOf(config);
const redis = createRedis(config.runtime.redis, 'client');
const queue = createReleaseQueue(settings);
const shutdown = new AbortController();
// The Slack memo and the approval store send only commands a cluster client has too; the memo's parameter type is still Redis.
const slackLog = { info: (m: string) => log('info', m), warn: (m: string) => log('warn', m), error: (m: string) => log('error', m) };
// Jobs append their thread updates to Redis outboxes; this drainer delivers them, outside every release lease.
const slackThreads = workerThreadReporters(config, redis as Redis, slackLog);
const slackDrainer = workerThreadDrainer(config, redis as Redis, slackLog);
const processor = createReleaseProcessor({
  redis,
  queue,
  prefix: settings.prefix,
  config,
  environmentFor: environmentResolver(config, new ClusterDirectory()),
  reporterFor: (job, payload) => {
    const lines = createLogReporter(job, payload);
    // Jobs asked for in Slack also report into their thread (when SLACK_BOT_TOKEN is set).
    const thread = slackThreads?.(payload, { jobId: job.id ?? payload.requestId, attempt: job.attemptsMade });
    return thread ? { report: async (event) => void (await Promise.all([lines.report(event), thread.report(event)])) } : lines;
  },
  shutdown: shutdown.signal,
});
const worker = createReleaseWorker(settings, processor, {
  concurrency: config.worker.concurrency,
  timings: { lockDuration: config.worker.lockDurationMs, stalledInterval: config.worker.stalledIntervalMs, maxStalledCount: config.worker.maxStalledCount },
});
worker.on('failed', (job, error) => log('warn', `job failed: ${error.message}`, { job: job?.id, kind: job?.name }));

let stopping = false;
let metricsServer: MetricsServer | undefined;
async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log('info', `${signal}: taking no new jobs; letting the current steps finish`);
  shutdown.abort();
  await worker.close();
  await slackDrainer?.stop();
  await metricsServer?.close();
  await queue.close().catch(() => undefined);
  await redis.quit().catch(() => undefined);
  log('info', 'stopped');
  process.exit(0);
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));

const synced = await syncCleanupSchedulers(queue, cleanupSchedules(config));
log('info', 'cleanup schedulers declared', { ...synced });
await worker.waitUntilReady();
slackDrainer?.start();
if (config.worker.metricsPort !== null) {
  collectProcessMetrics(workerRegistry);
  metricsServer = await startMetricsServer(workerRegistry, { port: config.worker.metricsPort });
  log('info', 'metrics server listening', { metricsPort: metricsServer.port });
}
log('info', 'worker ready', { prefix: settings.prefix, concurrency: config.worker.concurrency });
