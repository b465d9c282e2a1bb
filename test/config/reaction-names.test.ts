import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError, parseConfig } from '../../src/config/index.js';
import { emojiAliases, reactionNameRefusal } from '../../src/config/reaction-names.js';

/** Reaction names are checked at load against what Slack sends: canonical names, no colons, no skin tones. */

function withReactions(approveReaction: string, rejectReaction = 'x') {
  return stringify({
    apps: { shop: { image: 'registry.example.com/shop:{version}' } },
    environments: {
      production: {
        regions: [{ name: 'eu-west', namespace: 'production', liveUrl: 'http://127.0.0.1:18081' }],
        slack: { approvals: { approveReaction, rejectReaction } },
      },
    },
  });
}

function loadError(approveReaction: string, rejectReaction?: string): string {
  try {
    parseConfig(withReactions(approveReaction, rejectReaction), {}, 'cutover.yaml');
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('expected the config to be refused');
}

describe('reaction names in the config', () => {
  it.each([
    ['thumbsup', '"thumbsup" is an alias: Slack sends reactions by their canonical name, so use "+1"'],
    ['thumbsdown', 'use "-1"'],
    [':white_check_mark:', 'without colons: use "white_check_mark"'],
    ['+1::skin-tone-3', 'without a skin tone: use "+1"'],
    ['White_Check_Mark', 'must be a Slack reaction name'],
  ])('refuses %s, naming what to write instead', (name, hint) => {
    const message = loadError(name);
    expect(message).toContain('environments.production.slack.approvals.approveReaction');
    expect(message).toContain(hint);
  });

  it('checks the reject reaction too', () => {
    expect(loadError('white_check_mark', 'thumbsdown')).toContain('rejectReaction: "thumbsdown" is an alias');
  });

  it.each(['+1', 'white_check_mark', 'x', 'heavy_check_mark', 'shipit', "don't"])('accepts %s (canonical, or a custom emoji)', (name) => {
    const config = parseConfig(withReactions(name), {}, 'cutover.yaml');
    expect(config.environments.production!.slack.approvals.approveReaction).toBe(name);
  });

  it('keeps a table where every alias points at a canonical name that is not itself an alias', () => {
    for (const [alias, canonical] of Object.entries(emojiAliases)) {
      expect(reactionNameRefusal(canonical), `${alias} → ${canonical}`).toBeNull();
      expect(alias).not.toBe(canonical);
    }
    expect(Object.keys(emojiAliases).length).toBeGreaterThan(50);
  });
});
