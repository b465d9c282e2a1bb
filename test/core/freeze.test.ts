import { describe, expect, it } from 'vitest';
import { extractOverride, parseLineCommand } from '../../src/core/freeze-grammar.js';
import { freezeRefusal, parseDurationText, stopFor, type Freeze } from '../../src/core/freeze.js';

const context = { apps: ['shop', 'cart'], environments: ['staging', 'production'], defaultEnvironment: () => 'production' };
const freeze = (scope: string, from: number, until: number): Freeze => ({ scope, environment: 'production', reason: 'incident 4711', from, until, by: 'U00000BOB', source: 'ad-hoc' });

describe('freezeRefusal', () => {
  it.each<[string, string, number, boolean]>([
    ['promote', 'shop', 50, true],
    ['deploy', 'cart', 50, true],
    ['cleanup', 'shop', 50, true],
    ['rollback', 'shop', 50, false],
    ['bootstrap', 'shop', 50, false],
    ['promote', 'shop', 100, false],
    ['promote', 'shop', 9, false],
  ])('%s %s at t=%i: refused %s', (action, app, t, refused) => {
    expect(freezeRefusal(action, app, t, [freeze('all', 10, 100)]) !== null).toBe(refused);
  });

  it('an app freeze does not freeze the other apps', () => {
    expect(freezeRefusal('promote', 'cart', 50, [freeze('shop', 10, 100)])).toBeNull();
  });
});

describe('stopFor', () => {
  const stop = { scope: 'shop', environment: 'production', reason: 'r', by: 'U00000BOB', at: 1, rollback: false };
  it('halts promotions of its scope, never rollbacks', () => {
    expect(stopFor('promote', 'shop', [stop])).toBe(stop);
    expect(stopFor('rollback', 'shop', [stop])).toBeNull();
    expect(stopFor('promote', 'cart', [stop])).toBeNull();
  });
});

describe('the line commands', () => {
  it.each<[string, unknown]>([
    ['freeze all --env production 2h "incident 4711"', { action: 'freeze', scope: 'all', environment: 'production', durationMs: 7_200_000, reason: 'incident 4711', rollback: false }],
    ['/release freeze shop 90m deploy window', { action: 'freeze', scope: 'shop', durationMs: 5_400_000, reason: 'deploy window' }],
    ['stop --env=staging cart --rollback “error rate”', { action: 'stop', scope: 'cart', environment: 'staging', reason: 'error rate', rollback: true }],
    ['resume all', { action: 'resume', scope: 'all', reason: null }],
    ['unfreeze shop -e production', { action: 'unfreeze', scope: 'shop' }],
  ])('%s', (text, expected) => {
    expect(parseLineCommand(text, context)).toMatchObject(expected as object);
  });

  it.each<[string, string]>([
    ['freeze all "no duration"', 'freeze needs a duration such as 2h'],
    ['freeze all 2h', 'freeze needs a reason'],
    ['freeze all 31d "too long"', 'at most 30 days'],
    ['stop "which app"', 'which app?'],
    ['stop shop --force "x"', 'unknown option "--force"'],
    ['resume shop --env moon', 'unknown environment "moon"'],
  ])('%s is refused: %s', (text, message) => {
    expect(parseLineCommand(text, context)).toMatchObject({ message: expect.stringContaining(message) as string });
  });

  it('is not a line command otherwise', () => {
    expect(parseLineCommand('promote shop v2', context)).toBeNull();
  });

  it('takes --override "reason" out of a release command', () => {
    expect(extractOverride('promote shop v2 --override "hotfix 4711" --env production')).toEqual({ text: 'promote shop v2  --env production', override: 'hotfix 4711' });
    expect(extractOverride('promote shop v2')).toEqual({ text: 'promote shop v2', override: null });
    expect(extractOverride('promote shop v2 --override')).toMatchObject({ kind: 'usage' });
  });

  it('reads durations', () => {
    expect([parseDurationText('2h'), parseDurationText('1h30m'), parseDurationText('1d'), parseDurationText('0m'), parseDurationText('soon')]).toEqual([7_200_000, 5_400_000, 86_400_000, null, null]);
  });
});
