import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import type { Queue } from 'bullmq';
import type { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, findApp, findEnvironment, parseConfig, type Config, type RedisTarget } from '../../src/config/index.js';
import type { ReleaseResult } from '../../src/core/events.js';
import type { Action } from '../../src/core/plan.js';
import { loadKubeConfig } from '../../src/kube/load-kubeconfig.js';
import { readAudit } from '../../src/queue/audit.js';
import { createRedis } from '../../src/queue/connection.js';
import { enqueueRelease } from '../../src/queue/enqueue.js';
import { markInUse, versionsInUse } from '../../src/queue/in-use.js';
import { acquireLease, checkFence, releaseLease } from '../../src/queue/lease.js';
import { leaseKey } from '../../src/queue/names.js';
import { createReleaseQueue } from '../../src/queue/release-queue.js';
import { executeRelease } from '../../src/release/release.js';
import { startSandbox, type Sandbox } from '../../src/sandbox/sandbox.js';
import { ClusterDirectory } from '../../src/wiring/release-environment.js';

/**
 * Workers on several machines share one Redis Cluster: three local cluster nodes, a worker process
 * configured with REDIS_CLUSTER_NODES and a hash-tagged prefix, and a queued promotion through it.
 */

const root = path.resolve(import.meta.dirname, '../..');
const prefix = `{cutover-test-${randomBytes(4).toString('hex')}}`;

let dir: string;
const nodes: { port: number; child: ChildProcess; exited: Promise<unknown> }[] = [];
let target: Extract<RedisTarget, { mode: 'cluster' }>;
let clusterEnv: Record<string, string>;
let redis: Cluster;
let sandbox: Sandbox | undefined;
let config: Config;
let configPath: string;
let queue: Queue | undefined;
let worker: { child: ChildProcess; output: string[]; exited: Promise<unknown> } | undefined;

function requireTool(name: string): void {
  const probe = spawnSync(name, ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) {
    throw new Error(`${name} is not installed: this test starts a local Redis Cluster and needs redis-server and redis-cli (Debian/Ubuntu: apt-get install redis-server redis-tools)`);
  }
}

/** A free port whose cluster bus port (port + 10000) is free as well. */
async function freeClusterPort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await listenOnce(0);
    if (port <= 55_535 && (await listenOnce(port + 10_000).catch(() => null)) !== null) return port;
  }
  throw new Error('no free port pair for a cluster node');
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const { port: bound } = server.address() as { port: number };
      server.close(() => resolve(bound));
    });
  });
}

function redisCli(args: string[]): string {
  const run = spawnSync('redis-cli', args, { encoding: 'utf8', timeout: 10_000 });
  if (run.error) throw run.error;
  return `${run.stdout}${run.stderr}`;
}

async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function startClusterNodes(): Promise<void> {
  const ports: number[] = [];
  for (let i = 0; i < 3; i++) ports.push(await freeClusterPort());
  for (const port of ports) {
    const child = spawn(
      'redis-server',
      ['--cluster-enabled', 'yes', '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--cluster-config-file', path.join(dir, `nodes-${port}.conf`), '--save', '', '--appendonly', 'no', '--cluster-node-timeout', '3000'],
      { stdio: 'ignore' },
    );
    nodes.push({ port, child, exited: new Promise((resolve) => child.once('exit', resolve)) });
  }
  for (const { port } of nodes) await waitFor(() => redisCli(['-p', String(port), 'ping']).includes('PONG'), `redis-server on port ${port}`);
  const created = redisCli(['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes']);
  if (!created.includes('[OK] All 16384 slots covered')) throw new Error(`redis-cli --cluster create failed:\n${created}`);
  for (const { port } of nodes) await waitFor(() => redisCli(['-p', String(port), 'cluster', 'info']).includes('cluster_state:ok'), `cluster_state:ok on port ${port}`);
  clusterEnv = { REDIS_CLUSTER_NODES: ports.map((p) => `127.0.0.1:${p}`).join(',') };
}

function configDocument(): Record<string, unknown> {
  const policy = { bakeSeconds: 0, readyTimeoutSeconds: 20, verifyTimeoutSeconds: 5, healthSamples: 3, lockTtlSeconds: 10 };
  const regions = sandbox!.regions.map((r) => ({ name: r.name, kubeconfig: sandbox!.kubeconfigPath, context: r.name, namespace: 'production', liveUrl: r.ingressUrl }));
  return {
    redis: { prefix },
    worker: { concurrency: 2, stalledIntervalMs: 2_000, lockDurationMs: 5_000 },
    apps: { shop: { image: 'registry.example.com/shop:{version}', hosts: ['shop.example.com'], replicas: 1, terminationGracePeriodSeconds: 1 } },
    environments: { production: { regions, policy } },
  };
}

async function setupRelease(action: Action, version: string): Promise<void> {
  const { env, app } = new ClusterDirectory().environment(findEnvironment(config, 'production')!, findApp(config, 'shop')!);
  const result = await executeRelease({ action, app, version, actor: 'test-setup' }, env, { reporter: { report: () => undefined } });
  if (result.outcome !== 'succeeded') throw new Error(`setup ${action} ${version}: ${result.outcome} ${result.reasons.join('; ')}`);
}

