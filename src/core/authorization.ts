import type { CommandAction } from './command-grammar.js';
import { printable } from './version.js';

/**
 * Who may ask for and approve releases in one environment. Structural on purpose: config's
 * `environments.<env>.slack.approvals` matches it.
 */
export interface People {
  users: readonly string[];
  usergroups: readonly string[];
}

export interface AccessPolicy {
  /** Who may ask; both lists empty: anyone in a channel the app is bound to. */
  requesters: People;
  approvers: People;
}

/** Members of a Slack user group (resolved and cached by the caller). */
export type GroupMembers = (groupId: string) => readonly string[];

const readOnly: ReadonlySet<string> = new Set(['status', 'history', 'help']);
const maxNamed = 5;

/** True when `user` is listed, directly or through one of the user groups. */
export function isMember(user: string, people: People, groupMembers: GroupMembers): boolean {
  if (people.users.includes(user)) return true;
  return people.usergroups.some((group) => groupMembers(group).includes(user));
}

/** How `user` belongs to `people`: listed by id, or through the first listed user group that has them; null when not at all. */
export function membershipOf(user: string, people: People, groupMembers: GroupMembers): Membership | null {
  if (people.users.includes(user)) return { kind: 'user' };
  const group = people.usergroups.find((g) => groupMembers(g).includes(user));
  return group === undefined ? null : { kind: 'usergroup', group };
}

export type Membership = { kind: 'user' } | { kind: 'usergroup'; group: string };

export function isEmpty(people: People): boolean {
  return people.users.length === 0 && people.usergroups.length === 0;
}

/**
 * Why `user` may not ask for `action` in this environment, or null. Read-only actions are open to
 * everyone; approvers may always request (they could approve the same change anyway).
 */
export function mayRequest(user: string, action: CommandAction | 'help', policy: AccessPolicy, groupMembers: GroupMembers): string | null {
  if (readOnly.has(action)) return null;
  if (isEmpty(policy.requesters)) return null;
  if (isMember(user, policy.requesters, groupMembers) || isMember(user, policy.approvers, groupMembers)) return null;
  return `${mention(user)} may not ${action} here: ask ${describePeople(policy.requesters)}`;
}

/** Why `user` may not approve a request made by `requester`, or null. The requester never approves. */
export function mayApprove(user: string, requester: string, policy: Pick<AccessPolicy, 'approvers'>, groupMembers: GroupMembers): string | null {
  if (user === requester) return 'you asked for this release, so your approval does not count: another approver has to approve it';
  if (isEmpty(policy.approvers)) return 'no approvers are configured for this environment, so nobody can approve it';
  if (!isMember(user, policy.approvers, groupMembers)) return `${mention(user)} is not an approver here; approvers are ${describePeople(policy.approvers)}`;
  return null;
}

/** "<@U1>, <@U2> or a member of <!subteam^S1>", bounded. */
export function describePeople(people: People): string {
  const named = [...people.users.map(mention), ...people.usergroups.map(groupMention)];
  if (named.length === 0) return 'nobody';
  const shown = named.slice(0, maxNamed);
  const more = named.length > maxNamed ? ` and ${named.length - maxNamed} more` : '';
  return `${shown.join(', ')}${more}`;
}

/** A Slack mention for a well-formed user id; anything else is quoted as text. */
export function mention(user: string): string {
  return /^[UW][A-Z0-9]{2,20}$/.test(user) ? `<@${user}>` : `"${printable(user.replace(/[<>&]/g, '?'), 30)}"`;
}

function groupMention(group: string): string {
  return /^S[A-Z0-9]{2,20}$/.test(group) ? `<!subteam^${group}>` : `"${printable(group.replace(/[<>&]/g, '?'), 30)}"`;
}
