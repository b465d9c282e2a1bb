import { mayApprove, type AccessPolicy, type GroupMembers } from './authorization.js';
import type { Action, Plan, Step } from './plan.js';

/**
 * The approval gate as a pure state machine. An approval is bound to one app, environment,
 * version and plan (by digest), counts distinct approvers other than the requester, expires, and
 * is used once. Times are epoch milliseconds, passed in.
 */

export type ApprovalState = 'pending' | 'approved' | 'rejected' | 'expired' | 'superseded' | 'used';

export interface ApprovalRequest {
  id: string;
  app: string;
  environment: string;
  action: Action;
  version: string | null;
  planDigest: string;
  requester: string;
  requiredApprovals: number;
  /** Users who approved, in order. */
  approvers: string[];
  rejectedBy?: string;
  createdAt: number;
  expiresAt: number;
  state: ApprovalState;
  /** When it left `pending`. */
  decidedAt?: number;
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

export interface ReactionEvent {
  user: string;
  /** Reaction name as Slack sends it, e.g. `white_check_mark` or `+1::skin-tone-2`. */
  reaction: string;
  /** true for `reaction_removed`. */
  removed: boolean;
  at: number;
}

export type ReactionEffect =
  | 'approved'
  | 'rejected'
  | 'counted'
  | 'withdrawn'
  | 'ignored-self'
  | 'ignored-not-approver'
  | 'ignored-expired'
  | 'ignored-other-emoji'
  | 'ignored-closed';

export interface ReactionOutcome {
  request: ApprovalRequest;
  effect: ReactionEffect;
  /** Say this to the reacting user, ephemerally. */
  reply?: string;
}

export type NewApproval = Pick<ApprovalRequest, 'id' | 'app' | 'environment' | 'action' | 'version' | 'planDigest' | 'requester'> & { now: number };

/** A pending request needing `required` approvals, expiring `expiresMinutes` from now. */
export function openApproval(input: NewApproval, policy: { required: number; expiresMinutes: number }): ApprovalRequest {
  return {
    ...input,
    requiredApprovals: Math.max(1, Math.floor(policy.required)),
    approvers: [],
    createdAt: input.now,
    expiresAt: input.now + policy.expiresMinutes * 60_000,
    state: 'pending',
    notified: [],
  };
}

/** Does this environment put `action` behind an approval? Read-only actions never are. */
export function isGated(action: string, policy: GatePolicy): boolean {
  if (action === 'status' || action === 'history' || action === 'help') return false;
  return policy.gated.includes(action);
}

/** The effect of one `reaction_added` / `reaction_removed` on the request message. */
export function applyReaction(request: ApprovalRequest, event: ReactionEvent, policy: ApprovalPolicy, groupMembers: GroupMembers): ReactionOutcome {
  const name = reactionName(event.reaction);
  const approving = name === reactionName(policy.approveReaction);
  const rejecting = !approving && name === reactionName(policy.rejectReaction);
  if (!approving && !rejecting) return { request, effect: 'ignored-other-emoji' };
  if (request.state !== 'pending') return { request, effect: 'ignored-closed' };
  if (event.at >= request.expiresAt) {
    const expired = expire(request, event.at);
    return event.removed ? { request: expired, effect: 'ignored-expired' } : { request: expired, effect: 'ignored-expired', reply: `this approval request has expired, so it will not run: ask again with \`/release ${commandOf(request)}\`` };
  }

  // The requester may cancel their own request with the reject reaction.
  if (rejecting && event.user === request.requester && !event.removed) return reject(request, event);

  const refusal = mayApprove(event.user, request.requester, policy, groupMembers);
  if (refusal !== null) {
    const effect = event.user === request.requester ? 'ignored-self' : 'ignored-not-approver';
    if (event.removed || request.notified.includes(event.user)) return { request, effect };
    const reply = effect === 'ignored-self' ? `${refusal} with :${policy.approveReaction}:` : refusal;
    return { request: { ...request, notified: [...request.notified, event.user] }, effect, reply };
  }

  if (rejecting) {
    // A pending request was never rejected, so removing a rejection withdraws nothing.
    return event.removed ? { request, effect: 'withdrawn' } : reject(request, event);
  }
  if (event.removed) {
    return { request: { ...request, approvers: request.approvers.filter((u) => u !== event.user) }, effect: 'withdrawn' };
  }
  if (request.approvers.includes(event.user)) return { request, effect: 'counted' };
  const approvers = [...request.approvers, event.user];
  if (approvers.length >= request.requiredApprovals) {
    return { request: { ...request, approvers, state: 'approved', decidedAt: event.at }, effect: 'approved' };
  }
  return { request: { ...request, approvers }, effect: 'counted' };
}

/** A pending request past its expiry becomes `expired`; anything else is returned unchanged. */
export function expire(request: ApprovalRequest, now: number): ApprovalRequest {
  if (request.state !== 'pending' || now < request.expiresAt) return request;
  return { ...request, state: 'expired', decidedAt: now };
}

/**
 * Once approved: run it only if the plan computed now is the plan that was approved. A request
 * that is not (or no longer) approved never runs.
 */
export function stillValid(request: ApprovalRequest, currentPlanDigest: string): 'run' | 'ask-again' | 'not-approved' {
  if (request.state !== 'approved') return 'not-approved';
  return request.planDigest === currentPlanDigest ? 'run' : 'ask-again';
}

/** An approved request that has been handed to the queue; it cannot run a second time. */
export function markUsed(request: ApprovalRequest, now: number): ApprovalRequest {
  return request.state === 'approved' ? { ...request, state: 'used', decidedAt: now } : request;
}

/** The plan changed (or a newer request replaced this one): it will not run. */
export function supersede(request: ApprovalRequest, now: number): ApprovalRequest {
  return request.state === 'pending' || request.state === 'approved' ? { ...request, state: 'superseded', decidedAt: now } : request;
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

function reject(request: ApprovalRequest, event: ReactionEvent): ReactionOutcome {
  return { request: { ...request, state: 'rejected', rejectedBy: event.user, decidedAt: event.at }, effect: 'rejected' };
}

/** `+1::skin-tone-2` and `:x:` name the same reactions as `+1` and `x`. */
function reactionName(reaction: string): string {
  return reaction.replace(/^:|:$/g, '').split('::')[0] ?? '';
}

function commandOf(request: ApprovalRequest): string {
  return [request.action, request.app, request.version, `--env ${request.environment}`].filter((p) => p !== null).join(' ');
}
