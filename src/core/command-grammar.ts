import { lineUsage } from './freeze-grammar.js';
import { printable, versionRefusal } from './version.js';

/**
 * The `/release` grammar: `<action> [app] [version] [--env <env>] [--dry-run]`.
 * Parsing is pure and total: any text gives a command or an error a user can read.
 */

/** Actions that name an app and an environment (config's `CommandAction` has the same members). */
export type CommandAction = 'deploy' | 'promote' | 'rollback' | 'status' | 'history' | 'cleanup' | 'bootstrap';

export interface HelpCommand {
  action: 'help';
}

export interface ReleaseCommand {
  action: Exclude<CommandAction, 'history'>;
  app: string;
  environment: string;
  /** deploy, promote: required; rollback: optional target; bootstrap: optional initial version; else null. */
  version: string | null;
  dryRun: boolean;
}

export interface HistoryCommand {
  action: 'history';
  /** null: every app. */
  app: string | null;
  /** null: every environment. */
  environment: string | null;
  dryRun: boolean;
}

export type ParsedCommand = HelpCommand | ReleaseCommand | HistoryCommand;

export type CommandErrorKind = 'usage' | 'unknown-app' | 'unknown-environment' | 'invalid-version' | 'missing-version' | 'unknown-action' | 'extra-arguments';

export interface CommandError {
  kind: CommandErrorKind;
  message: string;
}

export interface CommandContext {
  apps: readonly string[];
  /** The app the channel is bound to, if any. */
  channelApp?: string | undefined;
  environments: readonly string[];
  defaultEnvironment: (action: CommandAction) => string | undefined;
}

const actions: readonly CommandAction[] = ['deploy', 'promote', 'rollback', 'status', 'history', 'cleanup', 'bootstrap'];
const verbs: readonly string[] = [...actions, 'help'];

type VersionRule = 'required' | 'optional' | 'none';
const versionRule: Record<CommandAction, VersionRule> = {
  deploy: 'required',
  promote: 'required',
  rollback: 'optional',
  bootstrap: 'optional',
  status: 'none',
  history: 'none',
  cleanup: 'none',
};

const synopsis: Record<CommandAction, string> = {
  deploy: 'deploy [app] <version>',
  promote: 'promote [app] <version>',
  rollback: 'rollback [app] [version | --to <version>]',
  status: 'status [app]',
  history: 'history [app]',
  cleanup: 'cleanup [app]',
  bootstrap: 'bootstrap [app] [initial-version]',
};

const maxInputLength = 1000;
const maxListed = 12;
/** Every message is at most this long, whatever the input. */
export const maxCommandMessageLength = 600;

export function isCommandError(result: ParsedCommand | CommandError): result is CommandError {
  return 'kind' in result;
}

/** Parse the text of a `/release` command. Never throws. */
export function parseReleaseCommand(text: string, context: CommandContext): ParsedCommand | CommandError {
  try {
    return parse(text, context);
  } catch {
    // The grammar is meant to be total; this keeps a bug from becoming an unanswered command.
    return error('usage', `could not read that command. ${shortUsage}`);
  }
}

/** The help text: commands, flags and examples. */
export function usageText(): string {
  return [
    'Usage: /release <action> [app] [version] [--env <env>] [--dry-run]',
    '',
    'Actions:',
    ...actions.map((action) => `  ${synopsis[action].padEnd(44)}${actionHelp[action]}`),
    `  ${'help'.padEnd(44)}this text`,
    ...lineUsage,
    '',
    'Flags:',
    '  --env <env>, --env=<env>, -e <env>          environment (default: the one configured for the action)',
    '  --dry-run                                   show the plan and change nothing',
    '  --to <version>                              rollback only: the version to roll back to',
    '',
    'The app can be left out in a channel bound to one app, or when only one app exists.',
    '',
    'Examples:',
    '  /release deploy shop v42 --env production',
    '  /release promote shop v42 --dry-run',
    '  /release promote v42            (in a channel bound to shop)',
    '  /release rollback shop          (back to the previous version)',
    '  /release rollback shop --to v40',
    '  /release status shop -e staging',
  ].join('\n');
}

const actionHelp: Record<CommandAction, string> = {
  deploy: 'install a version next to the live one; live traffic is not touched',
  promote: 'switch live traffic to an installed version, region by region',
  rollback: 'switch live traffic back to the previous (or named) version',
  status: 'live, previous and installed versions per region',
  history: 'the last releases',
  cleanup: 'delete old versions that are neither live nor the rollback target',
  bootstrap: 'create the live Service and route once',
};

const shortUsage = 'Usage: /release <deploy|promote|rollback|status|history|cleanup|bootstrap|help> [app] [version] [--env <env>] [--dry-run]';

