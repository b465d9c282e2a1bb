import type { Job, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogReporter } from '../../jobs/log-reporter.js';
import { createReleaseProcessor } from '../../jobs/processor.js';
import { findApp, findEnvironment, parseConfig, type Config } from '../../src/config/index.js';
import { startMetricsServer, type MetricsServer } from '../../src/observability/http.js';
import { configureLogging, logger } from '../../src/observability/log.js';
import { workerRegistry } from '../../src/observability/metrics.js';
import { createRedis, queueSettingsOf } from '../../src/queue/connection.js';
import { enqueueRelease } from '../../src/queue/enqueue.js';
import { createReleaseQueue, createReleaseWorker } from '../../src/queue/release-queue.js';
import { executeRelease } from '../../src/release/release.js';
import { structuredLog } from '../../src/slack/ports.js';
import { deleteKeys, eventually, redisUrl, testPrefix } from '../queue/redis-fixture.js';
import { configYaml, startSandboxEnv, type SandboxEnv } from '../support/sandbox-env.js';
import { metricValue, parseMetrics } from './prometheus-text.js';

/**
 * A promotion run by a real worker (in this process) against two sandbox regions: its log lines,
 * captured from pino, follow one request id from the enqueue through the job to every Kubernetes
 * call; no secret reaches a line; the worker's /metrics counts the job.
 */

const botToken = 'xoxb-obs-fake-bot-token-4242';
const signingSecret = 'obs-fake-signing-secret-8d1f';
const kubeToken = 'obs-sandbox-kube-token-77aa9c';
const requestId = 'obs-promote-1';

let world: SandboxEnv;
let config: Config;
let redis: Redis;
let queue: Queue;
let worker: Worker;
let metricsServer: MetricsServer;
const prefix = testPrefix();
const output: string[] = [];
const lines = () => output.map((line) => JSON.parse(line) as Record<string, unknown>);

beforeAll(async () => {
  world = await startSandboxEnv({ prefix, sandbox: { token: kubeToken } });
  config = parseConfig(configYaml(world.sandbox, { prefix }), { SLACK_BOT_TOKEN: botToken, SLACK_SIGNING_SECRET: signingSecret, REDIS_URL: redisUrl }, 'obs.yaml');
  configureLogging({ level: 'debug', secrets: config.runtime.secrets.values(), destination: { write: (line: string) => void output.push(line) } });

  const { env, app } = world.clusters.environment(findEnvironment(config, 'production')!, findApp(config, 'shop')!);
  for (const [action, version] of [['deploy', 'v1'], ['bootstrap', 'v1'], ['deploy', 'v2']] as const) {
    const result = await executeRelease({ action, app, version, actor: 'setup' }, env, { reporter: { report: () => undefined } });
    expect(result.outcome).toBe('succeeded');
  }

  const settings = queueSettingsOf(config);
  redis = createRedis(redisUrl, 'client');
  queue = createReleaseQueue(settings);
  const processor = createReleaseProcessor({
    redis,
    queue,
    prefix: settings.prefix,
    config,
    environmentFor: (a, e) => world.clusters.environment(findEnvironment(config, e)!, findApp(config, a)!),
    reporterFor: (job: Job, payload) => createLogReporter(job, payload),
    shutdown: new AbortController().signal,
  });
  worker = createReleaseWorker(settings, processor, { concurrency: 1 });
  metricsServer = await startMetricsServer(workerRegistry, { port: 0, host: '127.0.0.1' });
  output.length = 0;

  await enqueueRelease(queue, 'promote', { requestId, app: 'shop', environment: 'production', requestedBy: 'U0ALICE', source: 'cli', version: 'v2' });
  await eventually(async () => ['completed', 'failed'].includes(await queue.getJobState(requestId)), 'the promotion to finish', 20_000);
}, 40_000);

afterAll(async () => {
  await worker?.close();
  await queue?.close();
  await metricsServer?.close();
  if (redis) {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  }
  await world?.stop();
});

describe('one request id from the enqueue to each Kubernetes call', () => {
  it('the enqueue, the job, its progress and its Kubernetes calls carry the same requestId', () => {
    const all = lines();
    const of = (msg: string | RegExp) => all.filter((l) => (typeof msg === 'string' ? l.msg === msg : msg.test(String(l.msg))));
    expect(of('release enqueued')).toEqual([expect.objectContaining({ requestId, jobId: requestId, kind: 'promote', level: 'info' })]);
    expect(of('job succeeded')).toEqual([expect.objectContaining({ requestId, jobId: requestId, kind: 'promote', app: 'shop', environment: 'production', outcome: 'succeeded' })]);
    expect(all.filter((l) => l.event === 'step-finished').length).toBeGreaterThan(0);
    expect(all.filter((l) => l.event !== undefined).every((l) => l.requestId === requestId)).toBe(true);

    const calls = of('kube call');
    expect(calls.length).toBeGreaterThan(5);
    // Nothing else ran: every Kubernetes call in the capture is this job's.
    for (const call of calls) {
      expect(call).toMatchObject({ requestId, level: 'debug', attempt: expect.any(Number), ms: expect.any(Number) });
      expect(call).toHaveProperty('name');
      expect(call).toHaveProperty('status');
    }
    const switches = calls.filter((c) => c.verb === 'patch' && c.resource === 'services' && c.name === 'shop');
    expect(switches.map((c) => c.region).sort()).toEqual(['eu-west', 'us-east']);
    expect(switches.every((c) => c.status === 200 && c.attempt === 1)).toBe(true);
  });

  it('no secret reaches a line, even in error messages and objects that hold them', () => {
    output.length = 0;
    const leak = new Error(`Slack said invalid_auth for ${botToken}; kube said Unauthorized for Bearer ${kubeToken}`);
    logger().error({ err: leak, headers: { authorization: `Bearer ${kubeToken}` }, token: botToken }, `signature mismatch with ${signingSecret}`);
    structuredLog.error(`/release failed: ${leak.message} (secret ${signingSecret})`);
    logger().warn({ detail: { nested: `"${kubeToken}"` } }, 'quoted');
    const text = output.join('');
    expect(output).toHaveLength(3);
    for (const secret of [botToken, signingSecret, kubeToken]) expect(text).not.toContain(secret);
    expect(text).toContain('[redacted]');
    expect(lines()[0]).toMatchObject({ level: 'error', msg: 'signature mismatch with [redacted]', token: '[redacted]' });
  });
});

describe('the worker /metrics', () => {
  it('counts the job by kind and outcome, the queue wait and each region switch by phase', async () => {
    const response = await fetch(`http://127.0.0.1:${metricsServer.port}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const samples = parseMetrics(await response.text());
    expect(metricValue(samples, 'cutover_jobs_total', { kind: 'promote', outcome: 'succeeded' })).toBe(1);
    expect(metricValue(samples, 'cutover_queue_wait_seconds_count', { kind: 'promote' })).toBe(1);
    for (const region of ['eu-west', 'us-east']) {
      for (const phase of ['patch', 'endpoints', 'data_plane', 'total']) {
        expect(metricValue(samples, 'cutover_region_switch_seconds_count', { region, phase }), `${region} ${phase}`).toBe(1);
      }
      expect(metricValue(samples, 'cutover_region_switch_seconds_sum', { region, phase: 'total' })).toBeGreaterThan(0);
    }
    const health = await fetch(`http://127.0.0.1:${metricsServer.port}/healthz`);
    expect(health.status).toBe(200);
  });
});
