import type { WebClient } from '@slack/web-api';
import type { GroupMembers } from '../core/authorization.js';
import { errorText, type SlackLog } from './ports.js';

/** Why a user group could not be read: Slack's error code, with the scope detail of `missing_scope`. */
export interface GroupProblem {
  group: string;
  code: string;
  needed?: string;
  provided?: string;
}

/**
 * Members of Slack user groups through `usergroups.users.list`, cached per group for `ttlMs`.
 * A lookup that fails counts as "no members" (nobody gains rights from an outage). Errors that
 * stay until someone changes the workspace or the app (`plan_upgrade_required` on free plans,
 * `missing_scope`, `no_such_subteam`) are remembered for a minute; others are tried again next
 * time. Each group's state is logged when it changes (warn with Slack's code, info on recovery),
 * not on every call, and `problems()` lets a refusal explain itself.
 */
export class UsergroupCache {
  private readonly entries = new Map<string, { members: readonly string[]; until: number; fetchedAt: number }>();
  private readonly failures = new Map<string, { problem: GroupProblem; until: number }>();
  private readonly states = new Map<string, string>();
  private readonly inflight = new Map<string, Promise<readonly string[]>>();

  constructor(
    private readonly client: WebClient,
    private readonly ttlMs = 5 * 60_000,
    private readonly now: () => number = Date.now,
    private readonly log?: SlackLog,
  ) {}

  /** Resolve the groups (from cache when fresh) and answer membership synchronously. */
  async resolve(groupIds: readonly string[]): Promise<GroupMembers> {
    const resolved = new Map<string, readonly string[]>();
    await Promise.all([...new Set(groupIds)].map(async (id) => resolved.set(id, await this.members(id))));
    return (groupId) => resolved.get(groupId) ?? [];
  }

  /**
   * Members as of no earlier than `maxAgeMs` ago: the deciding check of an approval asks with
   * 30 s, so an approver removed from a group stops counting within that time, whatever the TTL.
   * `checkedAt`: when the oldest answer used was fetched.
   */
  async resolveFresh(groupIds: readonly string[], maxAgeMs: number): Promise<{ members: GroupMembers; checkedAt: number }> {
    const resolved = new Map<string, readonly string[]>();
    let checkedAt = this.now();
    await Promise.all(
      [...new Set(groupIds)].map(async (id) => {
        const cached = this.entries.get(id);
        if (cached && this.now() - cached.fetchedAt <= maxAgeMs) {
          resolved.set(id, cached.members);
          checkedAt = Math.min(checkedAt, cached.fetchedAt);
          return;
        }
        const started = this.now();
        resolved.set(id, await this.fetchShared(id));
        checkedAt = Math.min(checkedAt, started);
      }),
    );
    return { members: (groupId) => resolved.get(groupId) ?? [], checkedAt };
  }

  async members(groupId: string): Promise<readonly string[]> {
    const cached = this.entries.get(groupId);
    if (cached && cached.until > this.now()) return cached.members;
    const failed = this.failures.get(groupId);
    if (failed && failed.until > this.now()) return [];
    return this.fetchShared(groupId);
  }

  /** One request per group at a time, shared by whoever asks meanwhile. */
  private fetchShared(groupId: string): Promise<readonly string[]> {
    let pending = this.inflight.get(groupId);
    if (!pending) {
      pending = this.fetch(groupId).finally(() => this.inflight.delete(groupId));
      this.inflight.set(groupId, pending);
    }
    return pending;
  }

  /** The groups among `groupIds` whose last lookup failed. */
  problems(groupIds: readonly string[]): GroupProblem[] {
    return [...new Set(groupIds)].flatMap((id) => {
      const failed = this.failures.get(id);
      return failed ? [failed.problem] : [];
    });
  }

  private async fetch(groupId: string): Promise<readonly string[]> {
    try {
      const response = await this.client.usergroups.users.list({ usergroup: groupId });
      const members = response.users ?? [];
      this.entries.set(groupId, { members, until: this.now() + this.ttlMs, fetchedAt: this.now() });
      this.failures.delete(groupId);
      this.changeState(groupId, 'ok', () => this.log?.info(`user group ${groupId} can be read again (${members.length} members)`));
      return members;
    } catch (error) {
      const problem = problemOf(groupId, error);
      const lasting = lastingCodes.has(problem.code);
      this.failures.set(groupId, { problem, until: lasting ? this.now() + Math.min(60_000, this.ttlMs) : this.now() });
      this.changeState(groupId, problem.code, () =>
        this.log?.warn(`usergroups.users.list ${groupId}: ${problem.code}${problem.needed ? ` (needed ${problem.needed}, provided ${problem.provided ?? 'none'})` : ''}: its members count as nobody until this is fixed`),
      );
      return [];
    }
  }

  private changeState(groupId: string, state: string, announce: () => void): void {
    const before = this.states.get(groupId);
    this.states.set(groupId, state);
    if (before !== state && !(before === undefined && state === 'ok')) announce();
  }
}

const lastingCodes = new Set(['plan_upgrade_required', 'missing_scope', 'no_such_subteam', 'invalid_auth', 'not_allowed_token_type']);

function problemOf(group: string, error: unknown): GroupProblem {
  const data = (error as { data?: { error?: unknown; needed?: unknown; provided?: unknown } }).data;
  const code = typeof data?.error === 'string' ? data.error : (error as { code?: unknown }).code === 'slack_webapi_rate_limited_error' ? 'ratelimited' : errorText(error);
  return {
    group,
    code,
    ...(typeof data?.needed === 'string' ? { needed: data.needed } : {}),
    ...(typeof data?.provided === 'string' ? { provided: data.provided } : {}),
  };
}

/** What a refused user reads about groups that could not be read, or null. `environment` names the config key to change. */
export function explainGroupProblems(problems: readonly GroupProblem[], environment: string, role: 'approvers' | 'requesters'): string | null {
  if (problems.length === 0) return null;
  const reasons = problems.map((p) => {
    const group = /^S[A-Z0-9]{2,20}$/.test(p.group) ? `<!subteam^${p.group}>` : 'a configured user group';
    switch (p.code) {
      case 'plan_upgrade_required':
        return `${group} cannot be read because this Slack workspace's plan has no user groups (plan_upgrade_required): an admin can list ${role} by user id in \`environments.${environment}.slack.approvals.${role}.users\``;
      case 'missing_scope':
        return `${group} cannot be read because the app lacks the \`${p.needed ?? 'usergroups:read'}\` scope (missing_scope): an admin can reinstall it with the scopes of config/slack-app-manifest.yaml`;
      case 'no_such_subteam':
        return `${group} does not exist in this workspace (no_such_subteam): an admin can check the group id in the config`;
      default:
        return `${group} could not be read just now (${p.code}): try again in a moment`;
    }
  });
  return `Note: ${reasons.join('; ')}.`;
}
