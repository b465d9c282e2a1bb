/** Field ranges of a cron expression, with an optional leading seconds field (as BullMQ accepts). */
const fields = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] },
  { name: 'day of week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];

const part = /^(\*|\?|[0-9a-z]+(?:-[0-9a-z]+)?)(?:\/(\d+))?$/;

/** Why a cron expression (5 or 6 fields) is not valid, or null. Checks shape and ranges only. */
export function cronRefusal(expression: string): string | null {
  const parts = expression.trim().split(/\s+/);
  if (parts.length !== 5 && parts.length !== 6) {
    return `"${expression}" is not a cron expression: expected 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first, got ${parts.length}`;
  }
  const used = parts.length === 6 ? fields : fields.slice(1);
  for (const [index, text] of parts.entries()) {
    const field = used[index]!;
    for (const item of text.toLowerCase().split(',')) {
      const reason = itemRefusal(item, field);
      if (reason) return `"${expression}": ${field.name} field "${text}" ${reason}`;
    }
  }
  return null;
}

function itemRefusal(item: string, field: (typeof fields)[number]): string | null {
  const match = part.exec(item);
  if (!match) return 'is not valid';
  const [, range = '', step] = match;
  if (step !== undefined && Number(step) === 0) return 'has a step of 0';
  if (range === '*') return null;
  if (range === '?') return field.name.startsWith('day') ? null : 'may not be "?"';
  for (const bound of range.split('-')) {
    const value = /^\d+$/.test(bound) ? Number(bound) : (field.names?.indexOf(bound) ?? -1) + (field.name === 'month' ? 1 : 0);
    if (!/^\d+$/.test(bound) && (field.names?.indexOf(bound) ?? -1) < 0) return `has an unknown name "${bound}"`;
    if (value < field.min || value > field.max) return `is out of range ${field.min}-${field.max}`;
  }
  return null;
}
