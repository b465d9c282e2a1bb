import { approverIds, type ApprovalRequest } from '../core/approval.js';
import { describePeople, mention, type People } from '../core/authorization.js';
import type { RegionReport, ReleaseResult } from '../core/events.js';
import type { RegionState } from '../core/model.js';
import { describeAfter } from '../core/outcome.js';
import { splitDescription } from '../core/refusals.js';
import { compareNewestFirst } from '../core/version.js';
import { codeBlocks, context, divider, header, message, packLines, section, type Block, type SlackMessage } from './block-kit.js';
import { code, escapeCode, escapeText, fit, formatMs, slackDate, slackDateIso } from './mrkdwn.js';
import { planParts, summarisePlan } from './plan-summary.js';
import { outcomeText } from './progress-message.js';

/**
 * Block Kit messages of the Slack app. Pure: data in, `{ text, blocks }` out. Every message stays
 * within Slack's limits, its total text included: long plans and lists are summarised ("… and 37
 * more versions") and the whole text goes out in parts (`fullPlanMessages`, `fullStatusMessages`).
 */

/** How much of a message a plan may take; the rest is the request's own text. */
export const planBudget = 6000;
/** A part of a long plan or list: one code block per message, well within the total. */
const partBudget = 8000;

export { progressMessage } from './progress-message.js';
export type { SlackMessage } from './block-kit.js';

export interface ReactionNames {
  approveReaction: string;
  rejectReaction: string;
  /** Who may approve, shown on the request. */
  approvers?: People;
}

/** Message metadata of an approval request (event type `cutover_approval`): what other apps can read. */
export interface ApprovalMetadata {
  event_type: 'cutover_approval';
  event_payload: { request_id: string; app: string; environment: string; action: string; version: string; plan_digest: string; state: string };
}

export type ApprovalMessage = SlackMessage & { metadata: ApprovalMetadata };

export function approvalMetadata(request: ApprovalRequest): ApprovalMetadata {
  return {
    event_type: 'cutover_approval',
    event_payload: {
      request_id: request.id,
      app: request.app,
      environment: request.environment,
      action: request.action,
      version: request.version ?? '',
      plan_digest: request.planDigest,
      state: request.state,
    },
  };
}

/** action_id of the request's buttons; the value is the request id. */
export const approveActionId = 'cutover_approve';
export const rejectActionId = 'cutover_reject';

/** The thread root of a gated release: what changes where, who asked, approvals n/m, buttons, expiry. */
export function approvalRequestMessage(request: ApprovalRequest, planText: string, options: ReactionNames): ApprovalMessage {
  const what = describeRequest(request);
  const needed = request.requiredApprovals;
  const approvers = approverIds(request);
  const from = options.approvers ? ` from ${describePeople(options.approvers)}` : '';
  const lines = [
    `*Approvals:* ${approvers.length}/${needed}${approvers.length > 0 ? ` — approved by ${approvers.map(mention).join(', ')}` : ''}`,
    `Needs ${needed} approval${needed === 1 ? '' : 's'}${from}, not from the requester.`,
    `Press *Approve* or *Reject*, or react with :${reaction(options.approveReaction)}: to approve or :${reaction(options.rejectReaction)}: to reject.`,
  ];
  const plan = summarisePlan(planText, planBudget);
  const blocks: Block[] = [
    header(`Approval needed: ${what}`),
    section(`${askedBy(request)} asks to *${escapeText(request.action)}* ${describeTarget(request)}.`),
    ...(request.override !== undefined ? [section(`🔨 *Break glass:* this overrides a freeze in force. Reason: ${escapeText(request.override)}`)] : []),
    ...codeBlocks(escapeCode(plan.text), 40, planBudget + 200),
    ...(plan.omitted > 0 ? [section(fullPlanInThread(planText))] : []),
    section(lines.join('\n')),
    decisionButtons(request, what),
    context(`Expires ${slackDate(request.expiresAt)}`, `request ${escapeText(request.id)}`, ...originContext(request)),
  ];
  const fallback = `Approval needed: ${escapeText(what)}, asked by ${askedByPlain(request)} (${approvers.length}/${needed} approvals)`;
  return { ...message(fallback, blocks), metadata: approvalMetadata(request) };
}

