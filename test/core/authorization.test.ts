import { describe, expect, it } from 'vitest';
import { describePeople, mayApprove, mayRequest, type AccessPolicy } from '../../src/core/authorization.js';

const groups: Record<string, string[]> = { SLEADS: ['ULEAD1', 'ULEAD2'], SDEVS: ['UDEV1', 'UDEV2'] };
const groupMembers = (id: string): string[] => groups[id] ?? [];

const open: AccessPolicy = { requesters: { users: [], usergroups: [] }, approvers: { users: ['UAPPROVER'], usergroups: ['SLEADS'] } };
const restricted: AccessPolicy = { requesters: { users: ['UOPS'], usergroups: ['SDEVS'] }, approvers: { users: ['UAPPROVER'], usergroups: ['SLEADS'] } };
const nobodyApproves: AccessPolicy = { requesters: { users: [], usergroups: [] }, approvers: { users: [], usergroups: [] } };

describe('mayRequest', () => {
  it.each<[string, string, Parameters<typeof mayRequest>[1], AccessPolicy, RegExp | null]>([
    ['anyone, when requesters are empty', 'URANDOM', 'promote', open, null],
    ['a listed user', 'UOPS', 'promote', restricted, null],
    ['a member of a listed group', 'UDEV2', 'deploy', restricted, null],
    ['an approver (directly)', 'UAPPROVER', 'rollback', restricted, null],
    ['an approver (through a group)', 'ULEAD1', 'promote', restricted, null],
    ['read-only status, anyone', 'URANDOM', 'status', restricted, null],
    ['read-only history, anyone', 'URANDOM', 'history', restricted, null],
    ['help, anyone', 'URANDOM', 'help', restricted, null],
    ['anyone else', 'URANDOM', 'promote', restricted, /^<@URANDOM> may not promote here: ask <@UOPS>, <!subteam\^SDEVS>$/],
    ['anyone else, cleanup', 'URANDOM', 'cleanup', restricted, /may not cleanup here/],
  ])('%s', (_name, user, action, policy, refusal) => {
    const result = mayRequest(user, action, policy, groupMembers);
    if (refusal === null) expect(result).toBeNull();
    else expect(result).toMatch(refusal);
  });
});

describe('mayApprove', () => {
  it.each<[string, string, string, AccessPolicy, RegExp | null]>([
    ['a listed approver', 'UAPPROVER', 'UDEV1', open, null],
    ['a member of an approver group', 'ULEAD2', 'UDEV1', open, null],
    ['never the requester, even an approver', 'ULEAD1', 'ULEAD1', open, /you asked for this release/],
    ['not an approver', 'UDEV2', 'UDEV1', open, /^<@UDEV2> is not an approver here; approvers are <@UAPPROVER>, <!subteam\^SLEADS>$/],
    ['nobody when none are configured', 'UDEV2', 'UDEV1', nobodyApproves, /no approvers are configured/],
  ])('%s', (_name, user, requester, policy, refusal) => {
    const result = mayApprove(user, requester, policy, groupMembers);
    if (refusal === null) expect(result).toBeNull();
    else expect(result).toMatch(refusal);
  });
});

describe('describePeople', () => {
  it('bounds long lists and never lets a malformed id become markup', () => {
    const many = { users: Array.from({ length: 30 }, (_, i) => `U${String(i).padStart(3, '0')}`), usergroups: [] };
    expect(describePeople(many)).toMatch(/and 25 more$/);
    expect(describePeople({ users: ['<!channel>'], usergroups: ['not a group'] })).toBe('"?!channel?", "not a group"');
  });
});
