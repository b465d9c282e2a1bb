import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ApprovalStore } from '../../src/queue/approvals.js';
import { createReleaseQueue } from '../../src/queue/release-queue.js';
import { createSlackDriver, DEFAULT_USERGROUPS, type RecordedMessage } from '../../src/sandbox/slack/index.js';
import { createSlackApp } from '../../src/slack/app.js';
import { approveActionId, rejectActionId } from '../../src/slack/blocks.js';
import { eventually } from '../queue/redis-fixture.js';
import { ALICE, BOB, CAROL, CHANNEL, EVE, SIGNING_SECRET, queuedJobs, startWorld, textOf, type World } from './harness.js';

/**
 * Approvals through the real Bolt app and the strict stand-in: the Approve and Reject buttons
 * (block_actions, signed as Slack signs them, Approve behind a confirm dialog) and reactions feed
 * one state machine; the request message is updated in place and carries message metadata; the
 * deciding check asks Slack whether the approving reactions are still there and asks afresh who is
 * in the approvers group; an approval whose enqueue was interrupted is completed by the sweep.
 */

let world: World;
let approvals: ApprovalStore;

beforeAll(async () => {
  world = await startWorld();
  approvals = new ApprovalStore(world.redis, world.prefix);
});
afterAll(async () => {
  await world?.stop();
});
beforeEach(async () => {
  world.standIn.reset();
  world.standIn.setUsergroup('S0APPROVERS', DEFAULT_USERGROUPS.S0APPROVERS!);
  world.driver.setDelivery('once');
  // Time only moves forward: past the user group cache's five minutes, so each test asks Slack afresh.
  world.clock.offsetMs += 10 * 60_000;
  await world.queue.obliterate({ force: true });
});

const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

async function approvalRequest(text = 'promote shop v2'): Promise<RecordedMessage> {
  const before = world.standIn.messages(CHANNEL).length;
  await world.driver.slashCommand(ALICE, text);
  return world.standIn.waitFor((s) => s.messages(CHANNEL).slice(before).find((m) => !m.thread_ts && m.text?.startsWith('Approval needed')));
}

function buttons(message: RecordedMessage | undefined): { action_id: string; style?: string; confirm?: unknown; value?: string }[] {
  const actions = (message?.blocks ?? []).find((b) => (b as { type: string }).type === 'actions') as { elements: { action_id: string; style?: string; confirm?: unknown; value?: string }[] } | undefined;
  return actions?.elements ?? [];
}

const toUser = (user: string) => world.standIn.ephemerals(CHANNEL).filter((e) => e.user === user);

