import type { types } from '@slack/bolt';
import { fit } from './mrkdwn.js';

/** Small Block Kit builders that hold Slack's limits, so no message is rejected for its size. */

export type Block = types.KnownBlock;

export interface SlackMessage {
  /** Notification and screen-reader fallback. */
  text: string;
  blocks: Block[];
}

export const limits = {
  blocks: 50,
  sectionText: 3000,
  headerText: 150,
  contextElements: 10,
  /**
   * The text of all blocks of one message together. Slack refuses more than about 13,200
   * characters with `msg_blocks_too_long` even when every block is within its own limit
   * (slackapi/bolt-js#2509); the stand-in refuses past 12,000. 10,000 plus the fallback text
   * stays under 12,000 even if Slack counted both.
   */
  blockText: 10_000,
  fallbackText: 2000,
  /** A single line inside a packed section; longer lines are cut so packing stays dense. */
  line: 500,
} as const;

export function header(text: string): Block {
  const plain = text.replace(/\s+/g, ' ').trim() || ' ';
  return { type: 'header', text: { type: 'plain_text', text: fit(plain, limits.headerText), emoji: true } };
}

/** `mrkdwn` must already be escaped. */
export function section(mrkdwn: string): Block {
  return { type: 'section', text: { type: 'mrkdwn', text: fit(mrkdwn || ' ', limits.sectionText) } };
}

export function context(...mrkdwn: string[]): Block {
  return { type: 'context', elements: mrkdwn.slice(0, limits.contextElements).map((text) => ({ type: 'mrkdwn', text: fit(text || ' ', limits.sectionText) })) };
}

export function divider(): Block {
  return { type: 'divider' };
}

/**
 * Lines packed into as few sections as possible, at most `maxBlocks` of them and `maxChars` of
 * text. When they do not fit, the first and last lines are kept and the middle is replaced by a count.
 */
export function packLines(lines: readonly string[], maxBlocks: number, wrap: { before: string; after: string } = { before: '', after: '' }, maxChars: number = limits.blockText): Block[] {
  if (maxBlocks <= 0 || lines.length === 0) return [];
  const room = limits.sectionText - wrap.before.length - wrap.after.length;
  const cut = lines.map((line) => fit(line, Math.min(limits.line, room)));
  const blocksBudget = maxBlocks * (room - limits.line - 1);
  // Each block repeats the wrapping; the rest of maxChars is for the lines.
  const charsBudget = maxChars - Math.min(maxBlocks, Math.ceil(maxChars / room) + 1) * (wrap.before.length + wrap.after.length);
  const budget = Math.max(0, Math.min(blocksBudget, charsBudget));
  const total = cut.reduce((sum, line) => sum + line.length + 1, 0);
  const kept = total <= budget ? cut : elideMiddle(cut, budget);
  const blocks: Block[] = [];
  let chunk = '';
  for (const line of kept) {
    if (chunk.length > 0 && chunk.length + 1 + line.length > room) {
      blocks.push(section(`${wrap.before}${chunk}${wrap.after}`));
      chunk = '';
    }
    chunk = chunk.length > 0 ? `${chunk}\n${line}` : line;
  }
  if (chunk.length > 0) blocks.push(section(`${wrap.before}${chunk}${wrap.after}`));
  return blocks.slice(0, maxBlocks);
}

function elideMiddle(lines: string[], budget: number): string[] {
  const half = Math.floor(budget / 2) - 40;
  const head: string[] = [];
  let used = 0;
  for (const line of lines) {
    if (used + line.length + 1 > half) break;
    head.push(line);
    used += line.length + 1;
  }
  const tail: string[] = [];
  used = 0;
  for (let i = lines.length - 1; i >= head.length; i--) {
    const line = lines[i] ?? '';
    if (used + line.length + 1 > half) break;
    tail.unshift(line);
    used += line.length + 1;
  }
  const omitted = lines.length - head.length - tail.length;
  return [...head, `… ${omitted} more line${omitted === 1 ? '' : 's'} not shown …`, ...tail];
}

/** Preformatted text (already escaped with `escapeCode`) in ``` sections. */
export function codeBlocks(escaped: string, maxBlocks: number, maxChars: number = limits.blockText): Block[] {
  return packLines(escaped.split('\n'), maxBlocks, { before: '```\n', after: '\n```' }, maxChars);
}

/**
 * The message as sent: at most 50 blocks (the last one says what was left out), at most
 * `limits.blockText` characters of block text (the longest sections are cut when the renderer's
 * own budgets were not enough), bounded fallback text.
 */
export function message(text: string, blocks: Block[]): SlackMessage {
  const capped = blocks.length <= limits.blocks ? blocks : [...blocks.slice(0, limits.blocks - 1), context(`… ${blocks.length - limits.blocks + 1} more blocks not shown`)];
  return { text: fit(text.trim() || ' ', limits.fallbackText), blocks: withinTextBudget(capped) };
}

/** Characters of text in the blocks, as Slack adds them up for `msg_blocks_too_long`. */
export function blockTextLength(blocks: readonly Block[]): number {
  return blocks.reduce((sum, block) => sum + textsOf(block).reduce((n, t) => n + t.length, 0), 0);
}

function textsOf(block: Block): string[] {
  const b = block as { text?: { text?: unknown }; elements?: { text?: unknown }[]; fields?: { text?: unknown }[] };
  const texts = [b.text?.text, ...(b.elements ?? []).map((e) => e.text), ...(b.fields ?? []).map((f) => f.text)];
  return texts.filter((t): t is string => typeof t === 'string');
}

function withinTextBudget(blocks: Block[]): Block[] {
  let excess = blockTextLength(blocks) - limits.blockText;
  if (excess <= 0) return blocks;
  const result = [...blocks];
  while (excess > 0) {
    // Cut the longest section: that is where a list ran long.
    let longest = -1;
    let longestLength = 0;
    result.forEach((block, index) => {
      const text = (block as { type: string; text?: { text?: string } }).type === 'section' ? ((block as { text?: { text?: string } }).text?.text ?? '') : '';
      if (text.length > longestLength) {
        longest = index;
        longestLength = text.length;
      }
    });
    if (longest < 0 || longestLength <= 40) break;
    const keep = Math.max(20, longestLength - excess - 20);
    const cut = section(fit((result[longest] as { text: { text: string } }).text.text, keep));
    excess -= longestLength - blockTextLength([cut]);
    result[longest] = cut;
  }
  return result;
}
