import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli.js';
import { findApp, findEnvironment } from '../../src/config/index.js';
import { confirm, decide, openApproval, planDigest, type ApprovalRequest } from '../../src/core/approval.js';
import { readAudit } from '../../src/queue/audit.js';
import { enqueueApproved } from '../../src/queue/approval-job.js';
import { ApprovalStore, type ApprovalRecord } from '../../src/queue/approvals.js';
import { enqueueRelease } from '../../src/queue/enqueue.js';
import { previewRelease } from '../../src/release/release.js';
import { createQueueRunner } from '../../src/wiring/queue-runner.js';
import { ClusterDirectory } from '../../src/wiring/release-environment.js';
import { redisUrl } from '../queue/redis-fixture.js';
import { resultOf, World } from './harness.js';

/**
 * The worker enforces approvals, whatever enqueued the job: real worker processes (jobs/worker.ts)
 * against two sandbox regions, approval records written where the bot writes them. A gated job
 * runs only as its approval's job, approved by enough allowed approvers, not used before, and
 * only if the plan from its own observation is the approved one; it is marked used as it starts.
 */

const ALICE = 'U0000ALICE';
const BOB = 'U00000BOB';
const approvers = { users: [BOB, 'U000CAROL'], usergroups: [] };
const world = new World({
  apps: { shop: {} },
  production: { protected: true, slack: { approvals: { approvers, requesters: { users: [ALICE] } } } },
});
let store: ApprovalStore;
let sequence = 0;

beforeAll(async () => {
  await world.start();
  await world.prepare('shop', { install: ['v2', 'v3'] });
  await world.startWorkers(2);
  store = new ApprovalStore(world.redis, world.prefix);
}, 90_000);
afterAll(async () => {
  await world.stop();
});

/** An approval request as the bot stores it, with the digest of the plan the approvers saw now. */
async function requested(version: string, options: { approve?: boolean; change?: (r: ApprovalRequest) => ApprovalRequest } = {}): Promise<ApprovalRecord> {
  const { env, app } = new ClusterDirectory().environment(findEnvironment(world.config, 'production')!, findApp(world.config, 'shop')!);
  const planned = await previewRelease({ action: 'promote', app, version, actor: ALICE }, env);
  if (!planned.ok) throw new Error(planned.reasons.join('; '));
  const now = Date.now();
  sequence++;
  const request = openApproval({ id: `apr-shop-test-${sequence}`, app: 'shop', environment: 'production', action: 'promote', version, planDigest: planDigest(planned.plan), requester: ALICE, now }, { required: 1, expiresMinutes: 30 });
  const record = { request, channel: 'C0RELEASES', ts: `1700000000.${String(sequence).padStart(6, '0')}`, planText: 'plan' };
  await store.create(record);
  if (options.approve === false) return record;
  const transition = await store.update(request.id, (r) => {
    const voted = decide(r.request, { user: BOB, kind: 'approve', via: 'button', at: now }, { approvers }, () => []).request;
    const approved = confirm(voted, { at: now, reactionsOnMessage: null, groupMembers: () => [], membershipCheckedAt: now }, { approvers }).request;
    return { ...r, request: options.change ? options.change(approved) : approved };
  });
  return transition!.after;
}

const promotion = (requestId: string, version: string, extra: Record<string, unknown> = {}) => ({ requestId, app: 'shop', environment: 'production', version, requestedBy: ALICE, source: 'cli' as const, ...extra });

