import { mention } from '../core/authorization.js';
import type { ReleaseResult } from '../core/events.js';
import { codeBlocks, context, header, message, section, type SlackMessage } from './block-kit.js';
import { code, escapeCode, escapeText, formatMs } from './mrkdwn.js';
import { summarisePlan } from './plan-summary.js';
import { outcomeText } from './progress-message.js';

/** The thread root of an ungated release: the command's first reply, then its final state. */

export interface RootRequest {
  action: string;
  app: string;
  environment: string;
  version: string | null;
  requester: string;
  requestId: string;
}

function what(request: Pick<RootRequest, 'action' | 'app' | 'environment' | 'version'>): string {
  return `${request.action} ${request.app}${request.version ? ` ${request.version}` : ''} in ${request.environment}`;
}

/** Posted when the job is queued: who asked what, and the plan previewed at that moment. */
export function queuedRootMessage(request: RootRequest, planText: string | null): SlackMessage {
  const blocks = [
    header(`▶️ Queued: ${what(request)}`),
    section(`${mention(request.requester)} asked to *${escapeText(request.action)}* *${escapeText(request.app)}*${request.version ? ` ${code(request.version)}` : ''} in *${escapeText(request.environment)}*. Progress follows in this thread.`),
    ...(planText !== null ? planBlocks(planText) : [section('_The plan could not be previewed; the worker plans it when it starts._')]),
    context(`request ${escapeText(request.requestId)}`),
  ];
  return message(`Queued: ${escapeText(what(request))}, asked by ${mention(request.requester)}`, blocks);
}

function planBlocks(planText: string) {
  const plan = summarisePlan(planText, 6000);
  return [
    ...codeBlocks(escapeCode(plan.text), 40, 6200),
    ...(plan.omitted > 0 ? [section(`_The plan is long (${planText.split('\n').length} lines): the list above is shortened, and the full plan follows in this thread._`)] : []),
  ];
}

/** The root once the release finished. */
export function finishedRootMessage(result: ReleaseResult, request: RootRequest | null): SlackMessage {
  const title = `${what({ ...result })}: ${outcomeText(result)}`;
  const blocks = [
    header(title),
    ...(request ? [section(`Asked by ${mention(request.requester)}.`)] : []),
    section(`*Outcome:* ${escapeText(outcomeText(result))} in ${formatMs(result.totalMs)} — see the thread for each region${result.split ? '. 🚨 *The regions are on different versions.*' : ''}`),
  ];
  if (request) blocks.push(context(`request ${escapeText(request.requestId)}`));
  return message(escapeText(title), blocks);
}

/**
 * A refusal whose text comes from core's authorization and approval rules: already safe mrkdwn
 * (mentions built by `mention()`, user input quoted by `printable`), so mentions stay mentions.
 */
export function refusalMessage(mrkdwn: string): SlackMessage {
  return message(mrkdwn, [section(`⚠️ ${mrkdwn}`)]);
}
