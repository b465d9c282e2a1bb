import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findEnvironment, type Config } from '../../src/config/index.js';
import { isGated } from '../../src/core/approval.js';
import { mayRequest } from '../../src/core/authorization.js';
import { isCommandError, parseReleaseCommand } from '../../src/core/command-grammar.js';
import { createReleaseQueue } from '../../src/queue/release-queue.js';
import { createSlackDriver, DEFAULT_USERGROUPS, startSlackStandIn, type SlackDriver, type SlackStandIn } from '../../src/sandbox/slack/index.js';
import { createSlackApp, type SlackBot } from '../../src/slack/app.js';
import { commandContext } from '../../src/slack/command-handler.js';
import { accessPolicy } from '../../src/slack/slack-context.js';
import { deleteKeys, redisUrl, testPrefix, testRedis } from '../queue/redis-fixture.js';
import { ALICE, BOB, CAROL, CHANNEL, EVE, FakeClusters, SIGNING_SECRET, queuedJobs, slackConfig } from '../slack/harness.js';
import { generatedCases, namedCases, pick, seededRng } from './fuzz-corpus.js';

/**
 * Hostile `/release` texts, signed as Slack signs them, against the real Bolt app over HTTP with
 * real Redis and a real queue: the bot keeps answering, acks and replies to every command, every
 * reply is a clear message, and nothing invalid (or not allowed) reaches the queue. How fast it acks
 * is measured by `npm run bench:ack`, not asserted here.
 */

const SEED = 0x5eed_7;
const GENERATED = 520;
const texts = [...namedCases(), ...generatedCases(seededRng(SEED), GENERATED)];
const USERS = [ALICE, BOB, CAROL, EVE];
const KNOWN_USERS = new Set(USERS);
const channelOf = (i: number) => `C0FUZZ${String(i).padStart(4, '0')}`;
/** Bounds the wait for a reply so that a command left unanswered fails its test instead of hanging. */
const REPLY_WAIT_MS = 10_000;
/** Slack refuses a section text over 3000 characters; a message text over 40000. */
const MAX_SECTION = 3_000;
const MAX_TEXT = 4_000;

let standIn: SlackStandIn;
let driver: SlackDriver;
let bot: SlackBot;
let redis: Redis;
let queue: Queue;
let config: Config;
const prefix = testPrefix();
const logs: string[] = [];

interface Outcome {
  text: string;
  /** The text as Bolt received it (lone surrogates arrive as U+FFFD after form encoding). */
  received: string;
  user: string;
  channel: string;
  triggerId: string;
  ackStatus: number;
  /** A response_url post or a message in the channel arrived. */
  answered: boolean;
  replies: { text?: string; blocks?: unknown[] }[];
}
const outcomes: Outcome[] = [];

beforeAll(async () => {
  standIn = await startSlackStandIn({ channels: [CHANNEL, ...texts.map((_, i) => channelOf(i)), channelOf(texts.length)] });
  config = slackConfig(prefix);
  redis = testRedis();
  queue = createReleaseQueue({ redisUrl, prefix });
  const push = (m: string) => logs.push(m);
  bot = createSlackApp({ config, reader: new FakeClusters(), redis, queue, botToken: standIn.botToken, slackApiUrl: standIn.apiUrl, log: { info: push, warn: push, error: push }, sweepIntervalMs: 0 });
  const { port } = await bot.start(0, '127.0.0.1');
  driver = createSlackDriver({ botUrl: `http://127.0.0.1:${port}/slack/events`, signingSecret: SIGNING_SECRET, standIn });

  const rng = seededRng(SEED ^ 0xabc);
  // One channel per command: replies are attributed without doubt, and the per-channel posting
  // pace (1/s, shared through Redis) never delays an unrelated command.
  for (const [i, text] of texts.entries()) {
    const user = pick(rng, USERS);
    const channel = channelOf(i);
    const sent = await driver.slashCommand(user, text, { channel });
    const answered = await standIn
      .waitFor((s) => s.responseUrlPosts().some((p) => p.url === sent.responseUrl) || s.messages(channel).some((m) => !m.thread_ts), REPLY_WAIT_MS)
      .catch(() => false);
    outcomes.push({
      text,
      received: new URLSearchParams(new URLSearchParams({ text }).toString()).get('text') ?? '',
      user,
      channel,
      triggerId: sent.triggerId,
      ackStatus: sent.status,
      answered,
      replies: [],
    });
  }
  // Let the last handlers finish (an ungated request enqueues after posting its thread root).
  await new Promise((resolve) => setTimeout(resolve, 300));
  for (const outcome of outcomes) {
    const url = (p: { channel: string }) => p.channel === outcome.channel;
    outcome.replies = [...standIn.responseUrlPosts().filter(url), ...standIn.messages(outcome.channel), ...standIn.ephemerals(outcome.channel)];
  }
}, 120_000);

afterAll(async () => {
  await bot?.stop();
  await queue?.close();
  if (redis) {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  }
  await standIn?.close();
});

