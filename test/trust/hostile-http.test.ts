/**
 * The web process is the one on the internet: unauthenticated traffic must not exhaust it. A real
 * bot process (as the Procfile starts it) gets oversized bodies (declared, and streamed without a
 * length), 50 connections pushing 4 MB each at once, and a sender that never finishes its headers:
 * each is cut off, the process's memory stays bounded, real signed commands are still answered,
 * and the probes and metrics are not served on the Slack port at all.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSlackDriver, startSlackStandIn, type SlackDriver, type SlackStandIn } from '../../src/sandbox/slack/index.js';
import { eventually, redisUrl, testPrefix } from '../queue/redis-fixture.js';
import { SIGNING_SECRET } from '../slack/harness.js';
import { configYaml, startSandboxEnv, type SandboxEnv } from '../support/sandbox-env.js';
import { closedPort, entryPoints, projectRoot } from './process-output.js';
import { spawn, type ChildProcess } from 'node:child_process';

let world: SandboxEnv;
let standIn: SlackStandIn;
let driver: SlackDriver;
let bot: ChildProcess;
const output: string[] = [];
let slackPort: number;
let probesPort: number;
const prefix = testPrefix();

beforeAll(async () => {
  world = await startSandboxEnv({ prefix });
  standIn = await startSlackStandIn();
  const raw = JSON.parse(configYaml(world.sandbox, { prefix })) as Record<string, unknown>;
  slackPort = await closedPort();
  probesPort = await closedPort();
  raw.web = { metricsPort: probesPort };
  const configPath = path.join(world.dir, 'hostile.json');
  await writeFile(configPath, JSON.stringify(raw));
  bot = spawn(process.execPath, [...entryPoints.bot], {
    cwd: projectRoot,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', CUTOVER_CONFIG: configPath, PORT: String(slackPort), REDIS_URL: redisUrl, SLACK_BOT_TOKEN: standIn.botToken, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: standIn.apiUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  bot.stdout!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  bot.stderr!.on('data', (chunk: Buffer) => output.push(chunk.toString()));
  await eventually(async () => (await fetch(`http://127.0.0.1:${probesPort}/healthz`).catch(() => null))?.ok, `the bot to start:\n${output.join('')}`, 30_000);
  driver = createSlackDriver({ botUrl: `http://127.0.0.1:${slackPort}/slack/events`, signingSecret: SIGNING_SECRET, standIn });
}, 60_000);

afterAll(async () => {
  bot?.kill('SIGKILL');
  await standIn?.close();
  await world?.stop();
});

/** The bot process's resident memory, in MiB, as the kernel counts it. */
async function rssMiB(): Promise<number> {
  const status = await readFile(`/proc/${bot.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

/** POST /slack/events with a body of `bytes` (declared, or chunked when `declared` is false); the status, or "reset". */
function post(bytes: number, declared: boolean): Promise<number | 'reset'> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port: slackPort, path: '/slack/events', method: 'POST', headers: { 'content-type': 'application/json', ...(declared ? { 'content-length': String(bytes) } : {}) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve('reset'));
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    const pump = (): void => {
      while (sent < bytes) {
        sent += chunk.length;
        if (!req.write(chunk)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

const refused = (answer: number | 'reset') => answer === 413 || answer === 'reset';

describe('the web process under hostile traffic', () => {
  it('refuses a body declared larger than 256 KB, and one streamed past it without a length', async () => {
    expect(refused(await post(5 * 1024 * 1024, true))).toBe(true);
    expect(refused(await post(1024 * 1024, false))).toBe(true);
  });

  it('50 connections pushing 4 MB each at once: memory stays bounded, and a real command is still answered', async () => {
    const before = await rssMiB();
    let peak = before;
    const sampler = setInterval(() => void rssMiB().then((mib) => (peak = Math.max(peak, mib)), () => undefined), 20);
    const answers = await Promise.all(Array.from({ length: 50 }, () => post(4 * 1024 * 1024, true)));
    clearInterval(sampler);
    peak = Math.max(peak, await rssMiB());
    expect(answers.every(refused)).toBe(true);
    // Bolt alone would buffer every body up to 4 MB before checking a signature: 200 MB here.
    expect(peak - before).toBeLessThan(64);

    const sent = await driver.slashCommand('U0000ALICE', 'help');
    expect(sent.status).toBe(200);
  });

  it('closes a connection whose headers never end', async () => {
    const closed = await new Promise<boolean>((resolve) => {
      const socket = connect(slackPort, '127.0.0.1', () => socket.write('POST /slack/events HTTP/1.1\r\nHost: x\r\n'));
      const timer = setTimeout(() => {
        socket.destroy();
        resolve(false);
      }, 20_000);
      socket.on('close', () => {
        clearTimeout(timer);
        resolve(true);
      });
      socket.on('error', () => undefined);
      // Read what comes (the server's 408), so the socket sees the server close it.
      socket.resume();
    });
    expect(closed).toBe(true);
  }, 30_000);

  it('serves the probes and metrics on their own port only, never where Slack requests come in', async () => {
    for (const probe of ['/healthz', '/readyz', '/metrics']) {
      expect((await fetch(`http://127.0.0.1:${slackPort}${probe}`)).status).toBe(404);
    }
    expect((await fetch(`http://127.0.0.1:${probesPort}/metrics`)).status).toBe(200);
  });
});
