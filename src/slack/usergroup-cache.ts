import type { WebClient } from '@slack/web-api';
import type { GroupMembers } from '../core/authorization.js';

/**
 * Members of Slack user groups through `usergroups.users.list`, cached per group for `ttlMs`.
 * A lookup that fails counts as "no members" (nobody gains rights from an outage) and is not cached.
 */
export class UsergroupCache {
  private readonly entries = new Map<string, { members: readonly string[]; until: number }>();
  private readonly inflight = new Map<string, Promise<readonly string[]>>();

  constructor(
    private readonly client: WebClient,
    private readonly ttlMs = 5 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Resolve the groups (from cache when fresh) and answer membership synchronously. */
  async resolve(groupIds: readonly string[]): Promise<GroupMembers> {
    const resolved = new Map<string, readonly string[]>();
    await Promise.all([...new Set(groupIds)].map(async (id) => resolved.set(id, await this.members(id))));
    return (groupId) => resolved.get(groupId) ?? [];
  }

  async members(groupId: string): Promise<readonly string[]> {
    const cached = this.entries.get(groupId);
    if (cached && cached.until > this.now()) return cached.members;
    let pending = this.inflight.get(groupId);
    if (!pending) {
      pending = this.fetch(groupId).finally(() => this.inflight.delete(groupId));
      this.inflight.set(groupId, pending);
    }
    return pending;
  }

  private async fetch(groupId: string): Promise<readonly string[]> {
    try {
      const response = await this.client.usergroups.users.list({ usergroup: groupId });
      const members = response.users ?? [];
      this.entries.set(groupId, { members, until: this.now() + this.ttlMs });
      return members;
    } catch {
      return [];
    }
  }
}
