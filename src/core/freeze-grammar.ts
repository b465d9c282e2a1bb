// Types only: command-grammar imports this file's usage lines.
import type { CommandContext, CommandError } from './command-grammar.js';
import { allApps, parseDurationText } from './freeze.js';
import { printable } from './version.js';

/**
 * The line commands: `/release freeze [app|all] [--env <env>] <duration> "reason"`,
 * `/release unfreeze [app|all] [--env <env>]`, `/release stop [app|all] [--env <env>] [--rollback] "reason"`
 * and `/release resume [app|all] [--env <env>]`; and the break-glass flag `--override "reason"` of
 * the release commands. Pure and total, like the release grammar.
 */

export type LineAction = 'freeze' | 'unfreeze' | 'stop' | 'resume';
export const lineActions: readonly LineAction[] = ['freeze', 'unfreeze', 'stop', 'resume'];

export interface LineCommand {
  action: LineAction;
  /** An app or `all`. */
  scope: string;
  environment: string;
  /** freeze: how long. */
  durationMs: number | null;
  /** freeze, stop: why. */
  reason: string | null;
  /** stop: roll back what the halted promotions switched. */
  rollback: boolean;
}

export const lineUsage = [
  '  freeze [app|all] <duration> "reason"          refuse deploy, promote and cleanup for a while (e.g. 2h, 90m)',
  '  unfreeze [app|all]                          lift an ad-hoc freeze',
  '  stop [app|all] [--rollback] "reason"         halt running promotions at their next step; queued ones wait',
  '  resume [app|all]                            let stopped promotions go on',
  '  --override "reason"                         deploy/promote/cleanup only, break glass through a freeze (breakGlass users; needs an approval)',
];

const quoted = /"([^"]*)"|“([^”]*)”|'([^']*)'|‘([^’]*)’/;
const maxReason = 200;

/** The line command in `text`, an error a user can read, or null when `text` is not one. */
export function parseLineCommand(text: string, context: CommandContext): LineCommand | CommandError | null {
  const words = text.trim().split(/\s+/);
  if (words[0]?.toLowerCase() === '/release') words.shift();
  const action = lineActions.find((a) => a === words[0]?.toLowerCase());
  if (action === undefined) return null;
  const body = words.slice(1).join(' ');
  const match = quoted.exec(body);
  let reason = match ? (match[1] ?? match[2] ?? match[3] ?? match[4] ?? '').trim() : null;
  const rest = (match ? body.replace(match[0], ' ') : body).split(/\s+/).filter((w) => w.length > 0);

  let environment: string | null = null;
  let rollback = false;
  const positionals: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const token = rest[i]!;
    const [flag, inline] = token.includes('=') ? [token.slice(0, token.indexOf('=')), token.slice(token.indexOf('=') + 1)] : [token, null];
    if (flag === '--env' || flag === '-e' || flag === '--environment') {
      const value = inline ?? rest[++i];
      if (!value) return error('usage', `${flag} needs a value, e.g. ${flag} production`);
      environment = value.toLowerCase();
    } else if (flag === '--rollback' && action === 'stop' && inline === null) {
      rollback = true;
    } else if (flag.startsWith('-') && flag.length > 1) {
      return error('usage', `unknown option "${printable(token, 40)}" for ${action}: ${usageOf(action)}`);
    } else {
      positionals.push(token);
    }
  }

  let scope: string | undefined;
  const first = positionals[0]?.toLowerCase();
  if (first !== undefined && (first === allApps || context.apps.includes(first))) {
    scope = first;
    positionals.shift();
  } else {
    scope = context.channelApp ?? (context.apps.length === 1 ? context.apps[0] : undefined);
  }
  if (scope === undefined) {
    return error('unknown-app', `${first ? `unknown app "${printable(first, 40)}"` : 'which app?'}: name one of ${context.apps.join(', ')} or all. ${usageOf(action)}`);
  }

  const env = environment ?? context.defaultEnvironment('promote') ?? (context.environments.length === 1 ? context.environments[0] : undefined);
  if (env === undefined || !context.environments.includes(env)) {
    return error('unknown-environment', `${env ? `unknown environment "${printable(env, 40)}"` : `${action} needs --env <env>`}: environments are ${context.environments.join(', ')}`);
  }

  let durationMs: number | null = null;
  if (action === 'freeze') {
    const given = positionals.shift();
    durationMs = given === undefined ? null : parseDurationText(given);
    if (durationMs === null) return error('usage', `freeze needs a duration such as 2h, 90m or 1d (at most 30 days)${given ? `, not "${printable(given, 20)}"` : ''}: ${usageOf(action)}`);
  }
  if (action === 'freeze' || action === 'stop') {
    if (reason === null && positionals.length > 0) reason = positionals.splice(0).join(' ');
    if (!reason) return error('usage', `${action} needs a reason, e.g. ${usageOf(action)}`);
    if (reason.length > maxReason) return error('usage', `the reason is ${reason.length} characters; at most ${maxReason}`);
  } else if (reason !== null) {
    positionals.push(reason);
  }
  if (positionals.length > 0) return error('extra-arguments', `unexpected "${printable(positionals.join(' '), 60)}": ${usageOf(action)}`);
  return { action, scope, environment: env, durationMs, reason: reason ? printable(reason, maxReason) : null, rollback };
}

/** `--override "reason"` taken out of a release command's text: the rest, and the reason (null: none; an error: given without a reason). */
export function extractOverride(text: string): { text: string; override: string | null } | CommandError {
  const at = /(^|\s)--override(=|\s+|$)/.exec(text);
  if (!at) return { text, override: null };
  const before = text.slice(0, at.index);
  const after = text.slice(at.index + at[0].length);
  const match = quoted.exec(after);
  if (match && after.slice(0, match.index).trim() === '') {
    const reason = (match[1] ?? match[2] ?? match[3] ?? match[4] ?? '').trim();
    if (reason) return { text: `${before} ${after.slice(match.index + match[0].length)}`.trim(), override: printable(reason, maxReason) };
  }
  const word = /^(\S+)/.exec(after.trim());
  if (word && !word[1]!.startsWith('-') && !match) return { text: `${before} ${after.trim().slice(word[1]!.length)}`.trim(), override: printable(word[1]!, maxReason) };
  return error('usage', '--override needs a reason in quotes, e.g. --override "hotfix for incident 4711"');
}

function usageOf(action: LineAction): string {
  return {
    freeze: '/release freeze [app|all] --env production 2h "incident 4711"',
    unfreeze: '/release unfreeze [app|all] --env production',
    stop: '/release stop [app|all] --env production [--rollback] "error rate up"',
    resume: '/release resume [app|all] --env production',
  }[action];
}

function error(kind: CommandError['kind'], message: string): CommandError {
  return { kind, message };
}
