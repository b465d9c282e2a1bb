import { mayApprove, membershipOf, type AccessPolicy, type GroupMembers, type Membership, type People } from './authorization.js';
import type { Action, Plan, Step } from './plan.js';

/**
 * The approval gate as a pure state machine. An approval is bound to one app, environment,
 * version and plan (by digest), counts distinct approvers other than the requester, expires, and
 * is used once. Reactions and buttons are two ways to cast the same decisions. The vote that
 * reaches the required count only *proposes* approval: the deciding check (the approving reactions
 * still on the message, group membership asked afresh) confirms it. The worker verifies the
 * result again before its first change (`approvalRefusals`). Times are epoch milliseconds, passed in.
 */

export type ApprovalState = 'pending' | 'approved' | 'rejected' | 'expired' | 'superseded' | 'used';

/** Where a request came from: a Slack user's command, or the CLI (a CI pipeline) on behalf of an actor. */
export type ApprovalOrigin = { via: 'slack' } | { via: 'cli'; actor: string; runUrl?: string };

export type VoteChannel = 'reaction' | 'button';

export interface Vote {
  user: string;
  via: VoteChannel;
  /** When the vote was cast. */
  at: number;
  /** Why the user may approve, as last checked: listed by id, or a member of a listed user group. */
  allowedAs: Membership;
  /** When that was last checked (the deciding check asks again). */
  checkedAt: number;
  /** Reaction votes: when the deciding check last saw the reaction on the message (reactions.get). */
  seenAt?: number;
}

export interface ApprovalRequest {
  id: string;
  app: string;
  environment: string;
  action: Action;
  version: string | null;
  planDigest: string;
  requester: string;
  origin: ApprovalOrigin;
  /** Break glass: the reason this request overrides a freeze (the worker lets it through a freeze once approved). */
  override?: string;
  requiredApprovals: number;
  /** Approving votes, in the order they were cast; one per user. */
  votes: Vote[];
  rejectedBy?: string;
  createdAt: number;
  expiresAt: number;
  state: ApprovalState;
  /** When it left `pending`. */
  decidedAt?: number;
  /** When the deciding check confirmed the votes (set with `approved`). */
  confirmedAt?: number;
  /** The job run that used it, `<job id>@<job timestamp>`: set atomically when that job starts. */
  usedBy?: string;
  /** Users already told why their reaction does not count: they are told once. */
  notified: string[];
}

/** The approval part of an environment's policy (config's `slack.approvals` matches it). */
export interface ApprovalPolicy extends Pick<AccessPolicy, 'approvers'> {
  approveReaction: string;
  rejectReaction: string;
}

export interface GatePolicy {
  /** Actions that need approval in this environment. */
  gated: readonly string[];
}

/** The oldest a membership answer or a reaction reading may be when it decides an approval. */
export const decidingCheckMaxAgeMs = 30_000;

export interface Decision {
  user: string;
  kind: 'approve' | 'reject' | 'withdraw';
  via: VoteChannel;
  at: number;
}

export type DecisionEffect =
  /** Enough votes: run the deciding check, then `confirm`. The request is still pending. */
  | 'deciding'
  | 'rejected'
  | 'counted'
  | 'withdrawn'
  | 'ignored-self'
  | 'ignored-not-approver'
  | 'ignored-expired'
  | 'ignored-closed';

export interface DecisionOutcome {
  request: ApprovalRequest;
  effect: DecisionEffect;
  /** Say this to the deciding user, visibly and only to them. */
  reply?: string;
}

export interface ReactionEvent {
  user: string;
  /** Reaction name as Slack sends it, e.g. `white_check_mark` or `+1::skin-tone-2`. */
  reaction: string;
  /** true for `reaction_removed`. */
  removed: boolean;
  at: number;
}

export type NewApproval = Pick<ApprovalRequest, 'id' | 'app' | 'environment' | 'action' | 'version' | 'planDigest' | 'requester'> & { now: number; origin?: ApprovalOrigin; override?: string };

/** A pending request needing `required` approvals, expiring `expiresMinutes` from now. */
export function openApproval(input: NewApproval, policy: { required: number; expiresMinutes: number }): ApprovalRequest {
  const { now, origin, ...fields } = input;
  return {
    ...fields,
    origin: origin ?? { via: 'slack' },
    requiredApprovals: Math.max(1, Math.floor(policy.required)),
    votes: [],
    createdAt: now,
    expiresAt: now + policy.expiresMinutes * 60_000,
    state: 'pending',
    notified: [],
  };
}

