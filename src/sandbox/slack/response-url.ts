import { randomBytes } from 'node:crypto';
import { blocksRefusal, ephemeralThreadProblem, postBotMessage, updateBotMessage, type Workspace } from './methods.js';
import type { RecordedResponseUrlPost, ResponseUrlContext } from './types.js';

/** Slack lets a response_url be used five times within 30 minutes. */
const MAX_USES = 5;
const LIFETIME_MS = 30 * 60 * 1000;

interface Grant {
  id: string;
  url: string;
  context: ResponseUrlContext;
  issuedAt: number;
  uses: number;
  /** The in_channel message last posted through this URL, the target of replace/delete_original. */
  lastChannelTs?: string;
}

export interface ResponseUrlAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** The hooks.slack.com side of slash commands: hands out response URLs and applies posts to them. */
export class ResponseUrls {
  private readonly grants = new Map<string, Grant>();

  constructor(
    private readonly ws: Workspace,
    private readonly baseUrl: () => string,
  ) {}

  issue(context: ResponseUrlContext): string {
    const id = `${this.ws.team.id}-${randomBytes(12).toString('hex')}`;
    const url = `${this.baseUrl()}/response/${id}`;
    this.grants.set(id, { id, url, context, issuedAt: this.ws.nowMs(), uses: 0 });
    return url;
  }

  reset(): void {
    this.grants.clear();
  }

  handle(id: string, rawBody: string, contentType: string): ResponseUrlAnswer {
    const grant = this.grants.get(id);
    const payload = parsePayload(rawBody, contentType);
    const record = (status: number, error?: string, extra: Record<string, unknown> = {}): ResponseUrlAnswer => {
      const post: RecordedResponseUrlPost = {
        id,
        url: grant?.url ?? `${this.baseUrl()}/response/${id}`,
        channel: grant?.context.channel ?? '',
        user: grant?.context.user ?? '',
        ...(grant?.context.command !== undefined ? { command: grant.context.command } : {}),
        response_type: payload?.response_type === 'in_channel' ? 'in_channel' : 'ephemeral',
        replace_original: isTrue(payload?.replace_original),
        delete_original: isTrue(payload?.delete_original),
        ...(typeof payload?.text === 'string' ? { text: payload.text } : {}),
        ...(Array.isArray(payload?.blocks) ? { blocks: payload.blocks as unknown[] } : {}),
        ...(typeof payload?.thread_ts === 'string' ? { thread_ts: payload.thread_ts } : {}),
        status,
        ...(error !== undefined ? { error } : {}),
        at: this.ws.nowMs(),
      };
      this.ws.recorder.responseUrlPosts.push(post);
      return { status, body: error === undefined ? { ok: true } : { ok: false, error, ...extra } };
    };

    if (grant === undefined) return record(404, 'expired_url');
    if (this.ws.nowMs() - grant.issuedAt > LIFETIME_MS) return record(404, 'expired_url');
    if (grant.uses >= MAX_USES) return record(404, 'used_url');
    if (payload === undefined) return record(400, 'invalid_payload');
    grant.uses += 1;

    const { channel, user } = grant.context;
    const content = {
      ...(typeof payload.text === 'string' ? { text: payload.text } : {}),
      ...(Array.isArray(payload.blocks) ? { blocks: payload.blocks as unknown[] } : {}),
    };
    const previous = grant.lastChannelTs !== undefined ? this.ws.recorder.findMessage(channel, grant.lastChannelTs) : undefined;

    if (isTrue(payload.delete_original)) {
      if (previous !== undefined) previous.deleted = true;
      return record(200);
    }
    if (content.text === undefined && content.blocks === undefined) return record(400, 'no_text');
    // The same Block Kit limits as chat.postMessage; the status for a refusal here is a guess.
    const refused = content.blocks === undefined ? null : blocksRefusal(content.blocks);
    if (refused !== null) {
      const { error, ok: _ok, ...extra } = refused.body;
      return record(400, String(error), extra);
    }
    if (isTrue(payload.replace_original) && previous !== undefined) {
      updateBotMessage(this.ws, previous, content, 'response_url');
      return record(200);
    }
    const threadTs = typeof payload.thread_ts === 'string' ? payload.thread_ts : undefined;
    if (payload.response_type === 'in_channel') {
      const message = postBotMessage(this.ws, channel, content, { ...(threadTs !== undefined ? { thread_ts: threadTs } : {}), via: 'response_url' });
      grant.lastChannelTs = message.ts;
    } else {
      const hiddenBecause = threadTs === undefined ? undefined : ephemeralThreadProblem(this.ws, channel, threadTs);
      this.ws.recorder.ephemerals.push({
        channel,
        user,
        message_ts: this.ws.nextTs(),
        ...(threadTs !== undefined ? { thread_ts: threadTs } : {}),
        ...content,
        via: 'response_url',
        shown: hiddenBecause === undefined,
        ...(hiddenBecause !== undefined ? { hiddenBecause } : {}),
        at: this.ws.nowMs(),
      });
    }
    return record(200);
  }
}

function isTrue(value: unknown): boolean {
  return value === true || value === 'true';
}

function parsePayload(rawBody: string, contentType: string): Record<string, unknown> | undefined {
  let json = rawBody;
  if (contentType.includes('application/x-www-form-urlencoded')) {
    json = new URLSearchParams(rawBody).get('payload') ?? '';
  }
  try {
    const parsed: unknown = JSON.parse(json);
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
