import type { AddressInfo } from 'node:net';
import { App, LogLevel } from '@slack/bolt';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSlackDriver, startSlackStandIn, type SlackStandIn } from '../../src/sandbox/slack/index.js';

/**
 * Socket Mode against real Bolt (SocketModeReceiver over @slack/socket-mode), and the event
 * delivery modes (duplicated, reordered, two replicas at once) over Socket Mode and HTTP.
 */

const CHANNEL = 'C0RELEASES';
const SIGNING_SECRET = 'socket-test-secret';

interface Seen {
  replica: string;
  kind: string;
  detail: string;
  eventId?: string;
  retryNum?: number;
}

let standIn: SlackStandIn;
const seen: Seen[] = [];
const apps: App[] = [];

function boltApp(replica: string, mode: 'socket' | 'http'): App {
  const app = new App({
    token: standIn.botToken,
    ...(mode === 'socket'
      ? { appToken: standIn.appToken, socketMode: true, installerOptions: { clientOptions: { slackApiUrl: standIn.apiUrl } } }
      : { signingSecret: SIGNING_SECRET }),
    clientOptions: { slackApiUrl: standIn.apiUrl },
    logLevel: LogLevel.ERROR,
  });
  app.command('/release', async ({ command, ack, respond }) => {
    await ack();
    seen.push({ replica, kind: 'command', detail: command.text });
    await respond({ response_type: 'ephemeral', text: `${replica} heard ${command.text}` });
  });
  app.event('reaction_added', async ({ event, body, context }) => {
    seen.push({ replica, kind: 'reaction', detail: event.reaction, eventId: body.event_id, ...(context.retryNum !== undefined ? { retryNum: context.retryNum } : {}) });
  });
  apps.push(app);
  return app;
}

beforeAll(async () => {
  standIn = await startSlackStandIn();
});
afterAll(async () => {
  for (const app of apps) await app.stop().catch(() => undefined);
  await standIn.close();
});
beforeEach(() => {
  seen.length = 0;
  standIn.reset();
});

