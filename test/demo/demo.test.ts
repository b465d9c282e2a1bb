import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { prometheusForTests } from '../support/prometheus.js';

const root = path.resolve(import.meta.dirname, '../..');

async function demo(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/demo.ts', ...args], {
    cwd: root,
    env: { ...process.env, REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
    timeout: 150_000,
    maxBuffer: 20 * 1024 * 1024,
  });
  return stdout;
}

function expectTheWholeStory(stdout: string): void {
  for (const step of ['deploy v1', 'bootstrap', 'promote v1', 'deploy v2', 'promote v2', 'rollback']) {
    expect(stdout).toMatch(new RegExp(`✓ /release ${step}\\s+succeeded`));
  }
  expect(stdout).toContain('/invite @cutover in #releases');
  expect(stdout).toContain('your approval does not count');
  expect(stdout).toMatch(/requests sent: [1-9]\d*\s+failed: 0\s+sessions answered by another version: 0/);
  // Slack as it behaves: rate tiers and Block Kit limits on; nothing the bot sent was refused.
  expect(stdout).toMatch(/slack: \d+ Web API calls, \d+ answered 429 \(retried after Retry-After\), 0 refused/);
  expect(stdout).toContain('✅ every step succeeded and no request failed');
}

/**
 * The README's first command, as a newcomer runs it: the whole story through Slack, the bot, two
 * worker processes, Redis and two sandbox regions, with users on both ingresses.
 */
describe('npm run demo', () => {
  it('plays the release story end to end with no failed request, and exits 0', async () => {
    const stdout = await demo();
    expect(stdout).toContain('HTTP receiver, signed requests');
    expectTheWholeStory(stdout);
  }, 160_000);

  it('plays it over Socket Mode too (-- --socket-mode)', async () => {
    const stdout = await demo('--socket-mode');
    expect(stdout).toContain('Socket Mode: a WebSocket opened through apps.connections.open');
    expectTheWholeStory(stdout);
  }, 160_000);
});

const hasPrometheus = await prometheusForTests('test/demo/demo.test.ts (--metrics)');

describe.skipIf(!hasPrometheus)('npm run demo -- --metrics', () => {
  it('stops a bad build at its health gate in eu-west before us-east, and the cleanup dry run shows each version\'s traffic', async () => {
    const stdout = await demo('--metrics');
    expect(stdout).toMatch(/prometheus\s+http:\/\/127\.0\.0\.1:\d+ \(2\.\d+.*\) scrapes both ingresses' metrics/);
    expectTheWholeStory(stdout);
    expect(stdout).toMatch(/✓ \/release promote v3\s+rolled-back \(expected: rolled-back\)/);
    expect(stdout).toMatch(/eu-west: health gate failed [\d.]+ s into the bake: gate error-ratio: [\d.]+ is not < 0\.01 \(query: /);
    expect(stdout).not.toMatch(/us-east: switch the live selector v1 → v3 \d/);
    for (const region of ['eu-west', 'us-east']) expect(stdout).toMatch(new RegExp(`${region}: keeping v2 \\(rollback target; \\d+ requests? in the last 15 s\\)`));
    expect(stdout).toMatch(/v3, the bad build, answered \d+ requests with 500 in eu-west/);
  }, 160_000);
});
