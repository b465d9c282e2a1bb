/**
 * Every key cutover writes is bounded (issue 20.3): after releases of every kind through real
 * worker processes (their threads reported into the Slack stand-in) and a cleanup that deletes
 * versions, every key under the run's prefix either expires (a TTL) or matches a pattern in the
 * list of capped structures that docs/redis.md documents ("Keys and their bounds"), and no key
 * of a deleted version is left.
 */
import { readFileSync } from 'node:fs';
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueRelease } from '../../src/queue/enqueue.js';
import { ThreadOutbox } from '../../src/queue/thread-outbox.js';
import { startSlackStandIn, type SlackStandIn } from '../../src/sandbox/slack/index.js';
import { resultOf, waitFor, World } from './harness.js';

const CHANNEL = 'C0RELEASES';
const world = new World({ apps: { shop: {} }, policy: { retention: { keep: 1, minAgeSinceLiveHours: 0, graceAfterInstallHours: 0 } } });
let standIn: SlackStandIn;

/** The documented patterns of keys without a TTL: the first column of the table's rows marked "no TTL". */
export function documentedUnexpiring(): RegExp[] {
  const doc = readFileSync(new URL('../../docs/redis.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('### Keys and their bounds'));
  const patterns = [...section.matchAll(/^\| `([^`]+)` \|[^|]*\| no TTL/gm)].map((m) => m[1]!);
  return patterns.map((p) => new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/<[a-z ]+>/g, '[^:]+')}$`));
}

beforeAll(async () => {
  await world.start();
  standIn = await startSlackStandIn();
  await world.prepare('shop', { install: [] });
  const started = [world.spawnWorker({ SLACK_BOT_TOKEN: standIn.botToken, SLACK_API_URL: standIn.apiUrl })];
  await waitFor(() => started[0]!.lines.some((l) => l.msg === 'worker ready'), 'the worker', 20_000);
}, 90_000);

afterAll(async () => {
  await world.stop();
  await standIn?.close();
});

let sequence = 0;
async function run(kind: 'deploy' | 'promote' | 'rollback' | 'cleanup', extra: Record<string, string> = {}): Promise<void> {
  const client = new WebClient(standIn.botToken, { slackApiUrl: standIn.apiUrl, retryConfig: { retries: 0 } });
  const root = await client.chat.postMessage({ channel: CHANNEL, text: `Queued: ${kind}` });
  const requestId = `bounds-${kind}-${sequence++}`;
  await enqueueRelease(world.queue, kind, { requestId, app: 'shop', environment: 'production', requestedBy: 'U0OPS', source: 'slack', slack: { channel: CHANNEL, threadTs: root.ts! }, ...extra });
  const result = await resultOf(world.queue, requestId, 60_000);
  expect(result.outcome).toBe('succeeded');
}

describe('keys in Redis', () => {
  it('after releases of every kind and a cleanup, every key expires or is a documented capped structure; deleted versions leave no key', async () => {
    for (const version of ['v2', 'v3']) {
      await run('deploy', { version });
      await run('promote', { version });
    }
    await run('rollback');
    await run('promote', { version: 'v3' });
    await run('cleanup');
    expect(Object.values(await world.installedVersions('shop'))[0]).not.toContain('v1');
    await waitFor(async () => (await new ThreadOutbox(world.redis, world.prefix).backlog()) === 0, 'the thread outboxes to drain', 30_000);

    const documented = documentedUnexpiring();
    expect(documented.length).toBeGreaterThan(5);
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await world.redis.scan(cursor, 'MATCH', `${world.prefix}:*`, 'COUNT', 500);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    expect(keys.length).toBeGreaterThan(10);
    const unbounded: string[] = [];
    for (const key of keys) {
      if ((await world.redis.pttl(key)) >= 0) continue;
      const relative = `<prefix>${key.slice(world.prefix.length)}`;
      if (!documented.some((pattern) => pattern.test(relative))) unbounded.push(relative);
    }
    expect(unbounded).toEqual([]);
    // The deleted version v1 left nothing behind that does not expire.
    const ofV1 = keys.filter((k) => /:v1(:|$)/.test(k));
    for (const key of ofV1) expect(await world.redis.pttl(key), key).toBeGreaterThanOrEqual(0);
  }, 240_000);
});
