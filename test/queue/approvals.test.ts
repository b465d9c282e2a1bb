import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { confirm, decide, markUsed, openApproval, type ApprovalRequest } from '../../src/core/approval.js';
import { ApprovalStore, type ApprovalRecord } from '../../src/queue/approvals.js';
import { deleteKeys, testPrefix, testRedis } from './redis-fixture.js';

/**
 * The approval records every process shares, on real Redis: found by id and by message;
 * compare-and-set updates that never lose a concurrent decision; the pending index and the outbox
 * follow the state in the same atomic step; two job runs can never both claim one approval.
 */

const prefix = testPrefix();
let redis: Redis;
let store: ApprovalStore;
const now = Date.now();
const approvers = { users: ['UBOB', 'UCAROL', 'UDAN'], usergroups: [] };

beforeAll(() => {
  redis = testRedis();
  store = new ApprovalStore(redis, prefix);
});
afterAll(async () => {
  await deleteKeys(redis, prefix);
  redis.disconnect();
});

let sequence = 0;
async function stored(required = 1): Promise<ApprovalRecord> {
  sequence++;
  const request = openApproval({ id: `apr-t-${sequence}`, app: 'shop', environment: 'production', action: 'promote', version: 'v2', planDigest: 'd', requester: 'UALICE', now }, { required, expiresMinutes: 30 });
  const record = { request, channel: 'C0RELEASES', ts: `1700000000.${String(sequence).padStart(6, '0')}`, planText: 'plan' };
  expect(await store.create(record)).toBe(true);
  return record;
}

const vote = (user: string) => (record: ApprovalRecord): ApprovalRecord => ({ ...record, request: decide(record.request, { user, kind: 'approve', via: 'button', at: now }, { approvers }, () => []).request });
const approve = (record: ApprovalRecord): ApprovalRecord => {
  const request: ApprovalRequest = confirm(record.request, { at: now, reactionsOnMessage: null, groupMembers: () => [], membershipCheckedAt: now }, { approvers }).request;
  return { ...record, request };
};

describe('ApprovalStore', () => {
  it('stores a request once, found by id and by its message', async () => {
    const record = await stored();
    expect(await store.create(record)).toBe(false);
    expect(await store.get(record.request.id)).toEqual(record);
    expect(await store.byMessage({ channel: record.channel, ts: record.ts })).toEqual(record);
    expect(await store.byMessage({ channel: record.channel, ts: '1.2' })).toBeNull();
    expect(await store.isIndexed(record.request.id, 'pending')).toBe(true);
  });

  it('loses no vote when three replicas decide at once', async () => {
    const record = await stored(3);
    await Promise.all(['UBOB', 'UCAROL', 'UDAN'].map((user) => store.update(record.request.id, vote(user))));
    expect((await store.get(record.request.id))!.request.votes.map((v) => v.user).sort()).toEqual(['UBOB', 'UCAROL', 'UDAN']);
  });

  it('moves an approved request from the pending index into the outbox in the same step, and out of it once used', async () => {
    const record = await stored();
    const id = record.request.id;
    await store.update(id, (r) => approve(vote('UBOB')(r)));
    expect(await store.isIndexed(id, 'pending')).toBe(false);
    expect(await store.isIndexed(id, 'outbox')).toBe(true);
    // Not due before the grace time: the approving process is expected to enqueue it itself.
    expect(await store.unqueued(now)).not.toContain(id);
    expect(await store.unqueued(Date.now() + 5_000)).toContain(id);
    await store.update(id, (r) => ({ ...r, request: markUsed(r.request, `${id}@1`) }));
    expect(await store.isIndexed(id, 'outbox')).toBe(false);
  });

  it('lets exactly one of two runs claim an approval', async () => {
    const record = await stored();
    const id = record.request.id;
    await store.update(id, (r) => approve(vote('UBOB')(r)));
    const claim = (usedBy: string) => store.update(id, (r) => ({ ...r, request: markUsed(r.request, usedBy) }));
    await Promise.all([claim(`${id}@1`), claim(`${id}@2`)]);
    const after = (await store.get(id))!.request;
    expect(after.state).toBe('used');
    expect([`${id}@1`, `${id}@2`]).toContain(after.usedBy);
    // The loser's claim changed nothing: markUsed leaves a used request alone.
    await claim(after.usedBy === `${id}@1` ? `${id}@2` : `${id}@1`);
    expect((await store.get(id))!.request.usedBy).toBe(after.usedBy);
  });
});
