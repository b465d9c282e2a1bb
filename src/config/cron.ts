import { CronExpressionParser } from 'cron-parser';

/**
 * Cron expressions are checked by the parser BullMQ schedules with (cron-parser, pinned in
 * package.json to the version bullmq's own dependency names), the way BullMQ's scheduler calls it:
 * `getNextMillis` in bullmq's job-scheduler parses `pattern` with the repeat options (`tz`) and
 * asks for the next occurrence; an expression that throws is refused by `upsertJobScheduler`, and
 * one with no next occurrence makes it create nothing, silently. So an expression is accepted here
 * exactly when BullMQ would schedule it: aliases (`@daily`), `L`, `#`, `H` and an optional leading
 * seconds field included. cron-parser pads fewer than 6 fields from the left (`0 3 * *` is
 * `0 * 0 3 * *`), and so does BullMQ: such an expression is accepted as it reads there.
 */

/** Why BullMQ would not schedule `expression` in time zone `timeZone`, or null. */
export function cronRefusal(expression: string, timeZone = 'UTC', now: Date = new Date()): string | null {
  // upsertJobScheduler refuses a scheduler with neither a pattern nor an interval.
  if (expression === '') return 'is empty: name a cron expression such as "0 3 * * *", or leave cleanupCron out';
  let next: number;
  try {
    next = CronExpressionParser.parse(expression, { tz: timeZone, currentDate: now }).next().getTime();
  } catch (error) {
    return `"${expression}" is not a cron expression BullMQ can schedule: ${error instanceof Error ? error.message : String(error)}`;
  }
  return Number.isFinite(next) ? null : `"${expression}" never fires`;
}

const ianaName = /^[A-Za-z][A-Za-z0-9_+-]*(\/[A-Za-z0-9_+-]+)*$/;

/**
 * Why `name` is not an IANA time zone name (`UTC`, `Europe/Paris`, `Etc/GMT+5`), or null. Offsets
 * (`+01:00`) and luxon's `local`/`system` are refused: the first is accepted by newer Node versions
 * only, the second would make the schedule depend on the worker machine's clock settings.
 */
export function timeZoneRefusal(name: string): string | null {
  const refusal = `"${name}" is not an IANA time zone name such as UTC or Europe/Paris`;
  if (!ianaName.test(name)) return refusal;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
  } catch {
    return refusal;
  }
  return null;
}
