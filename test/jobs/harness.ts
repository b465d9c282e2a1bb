import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { QueueEvents, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { findApp, findEnvironment, parseConfig, type Config } from '../../src/config/index.js';
import type { ProgressEvent, ReleaseResult } from '../../src/core/events.js';
import type { Action } from '../../src/core/plan.js';
import { loadKubeConfig } from '../../src/kube/load-kubeconfig.js';
import { redisOptions } from '../../src/queue/connection.js';
import { releaseQueueName } from '../../src/queue/names.js';
import { createReleaseQueue } from '../../src/queue/release-queue.js';
import { executeRelease } from '../../src/release/release.js';
import { startSandbox, type Sandbox, type SandboxOptions } from '../../src/sandbox/sandbox.js';
import { ClusterDirectory } from '../../src/wiring/release-environment.js';
import type { RunningPrometheus } from '../../src/sandbox/prometheus.js';
import { scrapeSandbox } from '../support/prometheus.js';
import { onJsonLines } from '../support/json-lines.js';
import { deleteKeys, redisUrl, testPrefix, testRedis } from '../queue/redis-fixture.js';
import { RedisTripwireProxy, type Tripwires } from './redis-tripwire.js';

export const root = path.resolve(import.meta.dirname, '../..');

export interface AppOptions {
  /** Pod annotations only the worker processes' config has (the test's own setup installs without them). */
  workerPodAnnotations?: Record<string, string>;
  environments?: string[];
  /** Slack channels bound to the app (`apps.<app>.slack.channels`). */
  channels?: string[];
}

export interface WorldOptions {
  sandbox?: SandboxOptions;
  apps: Record<string, AppOptions>;
  policy?: Record<string, unknown>;
  /** A second environment "batch" (namespace batch in every region) with this policy. */
  batchPolicy?: Record<string, unknown>;
  worker?: { concurrency?: number; lockDurationMs?: number; stalledIntervalMs?: number; maxStalledCount?: number; metricsPort?: number };
  /** More settings of the production environment, e.g. `protected` and `slack.approvals`. */
  production?: Record<string, unknown>;
  /** More settings of the "batch" environment (created when this or `batchPolicy` is given). */
  batch?: Record<string, unknown>;
  /** A real Prometheus scraping the sandbox's ingress metrics, as the production environment's `prometheus.url`. */
  prometheus?: boolean;
}

/** A worker process, with every JSON line it printed. */
export interface WorkerProcess {
  child: ChildProcess;
  lines: Record<string, unknown>[];
  output: string[];
  exited: Promise<number | null>;
}

/**
 * A sandbox, a config file that targets it (as the worker processes read it), real Redis under a
 * fresh prefix, and worker processes spawned as `node --import tsx jobs/worker.ts`.
 */
export class World {
  readonly prefix = testPrefix();
  readonly redis: Redis = testRedis();
  readonly workers: WorkerProcess[] = [];
  readonly events: ProgressRecord[] = [];
  sandbox!: Sandbox;
  prometheus: RunningPrometheus | null = null;
  config!: Config;
  setupConfig!: Config;
  configPath!: string;
  queue!: Queue;
  queueEvents!: QueueEvents;
  private readonly clusters = new ClusterDirectory();
  private sequence = 0;

  constructor(private readonly options: WorldOptions) {}

  async start(): Promise<void> {
    const dir = await mkdtemp(path.join(tmpdir(), 'cutover-jobs-'));
    this.sandbox = await startSandbox({
      readyDelayMs: 100,
      proxySyncDelayMs: 50,
      graceScale: 0.1,
      kubeconfigPath: path.join(dir, 'kubeconfig'),
      ...(this.options.batchPolicy || this.options.batch ? { extraNamespaces: ['batch'] } : {}),
      ...this.options.sandbox,
    });
    if (this.options.prometheus) this.prometheus = await scrapeSandbox(this.sandbox);
    const document = this.document(true);
    this.configPath = path.join(dir, 'cutover.json');
    await writeFile(this.configPath, JSON.stringify(document, null, 2));
    this.config = parseConfig(JSON.stringify(document), { REDIS_URL: redisUrl }, this.configPath);
    this.setupConfig = parseConfig(JSON.stringify(this.document(false)), { REDIS_URL: redisUrl }, this.configPath);
    this.queue = createReleaseQueue({ redisUrl, prefix: this.prefix });
    this.queueEvents = new QueueEvents(releaseQueueName, { prefix: this.prefix, connection: { ...redisOptions('worker'), url: redisUrl } as never });
    this.queueEvents.on('progress', ({ jobId, data }) => {
      this.events.push({ seq: this.sequence++, at: Date.now(), jobId, data: data as ProgressEvent | { waitingFor: string } });
    });
    await this.queueEvents.waitUntilReady();
  }

  private document(forWorkers: boolean): Record<string, unknown> {
    const policy = {
      bakeSeconds: 0,
      readyTimeoutSeconds: 20,
      verifyTimeoutSeconds: 5,
      healthSamples: 3,
      lockTtlSeconds: 10,
      retention: { keep: 1, minAgeSinceLiveHours: 0, graceAfterInstallHours: 0 },
      ...this.options.policy,
    };
    const regions = (namespace: string) =>
      this.sandbox.regions.map((r) => ({ name: r.name, kubeconfig: this.sandbox.kubeconfigPath, context: r.name, namespace, liveUrl: r.ingressUrl }));
    const prometheus = this.prometheus ? { prometheus: { url: this.prometheus.url, timeoutSeconds: 2 } } : {};
    const environments: Record<string, unknown> = { production: { regions: regions('production'), policy, ...prometheus, ...this.options.production } };
    if (this.options.batchPolicy || this.options.batch) environments.batch = { regions: regions('batch'), policy: { ...policy, ...this.options.batchPolicy }, ...this.options.batch };
    const apps = Object.fromEntries(
      Object.entries(this.options.apps).map(([name, app]) => [
        name,
        {
          image: `registry.example.com/${name}:{version}`,
          // Every app of an environment shares the region's ingress: routes match by host.
          hosts: [`${name}.example.com`],
          replicas: 1,
          terminationGracePeriodSeconds: 1,
          ...(forWorkers && app.workerPodAnnotations ? { podAnnotations: app.workerPodAnnotations } : {}),
          ...(app.environments ? { environments: app.environments } : { environments: ['production'] }),
          ...(app.channels ? { slack: { channels: app.channels } } : {}),
        },
      ]),
    );
    return { redis: { prefix: this.prefix }, web: { metricsPort: 0 }, worker: { concurrency: 2, ...this.options.worker }, apps, environments };
  }

  /** Run a release in the test process (setup), without the queue or the workers' pod annotations. */
  async release(action: Action, app: string, version: string | null, environment = 'production'): Promise<ReleaseResult> {
    const { env, app: spec } = this.clusters.environment(findEnvironment(this.setupConfig, environment)!, findApp(this.setupConfig, app)!);
    const result = await executeRelease({ action, app: spec, version, actor: 'test-setup' }, env, { reporter: { report: () => undefined } });
    if (result.outcome !== 'succeeded') throw new Error(`setup ${action} ${app} ${version}: ${result.outcome} ${result.reasons.join('; ')}`);
    return result;
  }

  /** deploy v1, bootstrap on v1, then deploy (and optionally promote) further versions. */
  async prepare(app: string, versions: { install: string[]; promote?: string[] }, environment = 'production'): Promise<void> {
    await this.release('deploy', app, 'v1', environment);
    await this.release('bootstrap', app, 'v1', environment);
    for (const version of versions.install) {
      await this.release('deploy', app, version, environment);
      if (versions.promote?.includes(version)) await this.release('promote', app, version, environment);
    }
  }

  /** `env` overrides the worker's environment, e.g. REDIS_URL through a proxy. */
  spawnWorker(env: Record<string, string> = {}): WorkerProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', 'jobs/worker.ts', '--config', this.configPath], {
      cwd: root,
      env: { ...process.env, REDIS_URL: redisUrl, CUTOVER_CONFIG: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const worker: WorkerProcess = {
      child,
      lines: [],
      output: [],
      exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    };
    onJsonLines(child.stdout, (line, parsed) => {
      worker.output.push(line);
      if (parsed) worker.lines.push(parsed);
    });
    child.stderr.on('data', (chunk: Buffer) => worker.output.push(chunk.toString()));
    this.workers.push(worker);
    return worker;
  }

  /**
   * A worker whose Redis connection goes through a tripwire proxy (test/jobs/redis-tripwire.ts),
   * so a test can kill or pause it at an exact command; not yet ready when this resolves.
   */
  async spawnProxiedWorker(wires: Tripwires, proxies: RedisTripwireProxy[]): Promise<WorkerProcess> {
    const proxy = await RedisTripwireProxy.start(new URL(redisUrl), wires);
    proxies.push(proxy);
    const worker = this.spawnWorker({ REDIS_URL: proxy.url });
    proxy.pid = worker.child.pid;
    return worker;
  }

  /** `cutover <argv> --config <this world's>` as CI runs it: a real process; `done` has its exit code and output. */
  cutover(...argv: string[]): { done: Promise<{ code: number | null; out: string }> } {
    const child = spawn(process.execPath, ['bin/cutover.js', ...argv, '--config', this.configPath], {
      cwd: root,
      env: { ...process.env, REDIS_URL: redisUrl, CUTOVER_CONFIG: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    return { done: new Promise((resolve) => child.once('exit', (code) => resolve({ code, out }))) };
  }

  async startWorkers(count: number): Promise<WorkerProcess[]> {
    const started = Array.from({ length: count }, () => this.spawnWorker());
    await Promise.all(started.map((w) => waitFor(() => w.lines.some((l) => l.msg === 'worker ready'), `worker ${w.child.pid} to be ready:\n${w.output.join('\n')}`, 20_000)));
    return started;
  }

  /** Progress events of one job, in the order Redis recorded them. */
  eventsOf(jobId: string): ProgressRecord[] {
    return this.events.filter((e) => e.jobId === jobId);
  }

  /** Sequence numbers of a job's first 'planned' and its 'finished' event. */
  span(jobId: string): { start: number; end: number } {
    const events = this.eventsOf(jobId);
    const start = events.find((e) => isEvent(e.data, 'planned'));
    const end = events.find((e) => isEvent(e.data, 'finished'));
    if (!start || !end) throw new Error(`job ${jobId} has no planned/finished events`);
    return { start: start.seq, end: end.seq };
  }

  async liveVersions(app: string, namespace = 'production'): Promise<Record<string, string | undefined>> {
    const entries = await Promise.all(
      this.sandbox.regions.map(async (r) => {
        const core = loadKubeConfig({ path: this.sandbox.kubeconfigPath, context: r.name }).makeApiClient(CoreV1Api);
        const service = await core.readNamespacedService({ name: app, namespace });
        return [r.name, service.spec?.selector?.['app.kubernetes.io/version']] as const;
      }),
    );
    return Object.fromEntries(entries);
  }

  async installedVersions(app: string, namespace = 'production'): Promise<Record<string, string[]>> {
    const entries = await Promise.all(
      this.sandbox.regions.map(async (r) => {
        const apps = loadKubeConfig({ path: this.sandbox.kubeconfigPath, context: r.name }).makeApiClient(AppsV1Api);
        const list = await apps.listNamespacedDeployment({ namespace, labelSelector: `app.kubernetes.io/name=${app}` });
        return [r.name, list.items.map((d) => d.metadata?.labels?.['app.kubernetes.io/version'] ?? '?').sort()] as const;
      }),
    );
    return Object.fromEntries(entries);
  }

  /** The worker process whose log mentions this job. */
  /** Workers with a line about the job: its progress (`job`) or anything logged while running it (`jobId`). */
  workersThatRan(jobId: string): WorkerProcess[] {
    return this.workers.filter((w) => w.lines.some((l) => l.job === jobId || l.jobId === jobId));
  }

  async stop(): Promise<void> {
    for (const worker of this.workers) {
      if (worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
    }
    await Promise.all(this.workers.map((w) => w.exited));
    await this.queueEvents?.close().catch(() => undefined);
    await this.queue?.close().catch(() => undefined);
    await this.prometheus?.stop();
    await this.sandbox?.stop();
    await deleteKeys(this.redis, this.prefix).catch(() => undefined);
    this.redis.disconnect();
  }
}

export interface ProgressRecord {
  seq: number;
  at: number;
  jobId: string;
  data: ProgressEvent | { waitingFor: string };
}

export function isEvent<T extends ProgressEvent['type']>(data: unknown, type: T): data is Extract<ProgressEvent, { type: T }> {
  return typeof data === 'object' && data !== null && (data as { type?: unknown }).type === type;
}

export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Wait until a job is completed and answer its result. */
export async function resultOf(queue: Queue, jobId: string, timeoutMs = 20_000): Promise<ReleaseResult> {
  let result: ReleaseResult | undefined;
  await waitFor(
    async () => {
      const job = await queue.getJob(jobId);
      if (job && (await job.isFailed())) throw new Error(`job ${jobId} failed: ${job.failedReason}`);
      // Re-read: the job may have completed between reading it and asking its state.
      if (job && (await job.isCompleted())) result = (await queue.getJob(jobId))!.returnvalue as ReleaseResult;
      return result !== undefined;
    },
    `job ${jobId} to complete`,
    timeoutMs,
  );
  return result!;
}
