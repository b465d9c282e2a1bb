import type { ProgressEvent } from '../core/events.js';
import { describeStep, renderPlan } from '../core/render-plan.js';
import { formatMs } from '../release/summary-text.js';

const marks = { ok: '✓', skipped: '–', failed: '✗' } as const;

/** One human line per progress event (null: nothing worth a line), for the CLI and logs. */
export function formatProgressEvent(event: ProgressEvent): string | null {
  switch (event.type) {
    case 'planned':
      return event.resumedAt > 0 ? `${renderPlan(event.plan)}\n(resuming at step ${event.resumedAt + 1})` : renderPlan(event.plan);
    case 'step-started':
      return null;
    case 'step-finished': {
      const prefix = event.phase === 'compensation' ? '↩ ' : '';
      return `${prefix}${marks[event.outcome]} ${describeStep(event.step)} (${formatMs(event.durationMs)}): ${event.detail}`;
    }
    case 'holding':
      return `! ${event.reason}\n! holding the regions already switched (policy onRegionUnreachable: hold); the release is retried`;
    case 'stopped':
      return `! ${event.reason}\n! halted at a step boundary; it goes on after /release resume`;
    case 'compensating':
      return `! ${event.reason}\n! switching the regions already switched back to their previous version`;
    case 'finished':
      return null;
  }
}