/** Every string a Slack client would render: the text and every text field in the blocks. */
function renderedStrings(message: { text?: string; blocks?: unknown[] }): string[] {
  const strings: string[] = [message.text ?? ''];
  const walk = (value: unknown): void => {
    if (typeof value === 'string') strings.push(value);
    else if (Array.isArray(value)) value.forEach(walk);
    else if (value && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(message.blocks ?? []);
  return strings;
}

/** What would make a reply unclear or dangerous; [] when it is fine. */
function problemsOf(message: { text?: string; blocks?: unknown[] }, input: string): string[] {
  const problems: string[] = [];
  const text = message.text ?? '';
  const approvalRequest = text.startsWith('Approval needed');
  if (text.trim() === '') problems.push('empty text');
  if (text.length > MAX_TEXT) problems.push(`text of ${text.length} characters`);
  const sections = ((message.blocks ?? []) as { text?: { text?: string } }[]).map((b) => b.text?.text ?? '');
  if (sections.some((s) => s.length > MAX_SECTION)) problems.push('a block over 3000 characters');
  for (const s of renderedStrings(message)) {
    if (/(^|\n)\s+at .+:\d+:\d+\)?/.test(s) || /\b(TypeError|ReferenceError|RangeError|SyntaxError)\b|Cannot read propert/.test(s)) problems.push(`stack trace or JS error: ${s.slice(0, 120)}`);
    for (const word of ['undefined', '[object Object]', 'NaN']) {
      if (s.includes(word) && !input.includes(word)) problems.push(`shows ${word}`);
    }
    // Slack markup in a reply must be the bot's own: a date, a known user, a channel. Anything else
    // (a broadcast, a usergroup ping, a disguised link) came from the input unescaped.
    for (const token of s.match(/<[^<>]*>/g) ?? []) {
      const own =
        token.startsWith('<!date^') ||
        KNOWN_USERS.has(/^<@([A-Z0-9]+)>$/.exec(token)?.[1] ?? '') ||
        /^<#C[A-Z0-9]+(\|[^>]*)?>$/.test(token) ||
        // An approval request names the configured approvers' usergroup.
        (approvalRequest && Object.hasOwn(DEFAULT_USERGROUPS, /^<!subteam\^([A-Z0-9]+)>$/.exec(token)?.[1] ?? ''));
      if (!own) problems.push(`unescaped markup ${token.slice(0, 60)}`);
    }
    if (s.includes('Something went wrong')) problems.push('the generic failure reply (a handler threw)');
  }
  return problems;
}

/** What the grammar and the policy say about a text from a user: may it reach the queue at once? */
function mayEnqueue(outcome: Outcome): { ok: false } | { ok: true; version: string | null } {
  const parsed = parseReleaseCommand(outcome.received, commandContext(config, outcome.channel));
  if (isCommandError(parsed) || parsed.action === 'help' || parsed.action === 'history' || parsed.action === 'status' || parsed.dryRun) return { ok: false };
  const environment = findEnvironment(config, parsed.environment);
  if (!environment) return { ok: false };
  const groups = (id: string) => DEFAULT_USERGROUPS[id] ?? [];
  if (mayRequest(outcome.user, parsed.action, accessPolicy(environment, parsed.action), groups) !== null) return { ok: false };
  if (isGated(parsed.action, environment.slack.approvals)) return { ok: false };
  return { ok: true, version: parsed.version };
}

describe(`/release fuzz: ${texts.length} hostile texts (seed ${SEED.toString(16)}), signed, through the real Bolt app`, () => {
  it('acks every command with 200', () => {
    expect(outcomes).toHaveLength(texts.length);
    expect(outcomes.filter((o) => o.ackStatus !== 200).map((o) => [o.text.slice(0, 60), o.ackStatus])).toEqual([]);
  });

  it('answers every command (a response_url post or a message in the channel)', () => {
    expect(outcomes.filter((o) => !o.answered).map((o) => o.text.slice(0, 60))).toEqual([]);
  });

  it('answers every command with a clear message: text, bounded, no stack traces or undefined, no markup from the input', () => {
    const bad = outcomes.flatMap((o) => o.replies.flatMap((reply) => problemsOf(reply, o.received).map((p) => `${JSON.stringify(o.text.slice(0, 50))}: ${p}`)));
    expect(bad).toEqual([]);
    expect(outcomes.every((o) => o.replies.length > 0)).toBe(true);
    expect(logs.filter((l) => l.startsWith('/release'))).toEqual([]);
  });

  it('enqueues nothing that is invalid, not allowed for its user, or gated; what it enqueues is what was asked', async () => {
    const byTrigger = new Map(outcomes.map((o) => [`slack-${o.triggerId.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 100)}`, o]));
    const jobs = await queuedJobs(queue);
    const wrong = jobs.flatMap((job) => {
      const data = job.data as { requestId: string; version?: string; toVersion?: string };
      const outcome = byTrigger.get(data.requestId);
      if (!outcome) return [`job ${job.id} from no command`];
      const verdict = mayEnqueue(outcome);
      if (!verdict.ok) return [`enqueued ${JSON.stringify(outcome.text.slice(0, 60))} from ${outcome.user}`];
      const version = data.version ?? data.toVersion ?? null;
      return version === verdict.version ? [] : [`enqueued version ${version} for ${JSON.stringify(outcome.text.slice(0, 60))}`];
    });
    expect(wrong).toEqual([]);
    const invalid = outcomes.filter((o) => !mayEnqueue(o).ok).length;
    console.log(`fuzz: ${invalid} texts invalid or not allowed (none enqueued), ${jobs.length} valid ungated requests enqueued`);
    expect(invalid).toBeGreaterThanOrEqual(500);
  });

  it('still answers help afterwards', async () => {
    const channel = channelOf(texts.length);
    const sent = await driver.slashCommand(EVE, 'help', { channel });
    expect(sent.status).toBe(200);
    const post = await standIn.waitFor((s) => s.responseUrlPosts().find((p) => p.url === sent.responseUrl));
    expect(post.text).toMatch(/\/release/);
  });
});
