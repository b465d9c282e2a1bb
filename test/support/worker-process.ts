import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { eventually, redisUrl } from '../queue/redis-fixture.js';

/** A real worker process (Procfile `worker:`), started and ready. */
export interface WorkerProcess {
  child: ChildProcess;
  /** Its stdout and stderr, as they came. */
  output: string[];
  /** SIGTERM, and wait for it to exit (a no-op when it already has). */
  stop(): Promise<void>;
}

/** `node --import tsx jobs/worker.ts --config <path>` on the test Redis; resolves once it logs "worker ready". */
export async function startWorkerProcess(configPath: string, env: Record<string, string> = {}): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'jobs/worker.ts', '--config', configPath], {
    env: { ...process.env, REDIS_URL: redisUrl, CUTOVER_CONFIG: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  const worker: WorkerProcess = {
    child,
    output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
  try {
    await eventually(async () => output.join('').includes('"worker ready"'), `the worker to start:\n${output.join('')}`, 20_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return worker;
}
