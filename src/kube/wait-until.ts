import { setTimeout as delay } from 'node:timers/promises';
import { KubeError, toKubeError } from './errors.js';
import { retryDelayMs, type RetryPolicy } from './retry.js';

export type Verdict<R> = { done: true; value: R } | { done: false; seen: string };

/** Starts a watch; returns a handle to stop it. Same contract as client-node's `Watch.watch`. */
export type StartWatch = (
  path: string,
  query: Record<string, string | number | boolean | undefined>,
  onEvent: (type: string, object: unknown) => void,
  onDone: (error: unknown) => void,
) => Promise<{ abort(): void }>;

export interface WaitSpec<T, R> {
  /** What is awaited, for the timeout message: "deployment shop-v2 in eu-west". */
  what: string;
  /** A (retried) list call; its resourceVersion is where the watch starts. */
  list(): Promise<{ items: T[]; resourceVersion: string | undefined }>;
  watch: { path: string; query: Record<string, string>; start: StartWatch } | null;
  keyOf(item: T): string;
  evaluate(items: T[]): Promise<Verdict<R>>;
  timeoutMs: number;
  pollIntervalMs: number;
  /** List and evaluate again this often even while the watch is quiet (what is evaluated may change without an event). */
  recheckMs?: number;
  signal?: AbortSignal;
}

type Round<R> =
  | { kind: 'done'; value: R }
  | { kind: 'ended' }
  | { kind: 'failed'; error: unknown; source: 'watch' | 'evaluate'; events: number }
  | { kind: 'deadline' }
  | { kind: 'aborted' };

/** Backoff between watch attempts that failed in a row; a watch that worked for a while resets it. */
const watchBackoffCapMs = 2000;

/**
 * List, then watch from the list's resourceVersion, re-evaluating on every event until `evaluate`
 * says done. A watch that ends (the server's timeout, a 410 Gone) is followed by a fresh list and
 * a new watch. So is a watch that fails (network error, 5xx, 429, a stream cut off), after a capped
 * exponential backoff: each attempt lists again, so the wait still sees the state while watches
 * fail, and watches again as soon as the API lets it. Only a watch the server refuses for good (a
 * 4xx such as 403 when the Role lacks the watch verb) gives way to polling. On timeout the error
 * says what was seen last.
 *
 * Hand-written rather than client-node's ListWatch (src/cache.ts in 1.4): ListWatch stops for good
 * on any watch error but 410 (it emits `error` and leaves restarting to the caller, with no
 * backoff), re-watches at once when the server closes a watch, and has no deadline or abort
 * signal; the loop it would need around it is this one. The watch itself is client-node's `Watch`.
 */
export async function waitUntil<T, R>(spec: WaitSpec<T, R>): Promise<R> {
  const deadline = Date.now() + spec.timeoutMs;
  const seen = { last: 'nothing observed yet' };
  const backoff: RetryPolicy = { attempts: Number.POSITIVE_INFINITY, baseMs: spec.pollIntervalMs, capMs: Math.max(spec.pollIntervalMs, watchBackoffCapMs), maxRetryAfterMs: Number.POSITIVE_INFINITY };
  let lastError: KubeError | null = null;
  let watch = spec.watch;
  let failedWatches = 0;
  for (;;) {
    if (spec.signal?.aborted) throw aborted(spec.what);
    if (Date.now() >= deadline) throw lastError ?? timedOut(spec, seen.last);
    let listed: { items: T[]; resourceVersion: string | undefined };
    let verdict: Verdict<R>;
    try {
      listed = await spec.list();
      verdict = await spec.evaluate(listed.items);
      lastError = null;
    } catch (error) {
      const failure = toKubeError(error);
      if (!failure.transient) throw failure;
      lastError = failure;
      await pause(untilDeadline(spec.pollIntervalMs, deadline), spec);
      continue;
    }
    if (verdict.done) return verdict.value;
    seen.last = verdict.seen;
    if (watch === null || listed.resourceVersion === undefined) {
      await pause(untilDeadline(spec.pollIntervalMs, deadline), spec);
      continue;
    }
    const items = new Map(listed.items.map((item) => [spec.keyOf(item), item]));
    const started = Date.now();
    const round = await watchRound(spec, watch, items, listed.resourceVersion, deadline, seen);
    if (round.kind === 'done') return round.value;
    if (round.kind === 'aborted') throw aborted(spec.what);
    if (round.kind === 'failed') {
      const failure = toKubeError(round.error);
      if (round.source === 'watch' && isRefusedForGood(failure)) {
        watch = null;
        continue;
      }
      if (round.events > 0 || Date.now() - started >= backoff.capMs) failedWatches = 0;
      failedWatches += 1;
      await pause(untilDeadline(retryDelayMs(backoff, failedWatches, failure.retryAfterMs) ?? backoff.capMs, deadline), spec);
      continue;
    }
    // A watch the server keeps closing at once must not turn into a tight list loop.
    if (round.kind === 'ended' && Date.now() - started < spec.pollIntervalMs) await pause(spec.pollIntervalMs, spec);
  }
}