/** Does this environment put `action` behind an approval? Read-only actions never are. */
export function isGated(action: string, policy: GatePolicy): boolean {
  if (action === 'status' || action === 'history' || action === 'help') return false;
  return policy.gated.includes(action);
}

/** The users whose approval counts so far, in order. */
export function approverIds(request: ApprovalRequest): string[] {
  return request.votes.map((v) => v.user);
}

/** What a reaction means on a request message: a decision, or null for any other emoji (and for removing a rejection). */
export function reactionDecision(event: ReactionEvent, policy: Pick<ApprovalPolicy, 'approveReaction' | 'rejectReaction'>): Decision | null {
  const name = reactionName(event.reaction);
  const base = { user: event.user, via: 'reaction' as const, at: event.at };
  if (name === reactionName(policy.approveReaction)) return { ...base, kind: event.removed ? 'withdraw' : 'approve' };
  if (name === reactionName(policy.rejectReaction) && !event.removed) return { ...base, kind: 'reject' };
  return null;
}

/**
 * The effect of one decision on a request. A reaction refusal is said once per user (reactions
 * come and go); a button press is always answered. The vote that makes enough answers `deciding`.
 */
export function decide(request: ApprovalRequest, decision: Decision, policy: Pick<AccessPolicy, 'approvers'>, groupMembers: GroupMembers, reactions?: Pick<ApprovalPolicy, 'approveReaction'>): DecisionOutcome {
  const pressed = decision.via === 'button';
  if (request.state !== 'pending') {
    return pressed ? { request, effect: 'ignored-closed', reply: `this request is already ${describeState(request)}, so your press changes nothing` } : { request, effect: 'ignored-closed' };
  }
  if (decision.at >= request.expiresAt) {
    const expired = expire(request, decision.at);
    return decision.kind === 'withdraw'
      ? { request: expired, effect: 'ignored-expired' }
      : { request: expired, effect: 'ignored-expired', reply: `this approval request has expired, so it will not run: ${howToAsk(request)}` };
  }
  // The requester may cancel their own request.
  if (decision.kind === 'reject' && decision.user === request.requester) return reject(request, decision);

  const refusal = mayApprove(decision.user, request.requester, policy, groupMembers);
  if (refusal !== null) {
    const effect = decision.user === request.requester ? 'ignored-self' : 'ignored-not-approver';
    if (pressed) return { request, effect, reply: refusal };
    if (decision.kind === 'withdraw' || request.notified.includes(decision.user)) return { request, effect };
    const reply = effect === 'ignored-self' && reactions ? `${refusal} with :${reactions.approveReaction}:` : refusal;
    return { request: { ...request, notified: [...request.notified, decision.user] }, effect, reply };
  }

  if (decision.kind === 'reject') return reject(request, decision);
  if (decision.kind === 'withdraw') {
    // Removing a reaction withdraws the reaction vote; a button vote stays.
    const votes = request.votes.filter((v) => !(v.user === decision.user && v.via === 'reaction'));
    return votes.length === request.votes.length ? { request, effect: 'withdrawn' } : { request: { ...request, votes }, effect: 'withdrawn' };
  }
  const already = request.votes.some((v) => v.user === decision.user);
  const votes = already
    ? request.votes
    : [...request.votes, { user: decision.user, via: decision.via, at: decision.at, allowedAs: membershipOf(decision.user, policy.approvers, groupMembers)!, checkedAt: decision.at }];
  const next = votes === request.votes ? request : { ...request, votes };
  // Enough votes always proposes approval, even on a repeated vote: a deciding check that could
  // not run last time (Slack unreachable) runs on the next vote or press.
  return { request: next, effect: distinctUsers(votes) >= request.requiredApprovals ? 'deciding' : 'counted' };
}

/** What the deciding check found, just now. */
export interface DecidingEvidence {
  at: number;
  /** Users whose approve reaction is on the message now (reactions.get); null when no reaction vote needs it. */
  reactionsOnMessage: ReadonlySet<string> | null;
  /** Group membership answered no earlier than `membershipCheckedAt`. */
  groupMembers: GroupMembers;
  membershipCheckedAt: number;
}

export interface Confirmation {
  request: ApprovalRequest;
  effect: 'approved' | 'not-confirmed' | 'ignored-expired' | 'ignored-closed';
  /** Votes the check did not confirm, and why. */
  dropped: { user: string; why: string }[];
}

/**
 * The deciding check: keep only the votes that still stand (a reaction vote whose reaction is on
 * the message; a voter who is an approver by a fresh answer), then approve when enough remain.
 * An answer older than `decidingCheckMaxAgeMs` cannot decide.
 */
