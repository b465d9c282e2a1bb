import { describe, expect, it } from 'vitest';
import {
  isCommandError,
  maxCommandMessageLength,
  parseReleaseCommand,
  usageText,
  type CommandAction,
  type CommandContext,
  type CommandError,
  type ParsedCommand,
} from '../../src/core/command-grammar.js';

const defaults: Partial<Record<CommandAction, string>> = { deploy: 'production', promote: 'production', rollback: 'production', status: 'production', cleanup: 'staging' };
const twoApps: CommandContext = { apps: ['shop', 'cart'], environments: ['staging', 'production'], defaultEnvironment: (action) => defaults[action] };
const boundToShop: CommandContext = { ...twoApps, channelApp: 'shop' };
const oneApp: CommandContext = { ...twoApps, apps: ['shop'] };
const noDefaults: CommandContext = { ...twoApps, defaultEnvironment: () => undefined };

function parse(text: string, context: CommandContext = twoApps): ParsedCommand | CommandError {
  return parseReleaseCommand(text, context);
}

describe('parseReleaseCommand: commands', () => {
  it.each<[string, string, CommandContext, Partial<ParsedCommand>]>([
    ['full form', 'promote shop v42 --env production', twoApps, { action: 'promote', app: 'shop', version: 'v42', environment: 'production', dryRun: false }],
    ['default environment', 'promote shop v42', twoApps, { environment: 'production' }],
    ['--env=', 'deploy shop v42 --env=staging', twoApps, { action: 'deploy', environment: 'staging' }],
    ['-e', 'deploy cart 1.2.3 -e staging', twoApps, { app: 'cart', version: '1.2.3', environment: 'staging' }],
    ['flags first', '--dry-run -e staging promote shop v42', twoApps, { action: 'promote', dryRun: true, environment: 'staging' }],
    ['dry run', 'promote shop v42 --dry-run', twoApps, { dryRun: true }],
    ['upper-case action, app and env', 'PROMOTE Shop v42 --ENV Production', twoApps, { action: 'promote', app: 'shop', version: 'v42', environment: 'production' }],
    ['leading /release', '/release promote shop v42', twoApps, { action: 'promote', version: 'v42' }],
    ['extra whitespace and tabs', '  promote \t shop   v42  ', twoApps, { app: 'shop', version: 'v42' }],
    ['non-breaking spaces', 'promote\u00a0shop\u00a0v42', twoApps, { app: 'shop', version: 'v42' }],
    ['Slack bold', 'promote shop *v42*', twoApps, { version: 'v42' }],
    ['backticks', 'promote `shop` `v42`', twoApps, { app: 'shop', version: 'v42' }],
    ['code fence', 'promote shop ```v42```', twoApps, { version: 'v42' }],
    ['smart quotes', 'promote shop \u201cv42\u201d --env \u2018staging\u2019', twoApps, { version: 'v42', environment: 'staging' }],
    ['autocorrected em dash', 'promote shop v42 \u2014env staging \u2014dry-run', twoApps, { environment: 'staging', dryRun: true }],
    ['autocorrected -e', 'promote shop v42 \u2014e staging', twoApps, { environment: 'staging' }],
    ['full-width letters', 'promote shop \uff56\uff14\uff12', twoApps, { version: 'v42' }],
    ['bound channel', 'promote v42', boundToShop, { app: 'shop', version: 'v42' }],
    ['bound channel, other app named', 'promote cart v42', boundToShop, { app: 'cart' }],
    ['single app', 'deploy v42 -e staging', oneApp, { app: 'shop', version: 'v42' }],
    ['rollback to previous', 'rollback shop', twoApps, { action: 'rollback', version: null }],
    ['rollback --to', 'rollback shop --to v40', twoApps, { version: 'v40' }],
    ['rollback --to=', 'rollback --to=v40', boundToShop, { app: 'shop', version: 'v40' }],
    ['rollback positional', 'rollback shop v40', twoApps, { version: 'v40' }],
    ['status', 'status shop', twoApps, { action: 'status', app: 'shop', version: null }],
    ['status in bound channel', 'status', boundToShop, { action: 'status', app: 'shop' }],
    ['cleanup default env', 'cleanup shop', twoApps, { action: 'cleanup', environment: 'staging' }],
    ['bootstrap with initial version', 'bootstrap shop v1 -e staging', twoApps, { action: 'bootstrap', version: 'v1' }],
    ['history of everything', 'history', twoApps, { action: 'history', app: null, environment: null }],
    ['history of one app', 'history cart', twoApps, { action: 'history', app: 'cart' }],
    ['Slack link markup', 'promote shop v1.2 --env <http://staging|staging>', twoApps, { environment: 'staging', version: 'v1.2' }],
    ['only env available', 'promote shop v42', { ...noDefaults, environments: ['production'] }, { environment: 'production' }],
  ])('%s', (_name, text, context, expected) => {
    const result = parse(text, context);
    expect(isCommandError(result)).toBe(false);
    expect(result).toMatchObject(expected);
  });

  it.each(['help', 'HELP', '', '   ', '/release', '/release help', 'promote --help', '-h'])('%j is help', (text) => {
    expect(parse(text)).toEqual({ action: 'help' });
  });
});