describe('the Approve and Reject buttons', () => {
  it('puts buttons and message metadata on the request: Approve behind a confirm dialog, Reject as danger', async () => {
    const request = await approvalRequest();
    const stored = await eventually(() => approvals.byMessage({ channel: CHANNEL, ts: request.ts }), 'the stored request');
    expect(buttons(request)).toMatchObject([
      { action_id: approveActionId, style: 'primary', value: stored.request.id, confirm: { title: { text: 'Approve this release?' }, confirm: { text: 'Approve' }, deny: { text: 'Cancel' } } },
      { action_id: rejectActionId, style: 'danger', value: stored.request.id },
    ]);
    expect(request.metadata).toEqual({
      event_type: 'cutover_approval',
      event_payload: { request_id: stored.request.id, app: 'shop', environment: 'production', action: 'promote', version: 'v2', plan_digest: stored.request.planDigest, state: 'pending' },
    });
  });

  it('explains a press by the requester and by a non-approver, visibly to them, and runs nothing', async () => {
    const request = await approvalRequest();
    const at = { channel: CHANNEL, ts: request.ts };
    await world.driver.pressButton(ALICE, at, approveActionId);
    await world.driver.pressButton(EVE, at, approveActionId);
    await world.driver.pressButton(ALICE, at, approveActionId);
    await world.standIn.waitFor(() => toUser(ALICE).length === 2 && toUser(EVE).length === 1);
    expect(textOf(toUser(ALICE)[1])).toContain('you asked for this release, so your approval does not count');
    expect(textOf(toUser(EVE)[0])).toContain('<@U00000EVE> is not an approver here');
    expect(world.standIn.ephemerals(CHANNEL, { includeHidden: true }).every((e) => e.shown)).toBe(true);
    expect(await queuedJobs(world.queue)).toEqual([]);
    expect(world.standIn.message(CHANNEL, request.ts)?.text).toMatch(/^Approval needed/);
  });

  it('sends nothing when the approver cancels the confirm dialog', async () => {
    const request = await approvalRequest();
    const result = await world.driver.pressButton(BOB, { channel: CHANNEL, ts: request.ts }, approveActionId, { confirm: 'cancel' });
    expect(result.cancelled).toBe(true);
    await settle();
    expect(await queuedJobs(world.queue)).toEqual([]);
  });

  it('approves on a confirmed press: one job under the approval id, the message updated in place (no buttons, metadata kept), a stale press told it is decided', async () => {
    const request = await approvalRequest();
    const at = { channel: CHANNEL, ts: request.ts };
    const press = await world.driver.pressButton(BOB, at, approveActionId);
    expect(press.status).toBe(200);
    expect(press.confirm).toBeDefined();
    const [job] = await eventually(() => queuedJobs(world.queue).then((j) => j.length === 1 && j), 'the promote job');
    const stored = (await approvals.byMessage(at))!;
    expect(job!.id).toBe(stored.request.id);
    expect(job!.data).toMatchObject({ approvalId: stored.request.id, approvedBy: [BOB], requestedBy: ALICE, source: 'slack', slack: { channel: CHANNEL, threadTs: request.ts } });
    expect(stored.request).toMatchObject({ state: 'approved', votes: [{ user: BOB, via: 'button', allowedAs: { kind: 'usergroup', group: 'S0APPROVERS' } }] });
    // The deciding check asked for the group again; no reaction vote, so no reactions.get.
    expect(stored.request.confirmedAt).toBeDefined();
    const updated = world.standIn.message(CHANNEL, request.ts)!;
    expect(world.standIn.messages(CHANNEL).filter((m) => !m.thread_ts)).toHaveLength(1);
    expect(updated.text).toMatch(/^✅ Approved: promote shop v2 in production/);
    expect(buttons(updated)).toEqual([]);
    expect(updated.metadata).toMatchObject({ event_type: 'cutover_approval', event_payload: { request_id: stored.request.id, state: 'approved' } });
    expect(world.standIn.calls('chat.update').every((c) => (c.args.metadata as { event_type?: string } | undefined)?.event_type === 'cutover_approval')).toBe(true);

    // Carol's client still showed the buttons: her press is answered, nothing runs twice.
    const stale = { ...press.payload, user: { id: CAROL, username: 'carol', name: 'carol', team_id: world.standIn.team.id }, actions: [{ ...(press.payload.actions as object[])[0]!, action_ts: world.standIn.nextTs() }] };
    const answer = await world.driver.sendSigned(new URLSearchParams({ payload: JSON.stringify(stale) }).toString(), 'application/x-www-form-urlencoded');
    expect(answer.status).toBe(200);
    await world.standIn.waitFor(() => toUser(CAROL).length === 1);
    expect(textOf(toUser(CAROL)[0])).toContain('already approved, so your press changes nothing');
    expect(await queuedJobs(world.queue)).toHaveLength(1);
  });

  it('answers a press on a request Redis lost: nothing runs, ask again', async () => {
    const request = await approvalRequest();
    const at = { channel: CHANNEL, ts: request.ts };
    const stored = await eventually(() => approvals.byMessage(at), 'the stored request');
    await world.redis.del(`${world.prefix}:approval-message:${CHANNEL}:${request.ts}`, `${world.prefix}:approval:${stored.request.id}`);
    await world.driver.pressButton(BOB, at, approveActionId);
    await world.standIn.waitFor(() => toUser(BOB).length === 1);
    expect(textOf(toUser(BOB)[0])).toContain('There is no pending approval request for that message');
    expect(await queuedJobs(world.queue)).toEqual([]);
  });

  it('rejects on Reject by an approver', async () => {
    const request = await approvalRequest();
    await world.driver.pressButton(CAROL, { channel: CHANNEL, ts: request.ts }, rejectActionId);
    await world.standIn.waitFor((s) => s.message(CHANNEL, request.ts)?.text?.startsWith('❌ Rejected'));
    expect(await queuedJobs(world.queue)).toEqual([]);
  });

  it('counts a press and a reaction of two approvers toward the same request', async () => {
    const two = await startWorld({ required: 2 });
    try {
      await two.driver.slashCommand(ALICE, 'promote shop v2');
      const request = await two.standIn.waitFor((s) => s.messages(CHANNEL).find((m) => m.text?.startsWith('Approval needed')));
      const at = { channel: CHANNEL, ts: request.ts };
      await two.driver.pressButton(BOB, at, approveActionId);
      await two.standIn.waitFor((s) => s.message(CHANNEL, request.ts)?.text?.includes('1/2 approvals'));
      // A new block_id for the new iteration of the message, as Slack asks of updated messages.
      const blockIds = two.standIn.message(CHANNEL, request.ts)!.history.map((h) => (h.blocks ?? []).find((b) => (b as { type: string }).type === 'actions') as { block_id: string } | undefined).map((b) => b?.block_id);
      expect(new Set(blockIds).size).toBe(2);
      await two.driver.reaction(CAROL, at, 'white_check_mark');
      const [job] = await eventually(() => queuedJobs(two.queue).then((j) => j.length === 1 && j), 'the promote job');
      expect(job!.data.approvedBy).toEqual([BOB, CAROL]);
      const stored = await new ApprovalStore(two.redis, two.prefix).byMessage(at);
      expect(stored!.request.votes.map((v) => [v.user, v.via, v.seenAt !== undefined])).toEqual([
        [BOB, 'button', false],
        [CAROL, 'reaction', true],
      ]);
      expect(two.standIn.calls('reactions.get').map((c) => c.args)).toEqual([{ channel: CHANNEL, timestamp: request.ts, full: 'true' }]);
    } finally {
      await two.stop();
    }
  });
});