async function liveVersions(): Promise<Record<string, string | undefined>> {
  const entries = await Promise.all(
    sandbox!.regions.map(async (r) => {
      const core = loadKubeConfig({ path: sandbox!.kubeconfigPath, context: r.name }).makeApiClient(CoreV1Api);
      const service = await core.readNamespacedService({ name: 'shop', namespace: 'production' });
      return [r.name, service.spec?.selector?.['app.kubernetes.io/version']] as const;
    }),
  );
  return Object.fromEntries(entries);
}

function spawnWorker(): NonNullable<typeof worker> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'jobs/worker.ts', '--config', configPath], {
    cwd: root,
    // REDIS_URL is set empty: a REDIS_URL from the surrounding environment must not compete with the cluster.
    env: { ...process.env, REDIS_URL: '', CUTOVER_CONFIG: '', SLACK_BOT_TOKEN: '', ...clusterEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  return { child, output, exited: new Promise((resolve) => child.once('exit', resolve)) };
}

beforeAll(async () => {
  requireTool('redis-server');
  requireTool('redis-cli');
  dir = await mkdtemp(path.join(tmpdir(), 'cutover-redis-cluster-'));
  await startClusterNodes();
  sandbox = await startSandbox({ readyDelayMs: 100, proxySyncDelayMs: 50, graceScale: 0.1, kubeconfigPath: path.join(dir, 'kubeconfig') });
  configPath = path.join(dir, 'cutover.json');
  await writeFile(configPath, JSON.stringify(configDocument(), null, 2));
  config = parseConfig(JSON.stringify(configDocument()), clusterEnv, configPath);
  if (config.runtime.redis.mode !== 'cluster') throw new Error('REDIS_CLUSTER_NODES did not select cluster mode');
  target = config.runtime.redis;
  redis = createRedis(target, 'client') as Cluster;
  queue = createReleaseQueue({ redisUrl: config.runtime.redisUrl, prefix, target });
  worker = spawnWorker();
  await Promise.all([setupRelease('deploy', 'v1').then(() => setupRelease('bootstrap', 'v1')).then(() => setupRelease('deploy', 'v2')), waitFor(() => worker!.output.join('').includes('"worker ready"'), `the worker to be ready:\n${worker.output.join('')}`, 20_000)]);
}, 60_000);

afterAll(async () => {
  if (worker && worker.child.exitCode === null && worker.child.signalCode === null) worker.child.kill('SIGKILL');
  await worker?.exited;
  await queue?.close().catch(() => undefined);
  redis?.disconnect();
  await sandbox?.stop();
  for (const node of nodes) if (node.child.exitCode === null && node.child.signalCode === null) node.child.kill('SIGKILL');
  await Promise.all(nodes.map((n) => n.exited));
  if (dir) await rm(dir, { recursive: true, force: true });
}, 30_000);

describe('workers on a Redis Cluster (three local nodes)', () => {
  it('runs a queued two-region promotion through a worker process configured with REDIS_CLUSTER_NODES', async () => {
    await enqueueRelease(queue!, 'promote', { requestId: 'cluster-promote-1', app: 'shop', environment: 'production', version: 'v2', requestedBy: 'U0TEST', source: 'cli' });
    let result: ReleaseResult | undefined;
    await waitFor(async () => {
      const job = await queue!.getJob('cluster-promote-1');
      if (job && (await job.isFailed())) throw new Error(`job failed: ${job.failedReason}\n${worker!.output.join('')}`);
      if (job && (await job.isCompleted())) result = (await queue!.getJob('cluster-promote-1'))!.returnvalue as ReleaseResult;
      return result !== undefined;
    }, `the promotion to complete:\n${worker!.output.join('')}`);
    expect(result!.outcome).toBe('succeeded');
    expect(await liveVersions()).toEqual({ 'eu-west': 'v2', 'us-east': 'v2' });

    // The job took the traffic lease (its fence counter moved) and gave it back.
    const key = leaseKey(prefix, { scope: 'traffic', app: 'shop', environment: 'production' });
    expect(Number(await redis.get(`${key}:fence`))).toBeGreaterThanOrEqual(1);
    expect(await redis.exists(key)).toBe(0);
    const audit = await readAudit(redis, prefix, { count: 10, app: 'shop' });
    expect(audit.filter((e) => e.requestId === 'cluster-promote-1').map((e) => e.kind)).toEqual(['succeeded', 'started']);
  });

  it('keeps every key of the installation in one slot, so leases with fence counters work', async () => {
    const key = leaseKey(prefix, { scope: 'traffic', app: 'cart', environment: 'production' });
    const slots = await Promise.all([key, `${key}:fence`, `${prefix}:in-use:cart:production`, `${prefix}:audit`, `${prefix}:releases:meta`].map((k) => redis.cluster('KEYSLOT', k)));
    expect(new Set(slots).size).toBe(1);

    const first = await acquireLease(redis, key, 'job-a', 5_000, 'promote cart v2 in production');
    expect(first).toEqual({ token: expect.any(Number) as unknown });
    const token = (first as { token: number }).token;
    expect(await acquireLease(redis, key, 'job-b', 5_000)).toMatchObject({ heldBy: 'job-a', description: 'promote cart v2 in production' });
    expect(await checkFence(redis, key, token)).toBe(true);
    await markInUse(redis, prefix, 'cart', 'production', 'v2', 'job-a', 5_000);
    expect(await versionsInUse(redis, prefix, 'cart', 'production')).toEqual(['v2']);
    expect(await releaseLease(redis, key, 'job-a', token)).toBe(true);
    const second = await acquireLease(redis, key, 'job-b', 5_000);
    expect((second as { token: number }).token).toBeGreaterThan(token);
    expect(await checkFence(redis, key, token)).toBe(false);
  });

  it('without a hash tag the cluster refuses the lease script, which is why the config requires one', async () => {
    const untagged = leaseKey(`cutover-untagged-${randomBytes(3).toString('hex')}`, { scope: 'traffic', app: 'cart', environment: 'production' });
    const [slot, fenceSlot] = await Promise.all([redis.cluster('KEYSLOT', untagged), redis.cluster('KEYSLOT', `${untagged}:fence`)]);
    if (slot === fenceSlot) return; // one chance in 16384: nothing to show
    await expect(acquireLease(redis, untagged, 'job-a', 5_000)).rejects.toThrow(/CROSSSLOT/);
  });
});

describe('Redis Cluster configuration', () => {
  const document = (redisPrefix: string) => JSON.stringify({ ...configDocument(), redis: { prefix: redisPrefix } });

  it('refuses a cluster configuration whose prefix has no hash tag, naming the field and the fix', () => {
    for (const bad of ['cutover', '{}cutover', 'cutover{']) {
      const error = (() => {
        try {
          parseConfig(document(bad), clusterEnv, 'cutover.yaml');
        } catch (caught) {
          return caught;
        }
        return null;
      })();
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).message).toMatch(/^cutover\.yaml: redis\.prefix: .* has no hash tag, but REDIS_CLUSTER_NODES is set: .*e\.g\. "\{cutover\}"/);
    }
    expect(parseConfig(document('{cutover}'), clusterEnv, 'cutover.yaml').runtime.redis.mode).toBe('cluster');
    // A single server needs no hash tag.
    expect(parseConfig(document('cutover'), {}, 'cutover.yaml').runtime.redis).toEqual({ mode: 'standalone', url: 'redis://127.0.0.1:6379' });
  });

  it('reads cluster and sentinel settings and rejects malformed or conflicting ones with one line each', () => {
    const parse = (env: Record<string, string>) => parseConfig(document('{cutover}'), env, 'cutover.yaml');
    expect(parse({ REDIS_CLUSTER_NODES: 'redis-0.redis:6379, [::1]:7001', REDIS_PASSWORD: 's3cret pass', REDIS_TLS: 'true' }).runtime.redis).toEqual({
      mode: 'cluster',
      nodes: [
        { host: 'redis-0.redis', port: 6379 },
        { host: '::1', port: 7001 },
      ],
      auth: { username: null, password: 's3cret pass', tls: true },
    });
    const sentinel = parse({ REDIS_SENTINELS: 's1:26379,s2:26379', REDIS_SENTINEL_NAME: 'mymaster', REDIS_SENTINEL_PASSWORD: 'sentinel-secret', REDIS_PASSWORD: 'data-secret' }).runtime;
    expect(sentinel.redis).toMatchObject({ mode: 'sentinel', name: 'mymaster', sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26379 }], sentinelPassword: 'sentinel-secret' });
    expect(JSON.stringify(sentinel)).not.toMatch(/sentinel-secret|data-secret/);
    expect(sentinel.secrets.values()).toEqual(expect.arrayContaining(['sentinel-secret', 'data-secret']));

    const messages = (env: Record<string, string>) => {
      try {
        parse(env);
        return [];
      } catch (error) {
        return (error as ConfigError).message.split('\n');
      }
    };
    expect(messages({ REDIS_CLUSTER_NODES: '127.0.0.1:7000,nope' })).toEqual(['environment variable REDIS_CLUSTER_NODES: must be a comma-separated list of host:port, got "nope"']);
    expect(messages({ REDIS_CLUSTER_NODES: '127.0.0.1:7000', REDIS_URL: 'redis://x:6379' })).toEqual([
      'environment variable REDIS_CLUSTER_NODES: cannot be combined with REDIS_URL: set only one of REDIS_URL, REDIS_CLUSTER_NODES, REDIS_SENTINELS',
    ]);
    expect(messages({ REDIS_SENTINELS: 's1:26379' })).toEqual([expect.stringMatching(/^environment variable REDIS_SENTINEL_NAME: is required with REDIS_SENTINELS/)]);
    expect(messages({ REDIS_PASSWORD: 'x' })).toEqual([expect.stringMatching(/^environment variable REDIS_PASSWORD: is only used with REDIS_CLUSTER_NODES or REDIS_SENTINELS/)]);
  });
});