export function confirm(request: ApprovalRequest, evidence: DecidingEvidence, policy: Pick<AccessPolicy, 'approvers'>): Confirmation {
  if (request.state !== 'pending') return { request, effect: 'ignored-closed', dropped: [] };
  if (evidence.at >= request.expiresAt) return { request: expire(request, evidence.at), effect: 'ignored-expired', dropped: [] };
  const fresh = evidence.at - evidence.membershipCheckedAt <= decidingCheckMaxAgeMs;
  const dropped: Confirmation['dropped'] = [];
  const votes: Vote[] = [];
  for (const vote of request.votes) {
    if (vote.via === 'reaction' && !evidence.reactionsOnMessage?.has(vote.user)) {
      dropped.push({ user: vote.user, why: 'their reaction is no longer on the request' });
      continue;
    }
    const allowedAs = fresh ? membershipOf(vote.user, policy.approvers, evidence.groupMembers) : null;
    if (vote.user === request.requester || allowedAs === null) {
      dropped.push({ user: vote.user, why: fresh ? 'not an approver here (checked just now)' : 'membership could not be checked afresh' });
      continue;
    }
    votes.push({
      ...vote,
      allowedAs,
      checkedAt: allowedAs.kind === 'user' ? evidence.at : evidence.membershipCheckedAt,
      ...(vote.via === 'reaction' ? { seenAt: evidence.at } : {}),
    });
  }
  if (distinctUsers(votes) >= request.requiredApprovals) {
    return { request: { ...request, votes, state: 'approved', decidedAt: evidence.at, confirmedAt: evidence.at }, effect: 'approved', dropped };
  }
  return { request: { ...request, votes }, effect: 'not-confirmed', dropped };
}

/** A pending request past its expiry becomes `expired`; anything else is returned unchanged. */
export function expire(request: ApprovalRequest, now: number): ApprovalRequest {
  if (request.state !== 'pending' || now < request.expiresAt) return request;
  return { ...request, state: 'expired', decidedAt: now };
}

/** The plan changed (or a newer request replaced this one): it will not run. */
export function supersede(request: ApprovalRequest, now: number): ApprovalRequest {
  return request.state === 'pending' || request.state === 'approved' ? { ...request, state: 'superseded', decidedAt: now } : request;
}

/** What a job must match to use an approval. */
export interface ApprovalUse {
  action: Action;
  app: string;
  environment: string;
  version: string | null;
  requester: string;
  /** The job run asking: `<job id>@<job timestamp>`. */
  usedBy: string;
}

/**
 * Why this approval does not let `use` run, as sentences (empty: it does). Checked by the worker
 * before its first change, with the config it runs with: enough distinct approvers, none of them
 * the requester; each allowed to approve when the deciding check confirmed them (listed by id, or
 * in a listed group by an answer at most 30 s old), a reaction vote seen on the message by that
 * check; decided before the expiry; approved and not used by another run.
 */
export function approvalRefusals(request: ApprovalRequest, use: ApprovalUse, policy: { required: number; approvers: People }): string[] {
  const reasons: string[] = [];
  const same = request.action === use.action && request.app === use.app && request.environment === use.environment && request.version === use.version;
  if (!same) reasons.push(`it approves ${describeRequest(request)}, not this job's ${describeRequest(use)}`);
  if (request.requester !== use.requester) reasons.push(`it was asked for by ${request.requester}, not by this job's requester ${use.requester}`);
  if (request.state === 'used' && request.usedBy !== use.usedBy) reasons.push(`it was already used by job ${request.usedBy ?? 'another job'}`);
  else if (request.state !== 'approved' && request.state !== 'used') reasons.push(`it is ${describeState(request)}, not approved`);
  if (reasons.length > 0 || request.decidedAt === undefined) return reasons.length > 0 ? reasons : ['it has no decision time'];

  const decidedAt = request.decidedAt;
  if (decidedAt >= request.expiresAt) reasons.push('it was decided after it expired');
  if (request.confirmedAt === undefined) reasons.push('its votes were never confirmed by the deciding check');
  const users = new Set(request.votes.map((v) => v.user));
  const needed = Math.max(request.requiredApprovals, policy.required);
  if (users.size < needed) reasons.push(`it has ${users.size} distinct approval${users.size === 1 ? '' : 's'}, ${needed} needed`);
  if (users.has(request.requester)) reasons.push('the requester approved their own request');
  for (const vote of request.votes) {
    const allowed = vote.allowedAs.kind === 'user' ? policy.approvers.users.includes(vote.user) : policy.approvers.usergroups.includes(vote.allowedAs.group);
    if (!allowed) reasons.push(`${vote.user} approved as ${vote.allowedAs.kind === 'user' ? 'a listed approver' : `a member of ${vote.allowedAs.group}`}, which this environment's approvers do not include`);
    if (decidedAt - vote.checkedAt > decidingCheckMaxAgeMs) reasons.push(`${vote.user}'s right to approve was last checked ${Math.round((decidedAt - vote.checkedAt) / 1000)} s before the decision (at most ${decidingCheckMaxAgeMs / 1000} s)`);
    if (vote.via === 'reaction' && (vote.seenAt === undefined || decidedAt - vote.seenAt > decidingCheckMaxAgeMs)) reasons.push(`${vote.user}'s approving reaction was not seen on the request when it was decided`);
    if (vote.at >= request.expiresAt) reasons.push(`${vote.user} approved after the request expired`);
  }
  return reasons;
}

