import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSlackStandIn, type SlackStandIn } from '../../src/sandbox/slack/index.js';
import { deleteKeys, redisUrl, testPrefix, testRedis } from '../queue/redis-fixture.js';
import { closedPort, entryPoints, looksLikeStackTrace, meaningfulLines, runProcess, type Finished } from './process-output.js';

/**
 * The real entry points (bot, worker, CLI) started the ways a deployment breaks: each says what is
 * wrong in one line on stderr, without a stack trace, and exits (2 for configuration, 1 otherwise).
 */

type Entry = keyof typeof entryPoints;

interface Case {
  name: string;
  entry: Entry;
  config: string;
  env?: Record<string, string>;
  code: number;
  line: RegExp;
}

let dir: string;
let standIn: SlackStandIn;
let redisDown: string;
const prefix = testPrefix();
const results = new Map<string, Finished>();
const cases: Case[] = [];

function config(region: { kubeconfig: string; context: string; namespace?: string }): string {
  return JSON.stringify({
    redis: { prefix },
    web: { metricsPort: 0 },
    apps: { shop: { image: 'registry.example.com/shop:{version}' } },
    environments: {
      production: {
        defaultFor: ['deploy', 'promote', 'rollback', 'cleanup', 'status', 'bootstrap'],
        regions: [{ name: 'eu-west', kubeconfig: region.kubeconfig, context: region.context, namespace: region.namespace ?? 'production', liveUrl: 'http://127.0.0.1:9' }],
      },
    },
  });
}

const argsFor = (entry: Entry, configPath: string): string[] => (entry === 'cli' ? [...entryPoints.cli, 'status', 'shop', '--config', configPath] : [...entryPoints[entry], ...(entry === 'worker' ? ['--config', configPath] : [])]);

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'cutover-startup-'));
  standIn = await startSlackStandIn();
  redisDown = `redis://127.0.0.1:${await closedPort()}`;
  const kubeconfig = path.join(dir, 'kubeconfig');
  await writeFile(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'eu-west', cluster: { server: 'https://127.0.0.1:9', 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'deployer', user: { token: 'not-used' } }],
      contexts: [{ name: 'eu-west', context: { cluster: 'eu-west', user: 'deployer' } }],
      'current-context': 'eu-west',
    }),
  );
  const files = {
    good: config({ kubeconfig, context: 'eu-west' }),
    badField: config({ kubeconfig, context: 'eu-west', namespace: 'Bad_NS' }),
    noKubeconfig: config({ kubeconfig: path.join(dir, 'no-such-kubeconfig'), context: 'eu-west' }),
    badContext: config({ kubeconfig, context: 'eu-north' }),
  };
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, `${name}.json`), text);
  const file = (name: string) => path.join(dir, `${name}.json`);
  const slackEnv = { SLACK_BOT_TOKEN: standIn.botToken, SLACK_SIGNING_SECRET: 'startup-signing-secret', SLACK_API_URL: standIn.apiUrl, REDIS_URL: redisUrl, PORT: String(await closedPort()) };

  for (const entry of ['bot', 'worker', 'cli'] as const) {
    // The CLI's config errors are covered in-process by test/cli; its kubeconfig errors only show when run.
    if (entry !== 'cli') {
      cases.push(
        { name: `${entry}: a bad field`, entry, config: file('badField'), code: 2, line: /badField\.json: environments\.production\.regions\[0\]\.namespace: must be a Kubernetes namespace name/ },
        { name: `${entry}: no config file`, entry, config: path.join(dir, 'missing.yaml'), code: 2, line: /missing\.yaml: file not found/ },
      );
    }
    cases.push(
      { name: `${entry}: a kubeconfig file that does not exist`, entry, config: file('noKubeconfig'), code: 2, line: /kubeconfig \S*no-such-kubeconfig cannot be read \(ENOENT\)/ },
      { name: `${entry}: a context the kubeconfig does not have`, entry, config: file('badContext'), code: 2, line: /kubeconfig \S*kubeconfig has no context "eu-north" \(contexts: "eu-west"\)/ },
    );
  }
  cases.push(
    { name: 'bot: a Slack token Slack rejects', entry: 'bot', config: file('good'), env: { SLACK_BOT_TOKEN: 'xoxb-0000-wrong-token' }, code: 1, line: /^cutover bot: cannot start: Slack rejected SLACK_BOT_TOKEN \(invalid_auth\)$/ },
    { name: 'bot: Redis unreachable', entry: 'bot', config: file('good'), env: { REDIS_URL: redisDown }, code: 1, line: /^cutover bot: cannot start: Redis at 127\.0\.0\.1:\d+ is unreachable \(ECONNREFUSED\)$/ },
    { name: 'worker: Redis unreachable', entry: 'worker', config: file('good'), env: { REDIS_URL: redisDown }, code: 1, line: /^cutover worker: cannot start: Redis at 127\.0\.0\.1:\d+ is unreachable \(ECONNREFUSED\)$/ },
  );

  // Two at a time: the machine has two cores and each process loads TypeScript.
  const queue = [...cases];
  const run = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      const env = { ...slackEnv, CUTOVER_CONFIG: next.config, ...next.env };
      results.set(next.name, await runProcess(argsFor(next.entry, next.config), env));
    }
  };
  await Promise.all([run(), run()]);
}, 120_000);

afterAll(async () => {
  await standIn?.close();
  const redis = testRedis();
  await deleteKeys(redis, prefix);
  redis.disconnect();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('start-up errors: one clear line each, no stack trace', () => {
  it.each([
    'a bad field',
    'no config file',
    'a kubeconfig file that does not exist',
    'a context the kubeconfig does not have',
  ])('%s: each entry point exits 2 with one line naming it', (what) => {
    for (const entry of ['bot', 'worker', 'cli']) {
      const name = `${entry}: ${what}`;
      const result = results.get(name);
      if (!result) continue;
      const lines = meaningfulLines(result.stderr);
      expect({ name, code: result.code, killed: result.killed, lines }).toMatchObject({ name, code: 2, killed: false, lines: [expect.stringMatching(cases.find((c) => c.name === name)!.line)] });
      expect(looksLikeStackTrace(result.stderr + result.stdout)).toBe(false);
    }
  });

  it.each(['bot: a Slack token Slack rejects', 'bot: Redis unreachable', 'worker: Redis unreachable'])('%s: exits 1 by itself with one line', (name) => {
    const result = results.get(name)!;
    const lines = meaningfulLines(result.stderr);
    console.log(`${name}: exit ${result.code} after ${result.ms} ms: ${lines.join(' | ')}`);
    expect({ code: result.code, killed: result.killed, lines }).toMatchObject({ code: 1, killed: false, lines: [expect.stringMatching(cases.find((c) => c.name === name)!.line)] });
    expect(looksLikeStackTrace(result.stderr + result.stdout)).toBe(false);
  });

  it('never printed a token', () => {
    const all = [...results.values()].map((r) => r.stdout + r.stderr).join('\n');
    expect(all).not.toContain(standIn.botToken);
    expect(all).not.toContain('xoxb-0000-wrong-token');
    expect(all).not.toContain('startup-signing-secret');
  });
});
