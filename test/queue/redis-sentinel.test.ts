import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type RedisTarget } from '../../src/config/index.js';
import { createRedis, type QueueSettings } from '../../src/queue/connection.js';
import { acquireLease } from '../../src/queue/lease.js';
import { createReleaseQueue, createReleaseWorker } from '../../src/queue/release-queue.js';
import { freePort } from '../../src/sandbox/free-port.js';

/** REDIS_SENTINELS + REDIS_SENTINEL_NAME: a primary and one sentinel, both local; queue and leases go through it. */

const masterName = 'cutover-primary';
let dir: string;
let primaryPort: number;
const servers: { child: ChildProcess; exited: Promise<unknown> }[] = [];
let settings: QueueSettings;
let redis: Redis | undefined;
let queue: Queue | undefined;
let worker: Worker | undefined;

function cli(port: number, ...args: string[]): string {
  const run = spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8', timeout: 5_000 });
  return `${run.stdout}${run.stderr}`;
}

async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function start(args: string[]): void {
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  servers.push({ child, exited: new Promise((resolve) => child.once('exit', resolve)) });
}

beforeAll(async () => {
  const probe = spawnSync('redis-server', ['--version']);
  if (probe.error || spawnSync('redis-cli', ['--version']).error) {
    throw new Error('redis-server and redis-cli are needed to start a local Sentinel (Debian/Ubuntu: apt-get install redis-server redis-tools)');
  }
  dir = await mkdtemp(path.join(tmpdir(), 'cutover-redis-sentinel-'));
  primaryPort = await freePort();
  const sentinelPort = await freePort();
  start(['--port', String(primaryPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir]);
  await waitFor(() => cli(primaryPort, 'ping').includes('PONG'), 'the primary');
  // Sentinel rewrites its config file, so it gets its own writable one.
  const sentinelConf = path.join(dir, 'sentinel.conf');
  await writeFile(sentinelConf, [`port ${sentinelPort}`, 'bind 127.0.0.1', `dir ${dir}`, `sentinel monitor ${masterName} 127.0.0.1 ${primaryPort} 1`, ''].join('\n'));
  start([sentinelConf, '--sentinel']);
  await waitFor(() => cli(sentinelPort, 'sentinel', 'get-master-addr-by-name', masterName).includes(String(primaryPort)), 'the sentinel to know the primary');

  const env = { REDIS_SENTINELS: `127.0.0.1:${sentinelPort}`, REDIS_SENTINEL_NAME: masterName };
  const document = {
    redis: { prefix: 'cutover-sentinel-test' },
    apps: { shop: { image: 'registry.example.com/shop:{version}' } },
    environments: { production: { regions: [{ name: 'eu', namespace: 'production', liveUrl: 'http://127.0.0.1:1' }] } },
  };
  const config = parseConfig(JSON.stringify(document), env, 'cutover.json');
  const target: RedisTarget = config.runtime.redis;
  expect(target.mode).toBe('sentinel');
  settings = { redisUrl: config.runtime.redisUrl, prefix: config.redis.prefix, target };
  redis = createRedis(target, 'client') as Redis;
}, 30_000);

afterAll(async () => {
  await worker?.close().catch(() => undefined);
  await queue?.close().catch(() => undefined);
  redis?.disconnect();
  for (const server of servers) if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL');
  await Promise.all(servers.map((s) => s.exited));
  if (dir) await rm(dir, { recursive: true, force: true });
}, 20_000);

describe('Redis behind Sentinel', () => {
  it('finds the primary through the sentinel for the queue, a worker and the leases', async () => {
    queue = createReleaseQueue(settings);
    worker = createReleaseWorker(settings, async (job) => ({ ran: job.id }), { concurrency: 1 });
    await queue.add('cleanup', {}, { jobId: 'sentinel-job' });
    await waitFor(async () => (await queue!.getJob('sentinel-job'))?.finishedOn !== undefined, 'the job to finish');
    expect((await queue.getJob('sentinel-job'))?.returnvalue).toEqual({ ran: 'sentinel-job' });
    expect(await acquireLease(redis!, 'cutover-sentinel-test:lease:traffic:shop:production', 'job-a', 5_000)).toEqual({ token: 1 });
    // On the primary the sentinel named, not on some default server.
    expect(cli(primaryPort, 'exists', 'cutover-sentinel-test:lease:traffic:shop:production').trim()).toBe('1');
  });
});
