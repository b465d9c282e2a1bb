import type { ProgressEvent, ReleaseResult, StepOutcome } from '../core/events.js';
import type { Plan, Step } from '../core/plan.js';
import { describeStep } from '../core/render-plan.js';
import { context, header, limits, message, packLines, section, type SlackMessage } from './block-kit.js';
import { escapeText, formatMs } from './mrkdwn.js';

/**
 * The one progress message of a release thread, re-rendered from all events so far and updated
 * in place with `chat.update` (one message instead of a line per step keeps within rate limits).
 */

interface StepLine {
  step: Step;
  status: 'waiting' | 'running' | 'earlier' | StepOutcome;
  durationMs?: number;
  detail?: string;
}

const marks: Record<StepLine['status'], string> = {
  waiting: '▫️',
  running: '⏳',
  earlier: '✅',
  ok: '✅',
  skipped: '⏭',
  failed: '❌',
};

export function progressMessage(events: readonly ProgressEvent[]): SlackMessage {
  let plan: Plan | null = null;
  let forward: StepLine[] = [];
  const compensation: StepLine[] = [];
  let compensatingReason: string | null = null;
  let holdingReason: string | null = null;
  let stoppedReason: string | null = null;
  let result: ReleaseResult | null = null;

  for (const event of events) {
    switch (event.type) {
      case 'planned':
        holdingReason = null;
        stoppedReason = null;
        plan = event.plan;
        forward = event.plan.steps.map((step, index) => ({ step, status: index < event.resumedAt ? 'earlier' : 'waiting' }));
        break;
      case 'step-started':
      case 'step-finished': {
        const lines = event.phase === 'forward' ? forward : compensation;
        const line: StepLine =
          event.type === 'step-started'
            ? { step: event.step, status: 'running' }
            : { step: event.step, status: event.outcome, durationMs: event.durationMs, detail: event.detail };
        lines[event.index] = line;
        break;
      }
      case 'compensating':
        compensatingReason = event.reason;
        break;
      case 'holding':
        holdingReason = event.reason;
        break;
      case 'stopped':
        stoppedReason = event.reason;
        break;
      case 'finished':
        result = event.result;
        break;
    }
  }

  const title = plan ? `${verb(plan)} ${plan.app}${plan.version ? ` ${plan.version}` : ''} in ${plan.environment}` : 'Release';
  const state = result ? outcomeText(result) : compensatingReason !== null ? 'rolling back' : stoppedReason !== null ? 'stopped, waiting for resume' : holdingReason !== null ? 'holding, will retry' : 'in progress';
  const done = forward.filter((l) => l.status === 'ok' || l.status === 'skipped' || l.status === 'earlier').length;
  const blocks = [header(`${title}: ${state}`)];
  const forwardLines = forward.filter((l) => l !== undefined).map(render);
  blocks.push(...packLines(forwardLines, compensatingReason !== null ? 20 : 44, undefined, compensatingReason !== null ? 5000 : 8000));
  if (holdingReason !== null && result === null) {
    blocks.push(section(`⏸️ *Holding* the regions already switched (policy \`onRegionUnreachable: hold\`), retrying: ${escapeText(holdingReason)}`));
  }
  if (stoppedReason !== null && result === null) {
    blocks.push(section(`🛑 *Stopped* at a step boundary: ${escapeText(stoppedReason)}. It goes on after \`/release resume\`.`));
  }
  if (compensatingReason !== null) {
    blocks.push(section(`↩️ *Rolling back* the regions already switched: ${escapeText(compensatingReason)}`));
    blocks.push(...packLines(compensation.filter((l) => l !== undefined).map(render), 20, undefined, 3000));
  }
  const footer = [`${done}/${forward.length} steps done`];
  if (result) footer.push(`total ${formatMs(result.totalMs)}`);
  blocks.push(context(footer.join(' · ')));
  const current = [...compensation, ...forward].find((l) => l !== undefined && l.status === 'running');
  const text = `${title}: ${state}${current ? ` — ${describeStep(current.step)}` : ''}`;
  return message(escapeText(text), blocks.slice(0, limits.blocks));
}

function render(line: StepLine): string {
  const parts = [`${marks[line.status]} ${escapeText(describeStep(line.step))}`];
  if (line.durationMs !== undefined && line.status !== 'skipped') parts.push(`_${formatMs(line.durationMs)}_`);
  if (line.status === 'earlier') parts.push('_(earlier attempt)_');
  if (line.detail && (line.status === 'failed' || line.status === 'skipped')) parts.push(`— ${escapeText(line.detail)}`);
  return parts.join(' ');
}

function verb(plan: Plan): string {
  const verbs: Record<Plan['action'], string> = { deploy: 'Deploy', promote: 'Promote', rollback: 'Roll back', cleanup: 'Clean up', bootstrap: 'Bootstrap' };
  return verbs[plan.action];
}

export function outcomeText(result: ReleaseResult): string {
  switch (result.outcome) {
    case 'succeeded':
      return '✅ done';
    case 'rolled-back':
      return '↩️ failed and rolled back';
    case 'failed':
      return '❌ failed';
    case 'refused':
      return '⛔ refused';
    case 'stopped':
      return '⏹️ stopped: changed outside this release';
    case 'superseded':
      return '⏭️ superseded';
  }
}
