import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { Queue, QueueEvents, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { configureLogging } from '../../src/observability/log.js';
import { createRedis, type RedisClient } from '../../src/queue/connection.js';
import { createReleaseQueue, createReleaseQueueEvents, createReleaseWorker } from '../../src/queue/release-queue.js';
import { startSandboxEnv, type SandboxEnv } from '../support/sandbox-env.js';
import { waitFor } from '../jobs/harness.js';
import { entryPoints, looksLikeStackTrace, projectRoot } from '../trust/process-output.js';
import { startPrivateRedis, type PrivateRedis } from '../trust/private-redis.js';
import { testPrefix } from './redis-fixture.js';

/**
 * Every Redis client cutover creates logs one structured line per change of its connection's
 * state ("redis unreachable" when it first fails, "redis reachable again" when it answers), not
 * one per reconnection attempt, and never lets ioredis print "Unhandled error event".
 */

interface LogLine {
  level: string;
  msg: string;
  redis?: string;
  code?: string;
  downMs?: number;
  failedAttempts?: number;
}

const stateLines = (lines: LogLine[], connection: string) =>
  lines.filter((l) => l.redis === connection && /^redis (unreachable|reachable again)/.test(l.msg)).map((l) => `${l.level}: ${l.msg.startsWith('redis unreachable') ? 'unreachable' : 'reachable again'}`);

const redisServers: PrivateRedis[] = [];
afterAll(async () => {
  await Promise.all(redisServers.map((r) => r.destroy()));
});

describe('Redis connection state in the logs', () => {
  const stderr: string[] = [];
  const writeStderr = process.stderr.write.bind(process.stderr);
  afterEach(() => {
    process.stderr.write = writeStderr;
  });

  it('every client, started while Redis is down, logs one JSON line when it fails and one when Redis answers, however many attempts failed', async () => {
    const written: string[] = [];
    configureLogging({ level: 'info', destination: { write: (line: string) => void written.push(line) } });
    // ioredis prints "[ioredis] Unhandled error event" with console.error, which writes to stderr.
    process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      stderr.push(String(chunk));
      return (writeStderr as (...args: unknown[]) => boolean)(chunk, ...rest);
    });

    const redis = await startPrivateRedis({ start: false });
    redisServers.push(redis);
    const settings = { redisUrl: redis.url, prefix: testPrefix() };
    const clients: Record<string, RedisClient> = { client: createRedis(redis.url, 'client'), queue: createRedis(redis.url, 'queue'), worker: createRedis(redis.url, 'worker') };
    const queue: Queue = createReleaseQueue(settings);
    const worker: Worker = createReleaseWorker(settings, async () => undefined, { concurrency: 1 });
    const events: QueueEvents = createReleaseQueueEvents(settings);
    const attempts = new Map<string, number>();
    const count = (name: string) => () => attempts.set(name, (attempts.get(name) ?? 0) + 1);
    for (const [name, client] of Object.entries(clients)) client.on('error', count(name));
    queue.getBackend().on('error', count('bullmq queue'));
    worker.getBackend().on('error', count('bullmq worker'));
    events.getBackend().on('error', count('bullmq events'));
    const connections = ['client', 'queue', 'worker', 'bullmq queue', 'bullmq worker', 'bullmq events'];
    try {
      // Several attempts failed on every connection before Redis starts.
      await waitFor(() => connections.every((name) => (attempts.get(name) ?? 0) >= 3), 'three failed attempts on every connection', 20_000);
      await redis.start();
      const parsed = () => written.map((line) => JSON.parse(line) as LogLine);
      await waitFor(() => connections.every((name) => stateLines(parsed(), name).length === 2), 'every connection to log that Redis is reachable again', 20_000);
      await (clients.client as Redis).ping();

      const lines = parsed();
      for (const name of connections) {
        expect({ name, lines: stateLines(lines, name) }).toEqual({ name, lines: ['warn: unreachable', 'info: reachable again'] });
        const [down, up] = lines.filter((l) => l.redis === name);
        expect(down).toMatchObject({ level: 'warn', code: 'ECONNREFUSED' });
        expect(up).toMatchObject({ level: 'info', downMs: expect.any(Number), failedAttempts: expect.any(Number) });
        expect(up!.failedAttempts).toBeGreaterThanOrEqual(3);
      }
      expect(lines.filter((l) => l.level === 'error')).toEqual([]);
      expect(stderr.join('')).not.toMatch(/Unhandled error event|ECONNREFUSED/);
    } finally {
      await Promise.all([worker.close(), queue.close(), events.close()]);
      for (const client of Object.values(clients)) client.disconnect();
    }
  });
});

describe('the worker process through a Redis outage', () => {
  let world: SandboxEnv | undefined;
  let child: ChildProcess | undefined;
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGKILL');
      await exited;
    }
    await world?.stop();
  });

  it('prints only JSON lines: one "unreachable" and one "reachable again" per connection, no ioredis stack traces', async () => {
    const redis = await startPrivateRedis();
    redisServers.push(redis);
    world = await startSandboxEnv({ prefix: testPrefix() });
    const stdout: string[] = [];
    const stderr: string[] = [];
    child = spawn(process.execPath, [...entryPoints.worker, '--config', world.configPath], {
      cwd: projectRoot,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', REDIS_URL: redis.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const complete = buffer.split('\n');
      buffer = complete.pop()!;
      stdout.push(...complete.filter((l) => l.trim() !== ''));
    });
    child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
    const lines = () => stdout.map((line) => JSON.parse(line) as LogLine);
    await waitFor(() => lines().some((l) => l.msg === 'worker ready'), `the worker to be ready:\n${stdout.join('\n')}\n${stderr.join('')}`, 20_000);

    await redis.shutdown();
    const down = () => [...new Set(lines().filter((l) => l.msg.startsWith('redis unreachable')).map((l) => l.redis!))];
    await waitFor(() => down().includes('client') && down().includes('bullmq worker'), `the worker to log that Redis is unreachable:\n${stdout.join('\n')}`, 15_000);
    // Let every client fail a few more attempts: none of them may print a line.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await redis.start();
    await waitFor(() => down().every((name) => stateLines(lines(), name).length === 2), `every connection to log that Redis is reachable again:\n${stdout.join('\n')}`, 20_000);
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;

    const all = lines();
    expect(down().sort()).toEqual(expect.arrayContaining(['bullmq worker', 'client']));
    for (const name of down()) expect({ name, lines: stateLines(all, name) }).toEqual({ name, lines: ['warn: unreachable', 'info: reachable again'] });
    const recovered = all.filter((l) => l.msg.startsWith('redis reachable again'));
    expect(recovered.some((l) => (l.failedAttempts ?? 0) >= 3)).toBe(true);
    const output = stderr.join('');
    expect(output).not.toMatch(/Unhandled error event/);
    expect(looksLikeStackTrace(output)).toBe(false);
  });
});
