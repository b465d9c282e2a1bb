import { EventEmitter } from 'node:events';
import type {
  RecordedCall,
  RecordedEphemeral,
  RecordedMessage,
  RecordedReaction,
  RecordedResponseUrlPost,
  ReactionFilter,
} from './types.js';

/** Everything the stand-in has seen, with a change signal so tests can await a condition. */
export class SlackRecorder {
  readonly messages: RecordedMessage[] = [];
  readonly ephemerals: RecordedEphemeral[] = [];
  readonly reactions: RecordedReaction[] = [];
  readonly responseUrlPosts: RecordedResponseUrlPost[] = [];
  readonly calls: RecordedCall[] = [];
  /** The Home tab published for each user (views.publish), the latest only, as Slack keeps it. */
  readonly homeViews = new Map<string, { view: Record<string, unknown>; publishedAt: number }>();
  private readonly changes = new EventEmitter();

  constructor() {
    // Many concurrent waitFor() calls are normal in a test; they are removed when they settle.
    this.changes.setMaxListeners(0);
  }

  findMessage(channel: string, ts: string): RecordedMessage | undefined {
    return this.messages.find((m) => m.channel === channel && m.ts === ts && !m.deleted);
  }

  findReactions(filter: ReactionFilter = {}): RecordedReaction[] {
    return this.reactions.filter(
      (r) =>
        (filter.channel === undefined || r.channel === filter.channel) &&
        (filter.ts === undefined || r.ts === filter.ts) &&
        (filter.name === undefined || r.name === filter.name) &&
        (filter.user === undefined || r.user === filter.user),
    );
  }

  removeReaction(reaction: RecordedReaction): void {
    const index = this.reactions.indexOf(reaction);
    if (index >= 0) this.reactions.splice(index, 1);
  }

  /** Call after every mutation so waiters re-check. */
  changed(): void {
    this.changes.emit('change');
  }

  clear(): void {
    this.messages.length = 0;
    this.ephemerals.length = 0;
    this.reactions.length = 0;
    this.responseUrlPosts.length = 0;
    this.calls.length = 0;
    this.homeViews.clear();
    this.changed();
  }

  waitFor<T>(check: () => T | undefined | null | false, timeoutMs: number, describe: () => string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const evaluate = (): boolean => {
        let value: T | undefined | null | false;
        try {
          value = check();
        } catch (error) {
          finish();
          reject(error instanceof Error ? error : new Error(String(error)));
          return true;
        }
        if (value === undefined || value === null || value === false) return false;
        finish();
        resolve(value);
        return true;
      };
      const onChange = (): void => {
        evaluate();
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`waitFor: condition not met within ${timeoutMs} ms (${describe()})`));
      }, timeoutMs);
      // Also poll: predicates may look at state outside the stand-in (e.g. what a listener saw).
      const poll = setInterval(onChange, 25);
      const finish = (): void => {
        clearTimeout(timer);
        clearInterval(poll);
        this.changes.off('change', onChange);
      };
      this.changes.on('change', onChange);
      evaluate();
    });
  }
}

/** Deep copy so a test cannot mutate recorded state by accident. */
export function snapshot<T>(value: T): T {
  return structuredClone(value);
}
