/** Text for Slack's mrkdwn: escaping, safe truncation, date tokens, durations. */

/** Escape the three characters Slack reserves, and drop control characters other than newline and tab. */
export function escapeText(text: string): string {
  return text
    .replace(/[\p{Cc}\p{Cf}]/gu, (ch) => (ch === '\n' || ch === '\t' ? ch : ''))
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;');
}

/** Text inside a ``` block: escaped, and unable to close the fence early. */
export function escapeCode(text: string): string {
  return escapeText(text).replace(/```/g, '`\u200b``');
}

/**
 * Shorten to at most `max` characters without splitting a surrogate pair, an `&amp;` entity or a
 * `<...>` token, and close a code fence the cut left open.
 */
export function fit(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, Math.max(0, max - 5));
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  const open = cut.lastIndexOf('<');
  if (open > cut.lastIndexOf('>')) cut = cut.slice(0, open);
  const amp = cut.lastIndexOf('&');
  if (amp !== -1 && amp >= cut.length - 6 && !cut.slice(amp).includes(';')) cut = cut.slice(0, amp);
  const fences = cut.split('```').length - 1;
  return fences % 2 === 1 ? `${cut}…\n\`\`\`` : `${cut}…`;
}

/** `<!date^1700000000^{date_short_pretty} at {time}|2023-11-14 22:13 UTC>`: shown in the reader's time zone. */
export function slackDate(epochMs: number, format = '{date_short_pretty} at {time}'): string {
  if (!Number.isFinite(epochMs)) return 'an unknown time';
  const date = new Date(epochMs);
  if (Number.isNaN(date.getTime())) return 'an unknown time';
  const fallback = `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return `<!date^${Math.floor(epochMs / 1000)}^${format}|${fallback}>`;
}

/** An ISO time as a Slack date token, or the escaped text when it does not parse. */
export function slackDateIso(iso: string, format?: string): string {
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? escapeText(iso) : slackDate(ms, format);
}

export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** Inline code for a short identifier such as a version: escaped, no backticks. */
export function code(text: string): string {
  return `\`${escapeText(text).replace(/`/g, "'")}\``;
}
