import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { freePort } from '../sandbox/free-port.js';

export interface DemoRedis {
  url: string;
  /** Where it came from, for the demo's opening lines. */
  origin: 'REDIS_URL' | 'local' | 'started';
  stop(): Promise<void>;
}

export class RedisUnavailable extends Error {}

/**
 * Redis for the demo: REDIS_URL when set; else 127.0.0.1:6379 when it answers; else a
 * `redis-server` from PATH on a free port, without persistence, stopped with the demo.
 */
export async function ensureRedis(env: NodeJS.ProcessEnv): Promise<DemoRedis> {
  if (env.REDIS_URL) return { url: env.REDIS_URL, origin: 'REDIS_URL', stop: async () => undefined };
  if (await answersPing('127.0.0.1', 6379)) return { url: 'redis://127.0.0.1:6379', origin: 'local', stop: async () => undefined };
  const port = await freePort();
  let child: ChildProcess;
  try {
    child = await startServer(port);
  } catch {
    throw new RedisUnavailable(
      'cutover demo needs Redis: set REDIS_URL, start one on 127.0.0.1:6379, or install redis-server (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis)',
    );
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    origin: 'started',
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

function startServer(port: number): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    child.once('error', reject);
    const deadline = Date.now() + 5000;
    const poll = async (): Promise<void> => {
      if (await answersPing('127.0.0.1', port)) return resolve(child);
      if (child.exitCode !== null || Date.now() > deadline) {
        child.kill();
        return reject(new Error('redis-server did not start'));
      }
      setTimeout(() => void poll(), 50);
    };
    void poll();
  });
}

/** A raw RESP PING, so the check needs no client library and never retries. */
export function answersPing(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

