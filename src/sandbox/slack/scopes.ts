/**
 * The bot token scopes each method needs, from the "Required scopes" of each method's reference
 * page. A call without them answers `missing_scope` with `needed` and `provided` (comma separated),
 * as Slack's error bodies carry them. conversations.info needs the read scope of the kind of
 * conversation asked about.
 */
const required: Record<string, string | null> = {
  'api.test': null,
  'auth.test': null,
  'chat.postMessage': 'chat:write',
  'chat.update': 'chat:write',
  'chat.delete': 'chat:write',
  'chat.postEphemeral': 'chat:write',
  'chat.getPermalink': null,
  'reactions.add': 'reactions:write',
  'reactions.remove': 'reactions:write',
  'reactions.get': 'reactions:read',
  'usergroups.users.list': 'usergroups:read',
  'users.info': 'users:read',
  'conversations.info': 'channels:read',
};

/** Every scope a bot could hold in the stand-in's default workspace (the old manifest's list). */
export const ALL_BOT_SCOPES = ['commands', 'chat:write', 'reactions:read', 'reactions:write', 'usergroups:read', 'users:read', 'channels:read', 'groups:read', 'im:read'];

/** Events need the scope that lets the app see what they report (Events API reference per event). */
export const eventScopes: Record<string, string> = {
  reaction_added: 'reactions:read',
  reaction_removed: 'reactions:read',
};

/** The scope `method` needs, or null; `conversationKind` refines conversations.info. */
export function neededScope(method: string, conversationKind?: 'public' | 'private' | 'im'): string | null {
  if (method === 'conversations.info' && conversationKind !== undefined) {
    return conversationKind === 'private' ? 'groups:read' : conversationKind === 'im' ? 'im:read' : 'channels:read';
  }
  return required[method] ?? null;
}
