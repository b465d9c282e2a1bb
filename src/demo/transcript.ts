/** Renders what the Slack stand-in recorded as a person reads it in the channel: plain text. */

interface TextObject {
  text?: string;
}

interface Block {
  type?: string;
  text?: TextObject;
  fields?: TextObject[];
  elements?: TextObject[];
}

export interface Named {
  /** Slack user id -> display name, for mentions. */
  names: Record<string, string>;
}

/** mrkdwn to plain text: date tokens to their fallback, mentions to names, no emphasis marks. */
export function plainText(mrkdwn: string, who: Named): string {
  return mrkdwn
    .replace(/<!date\^\d+\^[^|>]*\|([^>]*)>/g, '$1')
    .replace(/<@([A-Z0-9]+)>/g, (_, id: string) => `@${who.names[id] ?? id}`)
    .replace(/<!subteam\^([A-Z0-9]+)(\|[^>]*)?>/g, (_, id: string, label?: string) => label?.slice(1) ?? `@${id}`)
    .replace(/<([^|>]+)\|([^>]+)>/g, '$2')
    .replace(/(^|[\s(])\*([^*\n]+)\*/g, '$1$2')
    .replace(/(^|[\s(])_([^_\n]+)_/g, '$1$2')
    .replace(/`{3}\n?/g, '')
    .replace(/`([^`\n]+)`/g, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** A message's visible text: its blocks when it has any (that is what Slack shows), else `text`. */
export function messageText(message: { text?: string; blocks?: unknown[] }, who: Named): string {
  const blocks = (message.blocks ?? []) as Block[];
  if (blocks.length === 0) return plainText(message.text ?? '', who);
  const lines: string[] = [];
  for (const block of blocks) {
    switch (block.type) {
      case 'header':
      case 'section':
        if (block.text?.text) lines.push(plainText(block.text.text, who));
        for (const field of block.fields ?? []) if (field.text) lines.push(plainText(field.text, who));
        break;
      case 'context':
        lines.push(plainText((block.elements ?? []).map((e) => e.text ?? '').filter(Boolean).join('  ·  '), who));
        break;
      case 'divider':
        break;
      case 'actions':
        // Buttons as the channel shows them: [ Approve ]  [ Reject ]
        lines.push((block.elements ?? []).map((e) => `[ ${(e as { text?: TextObject }).text?.text ?? '?'} ]`).join('  '));
        break;
      default:
        if (block.text?.text) lines.push(plainText(block.text.text, who));
    }
  }
  return lines.join('\n');
}

export function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((line) => (line.length > 0 ? prefix + line : line))
    .join('\n');
}
