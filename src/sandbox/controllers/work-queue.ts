import { StoreError } from '../store.js';

/**
 * A controller's work queue: keys are deduplicated and handled on a later turn of the event loop,
 * never inside a store listener, so a controller's own writes cannot reorder the events other
 * listeners (watch streams) see. A key whose handler hits a Conflict is retried shortly after.
 */
export class WorkQueue {
  private readonly pending = new Set<string>();
  private readonly timers = new Map<string, { timer: NodeJS.Timeout; at: number }>();
  private immediate: NodeJS.Immediate | undefined;
  private stopped = false;
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly name: string,
    private readonly handle: (key: string) => void,
  ) {}

  add(key: string): void {
    if (this.stopped) return;
    this.pending.add(key);
    this.immediate ??= setImmediate(() => this.drain());
  }

  /** Handle the key after a delay; a key already due sooner keeps its earlier time. */
  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    const at = Date.now() + delayMs;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    this.timers.set(key, { timer, at });
  }

  stop(): void {
    this.stopped = true;
    if (this.immediate) clearImmediate(this.immediate);
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.pending.clear();
  }

  private drain(): void {
    this.immediate = undefined;
    const keys = [...this.pending];
    this.pending.clear();
    for (const key of keys) {
      if (this.stopped) return;
      try {
        this.handle(key);
        this.failures.delete(key);
      } catch (error) {
        const failures = (this.failures.get(key) ?? 0) + 1;
        this.failures.set(key, failures);
        // Conflicts and races with API writers are expected: the handler re-reads and retries.
        const expected = error instanceof StoreError && error.reason !== 'Expired';
        if (!expected || failures % 20 === 0) {
          console.error(`sandbox ${this.name}: ${key}: ${error instanceof Error ? error.message : String(error)}`);
        }
        this.addAfter(key, expected ? Math.min(5 * failures, 500) : 500);
      }
    }
  }
}

export function keyOf(namespace: string | undefined, name: string): string {
  return `${namespace ?? ''}/${name}`;
}

export function splitKey(key: string): [string, string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}
