/**
 * Block Kit limits as chat.postMessage, chat.update, chat.postEphemeral and response URLs enforce
 * them. Each problem is reported the way Slack words it: `invalid_blocks` with an `errors` list of
 * "<reason> [json-pointer:<path>]" and the same lines, prefixed "[ERROR] ", in
 * `response_metadata.messages` (bodies seen in the wild, e.g. "must be less than 3001 characters
 * [json-pointer:/blocks/0/text/text]" after "failed to match all allowed schemas
 * [json-pointer:/blocks/0/text]"; "no more than 50 items allowed [json-pointer:/blocks]").
 */

/** Block types Slack accepts in messages (docs.slack.dev/reference/block-kit/blocks). */
const MESSAGE_BLOCK_TYPES = new Set(['actions', 'context', 'context_actions', 'divider', 'file', 'header', 'image', 'input', 'markdown', 'rich_text', 'section', 'table', 'video']);

export const BLOCK_LIMITS = {
  blocks: 50,
  headerText: 150,
  sectionText: 3000,
  sectionFields: 10,
  fieldText: 2000,
  contextElements: 10,
  markdownText: 12_000,
  blockId: 255,
  /** Actions blocks and their buttons (docs.slack.dev/reference/block-kit: actions block, button element, confirmation dialog object). */
  actionsElements: 25,
  buttonText: 75,
  actionId: 255,
  buttonValue: 2000,
  buttonUrl: 3000,
  confirmTitle: 100,
  confirmText: 300,
  confirmButton: 30,
  /**
   * Slack publishes no number for the text of all blocks of one message together: it answers
   * `msg_blocks_too_long` above roughly 13,200 characters even when every block is within its own
   * limit (slackapi/bolt-js#2509: markdown blocks alone failed past 13,297). The stand-in refuses
   * past 12,000, a little stricter than measured, so a bot that passes here has a margin there.
   */
  totalText: 12_000,
} as const;

export type BlocksVerdict = { ok: true } | { ok: false; error: 'invalid_blocks'; errors: string[] } | { ok: false; error: 'msg_blocks_too_long' };

/** Characters as Slack counts them: code points, not UTF-16 units or bytes. */
export function characters(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/** The text of every text object and text field in the blocks, added up. */
export function blocksTextLength(blocks: readonly unknown[]): number {
  let total = 0;
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, inner] of Object.entries(value)) {
        if (key === 'text' && typeof inner === 'string') total += characters(inner);
        else visit(inner);
      }
    }
  };
  visit(blocks);
  return total;
}

/** Checks blocks as Slack does: the list, then each block, then the total text. */
export function checkBlocks(blocks: readonly unknown[]): BlocksVerdict {
  const errors: string[] = [];
  if (blocks.length > BLOCK_LIMITS.blocks) errors.push(`no more than ${BLOCK_LIMITS.blocks} items allowed [json-pointer:/blocks]`);
  blocks.forEach((block, index) => errors.push(...blockErrors(block, `/blocks/${index}`)));
  if (errors.length > 0) return { ok: false, error: 'invalid_blocks', errors };
  if (blocksTextLength(blocks) > BLOCK_LIMITS.totalText) return { ok: false, error: 'msg_blocks_too_long' };
  return { ok: true };
}

function blockErrors(block: unknown, at: string): string[] {
  if (typeof block !== 'object' || block === null || Array.isArray(block)) return [`must be an object [json-pointer:${at}]`];
  const b = block as Record<string, unknown>;
  if (typeof b.type !== 'string' || !MESSAGE_BLOCK_TYPES.has(b.type)) return [`failed to match all allowed schemas [json-pointer:${at}]`];
  const errors: string[] = [];
  if (typeof b.block_id === 'string' && characters(b.block_id) > BLOCK_LIMITS.blockId) errors.push(tooLong(BLOCK_LIMITS.blockId, `${at}/block_id`));
  switch (b.type) {
    case 'header':
      errors.push(...textObjectErrors(b.text, `${at}/text`, BLOCK_LIMITS.headerText, ['plain_text'], true));
      break;
    case 'section': {
      if (b.text === undefined && b.fields === undefined) errors.push(`must provide text or fields [json-pointer:${at}]`);
      if (b.text !== undefined) errors.push(...textObjectErrors(b.text, `${at}/text`, BLOCK_LIMITS.sectionText, ['plain_text', 'mrkdwn'], true));
      if (b.fields !== undefined) {
        if (!Array.isArray(b.fields)) errors.push(`must be an array [json-pointer:${at}/fields]`);
        else {
          if (b.fields.length > BLOCK_LIMITS.sectionFields) errors.push(tooMany(BLOCK_LIMITS.sectionFields, `${at}/fields`));
          b.fields.forEach((field, i) => errors.push(...textObjectErrors(field, `${at}/fields/${i}`, BLOCK_LIMITS.fieldText, ['plain_text', 'mrkdwn'], true)));
        }
      }
      break;
    }
    case 'context': {
      if (!Array.isArray(b.elements) || b.elements.length === 0) errors.push(`must provide at least 1 item [json-pointer:${at}/elements]`);
      else {
        if (b.elements.length > BLOCK_LIMITS.contextElements) errors.push(tooMany(BLOCK_LIMITS.contextElements, `${at}/elements`));
        b.elements.forEach((element, i) => {
          const type = (element as { type?: unknown } | null)?.type;
          if (type === 'image') return;
          errors.push(...textObjectErrors(element, `${at}/elements/${i}`, BLOCK_LIMITS.sectionText, ['plain_text', 'mrkdwn'], true));
        });
      }
      break;
    }
    case 'actions':
      errors.push(...actionsErrors(b.elements, `${at}/elements`));
      break;
    case 'markdown':
      if (typeof b.text !== 'string' || b.text === '') errors.push(`must provide a non-empty string [json-pointer:${at}/text]`);
      else if (characters(b.text) > BLOCK_LIMITS.markdownText) errors.push(tooLong(BLOCK_LIMITS.markdownText, `${at}/text`));
      break;
    default:
      break;
  }
  return errors;
}

