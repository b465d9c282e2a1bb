import { defaultEnvironment, findApp, type AppConfig, type Config, type EnvironmentConfig } from '../config/index.js';
import { isGated } from '../core/approval.js';
import { mayRequest } from '../core/authorization.js';
import { extractOverride, parseLineCommand } from '../core/freeze-grammar.js';
import { freezeRefusal, mayOverride } from '../core/freeze.js';
import { freezesInEffect } from '../queue/freezes.js';
import { handleLineCommand, lineStateBlocks } from './line-commands.js';
import { isCommandError, parseReleaseCommand, usageText, type CommandContext, type HistoryCommand, type ReleaseCommand } from '../core/command-grammar.js';
import type { Action, Plan } from '../core/plan.js';
import { renderPlan } from '../core/render-plan.js';
import { readAudit } from '../queue/audit.js';
import { logger } from '../observability/log.js';
import { slackCommandsTotal } from '../observability/metrics.js';
import { enqueueRelease } from '../queue/enqueue.js';
import type { SlackMessage } from './block-kit.js';
import { errorMessage, fullPlanMessages, fullStatusMessages, helpMessage, historyMessage, planMessage, statusMessage } from './blocks.js';
import { context, message } from './block-kit.js';
import { errorText } from './ports.js';
import { explainGroupProblems } from './usergroup-cache.js';
import { postApprovalRequest } from './approval-request.js';
import { accessPolicy, audit, bestEffort, environmentOf, postMessage, type SlackContext } from './slack-context.js';
import { rootMemoKey } from './thread-reporter.js';
import { queuedRootMessage, refusalMessage } from './thread-root.js';

/**
 * `/release ...` after the ack: validate, authorize, then answer (help, errors, refusals, status,
 * history and dry runs: ephemerally, to the one who asked) or act (a gated action: an approval
 * request in the channel; an ungated one: the thread root in the channel, then enqueue).
 */

export interface CommandInput {
  text: string;
  userId: string;
  channelId: string;
  /** Unique per invocation: the request id of an ungated release and the dedupe key. */
  triggerId: string;
  /** The bot's own user id (Bolt's context), to name it in "invite me" guidance. */
  botUserId?: string;
  /** Answers through the command's response_url. */
  respond: (message: SlackMessage & { response_type: 'ephemeral' | 'in_channel' }) => Promise<unknown>;
}

const historyCount = 20;

/** What became of a command, for the log line and cutover_slack_commands_total{action,result}. */
export type CommandResult =
  | 'invalid'
  | 'answered'
  | 'unknown-app'
  | 'refused'
  | 'duplicate'
  | 'cannot-plan'
  | 'dry-run'
  | 'approval-requested'
  | 'enqueued'
  | 'failed';

export interface CommandOutcome {
  /** The parsed action, or "invalid" when the text did not parse. */
  action: string;
  result: CommandResult;
}

/** The request id of a release asked for by this command (ungated: the job's id too). */
export function commandRequestId(triggerId: string): string {
  return `slack-${triggerId.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 100)}`;
}

export async function handleReleaseCommand(slack: SlackContext, input: CommandInput): Promise<CommandOutcome> {
  let outcome: CommandOutcome = { action: 'invalid', result: 'failed' };
  try {
    outcome = await answerCommand(slack, input);
    return outcome;
  } finally {
    slackCommandsTotal.inc(outcome);
    logger().info({ action: outcome.action, result: outcome.result, user: input.userId, channel: input.channelId }, `/release ${outcome.action}: ${outcome.result}`);
  }
}

