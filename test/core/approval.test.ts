import { describe, expect, it } from 'vitest';
import {
  approvalRefusals,
  approverIds,
  confirm,
  decide,
  expire,
  fnv1a64,
  howToAsk,
  isGated,
  markUsed,
  openApproval,
  planDigest,
  reactionDecision,
  supersede,
  type ApprovalPolicy,
  type ApprovalRequest,
  type ApprovalUse,
  type Decision,
  type DecidingEvidence,
} from '../../src/core/approval.js';
import type { Plan } from '../../src/core/plan.js';

const groups: Record<string, string[]> = { SLEADS: ['ULEAD1', 'ULEAD2'] };
const groupMembers = (id: string): string[] => groups[id] ?? [];
const policy: ApprovalPolicy = { approvers: { users: ['UALICE', 'UREQ'], usergroups: ['SLEADS'] }, approveReaction: 'white_check_mark', rejectReaction: 'x' };
const t0 = Date.UTC(2024, 0, 1, 12, 0, 0);
const minute = 60_000;

const plan: Plan = {
  action: 'promote',
  app: 'shop',
  environment: 'production',
  version: 'v42',
  regions: ['eu-west', 'us-east'],
  steps: [
    { kind: 'precheck', region: 'eu-west', version: 'v42', minReady: 2 },
    { kind: 'precheck', region: 'us-east', version: 'v42', minReady: 2 },
    { kind: 'switch', region: 'eu-west', from: 'v41', to: 'v42', rollbackTargetBefore: 'v40' },
    { kind: 'verify', region: 'eu-west', version: 'v42' },
    { kind: 'bake', region: 'eu-west', durationMs: 30_000, version: 'v42' },
    { kind: 'switch', region: 'us-east', from: 'v41', to: 'v42', rollbackTargetBefore: 'v40' },
    { kind: 'verify', region: 'us-east', version: 'v42' },
  ],
  notes: [],
};

function request(required = 1): ApprovalRequest {
  return openApproval(
    { id: 'req-1', app: 'shop', environment: 'production', action: 'promote', version: 'v42', planDigest: planDigest(plan), requester: 'UREQ', now: t0 },
    { required, expiresMinutes: 30 },
  );
}

function react(user: string, reaction = 'white_check_mark', options: { removed?: boolean; at?: number } = {}): Decision | null {
  return reactionDecision({ user, reaction, removed: options.removed ?? false, at: options.at ?? t0 + minute }, policy);
}

function press(user: string, kind: Decision['kind'] = 'approve', at = t0 + minute): Decision {
  return { user, kind, via: 'button', at };
}

/** Apply decisions in order and return every effect plus the final request. */
function play(start: ApprovalRequest, decisions: (Decision | null)[]) {
  let current = start;
  const effects: string[] = [];
  const replies: (string | undefined)[] = [];
  for (const decision of decisions) {
    if (decision === null) {
      effects.push('other-emoji');
      replies.push(undefined);
      continue;
    }
    const outcome = decide(current, decision, policy, groupMembers, policy);
    current = outcome.request;
    effects.push(outcome.effect);
    replies.push(outcome.reply);
  }
  return { request: current, effects, replies };
}

/** The deciding check: the reactions Slack shows on the message, groups answered just now. */
function evidence(reactions: string[] | null, at = t0 + 2 * minute, members = groupMembers, membershipCheckedAt = at): DecidingEvidence {
  return { at, reactionsOnMessage: reactions === null ? null : new Set(reactions), groupMembers: members, membershipCheckedAt };
}

/** Decide, then confirm with everything on the message. */
function approved(required = 1, voters: Decision[] = [press('UALICE')]): ApprovalRequest {
  const pending = play(request(required), voters).request;
  return confirm(pending, evidence(voters.filter((v) => v.via === 'reaction').map((v) => v.user)), policy).request;
}

describe('openApproval', () => {
  it('starts pending with no votes, an expiry and a Slack origin by default', () => {
    expect(request(2)).toMatchObject({ state: 'pending', votes: [], requiredApprovals: 2, createdAt: t0, expiresAt: t0 + 30 * minute, notified: [], origin: { via: 'slack' } });
  });
});

