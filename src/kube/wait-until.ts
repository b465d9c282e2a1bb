import { setTimeout as delay } from 'node:timers/promises';
import { KubeError, toKubeError } from './errors.js';

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

type Round<R> = { kind: 'done'; value: R } | { kind: 'ended' } | { kind: 'failed'; error: unknown } | { kind: 'deadline' } | { kind: 'aborted' };

/**
 * List, then watch from the list's resourceVersion, re-evaluating on every event until `evaluate`
 * says done. A watch that ends is restarted from a fresh list; a watch that fails (or cannot
 * start) gives way to polling. On timeout the error says what was seen last.
 */
export async function waitUntil<T, R>(spec: WaitSpec<T, R>): Promise<R> {
  const deadline = Date.now() + spec.timeoutMs;
  const seen = { last: 'nothing observed yet' };
  let lastError: KubeError | null = null;
  let watching = spec.watch !== null;
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
      await pause(Math.min(spec.pollIntervalMs, Math.max(0, deadline - Date.now())), spec);
      continue;
    }
    if (verdict.done) return verdict.value;
    seen.last = verdict.seen;
    if (!watching || spec.watch === null || listed.resourceVersion === undefined) {
      await pause(Math.min(spec.pollIntervalMs, Math.max(0, deadline - Date.now())), spec);
      continue;
    }
    const items = new Map(listed.items.map((item) => [spec.keyOf(item), item]));
    const started = Date.now();
    const round = await watchRound(spec, spec.watch, items, listed.resourceVersion, deadline, seen);
    if (round.kind === 'done') return round.value;
    if (round.kind === 'aborted') throw aborted(spec.what);
    if (round.kind === 'failed') watching = false;
    // A watch the server keeps closing at once must not turn into a tight list loop.
    if (round.kind === 'ended' && Date.now() - started < spec.pollIntervalMs) await pause(spec.pollIntervalMs, spec);
  }
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
      if (settled || type === 'BOOKMARK') return;
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
        .catch((error: unknown) => finish({ kind: 'failed', error }));
    };
    const timeoutSeconds = Math.max(1, Math.ceil((deadline - Date.now()) / 1000));
    watch
      .start(watch.path, { ...watch.query, resourceVersion, allowWatchBookmarks: true, timeoutSeconds }, onEvent, (error) =>
        finish(error ? { kind: 'failed', error } : { kind: 'ended' }),
      )
      .then(
        (started) => {
          handle = started;
          if (settled) started.abort();
        },
        (error: unknown) => finish({ kind: 'failed', error }),
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