describe('Socket Mode', () => {
  let root: string;

  beforeAll(async () => {
    await boltApp('a', 'socket').start();
    await boltApp('b', 'socket').start();
    await standIn.socketMode.waitForConnections(2);
  });

  it('opens a connection per app through apps.connections.open with the app token, and says hello', () => {
    expect(standIn.socketMode.connections()).toHaveLength(2);
  });

  it('delivers a slash command as an envelope; the ack comes back and the response_url answer lands', async () => {
    const driver = createSlackDriver({ standIn, socketMode: true });
    const result = await driver.slashCommand('U0000ALICE', 'status');
    expect(result.status).toBe(200);
    await standIn.waitFor((s) => s.responseUrlPosts().find((p) => p.url === result.responseUrl));
    expect(seen).toMatchObject([{ kind: 'command', detail: 'status' }]);
    expect(standIn.socketMode.envelopes()).toMatchObject([{ type: 'slash_commands', acked: true }]);
  });

  it('spreads envelopes over the open connections in turn', async () => {
    const driver = createSlackDriver({ standIn, socketMode: true });
    await driver.slashCommand('U0000ALICE', 'one');
    await driver.slashCommand('U0000ALICE', 'two');
    await standIn.waitFor((s) => s.responseUrlPosts().length === 2);
    expect(new Set(seen.map((s) => s.replica))).toEqual(new Set(['a', 'b']));
  });

  it('delivers an event twice at once when duplicated: the copy carries retry_attempt', async () => {
    root = (await postRoot()).ts;
    const driver = createSlackDriver({ standIn, socketMode: true });
    driver.setDelivery('duplicated');
    const result = await driver.reaction('U00000BOB', { channel: CHANNEL, ts: root }, 'white_check_mark');
    expect(result.deliveries).toHaveLength(2);
    await standIn.waitFor(() => seen.length === 2);
    expect(seen.map((s) => s.eventId)).toEqual([result.eventId, result.eventId]);
    expect(seen.map((s) => s.retryNum ?? 0).sort()).toEqual([0, 1]);
  });

  it('delivers an event to both replicas at once', async () => {
    const ts = (await postRoot()).ts;
    const driver = createSlackDriver({ standIn, socketMode: true });
    driver.setDelivery('replicas');
    const result = await driver.reaction('U00000BOB', { channel: CHANNEL, ts }, 'x');
    expect(result.deliveries.map((d) => d.status)).toEqual([200, 200]);
    await standIn.waitFor(() => seen.length === 2);
    expect(seen.map((s) => s.replica).sort()).toEqual(['a', 'b']);
    expect(new Set(seen.map((s) => s.eventId))).toEqual(new Set([result.eventId]));
  });

  it('reorders events: of two reactions, the later one arrives first', async () => {
    const ts = (await postRoot()).ts;
    const driver = createSlackDriver({ standIn, socketMode: true });
    driver.setDelivery('reordered');
    const first = driver.reaction('U00000BOB', { channel: CHANNEL, ts }, 'one');
    const second = driver.reaction('U000CAROL', { channel: CHANNEL, ts }, 'two');
    await Promise.all([first, second]);
    await standIn.waitFor(() => seen.length === 2);
    expect(seen.map((s) => s.detail)).toEqual(['two', 'one']);
  });

  it('withholds events from channels the bot is not in, as Slack does', async () => {
    const ts = (await postRoot()).ts;
    standIn.kick(CHANNEL);
    const driver = createSlackDriver({ standIn, socketMode: true });
    const result = await driver.reaction('U00000BOB', { channel: CHANNEL, ts }, 'white_check_mark');
    standIn.invite(CHANNEL);
    expect(result.withheld).toContain('not in C0RELEASES');
    expect(result.deliveries).toEqual([]);
  });

  it('asks the apps to reconnect (disconnect: refresh_requested); they open new connections and keep receiving', async () => {
    const before = standIn.calls('apps.connections.open').length;
    standIn.socketMode.requestReconnect();
    await standIn.waitFor((s) => s.calls('apps.connections.open').length >= before + 2, 15_000);
    await standIn.socketMode.waitForConnections(2);
    expect(standIn.calls('apps.connections.open').map((c) => [c.token, c.ok])).toEqual([
      [standIn.appToken, true],
      [standIn.appToken, true],
    ]);
    const driver = createSlackDriver({ standIn, socketMode: true });
    const result = await driver.slashCommand('U0000ALICE', 'after refresh');
    expect(result.status).toBe(200);
    await standIn.waitFor((s) => s.responseUrlPosts().find((p) => p.url === result.responseUrl));
  }, 20_000);

  async function postRoot() {
    const { WebClient } = await import('@slack/web-api');
    const client = new WebClient(standIn.botToken, { slackApiUrl: standIn.apiUrl });
    const posted = await client.chat.postMessage({ channel: CHANNEL, text: 'Approval needed' });
    return { ts: posted.ts! };
  }
});

describe('delivery modes over HTTP', () => {
  let urls: string[];

  beforeAll(async () => {
    urls = [];
    for (const replica of ['h1', 'h2']) {
      const server = (await boltApp(replica, 'http').start({ port: 0, host: '127.0.0.1' })) as { address(): AddressInfo };
      urls.push(`http://127.0.0.1:${server.address().port}/slack/events`);
    }
  });

  it('sends duplicated events with X-Slack-Retry-Num on the copy, and to every replica at once', async () => {
    const { WebClient } = await import('@slack/web-api');
    const client = new WebClient(standIn.botToken, { slackApiUrl: standIn.apiUrl });
    const ts = (await client.chat.postMessage({ channel: CHANNEL, text: 'Approval needed' })).ts!;
    const driver = createSlackDriver({ standIn, botUrl: urls[0]!, replicaUrls: [urls[1]!], signingSecret: SIGNING_SECRET });
    driver.setDelivery('duplicated');
    await driver.reaction('U00000BOB', { channel: CHANNEL, ts }, 'one');
    driver.setDelivery('replicas');
    await driver.reaction('U00000BOB', { channel: CHANNEL, ts }, 'two');
    await standIn.waitFor(() => seen.length === 4);
    expect(seen.filter((s) => s.detail === 'one').map((s) => [s.replica, s.retryNum ?? 0]).sort()).toEqual([['h1', 0], ['h1', 1]]);
    expect(seen.filter((s) => s.detail === 'two').map((s) => s.replica).sort()).toEqual(['h1', 'h2']);
  });
});