describe('parseReleaseCommand: errors', () => {
  it.each<[string, string, CommandContext, CommandError['kind'], RegExp]>([
    ['unknown action with suggestion', 'promot shop v42', twoApps, 'unknown-action', /unknown action "promot" \(did you mean promote\?\): actions are deploy, promote, rollback/],
    ['unknown action', 'launch shop', twoApps, 'unknown-action', /actions are .*help/],
    ['unknown app with suggestion', 'promote shopp v42', twoApps, 'unknown-app', /^unknown app "shopp" \(did you mean shop\?\): known apps are shop, cart$/],
    ['typo app in a bound channel', 'promote shpo', boundToShop, 'unknown-app', /did you mean shop/],
    ['unknown app for status', 'status nothing', twoApps, 'unknown-app', /known apps are shop, cart/],
    ['no app and no binding', 'promote v42', twoApps, 'unknown-app', /which app\? .*known apps are shop, cart/],
    ['no app at all', 'status', twoApps, 'unknown-app', /which app/],
    ['unknown environment with suggestion', 'promote shop v42 --env prod', twoApps, 'unknown-environment', /unknown environment "prod".*environments are staging, production/],
    ['unknown environment suggestion', 'promote shop v42 --env prodution', twoApps, 'unknown-environment', /did you mean production/],
    ['no default environment', 'promote shop v42', noDefaults, 'unknown-environment', /promote has no default environment: add --env <env>; environments are staging, production/],
    ['invalid version', 'promote shop v42_beta', twoApps, 'invalid-version', /"v42_beta" is not a valid version/],
    ['version too long', `promote shop v${'9'.repeat(70)}`, twoApps, 'invalid-version', /too long/],
    ['version with a leading dot', 'deploy shop .v1', twoApps, 'invalid-version', /not a valid version/],
    ['missing version', 'promote shop', twoApps, 'missing-version', /promote needs a version, e\.g\. \/release promote shop v42/],
    ['missing version in bound channel', 'deploy', boundToShop, 'missing-version', /deploy needs a version/],
    ['extra argument', 'promote shop v42 now', twoApps, 'extra-arguments', /unexpected "now": promote takes \/release promote \[app\] <version>/],
    ['extra for status', 'status shop v42', twoApps, 'extra-arguments', /unexpected "v42"/],
    ['--to and a different positional', 'rollback shop v40 --to v41', twoApps, 'extra-arguments', /unexpected "v40"/],
    ['unknown flag', 'promote shop v42 --force', twoApps, 'usage', /unknown option "--force"/],
    ['--env without a value', 'promote shop v42 --env', twoApps, 'usage', /--env needs a value/],
    ['--env= empty', 'promote shop v42 --env=', twoApps, 'usage', /--env needs a value/],
    ['environment twice', 'promote shop v42 -e staging --env production', twoApps, 'usage', /given twice/],
    ['--to outside rollback', 'promote shop v42 --to v41', twoApps, 'usage', /--to is for rollback only/],
    ['flags only', '--dry-run', twoApps, 'usage', /which action\?/],
    ['too long', `promote ${'x'.repeat(5000)}`, twoApps, 'usage', /at most 1000/],
  ])('%s', (_name, text, context, kind, message) => {
    const result = parse(text, context);
    expect(isCommandError(result)).toBe(true);
    expect(result).toMatchObject({ kind });
    expect((result as CommandError).message).toMatch(message);
  });

  it('quotes untrusted text without control characters and bounded', () => {
    const result = parse(`promote shop v\u0007${'a'.repeat(200)}\u202e`) as CommandError;
    expect(result.kind).toBe('invalid-version');
    expect(result.message).not.toMatch(/[\p{Cc}\u202e]/u);
    expect(result.message.length).toBeLessThan(200);
  });

  it('lists many apps without an unbounded message', () => {
    const apps = Array.from({ length: 500 }, (_, i) => `app-${i}`);
    const result = parse('promote nothing-like-it v1', { ...twoApps, apps }) as CommandError;
    expect(result.kind).toBe('unknown-app');
    expect(result.message).toMatch(/and 488 more/);
  });
});