/** A 4xx other than 410 Gone (list again) and 429 (back off): watching again cannot help. */
function isRefusedForGood(failure: KubeError): boolean {
  return failure.status !== null && failure.status >= 400 && failure.status < 500 && failure.status !== 410 && failure.status !== 429;
}

function untilDeadline(ms: number, deadline: number): number {
  return Math.min(ms, Math.max(0, deadline - Date.now()));
}

function watchRound<T, R>(
  spec: WaitSpec<T, R>,
  watch: NonNullable<WaitSpec<T, R>['watch']>,
  items: Map<string, T>,
  resourceVersion: string,
  deadline: number,
  seen: { last: string },
): Promise<Round<R>> {
  return new Promise((resolve) => {
    let settled = false;
    let handle: { abort(): void } | undefined;
    let chain: Promise<void> = Promise.resolve();
    let events = 0;
    const finish = (round: Round<R>): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(recheck);
      spec.signal?.removeEventListener('abort', onAbort);
      handle?.abort();
      resolve(round);
    };
    const timer = setTimeout(() => finish({ kind: 'deadline' }), Math.max(0, deadline - Date.now()));
    const recheck = spec.recheckMs === undefined ? undefined : setTimeout(() => finish({ kind: 'ended' }), spec.recheckMs);
    const onAbort = (): void => finish({ kind: 'aborted' });
    spec.signal?.addEventListener('abort', onAbort, { once: true });

    const onEvent = (type: string, object: unknown): void => {
      if (settled) return;
      events += 1;
      if (type === 'BOOKMARK') return;
      // ERROR events carry a Status (410 Gone when the resourceVersion is too old): start over.
      if (type === 'ERROR') return finish({ kind: 'ended' });
      const item = object as T;
      if (type === 'DELETED') items.delete(spec.keyOf(item));
      else items.set(spec.keyOf(item), item);
      chain = chain
        .then(async () => {
          if (settled) return;
          const verdict = await spec.evaluate([...items.values()]);
          if (verdict.done) finish({ kind: 'done', value: verdict.value });
          else seen.last = verdict.seen;
        })
        .catch((error: unknown) => finish({ kind: 'failed', error, source: 'evaluate', events }));
    };
    const timeoutSeconds = Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
    watch
      .start(watch.path, { ...watch.query, resourceVersion, allowWatchBookmarks: true, timeoutSeconds }, onEvent, (error) =>
        finish(error ? { kind: 'failed', error, source: 'watch', events } : { kind: 'ended' }),
      )
      .then(
        (started) => {
          handle = started;
          if (settled) started.abort();
        },
        (error: unknown) => finish({ kind: 'failed', error, source: 'watch', events }),
      );
  });
}

async function pause(ms: number, spec: { signal?: AbortSignal; what: string }): Promise<void> {
  try {
    await delay(ms, undefined, spec.signal ? { signal: spec.signal } : undefined);
  } catch {
    throw aborted(spec.what);
  }
}

function aborted(what: string): KubeError {
  return new KubeError('aborted', `stopped waiting for ${what}: aborted`);
}

function timedOut(spec: { what: string; timeoutMs: number }, seen: string): KubeError {
  return new KubeError('timeout', `${spec.what}: not reached within ${spec.timeoutMs} ms; last seen: ${seen}`);
}
