import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import { allApps, type Freeze } from '../core/freeze.js';
import { cronRefusal, timeZoneRefusal } from './cron.js';

/**
 * `environments.<env>.freezes`: windows in which deploy, promote and cleanup are refused.
 * Recurring: a cron start (read in `timeZone`, as cron-parser reads the cleanup cron) and a
 * duration; fixed: `from` and `to` as ISO 8601 times with an offset. Each has a reason and,
 * optionally, the apps it covers (default: all).
 */

const isoWithOffset = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
const instant = z
  .string()
  .regex(isoWithOffset, 'must be an ISO 8601 time with an offset, e.g. 2026-12-24T00:00:00+01:00')
  .refine((text) => Number.isFinite(Date.parse(text)), 'is not a real date');

/** "2h", "90m", "1h30m", "3d". */
const durationText = z.string().regex(/^(\d+d)?(\d+h)?(\d+m)?$/, 'must be a duration such as 2h, 90m, 1h30m or 3d').refine((text) => text !== '' && durationMs(text) > 0, 'must be longer than 0');

const common = {
  reason: z.string().min(1, 'must say why, e.g. "weekend freeze"').max(200),
  apps: z.array(z.string()).min(1).optional(),
};

const recurring = z
  .strictObject({ cron: z.string(), duration: durationText, timeZone: z.string().default('UTC'), ...common })
  .superRefine((w, ctx) => {
    const zone = timeZoneRefusal(w.timeZone);
    if (zone) return ctx.addIssue({ code: 'custom', path: ['timeZone'], message: zone });
    const cron = cronRefusal(w.cron, w.timeZone);
    if (cron) ctx.addIssue({ code: 'custom', path: ['cron'], message: cron });
  });

const fixed = z.strictObject({ from: instant, to: instant, ...common }).superRefine((w, ctx) => {
  if (Date.parse(w.to) <= Date.parse(w.from)) ctx.addIssue({ code: 'custom', path: ['to'], message: `must be after from (${w.from})` });
});

export const freezeWindowSchema = z.union([recurring, fixed], {
  error: 'a freeze window has either cron, duration (and timeZone) or from and to, and a reason',
});
export type FreezeWindow = z.output<typeof freezeWindowSchema>;

function durationMs(text: string): number {
  const [, d, h, m] = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$/.exec(text) ?? [];
  return ((Number(d ?? 0) * 24 + Number(h ?? 0)) * 60 + Number(m ?? 0)) * 60_000;
}

/** The configured freezes of `environment` around time `t` (a recurring window: its last start at or before t). */
export function configuredFreezes(environment: { name: string; freezes: readonly FreezeWindow[] }, apps: readonly string[], t: number): Freeze[] {
  const out: Freeze[] = [];
  for (const window of environment.freezes) {
    const span = 'cron' in window ? lastSpan(window.cron, window.timeZone, durationMs(window.duration), t) : { from: Date.parse(window.from), until: Date.parse(window.to) };
    if (span === null) continue;
    const scopes = window.apps ? window.apps.filter((a) => apps.includes(a)) : [allApps];
    for (const scope of scopes) out.push({ scope, environment: environment.name, reason: window.reason, from: span.from, until: span.until, by: 'config', source: 'config' });
  }
  return out;
}

function lastSpan(cron: string, timeZone: string, duration: number, t: number): { from: number; until: number } | null {
  try {
    // prev() is strictly before currentDate: one millisecond on, a window starting exactly at t counts.
    const from = CronExpressionParser.parse(cron, { tz: timeZone, currentDate: new Date(t + 1) }).prev().getTime();
    return { from, until: from + duration };
  } catch {
    return null;
  }
}