describe('decisions re-checked when they count', () => {
  it('an approval removed before its addition was processed (delivered out of order) does not count', async () => {
    const request = await approvalRequest();
    const at = { channel: CHANNEL, ts: request.ts };
    world.driver.setDelivery('reordered');
    const added = world.driver.reaction(BOB, at, 'white_check_mark');
    const removed = world.driver.reaction(BOB, at, 'white_check_mark', { removed: true });
    await Promise.all([added, removed]);
    await world.standIn.waitFor((s) => s.calls('reactions.get').length === 1);
    await settle();
    expect(await queuedJobs(world.queue)).toEqual([]);
    const stored = await approvals.byMessage(at);
    expect(stored!.request).toMatchObject({ state: 'pending', votes: [] });
    expect(world.standIn.message(CHANNEL, request.ts)?.text).toMatch(/^Approval needed.*0\/1 approvals/);
    // Bob approves for real afterwards: it runs once.
    world.driver.setDelivery('once');
    await world.driver.reaction(BOB, at, 'white_check_mark');
    await eventually(() => queuedJobs(world.queue).then((j) => j.length === 1), 'the promote job');
  });

  it('an approver removed from the group no longer counts once the cached answer is older than 30 s', async () => {
    // The request itself read the group (bob and carol); the cache would keep that for five minutes.
    const request = await approvalRequest();
    world.standIn.setUsergroup('S0APPROVERS', [CAROL]);
    world.clock.offsetMs += 31_000;
    await world.driver.pressButton(BOB, { channel: CHANNEL, ts: request.ts }, approveActionId);
    await world.standIn.waitFor(() => toUser(BOB).length === 1);
    expect(textOf(toUser(BOB)[0])).toContain('not an approver here (checked just now)');
    expect(await queuedJobs(world.queue)).toEqual([]);
    await world.driver.pressButton(CAROL, { channel: CHANNEL, ts: request.ts }, approveActionId);
    const [job] = await eventually(() => queuedJobs(world.queue).then((j) => j.length === 1 && j), 'the promote job');
    expect(job!.data.approvedBy).toEqual([CAROL]);
  });

  it('an approval whose deciding check cannot reach Slack is recorded, not approved, and the approver is told', async () => {
    const request = await approvalRequest();
    const at = { channel: CHANNEL, ts: request.ts };
    world.standIn.injectError('reactions.get', 'fatal_error', 1);
    await world.driver.reaction(BOB, at, 'white_check_mark');
    await world.standIn.waitFor(() => toUser(BOB).length === 1);
    expect(textOf(toUser(BOB)[0])).toContain('so it is not approved yet');
    expect(await queuedJobs(world.queue)).toEqual([]);
    // The next press decides.
    await world.driver.pressButton(BOB, at, approveActionId);
    await eventually(() => queuedJobs(world.queue).then((j) => j.length === 1), 'the promote job');
  });
});

describe('approved, then queued exactly once', () => {
  it('an approval whose enqueue failed is queued by the sweep, once, however often it runs', async () => {
    // A replica whose queue cannot reach Redis: it approves (the record is in the shared Redis), its enqueue fails.
    const brokenQueue = createReleaseQueue({ redisUrl: 'redis://127.0.0.1:1', prefix: world.prefix });
    const warnings: string[] = [];
    const broken = createSlackApp({
      config: world.config,
      reader: world.clusters,
      redis: world.redis,
      queue: brokenQueue,
      botToken: world.standIn.botToken,
      slackApiUrl: world.standIn.apiUrl,
      log: { info: () => undefined, warn: (m) => warnings.push(m), error: (m) => warnings.push(m) },
      sweepIntervalMs: 0,
    });
    const { port } = await broken.start(0, '127.0.0.1');
    try {
      const request = await approvalRequest();
      const driver = createSlackDriver({ standIn: world.standIn, botUrl: `http://127.0.0.1:${port}/slack/events`, signingSecret: SIGNING_SECRET });
      await driver.pressButton(BOB, { channel: CHANNEL, ts: request.ts }, approveActionId);
      await eventually(async () => warnings.some((w) => w.includes('queueing its job failed')), 'the failed enqueue');
      const stored = (await approvals.byMessage({ channel: CHANNEL, ts: request.ts }))!;
      expect(stored.request.state).toBe('approved');
      expect(await approvals.isIndexed(stored.request.id, 'outbox')).toBe(true);
      expect(await queuedJobs(world.queue)).toEqual([]);

      world.clock.offsetMs += 5_000;
      const sweeps = await Promise.all([world.bot.sweep(), world.bot.sweep()]);
      expect(sweeps.map((s) => s.queued).reduce((a, b) => a + b, 0)).toBe(1);
      expect((await world.bot.sweep()).queued).toBe(0);
      const jobs = await queuedJobs(world.queue);
      expect(jobs.map((j) => j.id)).toEqual([stored.request.id]);
      expect(await approvals.isIndexed(stored.request.id, 'outbox')).toBe(false);
    } finally {
      await broken.stop();
      await brokenQueue.close().catch(() => undefined);
    }
  });
});