async function answerCommand(slack: SlackContext, input: CommandInput): Promise<CommandOutcome> {
  const say = (message: SlackMessage) => bestEffort(slack, 'respond', () => input.respond({ response_type: 'ephemeral', ...message }));
  const { config } = slack;
  const line = parseLineCommand(input.text, commandContext(config, input.channelId));
  if (line !== null && !('kind' in line)) return handleLineCommand(slack, input, line, slack.onChange);
  const extracted = line ?? extractOverride(input.text);
  if ('kind' in extracted) {
    await say(errorMessage(`${extracted.message}. Nothing was changed.`));
    return { action: 'invalid', result: 'invalid' };
  }
  const { override } = extracted;
  const parsed = parseReleaseCommand(extracted.text, commandContext(config, input.channelId));
  if (isCommandError(parsed)) {
    const usage = helpMessage(usageText());
    await say({ text: errorMessage(parsed.message).text, blocks: [...errorMessage(`${parsed.message}. Nothing was changed.`).blocks, ...(parsed.kind === 'usage' || parsed.kind === 'unknown-action' || parsed.kind === 'extra-arguments' || parsed.kind === 'missing-version' ? usage.blocks : [])] });
    return { action: 'invalid', result: 'invalid' };
  }
  const done = (result: CommandResult): CommandOutcome => ({ action: parsed.action, result });
  if (parsed.action === 'help') {
    await say(helpMessage(usageText()));
    return done('answered');
  }
  if (parsed.action === 'history') {
    const bound = parsed.app ? findApp(config, parsed.app) : undefined;
    const refused = bound ? readRefusal(bound, input.channelId) : null;
    if (refused) {
      await say(refusalMessage(refused));
      return done('refused');
    }
    await say(await history(slack, parsed, (app) => { const found = findApp(config, app); return found === undefined || readRefusal(found, input.channelId) === null; }));
    return done('answered');
  }

  const app = findApp(config, parsed.app);
  const environment = environmentOf(slack, parsed.environment);
  if (!app) {
    await say(errorMessage(`unknown app "${parsed.app}"`));
    return done('unknown-app');
  }
  const notHere = appEnvironmentRefusal(app, environment, config);
  if (notHere) {
    await say(errorMessage(notHere));
    return done('refused');
  }

  if (parsed.action === 'status') {
    const refused = readRefusal(app, input.channelId);
    if (refused) {
      await say(refusalMessage(refused));
      return done('refused');
    }
    try {
      const states = await slack.reader.status(app.name, environment.name);
      const status = statusMessage(states, app.name, environment.name);
      await say({ ...status, blocks: [...status.blocks, ...(await lineStateBlocks(slack, environment.name, app.name))] });
      await sayRest(say, fullStatusMessages(states, app.name, environment.name), `npx cutover status ${app.name} --env ${environment.name}`);
    } catch (error) {
      await say(errorMessage(`could not read ${app.name} in ${environment.name}: ${errorText(error)}`));
      return done('failed');
    }
    return done('answered');
  }

  const policy = accessPolicy(environment, parsed.action);
  const groupMembers = await slack.groups.resolve([...policy.requesters.usergroups, ...policy.approvers.usergroups]);
  const refusal = mayRequest(input.userId, parsed.action, policy, groupMembers) ?? channelRefusal(app, input.channelId, policy);
  if (refusal) {
    const groups = explainGroupProblems(slack.groups.problems([...policy.requesters.usergroups, ...policy.approvers.usergroups]), environment.name, 'requesters');
    await say(refusalMessage(`${refusal}. Nothing was changed.${groups ? ` ${groups}` : ''}`));
    return done('refused');
  }

  // Freezes are checked here to explain; the worker checks again before its first step.
  const frozen = await freezeAnswer(slack, parsed, input.userId, override);
  if (frozen) {
    await say(refusalMessage(`${frozen}. Nothing was changed.`));
    return done('refused');
  }

  // Slack sends a slash command once, but a proxy or a retried delivery may not: act once per trigger.
  if (!parsed.dryRun && !(await slack.memo.claimOnce(`command:${input.triggerId}`, 24 * 60 * 60))) return done('duplicate');

  const action: Action = parsed.action;
  let plan: Plan | null = null;
  try {
    const preview = await slack.reader.preview({ action, app: app.name, environment: environment.name, version: parsed.version, actor: input.userId });
    if (!preview.ok) {
      await say(errorMessage(`cannot ${describe(parsed)}: ${preview.reasons.join('; ')}. Nothing was changed.`));
      return done('cannot-plan');
    }
    plan = preview.plan;
  } catch (error) {
    const reason = `could not read the clusters of ${environment.name} to plan this: ${errorText(error)}`;
    // Without a plan nobody can approve it; an ungated action (the rollback) still goes to the worker, which plans for itself.
    if (parsed.dryRun || isGated(action, environment.slack.approvals)) {
      await say(errorMessage(`${reason}. Nothing was changed.`));
      return done('failed');
    }
    slack.log.warn(`${describe(parsed)}: ${reason}; enqueued anyway`);
  }

  if (parsed.dryRun) {
    const planText = renderPlan(plan!);
    await say(planMessage(planText));
    await sayRest(say, fullPlanMessages(planText), `npx cutover ${parsed.action} ${app.name}${parsed.version ? ` ${parsed.version}` : ''} --env ${environment.name} --dry-run`);
    return done('dry-run');
  }
  const botUserId = input.botUserId;
  // Breaking glass needs an approval like any gated action, whatever the environment gates.
  if ((isGated(action, environment.slack.approvals) || override !== null) && plan) {
    const posted = await postApprovalRequest(slack, { app: app.name, version: parsed.version, action, plan, environment, requester: input.userId, channel: input.channelId, ...(override !== null ? { override } : {}) });
    if (!posted.ok) await say(refusalMessage(postingGuidance(posted.error, input.channelId, botUserId, 'the approval request')));
    else slack.onChange?.();
    return done(posted.ok ? 'approval-requested' : 'failed');
  }
  return done(await enqueueNow(slack, { command: parsed, action, plan, requester: input.userId, channel: input.channelId, triggerId: input.triggerId, say, ...(botUserId ? { botUserId } : {}) }));
}