/** Claim an approved request for one job run (or confirm this run holds it); anything else is unchanged. */
export function markUsed(request: ApprovalRequest, usedBy: string): ApprovalRequest {
  return request.state === 'approved' ? { ...request, state: 'used', usedBy } : request;
}

/** How to get an approval for `request`: in Slack, or from CI. */
export function howToAsk(request: Pick<ApprovalRequest, 'action' | 'app' | 'version' | 'environment'>): string {
  const command = commandOf(request);
  return `ask in Slack with \`/release ${command}\`, or from CI with \`cutover ${command} --queue --request-approval\``;
}

/**
 * A stable digest of what a plan changes: action, app, environment, version, regions in order and
 * per region the selector change, installs, deletions and bootstraps. Checks and bakes follow
 * from policy, not from the live state, so they are left out.
 */
export function planDigest(plan: Plan): string {
  const content = [plan.action, plan.app, plan.environment, plan.version, plan.regions, plan.steps.map(essence).filter((e) => e !== null)];
  return fnv1a64(JSON.stringify(content));
}

function essence(step: Step): unknown[] | null {
  switch (step.kind) {
    case 'switch':
      return ['switch', step.region, step.from, step.to];
    case 'install':
      return ['install', step.region, step.version];
    case 'delete-version':
      return ['delete', step.region, step.version];
    case 'bootstrap':
      return ['bootstrap', step.region, step.initialVersion];
    case 'check-names':
    case 'precheck':
    case 'wait-ready':
    case 'check-route':
    case 'verify':
    case 'bake':
      return null;
  }
}

const fnvPrime = 0x100000001b3n;
const fnvOffset = 0xcbf29ce484222325n;
const mask64 = (1n << 64n) - 1n;

/** 64-bit FNV-1a over UTF-16 code units, as 16 hex digits. Not cryptographic; it detects change. */
export function fnv1a64(text: string): string {
  let hash = fnvOffset;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    hash = ((hash ^ BigInt(unit & 0xff)) * fnvPrime) & mask64;
    hash = ((hash ^ BigInt(unit >> 8)) * fnvPrime) & mask64;
  }
  return hash.toString(16).padStart(16, '0');
}

function reject(request: ApprovalRequest, decision: Decision): DecisionOutcome {
  return { request: { ...request, state: 'rejected', rejectedBy: decision.user, decidedAt: decision.at }, effect: 'rejected' };
}

function distinctUsers(votes: readonly Vote[]): number {
  return new Set(votes.map((v) => v.user)).size;
}

/** "approved", "rejected", "expired", ... as a sentence fragment. */
export function describeState(request: Pick<ApprovalRequest, 'state'>): string {
  switch (request.state) {
    case 'pending':
      return 'still waiting for approvals';
    case 'approved':
      return 'approved';
    case 'used':
      return 'approved and used';
    case 'rejected':
      return 'rejected';
    case 'expired':
      return 'expired';
    case 'superseded':
      return 'superseded (the plan changed)';
  }
}

/** `+1::skin-tone-2` and `:x:` name the same reactions as `+1` and `x`. */
export function reactionName(reaction: string): string {
  return reaction.replace(/^:|:$/g, '').split('::')[0] ?? '';
}

function describeRequest(request: Pick<ApprovalRequest, 'action' | 'app' | 'version' | 'environment'>): string {
  return `${request.action} ${request.app}${request.version ? ` ${request.version}` : ''} in ${request.environment}`;
}

/** The command that asks for `request`: `promote shop v42 --env production` (after `/release` or `cutover`). */
export function commandOf(request: Pick<ApprovalRequest, 'action' | 'app' | 'version' | 'environment'>): string {
  return [request.action, request.app, request.version, `--env ${request.environment}`].filter((p) => p !== null).join(' ');
}
