import type { Job } from 'bullmq';
import type { ProgressEvent, Reporter } from '../src/core/events.js';
import { describeStep } from '../src/core/render-plan.js';
import { logger } from '../src/observability/log.js';
import type { ReleasePayload } from '../src/queue/payloads.js';
import { formatMs, summaryLines } from '../src/release/summary-text.js';

/**
 * The worker's reporter beside the Slack thread: one line per event in the job's log (visible in
 * any BullMQ dashboard) and one structured log line for the platform's log stack (fields job,
 * kind, app, environment, requestId, event; msg the readable line).
 */
export function createLogReporter(job: Job, payload: ReleasePayload): Reporter {
  return {
    async report(event: ProgressEvent): Promise<void> {
      const text = describeEvent(event);
      if (text === null) return;
      const fields = { job: job.id, kind: job.name, app: payload.app, environment: payload.environment, requestId: payload.requestId, event: event.type };
      if (event.type === 'finished' && event.result.outcome !== 'succeeded') logger().warn(fields, text);
      else logger().info(fields, text);
      await job.log(text);
    },
  };
}

/** One readable line per event (null: nothing worth a line). */
export function describeEvent(event: ProgressEvent): string | null {
  switch (event.type) {
    case 'planned':
      return `planned ${event.plan.steps.length} steps for ${event.plan.action} ${event.plan.app} in ${event.plan.environment}${event.resumedAt > 0 ? `, resuming at step ${event.resumedAt + 1}` : ''}${event.plan.notes.length > 0 ? ` (${event.plan.notes.join('; ')})` : ''}`;
    case 'step-started':
      return null;
    case 'step-finished':
      return `${event.phase === 'compensation' ? 'compensation ' : ''}${event.outcome} ${describeStep(event.step)} (${formatMs(event.durationMs)}): ${event.detail}`;
    case 'compensating':
      return `compensating: ${event.reason}`;
    case 'stopped':
      return `halted, waiting for resume: ${event.reason}`;
    case 'holding':
      return `holding the switched regions, will retry: ${event.reason}`;
    case 'finished':
      return summaryLines(event.result).join(' | ');
  }
}