/**
 * Why a frozen action is refused at request time, or null: not frozen, or a breakGlass user
 * overriding with a reason (the request then needs an approval, and the worker checks again).
 */
async function freezeAnswer(slack: SlackContext, command: ReleaseCommand, user: string, override: string | null): Promise<string | null> {
  const now = slack.now();
  const freezes = await freezesInEffect(slack.redis, slack.prefix, slack.config, command.environment, [command.app], now);
  const refusal = freezeRefusal(command.action, command.app, now, freezes);
  if (refusal === null) return override !== null ? `nothing is frozen for ${command.action} ${command.app} in ${command.environment}: run it without --override` : null;
  const environment = environmentOf(slack, command.environment);
  if (override === null) return `${refusal}${environment.breakGlass.length > 0 ? '; a breakGlass user can override with --override "reason" (it needs an approval)' : ''}`;
  const notAllowed = mayOverride(user, { users: environment.breakGlass, usergroups: [] }, () => []);
  return notAllowed ? `${refusal}; ${notAllowed}` : null;
}

/** A response_url takes five answers: the first was the summary, so at most four parts follow; the last says where the rest is. */
async function sayRest(say: (message: SlackMessage) => Promise<unknown>, parts: readonly SlackMessage[], cli: string): Promise<void> {
  const room = 4;
  for (const [index, part] of parts.slice(0, room).entries()) {
    const last = index === room - 1 && parts.length > room;
    await say(last ? message(part.text, [...part.blocks, context(`${parts.length - room} more part${parts.length - room === 1 ? '' : 's'} not shown: Slack takes five answers to one command. \`${cli}\` prints everything.`)]) : part);
  }
}

/** The full plan of a long release, as replies in its thread (the root shows a summary). */
async function postFullPlan(slack: SlackContext, channel: string, threadTs: string, planText: string): Promise<void> {
  for (const part of fullPlanMessages(planText)) {
    await bestEffort(slack, 'full plan in the thread', () => postMessage(slack, { channel, thread_ts: threadTs, ...part }, 'background'));
  }
}

/**
 * What to tell the asker when the bot cannot post in the channel: chat.postMessage answers
 * `not_in_channel` in a public channel it was not invited to and `channel_not_found` in a private
 * channel or DM (while the slash command and its response_url still work).
 */
export function postingGuidance(error: unknown, channel: string, botUserId: string | undefined, what: string): string {
  const code = (error as { data?: { error?: unknown } }).data?.error;
  const bot = botUserId ? `<@${botUserId}>` : '@cutover';
  if (code === 'not_in_channel') return `I am not in <#${channel}>, so I could not post ${what}. Invite ${bot} to <#${channel}> (type /invite ${bot} there), then run the command again. Nothing was changed.`;
  if (code === 'channel_not_found') return `I cannot post ${what} here: this is a private channel I was not invited to, or a direct message. Invite ${bot} to the release channel (type /invite ${bot} there) and run the command there. Nothing was changed.`;
  return `could not post ${what} here: ${errorText(error)}. Nothing was changed.`;
}

interface EnqueueAsk {
  command: ReleaseCommand;
  action: Action;
  plan: Plan | null;
  requester: string;
  channel: string;
  triggerId: string;
  say: (message: SlackMessage) => Promise<unknown>;
  botUserId?: string;
}

async function enqueueNow(slack: SlackContext, ask: EnqueueAsk): Promise<'enqueued' | 'failed'> {
  const { command, action } = ask;
  const requestId = commandRequestId(ask.triggerId);
  const root = { action, app: command.app, environment: command.environment, version: command.version, requester: ask.requester, requestId };
  let threadTs: string | undefined;
  const planText = ask.plan ? renderPlan(ask.plan) : null;
  try {
    threadTs = (await postMessage(slack, { channel: ask.channel, ...queuedRootMessage(root, planText) })).ts;
  } catch (error) {
    await ask.say(refusalMessage(postingGuidance(error, ask.channel, ask.botUserId, 'the release')));
    return 'failed';
  }
  if (threadTs === undefined) return 'failed';
  const target = { channel: ask.channel, threadTs };
  await bestEffort(slack, 'remember thread root', () => slack.memo.remember(rootMemoKey(target), JSON.stringify(root), 7 * 24 * 60 * 60));
  const base = {
    requestId,
    app: command.app,
    environment: command.environment,
    requestedBy: ask.requester,
    approvedBy: [],
    source: 'slack' as const,
    slack: target,
    // No plan digest: nobody approved a plan, and the worker plans what is true when it starts.
  };
  try {
    await enqueue(slack, action, base, command.version);
  } catch (error) {
    const reason = `could not queue ${describe(command)}: ${errorText(error)}. Nothing was changed; try again.`;
    await bestEffort(slack, 'thread reply', () => postMessage(slack, { channel: ask.channel, thread_ts: threadTs, ...errorMessage(reason) }));
    await ask.say(errorMessage(reason));
    return 'failed';
  }
  await audit(slack, {
    at: new Date(slack.now()).toISOString(),
    kind: 'requested',
    app: command.app,
    environment: command.environment,
    ...(command.version ? { version: command.version } : {}),
    actor: ask.requester,
    requestId,
    detail: `${action}, no approval needed`,
  });
  // After the enqueue, so a long plan's parts never delay the release itself.
  if (planText !== null) await postFullPlan(slack, ask.channel, threadTs, planText);
  return 'enqueued';
}