describe('a gated job without a valid approval is refused by the worker, and changes nothing', () => {
  it('added straight to the BullMQ queue without an approval: refused with how to get one', async () => {
    await enqueueRelease(world.queue, 'promote', promotion('no-approval', 'v2'));
    const result = await resultOf(world.queue, 'no-approval');
    expect(result.outcome).toBe('refused');
    expect(result.reasons.join('\n')).toContain(
      'promote shop v2 in production needs an approval, and this job carries none: ask in Slack with `/release promote shop v2 --env production`, or from CI with `cutover promote shop v2 --env production --queue --request-approval`',
    );
    expect(await world.liveVersions('shop')).toEqual({ 'eu-west': 'v1', 'us-east': 'v1' });
  });

  it.each<[string, () => Promise<{ jobId: string; extra: Record<string, unknown>; version?: string }>, RegExp]>([
    ['an approval still pending', async () => {
      const id = (await requested('v2', { approve: false })).request.id;
      return { jobId: id, extra: { approvalId: id } };
    }, /still waiting for approvals, not approved/],
    ['another job claiming an approved request', async () => ({ jobId: 'not-the-approval', extra: { approvalId: (await requested('v2')).request.id } }), /an approved job's id is its approval id, and this job is not-the-approval/],
    ['an approval for another version', async () => {
      const id = (await requested('v3')).request.id;
      return { jobId: id, extra: { approvalId: id } };
    }, /it approves promote shop v3 in production, not this job's promote shop v2 in production/],
    ['an approval its requester gave themselves', async () => {
      const id = (await requested('v2', { change: (r) => ({ ...r, votes: r.votes.map((v) => ({ ...v, user: ALICE })) }) })).request.id;
      return { jobId: id, extra: { approvalId: id } };
    }, /the requester approved their own request/],
    ['an approval decided after it expired', async () => {
      const id = (await requested('v2', { change: (r) => ({ ...r, expiresAt: r.decidedAt! }) })).request.id;
      return { jobId: id, extra: { approvalId: id } };
    }, /decided after it expired/],
    ['an approval whose deciding check used a stale membership answer', async () => {
      const id = (await requested('v2', { change: (r) => ({ ...r, votes: r.votes.map((v) => ({ ...v, checkedAt: v.checkedAt - 60_000 })) }) })).request.id;
      return { jobId: id, extra: { approvalId: id } };
    }, /last checked 60 s before the decision/],
    ['an approval that was never stored', async () => ({ jobId: 'apr-shop-missing', extra: { approvalId: 'apr-shop-missing' } }), /no such approval request is stored/],
  ])('%s', async (_name, setup, reason) => {
    const { jobId, extra } = await setup();
    await enqueueRelease(world.queue, 'promote', promotion(jobId, 'v2', extra));
    const result = await resultOf(world.queue, jobId);
    expect(result.outcome).toBe('refused');
    expect(result.reasons.join('\n')).toMatch(reason);
    expect(result.reasons.join('\n')).toContain('Nothing was changed; ask in Slack with `/release promote shop v2 --env production`');
    expect(await world.liveVersions('shop')).toEqual({ 'eu-west': 'v1', 'us-east': 'v1' });
  });
});

describe('a valid approval runs its release once', () => {
  it('runs the approved plan, marks the approval used by this run as it starts, and never again', async () => {
    const record = await requested('v2');
    const id = record.request.id;
    await enqueueApproved(world.queue, store, record);
    const result = await resultOf(world.queue, id, 30_000);
    expect(result.outcome).toBe('succeeded');
    expect(await world.liveVersions('shop')).toEqual({ 'eu-west': 'v2', 'us-east': 'v2' });
    const job = await world.queue.getJob(id);
    expect((await store.get(id))!.request).toMatchObject({ state: 'used', usedBy: `${id}@${job!.timestamp}` });
    expect(world.workers.flatMap((w) => w.lines).filter((l) => l.msg === 'approval verified and used' && l.approvalId === id)).toHaveLength(1);

    // BullMQ forgets finished jobs after a day: the same approval enqueued again is a new run, refused.
    await job!.remove();
    await enqueueApproved(world.queue, store, record);
    const again = await resultOf(world.queue, id, 30_000);
    expect(again.outcome).toBe('refused');
    expect(again.reasons.join('\n')).toMatch(new RegExp(`already used by job ${id}@`));
    expect(await world.liveVersions('shop')).toEqual({ 'eu-west': 'v2', 'us-east': 'v2' });
  }, 60_000);

  it('refuses an approval whose plan is no longer what the clusters say, and supersedes it', async () => {
    const record = await requested('v3');
    // Someone rolls production back to v1 meanwhile: the approved plan switched from v2 to v3.
    await world.release('rollback', 'shop', 'v1');
    await enqueueApproved(world.queue, store, record);
    const result = await resultOf(world.queue, record.request.id, 30_000);
    expect(result.outcome).toBe('refused');
    expect(result.reasons.join('\n')).toContain('the plan changed since it was approved');
    expect((await store.get(record.request.id))!.request.state).toBe('superseded');
    expect(await world.liveVersions('shop')).toEqual({ 'eu-west': 'v1', 'us-east': 'v1' });
  }, 60_000);

  it('runs an ungated action (the emergency rollback) without an approval', async () => {
    await enqueueRelease(world.queue, 'rollback', { requestId: 'ungated-rollback', app: 'shop', environment: 'production', requestedBy: 'U0ONCALL', source: 'cli', toVersion: 'v2' });
    expect((await resultOf(world.queue, 'ungated-rollback', 30_000)).outcome).toBe('succeeded');
    expect(await world.liveVersions('shop')).toEqual({ 'eu-west': 'v2', 'us-east': 'v2' });
  }, 60_000);
});

describe('through cutover --queue', () => {
  it('a CLI whose config does not gate production still cannot run it: the worker refuses (exit 2, with the hint)', async () => {
    const document = JSON.parse(await readFile(world.configPath, 'utf8')) as { environments: { production: Record<string, unknown> } };
    delete document.environments.production.protected;
    delete document.environments.production.slack;
    const path = `${world.configPath}.cli-ungated.json`;
    await writeFile(path, JSON.stringify(document));
    const out: string[] = [];
    const err: string[] = [];
    const live = await world.liveVersions('shop');
    const code = await runCli(['promote', 'shop', 'v3', '--env', 'production', '--queue', '--config', path], { out: (l) => out.push(l), err: (l) => err.push(l), env: { REDIS_URL: redisUrl }, queue: createQueueRunner() });
    expect(code).toBe(2);
    expect(out.join('\n')).toContain('needs an approval, and this job carries none');
    expect(await world.liveVersions('shop')).toEqual(live);
    const audit = await readAudit(world.redis, world.prefix, { count: 50, app: 'shop' });
    expect(audit.find((e) => e.kind === 'failed' && e.detail?.includes('needs an approval'))).toBeDefined();
  }, 60_000);
});