/** Approve (with Slack's confirm dialog) and Reject. A new block_id per vote count, as Slack asks of updated messages. */
function decisionButtons(request: ApprovalRequest, what: string): Block {
  const plain = (text: string) => ({ type: 'plain_text' as const, text, emoji: true });
  const needed = request.requiredApprovals - request.votes.length;
  const effect = needed <= 1 ? 'It starts as soon as your approval is confirmed.' : `It still needs ${needed} approvals after yours.`;
  return {
    type: 'actions',
    block_id: fit(`approval:${request.id}:${request.votes.length}`, 255),
    elements: [
      {
        type: 'button',
        action_id: approveActionId,
        text: plain('Approve'),
        style: 'primary',
        value: request.id,
        confirm: {
          title: plain('Approve this release?'),
          text: plain(fit(`${what}. ${effect}`, 300)),
          confirm: plain('Approve'),
          deny: plain('Cancel'),
        },
      },
      { type: 'button', action_id: rejectActionId, text: plain('Reject'), style: 'danger', value: request.id },
    ],
  };
}

/** Who asked: a Slack user, or the CLI on behalf of an actor. */
function askedBy(request: ApprovalRequest): string {
  return request.origin.via === 'cli' ? `The cutover CLI, run by ${code(request.origin.actor)},` : mention(request.requester);
}

function askedByPlain(request: ApprovalRequest): string {
  return request.origin.via === 'cli' ? `the cutover CLI (${escapeText(request.origin.actor)})` : mention(request.requester);
}

function originContext(request: ApprovalRequest): string[] {
  if (request.origin.via !== 'cli') return [];
  const url = request.origin.runUrl;
  return [url && /^https?:\/\/[^\s<>|]+$/.test(url) ? `from the CLI · <${url.replace(/&/g, '&amp;')}|CI run>` : 'from the CLI'];
}

/** The request message once decided: approved, used, rejected, expired or superseded; with the outcome when known. */
export function approvalStateMessage(request: ApprovalRequest, details: { planText?: string; result?: ReleaseResult } = {}): ApprovalMessage {
  const what = describeRequest(request);
  const state = stateLine(request);
  const blocks: Block[] = [header(`${state.title}: ${what}`), section(state.body)];
  if (details.planText !== undefined) {
    const plan = summarisePlan(details.planText, planBudget);
    blocks.push(...codeBlocks(escapeCode(plan.text), 40, planBudget + 200));
    if (plan.omitted > 0) blocks.push(section(fullPlanInThread(details.planText)));
  }
  if (details.result) blocks.push(section(`*Outcome:* ${escapeText(outcomeText(details.result))} in ${formatMs(details.result.totalMs)} — see the thread for each region`));
  blocks.push(context(`asked by ${askedByPlain(request)} ${slackDate(request.createdAt)}`, `request ${escapeText(request.id)}`, ...originContext(request)));
  return { ...message(`${state.title}: ${escapeText(what)}`, blocks), metadata: approvalMetadata(request) };
}

function stateLine(request: ApprovalRequest): { title: string; body: string } {
  const approvers = approverIds(request);
  const by = approvers.map(mention).join(', ') || 'nobody';
  switch (request.state) {
    case 'pending':
      return { title: '⏳ Waiting for approval', body: `${approvers.length}/${request.requiredApprovals} approvals so far (${by}).` };
    case 'approved':
      return { title: '✅ Approved', body: `Approved by ${by}. Queued to run: the release follows in this thread.` };
    case 'used':
      return { title: '▶️ Approved and started', body: `Approved by ${by}. The release runs in this thread; this approval cannot be used again.` };
    case 'rejected':
      return request.rejectedBy === request.requester
        ? { title: '🚫 Cancelled', body: `Cancelled by the requester ${mention(request.requester)}. Nothing ran.` }
        : { title: '❌ Rejected', body: `Rejected by ${request.rejectedBy ? mention(request.rejectedBy) : 'an approver'}. Nothing ran.` };
    case 'expired':
      return { title: '⌛ Expired', body: `Not approved before ${slackDate(request.expiresAt)}, so nothing ran. Ask again with the same command if it is still wanted.` };
    case 'superseded':
      return {
        title: '♻️ Superseded',
        body: 'The live state changed since this was approved, so the plan is different now. Nothing ran; the new plan needs its own approval.',
      };
  }
}