interface Options {
  env: string | null;
  to: string | null;
  dryRun: boolean;
  help: boolean;
}

function parse(raw: string, context: CommandContext): ParsedCommand | CommandError {
  if (typeof raw !== 'string') return error('usage', shortUsage);
  if (raw.length > maxInputLength) return error('usage', `that command is ${raw.length} characters long; a /release command is at most ${maxInputLength}. ${shortUsage}`);
  const tokens = tokenize(raw);
  if (tokens[0]?.toLowerCase() === '/release') tokens.shift();
  if (tokens.length === 0) return { action: 'help' };

  const options: Options = { env: null, to: null, dryRun: false, help: false };
  const positionals: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i] ?? '';
    if (!isFlag(token)) {
      positionals.push(token);
      continue;
    }
    const eq = token.indexOf('=');
    const name = (eq === -1 ? token : token.slice(0, eq)).toLowerCase();
    const inline = eq === -1 ? null : stripFormatting(token.slice(eq + 1));
    const takeValue = (): string | CommandError => {
      if (inline !== null) return inline.length > 0 ? inline : error('usage', `${name} needs a value, e.g. ${name}=production`);
      const next = tokens[i + 1];
      if (next === undefined || isFlag(next)) return error('usage', `${name} needs a value, e.g. ${name} ${name === '--to' ? 'v41' : 'production'}`);
      i++;
      return next;
    };
    if (name === '--env' || name === '-e' || name === '--e' || name === '--environment') {
      const value = takeValue();
      if (typeof value !== 'string') return value;
      if (options.env !== null && options.env.toLowerCase() !== value.toLowerCase()) {
        return error('usage', `the environment is given twice ("${printable(options.env, 40)}" and "${printable(value, 40)}"): give it once`);
      }
      options.env = value;
    } else if (name === '--to') {
      const value = takeValue();
      if (typeof value !== 'string') return value;
      options.to = value;
    } else if ((name === '--dry-run' || name === '--dryrun') && inline === null) {
      options.dryRun = true;
    } else if ((name === '--help' || name === '-h') && inline === null) {
      options.help = true;
    } else {
      return error('usage', `unknown option "${printable(token, 40)}": the options are --env <env>, --dry-run${positionals[0]?.toLowerCase() === 'rollback' ? ', --to <version>' : ''}. ${shortUsage}`);
    }
  }

  const [verb, ...args] = positionals;
  if (options.help || verb === undefined || verb.toLowerCase() === 'help') {
    if (verb === undefined && !options.help) return error('usage', `which action? ${shortUsage}`);
    return { action: 'help' };
  }
  const action = actions.find((a) => a === verb.toLowerCase());
  if (action === undefined) {
    const near = closest(verb.toLowerCase(), verbs);
    return error('unknown-action', `unknown action "${printable(verb, 40)}"${near ? ` (did you mean ${near}?)` : ''}: actions are ${verbs.join(', ')}`);
  }
  if (options.to !== null && action !== 'rollback') return error('usage', `--to is for rollback only; ${action} takes: /release ${synopsis[action]}`);

  const target = resolveApp(action, args, context);
  if ('kind' in target) return target;
  const { app, rest } = target;

  const environment = resolveEnvironment(action, options.env, context);
  if (typeof environment !== 'string' && environment !== null) return environment;

  const rule = versionRule[action];
  const allowed = rule === 'none' ? 0 : 1;
  if (rest.length > allowed || (options.to !== null && rest.length > 0 && rest[0] !== options.to)) {
    const extra = rest.slice(options.to !== null ? 0 : allowed);
    return error('extra-arguments', `unexpected ${quoteList(extra)}: ${action} takes /release ${synopsis[action]}`);
  }
  const version = options.to ?? rest[0] ?? null;
  if (version === null && rule === 'required') {
    return error('missing-version', `${action} needs a version, e.g. /release ${action} ${app ?? 'shop'} v42`);
  }
  if (version !== null && app !== null) {
    const invalid = versionRefusal(app, version);
    if (invalid) return error('invalid-version', invalid);
  }

  if (action === 'history') return { action, app, environment, dryRun: options.dryRun };
  if (app === null || environment === null) return error('usage', shortUsage);
  return { action, app, environment, version, dryRun: options.dryRun };
}

