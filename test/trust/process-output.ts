import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Helpers for tests that run the real entry points as processes and read what they print. */

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const entryPoints = {
  bot: ['--import', 'tsx', 'src/bot.ts'],
  worker: ['--import', 'tsx', 'jobs/worker.ts'],
  cli: ['bin/cutover.js'],
} as const;

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
  /** True when it did not exit by itself within the deadline and was killed. */
  killed: boolean;
}

/** Run a process to its end (killed after `deadlineMs`), with only the variables given plus PATH and HOME. */
export function runProcess(args: readonly string[], env: Record<string, string>, deadlineMs = 30_000): Promise<Finished> {
  const started = Date.now();
  const child = spawn(process.execPath, [...args], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill('SIGKILL');
  }, deadlineMs);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started, killed });
    });
  });
}

/** A port nothing listens on (taken from the OS, then released). */
export { freePort as closedPort } from '../../src/sandbox/free-port.js';

/** Lines with content (a trailing blank line is not one). */
export function meaningfulLines(text: string): string[] {
  return text.split(/\r?\n/).filter((line) => line.trim() !== '');
}

/** A JavaScript stack frame or an inspected error object. */
export function looksLikeStackTrace(text: string): boolean {
  return /^\s+at .+(:\d+:\d+\)?|\(native\)|<anonymous>)$/m.test(text) || /^\s*\{?\s*errno: -?\d+/m.test(text) || /triggerUncaughtException/.test(text);
}