/** The final reply of a release thread: per-region outcome, timings and health; splits said loudly. */
export function summaryMessage(result: ReleaseResult): SlackMessage {
  const title = `${describeResult(result)}: ${outcomeText(result)}`;
  const blocks: Block[] = [header(title)];
  if (result.split) {
    const where = result.regions.map((r) => `${escapeText(r.region)}: ${code(standsOn(r))}`).join(', ');
    blocks.push(section(`🚨 *WARNING: the regions are on different versions.* ${where}. Users get different versions depending on region: promote or roll back to bring them together.`));
  }
  if (result.reasons.length > 0) blocks.push(...packLines(['*Why:*', ...result.reasons.map((r) => `• ${escapeText(r)}`)], 3, undefined, 2000));
  if (result.compensation?.ran) {
    const { restored, failed } = result.compensation;
    const parts = [`↩️ *Compensation ran.*`];
    if (restored.length > 0) parts.push(`Restored and verified: ${restored.map(escapeText).join(', ')}.`);
    if (failed.length > 0) parts.push(`🚨 *NOT restored: ${failed.map(escapeText).join(', ')}* — check these regions now.`);
    if (restored.length === 0 && failed.length === 0) parts.push('No region needed restoring.');
    blocks.push(section(parts.join(' ')));
  }
  blocks.push(divider());
  blocks.push(...packLines(result.regions.map(regionSummary), 40, undefined, 5000));
  blocks.push(context(`total ${formatMs(result.totalMs)}`, `${escapeText(result.environment)} · ${result.regions.length} region${result.regions.length === 1 ? '' : 's'}`));
  const fallback = [title, result.split ? 'WARNING: regions are on different versions' : null, ...result.regions.map((r) => `${r.region}: ${r.outcome}`)].filter((l) => l !== null);
  return message(escapeText(fallback.join('\n')), blocks);
}

const regionMarks: Record<RegionReport['outcome'], string> = {
  switched: '✅',
  'already-live': '✅',
  installed: '✅',
  cleaned: '✅',
  restored: '↩️',
  failed: '❌',
  'not-started': '⏸️',
};

function regionSummary(report: RegionReport): string {
  const head = [`${regionMarks[report.outcome]} *${escapeText(report.region)}* ${report.outcome}`];
  if (report.from !== null || report.to !== null) head.push(`${code(report.from ?? 'none')} → ${code(report.to ?? 'none')}`);
  if (report.outcome === 'restored') head.push(`→ back to ${code(report.from ?? 'none')}`);
  const lines = [head.join(' ')];
  const t = report.timings;
  const timings = [
    t.patchMs !== null ? `patch ${formatMs(t.patchMs)}` : null,
    t.endpointsMs !== null ? `EndpointSlices converged ${formatMs(t.endpointsMs)}` : null,
    t.dataPlaneMs !== null ? `traffic converged ${formatMs(t.dataPlaneMs)}` : null,
    `total ${formatMs(t.totalMs)}`,
  ].filter((p) => p !== null);
  lines.push(`    ${timings.join(' · ')}`);
  if (report.health) {
    const samples = Object.entries(report.health.samples).map(([version, n]) => `${n}× ${code(version)}`);
    const sampled = Object.values(report.health.samples).reduce((a, b) => a + b, 0) + report.health.failedSamples;
    lines.push(
      `    health: ${report.health.readyPods} ready pod${report.health.readyPods === 1 ? '' : 's'} · ${sampled} sampled: ${samples.join(', ') || 'no answers'}${report.health.failedSamples > 0 ? ` · ${report.health.failedSamples} failed` : ''}`,
    );
  }
  if (report.after) lines.push(`    ${escapeText(describeAfter(report.after))}`);
  if (report.detail && (report.outcome === 'failed' || report.outcome === 'restored' || report.outcome === 'not-started')) lines.push(`    ${escapeText(report.detail)}`);
  return lines.join('\n');
}

/** Where a region's live traffic stands after the release, as far as the report tells. */
function standsOn(report: RegionReport): string {
  // What the cluster said after the release, when it was read again, is the truth.
  if (report.after) return 'unknown' in report.after ? 'unknown: check' : (report.after.live ?? 'none');
  switch (report.outcome) {
    case 'switched':
    case 'already-live':
      return report.to ?? '?';
    case 'restored':
    case 'not-started':
      return report.from ?? 'none';
    default:
      return 'unknown: check';
  }
}

