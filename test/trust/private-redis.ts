import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { closedPort } from './process-output.js';

/**
 * A redis-server of the test's own on a free port, so it can be restarted, flushed or given a
 * password without touching the shared one at 6379.
 */
export interface PrivateRedis {
  port: number;
  dir: string;
  url: string;
  /** A fresh client (the caller disconnects it). */
  client(): Redis;
  /** Start (again) on the same port and directory. */
  start(): Promise<void>;
  /** SHUTDOWN: with appendonly on, Redis writes everything to disk first. */
  shutdown(): Promise<void>;
  /** Stop and delete the data directory. */
  destroy(): Promise<void>;
}

/** `start: false` only picks the port (nothing listens on it until `start()`). */
export async function startPrivateRedis(options: { appendonly?: boolean; password?: string; start?: boolean } = {}): Promise<PrivateRedis> {
  const port = await closedPort();
  const dir = await mkdtemp(path.join(tmpdir(), 'cutover-redis-'));
  const auth = options.password ? `:${encodeURIComponent(options.password)}@` : '';
  const url = `redis://${auth}127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', options.appendonly ? 'yes' : 'no', ...(options.password ? ['--requirepass', options.password] : [])];

  const client = () => new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => null, lazyConnect: false });

  const ready = async () => {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const probe = new Redis(url, { retryStrategy: () => null, maxRetriesPerRequest: 0, lazyConnect: true });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        if ((await probe.ping()) === 'PONG') return;
      } catch {
        if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not start`);
      } finally {
        probe.disconnect();
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  const redis: PrivateRedis = {
    port,
    dir,
    url,
    client,
    async start() {
      child = spawn('redis-server', args, { stdio: 'ignore' });
      await ready();
    },
    async shutdown() {
      if (!child || child.exitCode !== null) return;
      const exited = once(child, 'exit');
      const admin = client();
      admin.on('error', () => undefined);
      // SHUTDOWN closes the connection instead of answering.
      await admin.shutdown().catch(() => undefined);
      admin.disconnect();
      await exited;
    },
    async destroy() {
      if (child && child.exitCode === null) {
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
  if (options.start !== false) await redis.start();
  return redis;
}
