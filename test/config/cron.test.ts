/**
 * cutover accepts a cleanup cron exactly when BullMQ would schedule it: every row is asked of
 * BullMQ twice, through `getNextMillis` (the parse its job scheduler runs, with the repeat
 * options) and through a real `upsertJobScheduler` on Redis (which also refuses an empty pattern
 * and creates nothing for an expression with no next run).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Queue, getNextMillis } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cronRefusal, timeZoneRefusal } from '../../src/config/cron.js';
import { deleteKeys, redisUrl, testPrefix, testRedis } from '../queue/redis-fixture.js';

const now = new Date('2026-11-27T12:00:00Z');
const prefix = testPrefix();
let redis: Redis;
let queue: Queue;

beforeAll(() => {
  redis = testRedis();
  queue = new Queue('cron-table', { connection: { url: redisUrl }, prefix });
});
afterAll(async () => {
  await queue.close();
  await deleteKeys(redis, prefix);
  await redis.quit();
});

function parsedByBullmq(pattern: string, tz: string): boolean {
  try {
    return typeof getNextMillis(now.getTime(), { pattern, tz }) === 'number';
  } catch {
    return false;
  }
}

let rows = 0;
async function scheduledByBullmq(pattern: string, tz: string): Promise<boolean> {
  const id = `row-${rows++}`;
  try {
    const job = await queue.upsertJobScheduler(id, { pattern, tz }, { name: 'cleanup' });
    return job !== undefined && (await queue.getJobScheduler(id)) !== undefined;
  } catch {
    return false;
  } finally {
    await queue.removeJobScheduler(id);
  }
}

const accepted = [
  '@daily',
  '@weekly',
  '@hourly',
  '@monthly',
  '@yearly',
  '0 0 L * *', // last day of the month
  '0 0 * * 1#2', // second Monday
  '0 0 * * 5L', // last Friday
  '0 3 * * *',
  '*/15 * * * *',
  '0 0 3 * * mon-fri', // six fields: seconds first
  '*/30 * * * * *',
  '0 9 1,15 jan-jun ?',
  '30 2 * * 7',
  '0 0/30 8-18 * * *',
  '0 0 29 2 *', // only in leap years, but it fires
  '0 3 * *', // cron-parser pads from the left: 0 * 0 3 * *
  'H 3 * * *', // hashed minute
];

const refused = [
  '',
  '   ',
  '@midnight',
  '@reboot',
  '0 0 0 3 * * *',
  '60 * * * *',
  '0 24 * * *',
  '0 3 0 * *',
  '0 3 * 13 *',
  '0 3 * * funday',
  '*/0 * * * *',
  '0 3 * * $(reboot)',
  '0 0 30 2 *',
  '0 0 31 4 *',
  '0 0 * * mon#6',
  '5-1 * * * *',
  '0 0 LW * *',
];

describe('cronRefusal gives BullMQ’s answer', () => {
  it.each([...accepted.map((e) => [e, 'UTC']), ['0 3 * * *', 'Europe/Paris'], ['0 0 L * *', 'America/New_York'], ['30 2 * * *', 'Asia/Kathmandu']])(
    'accepts %j in %s, as BullMQ schedules it',
    async (expression, tz) => {
      expect(parsedByBullmq(expression, tz)).toBe(true);
      expect(await scheduledByBullmq(expression, tz)).toBe(true);
      expect(cronRefusal(expression, tz, now)).toBeNull();
    },
  );

  it.each(refused)('refuses %j with the parser’s reason, as BullMQ does', async (expression) => {
    expect(await scheduledByBullmq(expression, 'UTC')).toBe(false);
    if (expression !== '') expect(parsedByBullmq(expression, 'UTC')).toBe(false);
    const reason = cronRefusal(expression, 'UTC', now);
    expect(reason).not.toBeNull();
    expect(reason).toMatch(expression === '' ? /is empty/ : /is not a cron expression BullMQ can schedule: \S/);
  });

  it('uses the cron-parser BullMQ uses: the pin in package.json is bullmq’s own dependency, one copy installed', () => {
    const ours = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> };
    const require = createRequire(import.meta.url);
    const bullmqManifest = require.resolve('bullmq/package.json');
    const bullmqs = JSON.parse(readFileSync(bullmqManifest, 'utf8')) as { dependencies: Record<string, string> };
    expect(ours.dependencies['cron-parser']).toBe(bullmqs.dependencies['cron-parser']);
    expect(createRequire(bullmqManifest).resolve('cron-parser')).toBe(require.resolve('cron-parser'));
  });
});

describe('timeZoneRefusal', () => {
  it.each(['UTC', 'Europe/Paris', 'America/Argentina/Buenos_Aires', 'Etc/GMT+5', 'Asia/Kathmandu'])('accepts %s', (name) => {
    expect(timeZoneRefusal(name)).toBeNull();
  });

  it.each(['', 'Mars/Olympus_Mons', '+01:00', 'local', 'system', 'Europe/Paris; rm -rf /', 'Z'])('refuses %j', (name) => {
    expect(timeZoneRefusal(name)).toBe(`"${name}" is not an IANA time zone name such as UTC or Europe/Paris`);
  });
});
