import { describe, expect, it } from 'vitest';
import {
  applyReaction,
  expire,
  fnv1a64,
  isGated,
  markUsed,
  openApproval,
  planDigest,
  stillValid,
  supersede,
  type ApprovalPolicy,
  type ApprovalRequest,
  type ReactionEvent,
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

function react(user: string, reaction = 'white_check_mark', options: Partial<ReactionEvent> = {}): ReactionEvent {
  return { user, reaction, removed: false, at: t0 + minute, ...options };
}

/** Apply reactions in order and return every effect plus the final request. */
function play(start: ApprovalRequest, events: ReactionEvent[]) {
  let current = start;
  const effects: string[] = [];
  const replies: (string | undefined)[] = [];
  for (const event of events) {
    const outcome = applyReaction(current, event, policy, groupMembers);
    current = outcome.request;
    effects.push(outcome.effect);
    replies.push(outcome.reply);
  }
  return { request: current, effects, replies };
}

describe('openApproval', () => {
  it('starts pending with no approvers and an expiry', () => {
    expect(request(2)).toMatchObject({ state: 'pending', approvers: [], requiredApprovals: 2, createdAt: t0, expiresAt: t0 + 30 * minute, notified: [] });
  });
});

describe('applyReaction', () => {
  it('approves with one approval by an allowed approver', () => {
    const { request: r, effects } = play(request(), [react('UALICE')]);
    expect(effects).toEqual(['approved']);
    expect(r).toMatchObject({ state: 'approved', approvers: ['UALICE'], decidedAt: t0 + minute });
  });

  it('counts approval through a user group', () => {
    expect(play(request(), [react('ULEAD2')]).request.state).toBe('approved');
  });

  it('ignores self-approval, even by a listed approver, and says so once', () => {
    const { request: r, effects, replies } = play(request(), [react('UREQ'), react('UREQ', 'white_check_mark', { removed: true }), react('UREQ')]);
    expect(effects).toEqual(['ignored-self', 'ignored-self', 'ignored-self']);
    expect(replies[0]).toMatch(/you asked for this release, so your approval does not count.*:white_check_mark:/);
    expect(replies.slice(1)).toEqual([undefined, undefined]);
    expect(r).toMatchObject({ state: 'pending', approvers: [], notified: ['UREQ'] });
  });

  it('ignores a non-approver and says so once', () => {
    const { request: r, effects, replies } = play(request(), [react('UBOB'), react('UBOB', 'x')]);
    expect(effects).toEqual(['ignored-not-approver', 'ignored-not-approver']);
    expect(replies[0]).toMatch(/<@UBOB> is not an approver here/);
    expect(replies[1]).toBeUndefined();
    expect(r.state).toBe('pending');
  });

  it('ignores other emoji, also skin-tone variants of other emoji', () => {
    expect(play(request(), [react('UALICE', 'tada'), react('UALICE', '+1::skin-tone-3')]).effects).toEqual(['ignored-other-emoji', 'ignored-other-emoji']);
  });

  it('accepts skin-tone variants of the configured reaction', () => {
    const custom = { ...policy, approveReaction: '+1' };
    expect(applyReaction(request(), react('UALICE', '+1::skin-tone-2'), custom, groupMembers).effect).toBe('approved');
  });

  it('rejects on the reject reaction by an approver; later reactions change nothing', () => {
    const { request: r, effects } = play(request(2), [react('UALICE'), react('ULEAD1', 'x'), react('ULEAD2')]);
    expect(effects).toEqual(['counted', 'rejected', 'ignored-closed']);
    expect(r).toMatchObject({ state: 'rejected', rejectedBy: 'ULEAD1', approvers: ['UALICE'] });
  });

  it('lets the requester cancel their own request with the reject reaction', () => {
    const { request: r, effects } = play(request(), [react('UREQ', 'x')]);
    expect(effects).toEqual(['rejected']);
    expect(r).toMatchObject({ state: 'rejected', rejectedBy: 'UREQ' });
  });

  it('needs two distinct approvers when two are required', () => {
    const { request: r, effects } = play(request(2), [react('UALICE'), react('UALICE'), react('UREQ'), react('ULEAD1')]);
    expect(effects).toEqual(['counted', 'counted', 'ignored-self', 'approved']);
    expect(r).toMatchObject({ state: 'approved', approvers: ['UALICE', 'ULEAD1'] });
  });

  it('withdraws an approval on reaction_removed', () => {
    const { request: r, effects } = play(request(2), [react('UALICE'), react('UALICE', 'white_check_mark', { removed: true }), react('ULEAD1')]);
    expect(effects).toEqual(['counted', 'withdrawn', 'counted']);
    expect(r).toMatchObject({ state: 'pending', approvers: ['ULEAD1'] });
  });

  it('does not reopen a decided request when its reaction is removed', () => {
    const { request: r, effects } = play(request(), [react('UALICE'), react('UALICE', 'white_check_mark', { removed: true })]);
    expect(effects).toEqual(['approved', 'ignored-closed']);
    expect(r.state).toBe('approved');
  });

  it('expires: a reaction after the expiry does not approve, and says why', () => {
    const late = react('UALICE', 'white_check_mark', { at: t0 + 30 * minute });
    const outcome = applyReaction(request(), late, policy, groupMembers);
    expect(outcome.effect).toBe('ignored-expired');
    expect(outcome.request).toMatchObject({ state: 'expired', approvers: [] });
    expect(outcome.reply).toMatch(/expired.*\/release promote shop v42 --env production/);
  });
});

describe('expire', () => {
  it('expires a pending request at its expiry time, not before', () => {
    expect(expire(request(), t0 + 30 * minute - 1).state).toBe('pending');
    expect(expire(request(), t0 + 30 * minute)).toMatchObject({ state: 'expired', decidedAt: t0 + 30 * minute });
  });

  it('leaves decided requests alone', () => {
    const approved = play(request(), [react('UALICE')]).request;
    expect(expire(approved, t0 + 60 * minute).state).toBe('approved');
  });
});

describe('used once, and only for the approved plan', () => {
  it('runs when the plan is unchanged, then never again', () => {
    const approved = play(request(), [react('UALICE')]).request;
    expect(stillValid(approved, planDigest(plan))).toBe('run');
    const used = markUsed(approved, t0 + 2 * minute);
    expect(used.state).toBe('used');
    expect(stillValid(used, planDigest(plan))).toBe('not-approved');
    expect(markUsed(used, t0 + 3 * minute)).toBe(used);
  });

  it('asks again when the live state changed the plan', () => {
    const approved = play(request(), [react('UALICE')]).request;
    const changed: Plan = { ...plan, steps: plan.steps.map((s) => (s.kind === 'switch' && s.region === 'us-east' ? { ...s, from: 'v40' } : s)) };
    expect(stillValid(approved, planDigest(changed))).toBe('ask-again');
    expect(supersede(approved, t0 + 2 * minute).state).toBe('superseded');
  });

  it('never runs a pending, rejected or expired request', () => {
    expect(stillValid(request(), planDigest(plan))).toBe('not-approved');
    expect(stillValid(play(request(), [react('UALICE', 'x')]).request, planDigest(plan))).toBe('not-approved');
    expect(stillValid(expire(request(), t0 + 31 * minute), planDigest(plan))).toBe('not-approved');
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
