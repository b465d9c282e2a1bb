import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBot, type RunningBot } from '../../src/bot.js';
import { findApp, findEnvironment, parseConfig, type Config } from '../../src/config/index.js';
import { ensureHelm } from '../../src/demo/helm-binary.js';
import { loadKubeConfig } from '../../src/kube/load-kubeconfig.js';
import { executeRelease } from '../../src/release/release.js';
import { createSlackDriver, startSlackStandIn, type SlackDriver, type SlackStandIn } from '../../src/sandbox/slack/index.js';
import { namespaceObjects, objectsOfVersion } from '../support/namespace-objects.js';
import { configYaml, liveSelectors, startSandboxEnv, type SandboxEnv } from '../support/sandbox-env.js';
import { deleteKeys, redisUrl, testPrefix, testRedis } from '../queue/redis-fixture.js';
import { askAsAlice, summaryInThread, BOB, CHANNEL, SIGNING_SECRET, textOf } from './harness.js';
import { startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';

/**
 * The example Helm chart released through Slack: the real bot, a real worker process, the Slack
 * stand-in and two sandbox regions. shop installs from examples/charts/shop with its Secret in
 * place; cart installs from the same chart but references a Secret nobody made.
 */

let world: SandboxEnv;
let standIn: SlackStandIn;
let driver: SlackDriver;
let bot: RunningBot;
let worker: WorkerProcess | undefined;
let redis: Redis;
let config: Config;
const prefix = testPrefix();

beforeAll(async () => {
  const helm = await ensureHelm();
  const chart = (secret: string) => ({
    install: { kind: 'helm', chart: 'examples/charts/shop', helmBinary: helm, values: { secret: { name: secret, key: 'db-password' }, podAnnotations: { 'sandbox.cutover.dev/ready-after-ms': '100' } } },
  });
  const options = { prefix, apps: ['shop', 'cart'], appFields: (app: string) => chart(app === 'shop' ? 'shop-secrets' : 'cart-secrets') };
  world = await startSandboxEnv(options);
  for (const region of world.sandbox.regions) {
    await loadKubeConfig({ path: world.sandbox.kubeconfigPath, context: region.name })
      .makeApiClient(CoreV1Api)
      .createNamespacedSecret({ namespace: 'production', body: { metadata: { name: 'shop-secrets' }, stringData: { 'db-password': 'hunter2' } } });
  }
  standIn = await startSlackStandIn({});
  const raw = JSON.parse(configYaml(world.sandbox, options)) as { environments: { production: Record<string, unknown> } };
  Object.assign(raw.environments.production, { protected: true, slack: { approvals: { approvers: { usergroups: ['S0APPROVERS'] }, requesters: {} } } });
  config = parseConfig(JSON.stringify(raw), { SLACK_BOT_TOKEN: standIn.botToken, SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_API_URL: standIn.apiUrl, REDIS_URL: redisUrl }, 'helm-e2e.yaml');

  const { env, app } = world.clusters.environment(findEnvironment(config, 'production')!, findApp(config, 'shop')!);
  for (const action of ['deploy', 'bootstrap'] as const) {
    const result = await executeRelease({ action, app, version: 'v1', actor: 'setup' }, env, { reporter: { report: () => undefined } });
    expect(result.outcome, result.reasons.join('; ')).toBe('succeeded');
  }

  bot = await startBot({ config, clusters: world.clusters, port: 0, host: '127.0.0.1', sweepIntervalMs: 0, log: { info: () => undefined, warn: () => undefined, error: (m) => console.error(m) } });
  driver = createSlackDriver({ botUrl: `http://127.0.0.1:${bot.port}/slack/events`, signingSecret: SIGNING_SECRET, standIn });
  redis = testRedis();
  const configPath = path.join(world.dir, 'slack-helm-e2e.json');
  await writeFile(configPath, JSON.stringify(raw));
  worker = await startWorkerProcess(configPath, { SLACK_BOT_TOKEN: standIn.botToken, SLACK_API_URL: standIn.apiUrl });
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await bot?.stop();
  if (redis) {
    await deleteKeys(redis, prefix);
    redis.disconnect();
  }
  await standIn?.close();
  await world?.stop();
});

const ask = (text: string) => askAsAlice(standIn, driver, text);

/** A gated action approved by bob; resolves with the thread's summary. */
async function approved(text: string, title: string) {
  const request = await ask(text);
  expect(request.text).toMatch(/^Approval needed/);
  await driver.reaction(BOB, { channel: CHANNEL, ts: request.ts }, 'white_check_mark');
  return summaryInThread(standIn, request.ts, title);
}

async function ungated(text: string, title: string) {
  const root = await ask(text);
  return summaryInThread(standIn, root.ts, title);
}

describe('the example Helm chart released through Slack', () => {
  it('deploys, promotes and rolls back shop in both regions', async () => {
    const deployed = await approved('deploy shop v2', 'Deploy shop v2 in production: ✅ done');
    expect(deployed.text).toContain('eu-west: installed');
    expect(deployed.text).toContain('us-east: installed');
    await approved('promote shop v2', 'Promote shop v2 in production: ✅ done');
    expect(await liveSelectors(world.sandbox)).toEqual({ 'eu-west': 'v2', 'us-east': 'v2' });
    await ungated('rollback shop', 'Rollback shop');
    expect(await liveSelectors(world.sandbox)).toEqual({ 'eu-west': 'v1', 'us-east': 'v1' });
  }, 60_000);

  it('fails the deploy of a chart whose Secret is missing, with the reason in the thread', async () => {
    const summary = await approved('deploy cart v1', 'Deploy cart v1 in production: ❌');
    expect(textOf(summary)).toMatch(/eu-west: v1 cannot start: pod cart-v1-shop-\S+: CreateContainerConfigError: secret \\?"cart-secrets\\?" not found/);
  }, 40_000);

  it('cleans up: the version that went leaves no object in any namespaced kind of either region', async () => {
    await approved('deploy shop v3', 'Deploy shop v3 in production: ✅ done');
    await approved('promote shop v3', 'Promote shop v3 in production: ✅ done');
    // Live v3, rollback target v1: v2 goes.
    await ungated('cleanup shop', 'Cleanup shop');
    for (const region of ['eu-west', 'us-east']) {
      await expect.poll(async () => objectsOfVersion(await namespaceObjects(world.sandbox.kubeconfigPath, region, 'production'), 'shop', 'v2').map((o) => `${o.kind}/${o.name}`), { timeout: 15_000 }).toEqual([]);
    }
  }, 90_000);
});