describe('decide: reactions and buttons feed one state machine', () => {
  it('the vote that brings enough approvals proposes, it does not approve: the deciding check confirms', () => {
    const { request: r, effects } = play(request(), [react('UALICE')]);
    expect(effects).toEqual(['deciding']);
    expect(r.state).toBe('pending');
    expect(r.votes).toMatchObject([{ user: 'UALICE', via: 'reaction', allowedAs: { kind: 'user' } }]);
    const confirmed = confirm(r, evidence(['UALICE']), policy);
    expect(confirmed.effect).toBe('approved');
    expect(confirmed.request).toMatchObject({ state: 'approved', decidedAt: t0 + 2 * minute, confirmedAt: t0 + 2 * minute, votes: [{ user: 'UALICE', seenAt: t0 + 2 * minute, checkedAt: t0 + 2 * minute }] });
  });

  it('counts a button press and a reaction alike, and a group member by the group', () => {
    const { request: r, effects } = play(request(2), [press('ULEAD2'), react('UALICE')]);
    expect(effects).toEqual(['counted', 'deciding']);
    expect(r.votes.map((v) => [v.user, v.via, v.allowedAs])).toEqual([
      ['ULEAD2', 'button', { kind: 'usergroup', group: 'SLEADS' }],
      ['UALICE', 'reaction', { kind: 'user' }],
    ]);
  });

  it('ignores self-approval, even by a listed approver: a reaction is told once, a press every time', () => {
    const reactions = play(request(), [react('UREQ'), react('UREQ', 'white_check_mark', { removed: true }), react('UREQ')]);
    expect(reactions.effects).toEqual(['ignored-self', 'ignored-self', 'ignored-self']);
    expect(reactions.replies[0]).toMatch(/you asked for this release, so your approval does not count.*:white_check_mark:/);
    expect(reactions.replies.slice(1)).toEqual([undefined, undefined]);
    const presses = play(request(), [press('UREQ'), press('UREQ')]);
    expect(presses.replies).toEqual([expect.stringMatching(/you asked for this release/), expect.stringMatching(/you asked for this release/)]);
    expect(presses.request.votes).toEqual([]);
  });

  it('ignores a non-approver and says why', () => {
    const { request: r, effects, replies } = play(request(), [react('UBOB'), react('UBOB', 'x'), press('UBOB')]);
    expect(effects).toEqual(['ignored-not-approver', 'ignored-not-approver', 'ignored-not-approver']);
    expect(replies[0]).toMatch(/<@UBOB> is not an approver here/);
    expect(replies[1]).toBeUndefined();
    expect(replies[2]).toMatch(/<@UBOB> is not an approver here/);
    expect(r.state).toBe('pending');
  });

  it('ignores other emoji and accepts skin-tone variants of the configured one', () => {
    expect(react('UALICE', 'tada')).toBeNull();
    expect(react('UALICE', '+1::skin-tone-3')).toBeNull();
    expect(reactionDecision({ user: 'UALICE', reaction: '+1::skin-tone-2', removed: false, at: t0 }, { ...policy, approveReaction: '+1' })).toMatchObject({ kind: 'approve' });
  });

  it('rejects on the reject reaction or button by an approver; later decisions change nothing, a late press is told so', () => {
    const { request: r, effects, replies } = play(request(2), [react('UALICE'), press('ULEAD1', 'reject'), react('ULEAD2'), press('ULEAD2')]);
    expect(effects).toEqual(['counted', 'rejected', 'ignored-closed', 'ignored-closed']);
    expect(r).toMatchObject({ state: 'rejected', rejectedBy: 'ULEAD1' });
    expect(replies[3]).toMatch(/already rejected/);
  });

  it('lets the requester cancel their own request', () => {
    expect(play(request(), [react('UREQ', 'x')]).request).toMatchObject({ state: 'rejected', rejectedBy: 'UREQ' });
    expect(play(request(), [press('UREQ', 'reject')]).request).toMatchObject({ state: 'rejected', rejectedBy: 'UREQ' });
  });

  it('needs two distinct approvers when two are required', () => {
    const { request: r, effects } = play(request(2), [react('UALICE'), press('UALICE'), react('UREQ'), react('ULEAD1')]);
    expect(effects).toEqual(['counted', 'counted', 'ignored-self', 'deciding']);
    expect(approverIds(r)).toEqual(['UALICE', 'ULEAD1']);
  });

  it('withdraws a reaction vote on reaction_removed, never a button vote', () => {
    const reaction = play(request(2), [react('UALICE'), react('UALICE', 'white_check_mark', { removed: true }), react('ULEAD1')]);
    expect(reaction.effects).toEqual(['counted', 'withdrawn', 'counted']);
    expect(approverIds(reaction.request)).toEqual(['ULEAD1']);
    const button = play(request(2), [press('UALICE'), react('UALICE', 'white_check_mark', { removed: true })]);
    expect(approverIds(button.request)).toEqual(['UALICE']);
  });

  it('proposes again on a repeated vote once enough are in (a deciding check that could not run is retried)', () => {
    const once = play(request(), [press('UALICE')]).request;
    expect(decide(once, press('UALICE'), policy, groupMembers).effect).toBe('deciding');
  });

  it('expires: a decision after the expiry does not count, and says why', () => {
    const outcome = decide(request(), press('UALICE', 'approve', t0 + 30 * minute), policy, groupMembers);
    expect(outcome.effect).toBe('ignored-expired');
    expect(outcome.request).toMatchObject({ state: 'expired', votes: [] });
    expect(outcome.reply).toMatch(/expired.*\/release promote shop v42 --env production/);
  });
});