/** Interactive elements an actions block may hold; buttons are checked in depth, the others by type only. */
const ACTION_ELEMENT_TYPES = new Set([
  'button',
  'checkboxes',
  'datepicker',
  'datetimepicker',
  'overflow',
  'radio_buttons',
  'static_select',
  'external_select',
  'users_select',
  'conversations_select',
  'channels_select',
  'multi_static_select',
  'multi_external_select',
  'multi_users_select',
  'multi_conversations_select',
  'multi_channels_select',
  'timepicker',
  'workflow_button',
  'rich_text_input',
]);

function actionsErrors(elements: unknown, at: string): string[] {
  if (!Array.isArray(elements) || elements.length === 0) return [`must provide at least 1 item [json-pointer:${at}]`];
  const errors: string[] = [];
  if (elements.length > BLOCK_LIMITS.actionsElements) errors.push(tooMany(BLOCK_LIMITS.actionsElements, at));
  const actionIds = new Set<string>();
  elements.forEach((element, i) => {
    const where = `${at}/${i}`;
    if (typeof element !== 'object' || element === null) return errors.push(`must be an object [json-pointer:${where}]`);
    const e = element as Record<string, unknown>;
    if (typeof e.type !== 'string' || !ACTION_ELEMENT_TYPES.has(e.type)) return errors.push(`failed to match all allowed schemas [json-pointer:${where}]`);
    if (e.action_id !== undefined) {
      if (typeof e.action_id !== 'string' || e.action_id === '') errors.push(`must be a non-empty string [json-pointer:${where}/action_id]`);
      else if (characters(e.action_id) > BLOCK_LIMITS.actionId) errors.push(tooLong(BLOCK_LIMITS.actionId, `${where}/action_id`));
      else if (actionIds.has(e.action_id)) errors.push(`duplicate action_id [json-pointer:${where}/action_id]`);
      else actionIds.add(e.action_id);
    }
    if (e.type === 'button') errors.push(...buttonErrors(e, where));
    return undefined;
  });
  return errors;
}

function buttonErrors(button: Record<string, unknown>, at: string): string[] {
  const errors = textObjectErrors(button.text, `${at}/text`, BLOCK_LIMITS.buttonText, ['plain_text'], true);
  const limited = (field: string, max: number): void => {
    const value = button[field];
    if (value === undefined) return;
    if (typeof value !== 'string') errors.push(`must be a string [json-pointer:${at}/${field}]`);
    else if (characters(value) > max) errors.push(tooLong(max, `${at}/${field}`));
  };
  limited('value', BLOCK_LIMITS.buttonValue);
  limited('url', BLOCK_LIMITS.buttonUrl);
  limited('accessibility_label', BLOCK_LIMITS.buttonText);
  if (button.style !== undefined && button.style !== 'primary' && button.style !== 'danger') errors.push(`must be one of "primary", "danger" [json-pointer:${at}/style]`);
  if (button.confirm !== undefined) errors.push(...confirmErrors(button.confirm, `${at}/confirm`));
  return errors;
}

function confirmErrors(value: unknown, at: string): string[] {
  if (typeof value !== 'object' || value === null) return [`must be an object [json-pointer:${at}]`];
  const c = value as Record<string, unknown>;
  const errors = [
    ...textObjectErrors(c.title, `${at}/title`, BLOCK_LIMITS.confirmTitle, ['plain_text'], true),
    ...textObjectErrors(c.text, `${at}/text`, BLOCK_LIMITS.confirmText, ['plain_text', 'mrkdwn'], true),
    ...textObjectErrors(c.confirm, `${at}/confirm`, BLOCK_LIMITS.confirmButton, ['plain_text'], true),
    ...textObjectErrors(c.deny, `${at}/deny`, BLOCK_LIMITS.confirmButton, ['plain_text'], true),
  ];
  if (c.style !== undefined && c.style !== 'primary' && c.style !== 'danger') errors.push(`must be one of "primary", "danger" [json-pointer:${at}/style]`);
  return errors;
}

function textObjectErrors(value: unknown, at: string, max: number, types: readonly string[], required: boolean): string[] {
  if (value === undefined) return required ? [`must provide an object [json-pointer:${at}]`] : [];
  if (typeof value !== 'object' || value === null) return [`failed to match all allowed schemas [json-pointer:${at}]`];
  const { type, text } = value as { type?: unknown; text?: unknown };
  if (typeof type !== 'string' || !types.includes(type) || typeof text !== 'string') {
    return [`failed to match all allowed schemas [json-pointer:${at}]`];
  }
  if (text.length === 0) return [`failed to match all allowed schemas [json-pointer:${at}]`, `must be more than 0 characters [json-pointer:${at}/text]`];
  if (characters(text) > max) return [`failed to match all allowed schemas [json-pointer:${at}]`, tooLong(max, `${at}/text`)];
  return [];
}

function tooLong(max: number, at: string): string {
  return `must be less than ${max + 1} characters [json-pointer:${at}]`;
}

function tooMany(max: number, at: string): string {
  return `no more than ${max} items allowed [json-pointer:${at}]`;
}
