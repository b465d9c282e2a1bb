/**
 * Read-only commands follow the same channel binding as the rest: an app bound to channels tells
 * its status and history there only; `history` without an app, asked elsewhere, leaves it out.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/index.js';
import { appendAudit } from '../../src/queue/audit.js';
import { CHANNEL, EVE, SIGNING_SECRET, slackConfig, startWorld, textOf, type World } from './harness.js';

const OTHER = 'C0ELSEWHERE';
let world: World;

beforeAll(async () => {
  world = await startWorld({
    standIn: { channels: [CHANNEL, OTHER] },
    config: (prefix) => {
      const base = slackConfig(prefix);
      const raw = JSON.parse(JSON.stringify({ redis: base.redis, web: base.web, apps: {}, environments: {} })) as Record<string, Record<string, unknown>>;
      // The same settings as the harness's, with shop bound to the releases channel.
      raw.apps = Object.fromEntries(Object.values(base.apps).map((app) => [app.name, { image: app.image, hosts: app.hosts, ...(app.name === 'shop' ? { slack: { channels: [CHANNEL] } } : {}) }]));
      raw.environments = Object.fromEntries(
        Object.values(base.environments).map((env) => [env.name, { defaultFor: env.defaultFor, regions: env.regions.map((r) => ({ name: r.name, namespace: r.namespace, liveUrl: r.liveUrl })) }]),
      );
      return parseConfig(JSON.stringify(raw), { SLACK_BOT_TOKEN: 'xoxb-test', SLACK_SIGNING_SECRET: SIGNING_SECRET }, 'read-binding.yaml');
    },
  });
  for (const app of ['shop', 'cart']) {
    await appendAudit(world.redis, world.prefix, { at: new Date().toISOString(), kind: 'succeeded', app, environment: 'production', version: 'v2', actor: EVE, requestId: `seed-${app}` });
  }
}, 30_000);
afterAll(async () => {
  await world?.stop();
});

async function answer(text: string, channel: string): Promise<string> {
  const sent = await world.driver.slashCommand(EVE, text, { channel });
  return textOf(await world.standIn.waitFor((s) => s.responseUrlPosts().find((p) => p.url === sent.responseUrl), 10_000));
}

describe('status and history follow the channel binding', () => {
  it('refuses status and history of a bound app outside its channels, and names them', async () => {
    for (const text of ['status shop --env production', 'history shop']) {
      const refused = await answer(text, OTHER);
      expect(refused).toContain(`shop is released from <#${CHANNEL}>: ask about it there. Nothing was shown`);
    }
  });

  it('answers them in the bound channel', async () => {
    expect(await answer('status shop --env production', CHANNEL)).toContain('Status: shop in production');
    expect(await answer('history shop', CHANNEL)).toMatch(/History: shop: 1 entries/);
  });

  it('history of every app, asked elsewhere, leaves the bound app out', async () => {
    const elsewhere = await answer('history', OTHER);
    expect(elsewhere).toContain('cart');
    expect(elsewhere).not.toContain('shop');
  });
});