describe('confirm: the deciding check', () => {
  it('drops a reaction vote whose reaction is gone (removed before its addition was processed): not approved', () => {
    const pending = play(request(), [react('UALICE')]).request;
    const checked = confirm(pending, evidence([]), policy);
    expect(checked.effect).toBe('not-confirmed');
    expect(checked.request).toMatchObject({ state: 'pending', votes: [] });
    expect(checked.dropped).toEqual([{ user: 'UALICE', why: 'their reaction is no longer on the request' }]);
  });

  it('drops a voter who left the approvers group by a fresh answer', () => {
    const pending = play(request(), [press('ULEAD1')]).request;
    const checked = confirm(pending, evidence(null, t0 + 2 * minute, () => []), policy);
    expect(checked.effect).toBe('not-confirmed');
    expect(checked.dropped[0]).toMatchObject({ user: 'ULEAD1', why: expect.stringMatching(/not an approver/) });
  });

  it('never decides on a membership answer older than 30 s', () => {
    const pending = play(request(), [press('ULEAD1')]).request;
    const stale = confirm(pending, evidence(null, t0 + 2 * minute, groupMembers, t0 + 2 * minute - 31_000), policy);
    expect(stale.effect).toBe('not-confirmed');
    const fresh = confirm(pending, evidence(null, t0 + 2 * minute, groupMembers, t0 + 2 * minute - 30_000), policy);
    expect(fresh.effect).toBe('approved');
    expect(fresh.request.votes[0]).toMatchObject({ allowedAs: { kind: 'usergroup', group: 'SLEADS' }, checkedAt: t0 + 2 * minute - 30_000 });
  });

  it('does not approve past the expiry', () => {
    const pending = play(request(), [press('UALICE')]).request;
    expect(confirm(pending, evidence(null, t0 + 30 * minute), policy)).toMatchObject({ effect: 'ignored-expired', request: { state: 'expired' } });
  });
});

describe('expire and supersede', () => {
  it('expires a pending request at its expiry time, not before', () => {
    expect(expire(request(), t0 + 30 * minute - 1).state).toBe('pending');
    expect(expire(request(), t0 + 30 * minute)).toMatchObject({ state: 'expired', decidedAt: t0 + 30 * minute });
  });

  it('leaves decided requests alone', () => {
    expect(expire(approved(), t0 + 60 * minute).state).toBe('approved');
    expect(supersede(approved(), t0 + 3 * minute).state).toBe('superseded');
  });
});

