import type { AddressInfo } from 'node:net';
import { App, LogLevel, type SlackEventMiddlewareArgs } from '@slack/bolt';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSlackDriver, signSlackRequest, startSlackStandIn, type SlackDriver, type SlackStandIn } from '../../src/sandbox/slack/index.js';

const SIGNING_SECRET = 'sandbox-signing-secret';
const CHANNEL = 'C0RELEASES';

interface SeenReaction {
  type: string;
  user: string;
  reaction: string;
  ts: string;
  eventId: string;
  retryNum?: number;
}

let standIn: SlackStandIn;
let app: App;
let driver: SlackDriver;
const commandsSeen: string[] = [];
const reactionsSeen: SeenReaction[] = [];
const actionsSeen: { user: string; actionId: string; value?: string; blockId: string; channel?: string; messageTs?: string }[] = [];

beforeAll(async () => {
  standIn = await startSlackStandIn();
  app = new App({
    token: standIn.botToken,
    signingSecret: SIGNING_SECRET,
    clientOptions: { slackApiUrl: standIn.apiUrl },
    logLevel: LogLevel.ERROR,
  });
  app.command('/release', async ({ command, ack, respond, client }) => {
    await ack();
    commandsSeen.push(command.text);
    if (command.text === 'help') {
      await respond({ response_type: 'ephemeral', text: 'usage: /release promote <version>' });
      return;
    }
    const root = await client.chat.postMessage({ channel: command.channel_id, text: `<@${command.user_id}> asks: ${command.text}` });
    await respond({ response_type: 'in_channel', text: `queued ${command.text}`, thread_ts: root.ts });
  });
  const onReaction = async ({ event, body, context }: SlackEventMiddlewareArgs<'reaction_added' | 'reaction_removed'> & { context: { retryNum?: number } }) => {
    reactionsSeen.push({
      type: event.type,
      user: event.user,
      reaction: event.reaction,
      ts: event.item.type === 'message' ? event.item.ts : '',
      eventId: body.event_id,
      ...(context.retryNum !== undefined ? { retryNum: context.retryNum } : {}),
    });
  };
  app.event('reaction_added', onReaction);
  app.event('reaction_removed', onReaction);
  app.action({ type: 'block_actions', action_id: /^(approve|reject)$/ }, async ({ ack, body, action, respond }) => {
    await ack();
    const pressed = action as { action_id: string; value?: string; block_id: string };
    const container = (body as { container?: { channel_id?: string; message_ts?: string } }).container;
    actionsSeen.push({ user: body.user.id, actionId: pressed.action_id, blockId: pressed.block_id, ...(pressed.value ? { value: pressed.value } : {}), ...(container?.channel_id ? { channel: container.channel_id } : {}), ...(container?.message_ts ? { messageTs: container.message_ts } : {}) });
    await respond({ response_type: 'ephemeral', replace_original: false, text: `you pressed ${pressed.action_id}` });
  });
  const server = await app.start({ port: 0, host: '127.0.0.1' });
  const { port } = server.address() as AddressInfo;
  driver = createSlackDriver({ botUrl: `http://127.0.0.1:${port}/slack/events`, signingSecret: SIGNING_SECRET, standIn });
});

afterAll(async () => {
  await app.stop();
  await standIn.close();
});

beforeEach(() => {
  standIn.reset();
  commandsSeen.length = 0;
  reactionsSeen.length = 0;
  actionsSeen.length = 0;
});

/** Runs /release promote and waits until the app has answered on the response_url too. */
async function requestRelease() {
  await driver.slashCommand('U0000ALICE', 'promote v42');
  await standIn.waitFor((s) => s.messages(CHANNEL).find((m) => m.via === 'response_url'));
  return standIn.messages(CHANNEL).find((m) => m.via === 'chat.postMessage')!;
}

