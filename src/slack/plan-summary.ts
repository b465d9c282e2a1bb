import { fit } from './mrkdwn.js';

/**
 * Long plans (and other lists under headings, such as `status`) in short messages. A plan's text (core's `renderPlan`) is a title, then per region a
 * line and its numbered steps, then notes. When it is longer than a message can carry, each list
 * is cut to the same number of items and ends with what was left out ("… and 37 more versions");
 * the full text goes out in parts (`planParts`), each small enough for one message.
 */

export interface PlanSummary {
  text: string;
  /** Steps and notes left out; 0 when the text is whole. */
  omitted: number;
}

interface Group {
  head: string;
  items: string[];
}

/** A single line never takes more than this, so one long name cannot crowd out the rest. */
const lineMax = 400;

export function summarisePlan(planText: string, maxChars: number, itemNoun?: (one: boolean) => string): PlanSummary {
  if (planText.length <= maxChars) return { text: planText, omitted: 0 };
  const groups = groupsOf(planText);
  const most = Math.max(0, ...groups.map((g) => g.items.length));
  // The most items per list that fits, found by halving.
  let low = 0;
  let high = most;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (render(groups, mid, itemNoun).length <= maxChars) low = mid;
    else high = mid - 1;
  }
  const text = render(groups, low, itemNoun);
  const omitted = groups.reduce((sum, g) => sum + Math.max(0, g.items.length - low), 0);
  // Even the heads alone are too long (hundreds of regions): cut the text itself.
  return { text: text.length <= maxChars ? text : fit(text, maxChars), omitted };
}

/** The whole plan in parts of at most `partChars` characters, cut between lines. */
export function planParts(planText: string, partChars: number): string[] {
  const parts: string[] = [];
  let current = '';
  for (const raw of planText.split('\n')) {
    const line = fit(raw, Math.min(lineMax, partChars));
    if (current.length > 0 && current.length + 1 + line.length > partChars) {
      parts.push(current);
      current = '';
    }
    current = current.length > 0 ? `${current}\n${line}` : line;
  }
  if (current.length > 0) parts.push(current);
  return parts;
}

function groupsOf(planText: string): Group[] {
  const groups: Group[] = [];
  for (const line of planText.split('\n')) {
    const cut = fit(line, lineMax);
    const last = groups.at(-1);
    if (/^\s/.test(line) && last !== undefined) last.items.push(cut);
    else groups.push({ head: cut, items: [] });
  }
  return groups;
}

function render(groups: readonly Group[], perList: number, itemNoun?: (one: boolean) => string): string {
  const lines: string[] = [];
  for (const group of groups) {
    lines.push(group.head);
    lines.push(...group.items.slice(0, perList));
    const rest = group.items.slice(perList);
    if (rest.length > 0) lines.push(`  … and ${rest.length} more ${itemNoun ? itemNoun(rest.length === 1) : noun(rest)}`);
  }
  return lines.join('\n');
}

/** "versions" when every left-out line deletes one (cleanup), else "steps" or "notes". */
function noun(rest: readonly string[]): string {
  const one = rest.length === 1;
  if (rest.every((line) => /^\s+\d+\. delete /.test(line))) return one ? 'version' : 'versions';
  if (rest.every((line) => /^\s+- /.test(line))) return one ? 'note' : 'notes';
  return one ? 'step' : 'steps';
}