describe('approvalRefusals: what the worker verifies before its first change', () => {
  const use: ApprovalUse = { action: 'promote', app: 'shop', environment: 'production', version: 'v42', requester: 'UREQ', usedBy: 'req-1@1' };
  const workerPolicy = { required: 1, approvers: policy.approvers };

  it('lets an approved request run, once: used by this run it may resume, used by another it may not', () => {
    const ok = approved();
    expect(approvalRefusals(ok, use, workerPolicy)).toEqual([]);
    const used = markUsed(ok, 'req-1@1');
    expect(used).toMatchObject({ state: 'used', usedBy: 'req-1@1' });
    expect(approvalRefusals(used, use, workerPolicy)).toEqual([]);
    expect(approvalRefusals(used, { ...use, usedBy: 'req-1@2' }, workerPolicy)).toEqual(['it was already used by job req-1@1']);
    expect(markUsed(used, 'req-1@2')).toBe(used);
  });

  it.each<[string, (r: ApprovalRequest) => ApprovalRequest, Partial<ApprovalUse>, { required: number } | null, RegExp]>([
    ['pending', () => request(), {}, null, /still waiting for approvals, not approved/],
    ['rejected', () => play(request(), [press('UALICE', 'reject')]).request, {}, null, /it is rejected, not approved/],
    ['expired', () => expire(request(), t0 + 31 * minute), {}, null, /it is expired, not approved/],
    ['superseded', (r) => supersede(r, t0), {}, null, /superseded/],
    ['another version', (r) => r, { version: 'v43' }, null, /approves promote shop v42 in production, not this job's promote shop v43/],
    ['another requester', (r) => r, { requester: 'UOTHER' }, null, /asked for by UREQ, not by this job's requester UOTHER/],
    ['too few approvers for the config the worker runs with', (r) => r, {}, { required: 2 }, /1 distinct approval, 2 needed/],
    ['the requester among the approvers', (r) => ({ ...r, votes: [...r.votes, { ...r.votes[0]!, user: 'UREQ' }] }), {}, null, /requester approved their own request/],
    ['a voter no longer an approver in the config', (r) => ({ ...r, votes: [{ ...r.votes[0]!, user: 'UBOB' }] }), {}, null, /UBOB approved as a listed approver, which this environment's approvers do not include/],
    ['a membership check older than 30 s', (r) => ({ ...r, votes: [{ ...r.votes[0]!, checkedAt: r.decidedAt! - 31_000 }] }), {}, null, /last checked 31 s before the decision/],
    ['a reaction vote not seen on the message', (r) => ({ ...r, votes: [{ ...r.votes[0]!, via: 'reaction' as const }] }), {}, null, /reaction was not seen on the request/],
    ['decided after the expiry', (r) => ({ ...r, decidedAt: r.expiresAt }), {}, null, /decided after it expired/],
    ['never confirmed', (r) => ({ ...r, confirmedAt: undefined }), {}, null, /never confirmed by the deciding check/],
  ])('refuses %s', (_name, change, useChange, policyChange, reason) => {
    const refusals = approvalRefusals(change(approved()), { ...use, ...useChange }, { ...workerPolicy, ...policyChange });
    expect(refusals.join('; ')).toMatch(reason);
  });

  it('says how to ask, in Slack and from CI', () => {
    expect(howToAsk(request())).toBe('ask in Slack with `/release promote shop v42 --env production`, or from CI with `cutover promote shop v42 --env production --queue --request-approval`');
  });
});

describe('planDigest', () => {
  const digest = planDigest(plan);
  it.each<[string, Plan]>([
    ['another version', { ...plan, version: 'v43' }],
    ['another environment', { ...plan, environment: 'staging' }],
    ['another action', { ...plan, action: 'rollback' }],
    ['another region order', { ...plan, regions: ['us-east', 'eu-west'] }],
    ['a region already on the target', { ...plan, steps: plan.steps.filter((s) => !(s.kind === 'switch' && s.region === 'eu-west')) }],
    ['another from', { ...plan, steps: plan.steps.map((s) => (s.kind === 'switch' ? { ...s, from: 'v39' } : s)) }],
  ])('changes with %s', (_name, other) => {
    expect(planDigest(other)).not.toBe(digest);
  });

  it('ignores what follows from policy or bookkeeping: bakes, checks, notes, recorded rollback target', () => {
    const same: Plan = {
      ...plan,
      notes: ['eu-west: already checked'],
      steps: plan.steps.map((s) => (s.kind === 'bake' ? { ...s, durationMs: 60_000 } : s.kind === 'precheck' ? { ...s, minReady: 3 } : s.kind === 'switch' ? { ...s, rollbackTargetBefore: 'v39' } : s)),
    };
    expect(planDigest(same)).toBe(digest);
  });

  it('is a stable 64-bit hex digest', () => {
    expect(digest).toMatch(/^[0-9a-f]{16}$/);
    expect(planDigest(structuredClone(plan))).toBe(digest);
    expect(fnv1a64('')).toBe('cbf29ce484222325');
  });
});

describe('isGated', () => {
  it.each<[string, readonly string[], boolean]>([
    ['promote', ['deploy', 'promote'], true],
    ['deploy', ['deploy', 'promote'], true],
    ['rollback', ['deploy', 'promote'], false],
    ['rollback', ['rollback'], true],
    ['status', ['status'], false],
    ['history', ['history'], false],
  ])('%s with gated %j: %s', (action, gated, expected) => {
    expect(isGated(action, { gated })).toBe(expected);
  });
});