/** `status`: per region, live and previous versions and the installed versions with readiness and age. */
export function statusMessage(states: readonly RegionState[], app: string, environment: string): SlackMessage {
  const title = `${app} in ${environment}`;
  const blocks: Block[] = [header(`Status: ${title}`)];
  const split = splitDescription(states);
  if (split) blocks.push(section(`🚨 *WARNING: the regions are on different live versions:* ${escapeText(split)}`));
  if (states.length === 0) blocks.push(section('No regions are configured for this environment.'));
  const perRegion = Math.max(1, Math.floor(44 / Math.max(1, states.length)));
  const charsPerRegion = Math.floor(statusBudget / Math.max(1, states.length));
  let omitted = 0;
  for (const state of states) {
    const summary = summarisePlan(regionStatus(state).join('\n'), charsPerRegion - 100, versionsNoun);
    omitted += summary.omitted;
    blocks.push(...packLines(summary.text.split('\n'), perRegion, undefined, charsPerRegion));
  }
  if (omitted > 0) blocks.push(context(`${omitted} more version${omitted === 1 ? '' : 's'}: the full list follows.`));
  const fallback = states.map((s) => `${s.region}: ${s.unreachable !== undefined ? 'could not be read' : s.live ? (s.live.version ?? 'no live version') : 'not bootstrapped'}`).join(', ');
  return message(escapeText(`${title}: ${fallback}`), blocks);
}

const statusBudget = 8500;
const versionsNoun = (one: boolean): string => (one ? 'version' : 'versions');

/** `status` in full, for when `statusMessage` had to summarise: every region's every version, in parts. */
export function fullStatusMessages(states: readonly RegionState[], app: string, environment: string): SlackMessage[] {
  const text = states.map((state) => regionStatus(state).join('\n')).join('\n');
  const charsPerRegion = Math.floor(statusBudget / Math.max(1, states.length));
  if (states.every((state) => summarisePlan(regionStatus(state).join('\n'), charsPerRegion - 100).omitted === 0)) return [];
  const parts = planParts(text, partBudget);
  return parts.map((part, i) => {
    const label = `Status of ${app} in ${environment}, part ${i + 1} of ${parts.length}`;
    return message(escapeText(label), [context(escapeText(label)), ...packLines(part.split('\n'), 10, undefined, partBudget + 200)]);
  });
}

function regionStatus(state: RegionState): string[] {
  const lines: string[] = [];
  if (state.unreachable !== undefined) return [`*${escapeText(state.region)}*: ⚠️ could not be read: ${escapeText(state.unreachable)}`];
  if (state.live === null) {
    lines.push(`*${escapeText(state.region)}*: not bootstrapped (no live Service)`);
  } else {
    const live = state.live;
    const promoted = [live.promotedBy ? `by ${mention(live.promotedBy)}` : null, live.promotedAt ? slackDateIso(live.promotedAt) : null].filter((p) => p !== null);
    lines.push(
      `*${escapeText(state.region)}*: live ${live.version ? code(live.version) : '_none_'}${live.changedOutside ? ' ⚠️ switched without cutover' : ''} · previous ${live.previousVersion ? code(live.previousVersion) : '_none_'}${promoted.length > 0 ? ` · promoted ${promoted.join(' ')}` : ''}${state.liveRouteExists ? '' : ' · ⚠️ live route missing'}`,
    );
  }
  const versions = [...state.versions].sort(compareNewestFirst);
  if (versions.length === 0) lines.push('    no versions installed');
  for (const v of versions) {
    const role = v.version === state.live?.version ? ' (live)' : v.version === state.live?.previousVersion ? ' (previous)' : '';
    const ready = v.readyReplicas >= v.desiredReplicas && v.desiredReplicas > 0 ? '✅' : '⏳';
    const missing = [v.hasService ? null : 'no Service', v.hasRoute ? null : 'no route'].filter((m) => m !== null);
    lines.push(
      `    ${ready} ${code(v.version)}${role} ${v.readyReplicas}/${v.desiredReplicas} ready · installed ${slackDateIso(v.createdAt, '{ago}')}${missing.length > 0 ? ` · ⚠️ ${missing.join(', ')}` : ''}`,
    );
  }
  return lines;
}