describe('driver against a real Bolt 5 app over HTTP', () => {
  it('delivers a signed slash command that Bolt acks, and respond() lands on the response_url', async () => {
    const result = await driver.slashCommand('U0000ALICE', 'help');
    expect(result.status).toBe(200);
    expect(result.payload).toMatchObject({ command: '/release', user_id: 'U0000ALICE', user_name: 'alice', channel_id: CHANNEL, channel_name: 'releases' });
    const post = await standIn.waitFor((s) => s.responseUrlPosts()[0]);
    expect(post).toMatchObject({ url: result.responseUrl, user: 'U0000ALICE', channel: CHANNEL, response_type: 'ephemeral', status: 200 });
    expect(post.text).toContain('usage');
    expect(standIn.ephemerals(CHANNEL)).toMatchObject([{ user: 'U0000ALICE', via: 'response_url' }]);
    expect(commandsSeen).toEqual(['help']);
  });

  it('lets the app post through its WebClient and answer in_channel in the thread', async () => {
    await driver.slashCommand('U0000ALICE', 'promote v42', { channel: CHANNEL });
    const reply = await standIn.waitFor((s) => s.messages(CHANNEL).find((m) => m.via === 'response_url'));
    const root = standIn.messages(CHANNEL).find((m) => m.via === 'chat.postMessage')!;
    expect(root.text).toBe('<@U0000ALICE> asks: promote v42');
    expect(reply).toMatchObject({ text: 'queued promote v42', thread_ts: root.ts, bot_id: standIn.bot.botId });
  });

  it('delivers reaction_added and reaction_removed events to app.event()', async () => {
    const root = await requestRelease();
    const added = await driver.reaction('U00000BOB', { channel: CHANNEL, ts: root.ts }, 'white_check_mark');
    expect(added.status).toBe(200);
    expect(added.eventId).toMatch(/^Ev[A-Z0-9]{10}$/);
    expect(standIn.reactions({ ts: root.ts })).toEqual([{ channel: CHANNEL, ts: root.ts, name: 'white_check_mark', user: 'U00000BOB', via: 'user' }]);
    await standIn.waitFor(() => reactionsSeen.length === 1);
    expect(reactionsSeen[0]).toEqual({ type: 'reaction_added', user: 'U00000BOB', reaction: 'white_check_mark', ts: root.ts, eventId: added.eventId });

    await driver.reaction('U00000BOB', { channel: CHANNEL, ts: root.ts }, 'white_check_mark', { removed: true });
    await standIn.waitFor(() => reactionsSeen.length === 2);
    expect(reactionsSeen[1]).toMatchObject({ type: 'reaction_removed', user: 'U00000BOB' });
    expect(standIn.reactions({ ts: root.ts })).toEqual([]);
  });

  it('redelivers the same event_id with retry headers', async () => {
    const root = await requestRelease();
    const first = await driver.reaction('U000CAROL', { channel: CHANNEL, ts: root.ts }, 'white_check_mark');
    const again = await driver.redeliver(first.eventId);
    expect(again).toMatchObject({ status: 200, eventId: first.eventId, retryNum: 1 });
    await standIn.waitFor(() => reactionsSeen.length === 2);
    expect(reactionsSeen.map((r) => [r.eventId, r.retryNum])).toEqual([
      [first.eventId, undefined],
      [first.eventId, 1],
    ]);
  });

  it('delivers a button press as a signed block_actions form post that Bolt routes to app.action(), after the confirm dialog', async () => {
    const confirm = { title: { type: 'plain_text', text: 'Sure?' }, text: { type: 'plain_text', text: 'It runs.' }, confirm: { type: 'plain_text', text: 'Yes' }, deny: { type: 'plain_text', text: 'No' } };
    const posted = await fetch(`${standIn.apiUrl}chat.postMessage`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json; charset=utf-8', Authorization: `Bearer ${standIn.botToken}` },
      body: JSON.stringify({
        channel: CHANNEL,
        text: 'approve?',
        blocks: [{ type: 'actions', block_id: 'decide-1', elements: [{ type: 'button', action_id: 'approve', text: { type: 'plain_text', text: 'Approve' }, value: 'apr-1', style: 'primary', confirm }] }],
      }),
    }).then((r) => r.json() as Promise<{ ts: string }>);
    const cancelled = await driver.pressButton('U00000BOB', { channel: CHANNEL, ts: posted.ts }, 'approve', { confirm: 'cancel' });
    expect(cancelled).toMatchObject({ cancelled: true, confirm });
    const pressed = await driver.pressButton('U00000BOB', { channel: CHANNEL, ts: posted.ts }, 'approve');
    expect(pressed.status).toBe(200);
    expect(pressed.payload).toMatchObject({
      type: 'block_actions',
      user: { id: 'U00000BOB', username: 'bob' },
      container: { type: 'message', message_ts: posted.ts, channel_id: CHANNEL, is_ephemeral: false },
      channel: { id: CHANNEL, name: 'releases' },
      message: { ts: posted.ts, text: 'approve?' },
      actions: [{ action_id: 'approve', block_id: 'decide-1', value: 'apr-1', type: 'button', style: 'primary' }],
    });
    await standIn.waitFor(() => actionsSeen.length === 1);
    expect(actionsSeen).toEqual([{ user: 'U00000BOB', actionId: 'approve', blockId: 'decide-1', value: 'apr-1', channel: CHANNEL, messageTs: posted.ts }]);
    // The payload's response_url works like a slash command's.
    const answer = await standIn.waitFor((s) => s.responseUrlPosts().find((p) => p.url === pressed.payload.response_url));
    expect(answer).toMatchObject({ user: 'U00000BOB', response_type: 'ephemeral', text: 'you pressed approve' });
    // A user can only press what the message shows.
    await expect(driver.pressButton('U00000BOB', { channel: CHANNEL, ts: posted.ts }, 'reject')).rejects.toThrow(/no button with action_id reject/);
  });

  it('answers url_verification with the challenge', async () => {
    const result = await driver.urlVerification();
    expect(result.status).toBe(200);
    expect(result.json).toEqual({ challenge: result.challenge });
  });

  it('gets 401 from Bolt for a forged signature and for a timestamp older than five minutes', async () => {
    const responseUrl = standIn.issueResponseUrl({ channel: CHANNEL, user: 'U00000EVE', command: '/release' });
    const fields = { command: '/release', text: 'help', user_id: 'U00000EVE', channel_id: CHANNEL, response_url: responseUrl };
    const body = new URLSearchParams(fields).toString();
    const forged = await driver.sendSigned(body, 'application/x-www-form-urlencoded', { signature: signSlackRequest('wrong-secret', Math.floor(Date.now() / 1000), body) });
    expect(forged.status).toBe(401);
    const stale = await driver.sendSigned(body, 'application/x-www-form-urlencoded', { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    expect(stale.status).toBe(401);
    const fresh = await driver.sendSigned(body, 'application/x-www-form-urlencoded');
    expect(fresh.status).toBe(200);
    await standIn.waitFor((s) => s.responseUrlPosts()[0]);
    expect(commandsSeen).toEqual(['help']);
  });

  it('refuses the sixth post to one response_url like Slack does', async () => {
    const { responseUrl } = await driver.slashCommand('U0000ALICE', 'help');
    await standIn.waitFor((s) => s.responseUrlPosts().length === 1);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      const response = await fetch(responseUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ text: `n${i}` }) });
      statuses.push(response.status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 404]);
    expect(standIn.responseUrlPosts().at(-1)).toMatchObject({ status: 404, error: 'used_url' });
  });
});