/** Split on any whitespace, undoing what Slack and keyboards do to typed text. */
function tokenize(raw: string): string[] {
  const text = raw
    .replace(/\p{Cs}/gu, '\uFFFD')
    .normalize('NFKC')
    // Slack markup: <http://x|label>, <@U123|name>, <#C1|general>, <!here>
    .replace(/<([^<>|]*)\|([^<>]*)>/g, '$2')
    .replace(/<([^<>]*)>/g, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    // Autocorrected dashes: "—env" and "–env" were typed as "--env".
    .replace(/(^|\s)[\u2012-\u2015\u2212\uFE58\uFE63](?=[A-Za-z])/g, '$1--')
    .replace(/[\p{Z}\s\u200B-\u200D\u2060\uFEFF]+/gu, ' ');
  return text
    .split(' ')
    .map(stripFormatting)
    .filter((token) => token.length > 0);
}

const formatting = /^[*_~`"'\u2018-\u201F\u00AB\u00BB\u2039\u203A]+|[*_~`"'\u2018-\u201F\u00AB\u00BB\u2039\u203A]+$/g;

function stripFormatting(token: string): string {
  return token.replace(formatting, '');
}

function isFlag(token: string): boolean {
  return token.length > 1 && token.startsWith('-') && !/^-\d/.test(token);
}

function resolveApp(action: CommandAction, args: string[], context: CommandContext): { app: string | null; rest: string[] } | CommandError {
  const { apps } = context;
  const first = args[0];
  const named = first === undefined ? undefined : apps.find((a) => a === first.toLowerCase());
  if (named !== undefined) return { app: named, rest: args.slice(1) };

  const implicit = context.channelApp !== undefined && apps.includes(context.channelApp) ? context.channelApp : apps.length === 1 ? apps[0] : undefined;
  if (first === undefined) {
    if (implicit !== undefined) return { app: implicit, rest: [] };
    if (action === 'history') return { app: null, rest: [] };
    return whichApp(action, apps);
  }
  // With every slot filled, or for actions without a version, the first word can only be the app.
  if (versionRule[action] === 'none' || args.length >= 2) return unknownApp(first, apps);
  const typo = !/\d/.test(first) && closest(first.toLowerCase(), apps) !== null;
  if (implicit === undefined || typo) return typo || !/\d/.test(first) ? unknownApp(first, apps) : whichApp(action, apps);
  return { app: implicit, rest: args };
}

function whichApp(action: CommandAction, apps: readonly string[]): CommandError {
  return error('unknown-app', `which app? Name one: /release ${synopsis[action].replace('[app]', '<app>')}; known apps are ${list(apps)}`);
}

function unknownApp(word: string, apps: readonly string[]): CommandError {
  const near = closest(word.toLowerCase(), apps);
  const hint = near ? ` (did you mean ${near}?)` : '';
  return error('unknown-app', `unknown app "${printable(word, 40)}"${hint}: known apps are ${list(apps)}`);
}

function resolveEnvironment(action: CommandAction, given: string | null, context: CommandContext): string | null | CommandError {
  const { environments } = context;
  if (given !== null) {
    const found = environments.find((e) => e === given.toLowerCase());
    if (found !== undefined) return found;
    const near = closest(given.toLowerCase(), environments);
    return error('unknown-environment', `unknown environment "${printable(given, 40)}"${near ? ` (did you mean ${near}?)` : ''}: environments are ${list(environments)}`);
  }
  const fallback = context.defaultEnvironment(action);
  if (fallback !== undefined && environments.includes(fallback)) return fallback;
  if (environments.length === 1) return environments[0] ?? null;
  if (action === 'history') return null;
  return error('unknown-environment', `${action} has no default environment: add --env <env>; environments are ${list(environments)}`);
}

function list(names: readonly string[]): string {
  if (names.length === 0) return '(none configured)';
  const shown = names.slice(0, maxListed).map((n) => printable(n, 40));
  return names.length > maxListed ? `${shown.join(', ')} and ${names.length - maxListed} more` : shown.join(', ');
}

function quoteList(words: readonly string[]): string {
  const shown = words.slice(0, 3).map((w) => `"${printable(w, 40)}"`);
  return words.length > 3 ? `${shown.join(' ')} and ${words.length - 3} more` : shown.join(' ');
}

function error(kind: CommandErrorKind, message: string): CommandError {
  return { kind, message: message.length > maxCommandMessageLength ? `${message.slice(0, maxCommandMessageLength - 1)}…` : message };
}

/** The candidate nearest to `word` by edit distance, when near enough to be a typo. */
export function closest(word: string, candidates: readonly string[]): string | null {
  if (word.length === 0 || word.length > 64) return null;
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(word, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  if (best === null) return null;
  const tolerance = Math.max(1, Math.min(3, Math.floor(best.length / 3)));
  return bestDistance <= tolerance ? best : null;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const up = rows[i - 1] ?? [];
      let best = Math.min((up[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (up[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, (rows[i - 2]?.[j - 2] ?? 0) + 1);
      row[j] = best;
    }
    rows.push(row);
  }
  return rows[a.length]?.[b.length] ?? 0;
}