describe('usageText', () => {
  it('lists every action, the flags and examples', () => {
    const text = usageText();
    for (const word of ['deploy', 'promote', 'rollback', 'status', 'history', 'cleanup', 'bootstrap', 'help', '--env', '-e <env>', '--dry-run', '--to', '/release promote shop v42']) {
      expect(text).toContain(word);
    }
  });
});

/** A small deterministic generator (mulberry32), so a failure reproduces. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pieces = [
  'deploy', 'promote', 'rollback', 'status', 'history', 'cleanup', 'bootstrap', 'help', 'shop', 'cart', 'shopp', 'v42', 'V42', '1.2.3',
  '--env', '--env=', '-e', '--dry-run', '--to', '--', '-', '—env', 'production', 'staging', 'prod',
  '$(rm -rf /)', '`id`', ';', '&&', '|', '>', '<', '&amp;', '&lt;', '<@U123|bob>', '<!here>', '<http://x|y>', '{{.}}', '${HOME}', '%s', '%n',
  ': &anchor', '*alias', '- item', '? key', '!!python/object', '---', '...', '#', '"', "'", '\\', '\u201c', '\u2019',
  'v42\nmalicious: true', 'v1.', '.v1', '-v1', 'v_1', 'v..1', 'a'.repeat(63), '9'.repeat(100), 'v42/../../etc',
  '\u0000', '\u0007', '\u001b[31m', '\u200b', '\u202e', '\ufeff', '\ud83d\ude80', '\ud800', '\udfff', '\u00a0', '\u3000', 'Ω', 'ǅ', 'ﬁ', '\u0301',
];

function generated(rand: () => number): string {
  const shape = rand();
  if (shape < 0.05) return 'x'.repeat(Math.floor(rand() * 20_000));
  if (shape < 0.15) return Array.from({ length: Math.floor(rand() * 40) }, () => String.fromCharCode(Math.floor(rand() * 0x10000))).join('');
  const count = Math.floor(rand() * 8);
  const separators = [' ', '  ', '\t', '\n', '\u00a0', '', '='];
  return Array.from({ length: count }, () => `${pieces[Math.floor(rand() * pieces.length)]}${separators[Math.floor(rand() * separators.length)]}`).join('');
}

describe('parseReleaseCommand: property', () => {
  it('never throws, and answers every input with a command or a bounded, clean error', () => {
    const rand = random(42);
    const contexts = [twoApps, boundToShop, oneApp, noDefaults];
    for (let i = 0; i < 500; i++) {
      const text = generated(rand);
      const context = contexts[i % contexts.length]!;
      let result: ParsedCommand | CommandError | undefined;
      expect(() => (result = parseReleaseCommand(text, context)), JSON.stringify(text)).not.toThrow();
      if (isCommandError(result!)) {
        expect(result.message.length).toBeLessThanOrEqual(maxCommandMessageLength);
        expect(result.message).not.toMatch(/[\p{Cc}\u202e\u200b]/u);
        expect(result.message).not.toMatch(/\p{Cs}/u);
        expect(result.message).not.toMatch(/could not read that command/);
      } else if (result!.action !== 'help') {
        const command = result!;
        if (command.action !== 'history') {
          expect(context.apps).toContain(command.app);
          expect(context.environments).toContain(command.environment);
          if (command.version !== null) expect(command.version).toMatch(/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/);
        }
      }
    }
  });

  it('is never fooled by a label-breaking version', () => {
    for (const version of ['v42\n', 'v42 ', 'v42;rm', 'v42$(x)', 'v42/x', 'v-', '-v', 'v.', 'v\u0000', `v${'1'.repeat(80)}`, 'v42\u202e']) {
      const result = parse(`promote shop ${JSON.stringify(version).slice(1, -1)}`);
      if (!isCommandError(result) && result.action === 'promote') expect(result.version).toMatch(/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$/);
    }
  });
});