interface EnqueueBase {
  requestId: string;
  app: string;
  environment: string;
  requestedBy: string;
  approvedBy: string[];
  source: 'slack';
  slack: { channel: string; threadTs: string };
}

/** Enqueue an ungated release of `kind`; the request id makes a repeated call a no-op. */
async function enqueue(slack: SlackContext, kind: Action, base: EnqueueBase, version: string | null): Promise<{ jobId: string; deduplicated: boolean }> {
  switch (kind) {
    case 'deploy':
    case 'promote':
      return enqueueRelease(slack.queue, kind, { ...base, version: version ?? '' });
    case 'rollback':
      return enqueueRelease(slack.queue, kind, { ...base, ...(version ? { toVersion: version } : {}) });
    case 'bootstrap':
      return enqueueRelease(slack.queue, kind, { ...base, ...(version ? { version } : {}) });
    case 'cleanup':
      return enqueueRelease(slack.queue, kind, base);
  }
}

async function history(slack: SlackContext, command: HistoryCommand, readable: (app: string) => boolean): Promise<SlackMessage> {
  try {
    const entries = await readAudit(slack.redis, slack.prefix, { count: command.environment || !command.app ? historyCount * 5 : historyCount, ...(command.app ? { app: command.app } : {}) });
    const shown = entries.filter((e) => (command.environment === null || e.environment === command.environment) && readable(e.app)).slice(0, historyCount);
    return historyMessage(shown, { app: command.app, environment: command.environment });
  } catch (error) {
    return errorMessage(`could not read the history: ${errorText(error)}`);
  }
}

/** What the grammar needs from the config: apps, the app this channel is bound to, environments, defaults. */
export function commandContext(config: Config, channel: string): CommandContext {
  const apps = Object.values(config.apps);
  const bound = apps.filter((app) => app.slack.channels.includes(channel));
  return {
    apps: apps.map((a) => a.name),
    channelApp: bound.length === 1 ? bound[0]?.name : undefined,
    environments: Object.keys(config.environments),
    defaultEnvironment: (action) => defaultEnvironment(config, action)?.name,
  };
}

function appEnvironmentRefusal(app: AppConfig, environment: EnvironmentConfig, config: Config): string | null {
  if (app.environments === undefined || app.environments.includes(environment.name)) return null;
  const allowed = app.environments.filter((e) => Object.hasOwn(config.environments, e));
  return `${app.name} is not released to ${environment.name}; its environments are ${allowed.join(', ')}`;
}

/**
 * What an app's releases look like is told where the app is released from: an app bound to
 * channels answers `status` and `history` there only (an app bound to none, anywhere).
 */
function readRefusal(app: AppConfig, channel: string): string | null {
  if (app.slack.channels.length === 0 || app.slack.channels.includes(channel)) return null;
  return `${app.name} is released from ${app.slack.channels.map((c) => `<#${c}>`).join(', ')}: ask about it there. Nothing was shown`;
}

/** With no requesters listed, anyone may ask, but only in the channels the app is bound to (if it has any). */
function channelRefusal(app: AppConfig, channel: string, policy: { requesters: { users: readonly string[]; usergroups: readonly string[] } }): string | null {
  const open = policy.requesters.users.length === 0 && policy.requesters.usergroups.length === 0;
  if (!open || app.slack.channels.length === 0 || app.slack.channels.includes(channel)) return null;
  return `${app.name} is released from ${app.slack.channels.map((c) => `<#${c}>`).join(', ')}, not from this channel`;
}

function describe(command: Pick<ReleaseCommand, 'action' | 'app' | 'environment' | 'version'>): string {
  return `${command.action} ${command.app}${command.version ? ` ${command.version}` : ''} in ${command.environment}`;
}