/** An audit trail entry as `history` shows it (the queue's `AuditEntry` matches). */
export interface HistoryEntry {
  at: string;
  kind: string;
  app: string;
  environment: string;
  version?: string | undefined;
  actor?: string | undefined;
  detail?: string | undefined;
}

const historyMarks: Record<string, string> = {
  requested: '📝',
  approved: '👍',
  rejected: '❌',
  expired: '⌛',
  started: '▶️',
  succeeded: '✅',
  failed: '❌',
  'rolled-back': '↩️',
  stopped: '⏹️',
  superseded: '⏭️',
};

/** `history`: the newest entries first, one line each. */
export function historyMessage(entries: readonly HistoryEntry[], scope: { app?: string | null; environment?: string | null } = {}): SlackMessage {
  const where = [scope.app, scope.environment ? `in ${scope.environment}` : null].filter((p) => p).join(' ');
  const title = `History${where ? `: ${where}` : ''}`;
  if (entries.length === 0) return message(escapeText(`${title}: nothing recorded yet`), [header(title), section('No releases recorded yet.')]);
  const lines = entries.map((e) => {
    const who = e.actor ? ` by ${mention(e.actor)}` : '';
    const detail = e.detail ? ` — ${escapeText(e.detail)}` : '';
    return `${historyMarks[e.kind] ?? '•'} ${slackDateIso(e.at)} *${escapeText(e.kind)}* ${escapeText(e.app)}${e.version ? ` ${code(e.version)}` : ''} in ${escapeText(e.environment)}${who}${detail}`;
  });
  return message(escapeText(`${title}: ${entries.length} entries`), [header(title), ...packLines(lines, 45)]);
}

/** `--dry-run`: the plan (summarised when long: the parts follow), and a clear statement that nothing changed. */
export function planMessage(planText: string): SlackMessage {
  const first = planText.split('\n')[0] ?? '';
  const plan = summarisePlan(planText, planBudget);
  return message(escapeText(`Dry run: ${first}`), [
    header('Dry run: nothing was changed'),
    ...codeBlocks(escapeCode(plan.text), 45, planBudget + 200),
    ...(plan.omitted > 0 ? [section('_The plan is long: the list above is shortened, and the full plan follows in the next messages._')] : []),
    context('Run the same command without --dry-run to do it.'),
  ]);
}

/**
 * A long plan in full, in parts of one code block each (empty when the plan fits one message):
 * posted in the request's thread, or after a dry run's summary.
 */
export function fullPlanMessages(planText: string): SlackMessage[] {
  if (summarisePlan(planText, planBudget).omitted === 0) return [];
  const parts = planParts(planText, partBudget);
  return parts.map((part, i) => {
    const label = `Full plan, part ${i + 1} of ${parts.length}`;
    return message(label, [context(label), ...codeBlocks(escapeCode(part), 5, partBudget + 200)]);
  });
}

function fullPlanInThread(planText: string): string {
  return `_The plan is long (${planText.split('\n').length} lines): the list above is shortened, and the full plan follows in this thread._`;
}

/** A refusal or a malformed command, for an ephemeral reply. */
export function errorMessage(text: string): SlackMessage {
  return message(escapeText(text), [section(`⚠️ ${escapeText(text)}`)]);
}

/** `help`: the usage text as preformatted text. */
export function helpMessage(usage: string): SlackMessage {
  return message(escapeText(usage.split('\n')[0] ?? 'Usage'), codeBlocks(escapeCode(usage), 10));
}

function describeRequest(request: ApprovalRequest): string {
  return `${request.action} ${request.app}${request.version ? ` ${request.version}` : ''} in ${request.environment}`;
}

function describeTarget(request: ApprovalRequest): string {
  return `*${escapeText(request.app)}*${request.version ? ` ${code(request.version)}` : ''} in *${escapeText(request.environment)}*`;
}

function describeResult(result: ReleaseResult): string {
  const verbs: Record<ReleaseResult['action'], string> = { deploy: 'Deploy', promote: 'Promote', rollback: 'Rollback', cleanup: 'Cleanup', bootstrap: 'Bootstrap' };
  return `${verbs[result.action]} ${result.app}${result.version ? ` ${result.version}` : ''} in ${result.environment}`;
}

function reaction(name: string): string {
  return name.replace(/[^a-z0-9_+-]/gi, '');
}
