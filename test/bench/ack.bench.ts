/**
 * Time for the real Bolt app to acknowledge signed `/release` commands (HTTP receiver, signature
 * verification on) under 50 concurrent requests. Three processes, so no measurement shares an
 * event loop with what it measures: this load generator (signs and sends, as Slack does), the bot
 * (real Redis, real queue; after each ack it does the work: ephemeral replies, approval requests,
 * enqueues) and the Slack stand-in receiving that work. The clusters are an in-memory reader.
 * Last line: {"p50_ms":..,"p99_ms":..,"requests":..,"concurrency":50}
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { createInterface, type Interface } from 'node:readline';
import { slackSignatureHeaders } from '../../src/sandbox/slack/index.js';
import { deleteKeys, testPrefix, testRedis } from '../queue/redis-fixture.js';
import { ALICE, CHANNEL, SIGNING_SECRET } from '../slack/harness.js';

const concurrency = 50;
const requests = Number(process.env.ACK_REQUESTS ?? 1000);
const texts = (process.env.ACK_TEXTS ?? 'help|status shop --env production|promote shop v2 --dry-run|deploy shop v3|promote shop v2|promot shop v2').split('|');

function child(file: string, env: Record<string, string>): { process: ChildProcess; lines: Interface } {
  const proc = spawn(process.execPath, ['--import', 'tsx', new URL(file, import.meta.url).pathname], { env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
  return { process: proc, lines: createInterface({ input: proc.stdout }) };
}

async function nextLine<T>(lines: Interface): Promise<T> {
  const [line] = (await once(lines, 'line')) as [string];
  return JSON.parse(line) as T;
}

// node:http with keep-alive: fetch (undici) adds ~25 ms per request at this concurrency by itself.
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });

function post(url: string, body: string, headers: Record<string, string>): Promise<{ status: number; ms: number }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const request = http.request(
      { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent, headers: { ...headers, 'Content-Length': Buffer.byteLength(body) } },
      (response) => {
        response.resume();
        response.on('end', () => resolve({ status: response.statusCode ?? 0, ms: performance.now() - started }));
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

const prefix = testPrefix();
const slack = child('./ack-slack-child.ts', {});
const { apiUrl, botToken } = await nextLine<{ apiUrl: string; botToken: string }>(slack.lines);
let figures: string | undefined;
const bot = child('./ack-bot-child.ts', { ACK_PREFIX: prefix, ACK_BOT_TOKEN: botToken, ACK_SIGNING_SECRET: SIGNING_SECRET, ACK_SLACK_API_URL: apiUrl });
try {
  const { port } = await nextLine<{ port: number }>(bot.lines);
  const botUrl = `http://127.0.0.1:${port}/slack/events`;
  slack.process.stdin!.write(`issue ${requests + concurrency}\n`);
  const { urls } = await nextLine<{ urls: string[] }>(slack.lines);

  // Slack's form fields, in Slack's order; signed just before sending.
  const send = async (i: number) => {
    const body = new URLSearchParams({
      token: 'sandboxverificationtoken0',
      team_id: 'T0CUTOVER',
      team_domain: 'cutover',
      channel_id: CHANNEL,
      channel_name: 'releases',
      user_id: ALICE,
      user_name: 'alice',
      command: '/release',
      text: texts[i % texts.length]!,
      api_app_id: 'A0CUTOVER',
      is_enterprise_install: 'false',
      response_url: urls[i]!,
      trigger_id: `${Date.now()}.${i}.${prefix}`,
    }).toString();
    return post(botUrl, body, { 'Content-Type': 'application/x-www-form-urlencoded', ...slackSignatureHeaders(SIGNING_SECRET, body) });
  };
  // Warm-up: connections, JIT, Bolt's auth.test.
  await Promise.all(Array.from({ length: concurrency }, (_, i) => send(requests + i)));

  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) {
        const result = await send(next++);
        latencies.push(result.ms);
        statuses.set(result.status, (statuses.get(result.status) ?? 0) + 1);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const q = (p: number) => Math.round((latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0) * 10) / 10;
  // Let the work after the acks finish, then count what it did.
  await new Promise((resolve) => setTimeout(resolve, 2000));
  slack.process.stdin!.write('stats\n');
  const stats = await nextLine<{ replies: number; posts: number; rateLimited: number }>(slack.lines);
  console.log(
    `acks: ${latencies.length} in ${seconds.toFixed(1)} s (${Math.round(latencies.length / seconds)}/s), statuses ${JSON.stringify(Object.fromEntries(statuses))}, p90 ${q(0.9)} ms, max ${q(1)} ms; ` +
      `work done after the acks: ${stats.replies} ephemeral replies, ${stats.posts} channel posts (paced to 1/s per channel, the rest still waiting); commands: ${texts.join(' | ')}`,
  );
  figures = JSON.stringify({ p50_ms: q(0.5), p99_ms: q(0.99), requests: latencies.length, concurrency });
} finally {
  agent.destroy();
  bot.process.kill('SIGTERM');
  await once(bot.process, 'exit').catch(() => undefined);
  slack.process.stdin!.end();
  slack.process.kill('SIGTERM');
  const redis = testRedis();
  await deleteKeys(redis, prefix);
  redis.disconnect();
}
// Last, after the children have exited and said their last words.
if (figures !== undefined) console.log(figures);
