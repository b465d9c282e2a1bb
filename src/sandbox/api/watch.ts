import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ResourceType } from '../resource-types.js';
import { StoreError, apiVersionOf, type KubeObject, type Store, type WatchEvent } from '../store.js';
import { statusBody } from './status.js';

export interface WatchRequest {
  store: Store;
  type: ResourceType;
  namespace: string | undefined;
  matches: (object: KubeObject) => boolean;
  /** Narrowing by selector: an object that stops matching is reported DELETED, one that starts, ADDED. */
  filtered: boolean;
  resourceVersion: string | undefined;
  timeoutSeconds: number;
  bookmarks: boolean;
}

const bookmarkIntervalMs = 60_000;

/**
 * Streams watch events as newline-delimited JSON over a chunked 200 response, as kube-apiserver
 * does. Without a resourceVersion (or with "0") the current objects come first as ADDED; with
 * one, the events after it are replayed; one older than the kept history is a single ERROR event
 * carrying a 410 Expired Status. Returns a function that ends the stream (server shutdown).
 */
export function serveWatch(req: IncomingMessage, res: ServerResponse, watch: WatchRequest, onEnd: () => void): () => void {
  const { store, type, namespace, matches, filtered } = watch;
  res.writeHead(200, {
    'Audit-Id': randomUUID(),
    'Cache-Control': 'no-cache, private',
    'Content-Type': 'application/json',
    'Transfer-Encoding': 'chunked',
  });
  res.flushHeaders();
  const write = (event: unknown): void => {
    if (!res.writableEnded && !res.destroyed) res.write(JSON.stringify(event) + '\n');
  };
  const known = new Set<string>();
  let unsubscribe: () => void = () => undefined;
  let ended = false;
  const timers: NodeJS.Timeout[] = [];
  const end = (): void => {
    if (ended) return;
    ended = true;
    unsubscribe();
    timers.forEach(clearTimeout);
    if (!res.writableEnded) res.end();
    onEnd();
  };
  const deliver = (event: WatchEvent): void => {
    const uid = event.object.metadata.uid ?? '';
    const matchesNow = matches(event.object);
    if (!filtered) {
      write(event);
      return;
    }
    const wasKnown = known.has(uid);
    if (event.type === 'DELETED') {
      if (wasKnown || matchesNow) write(event);
      known.delete(uid);
    } else if (matchesNow) {
      write({ type: wasKnown ? event.type : 'ADDED', object: event.object });
      known.add(uid);
    } else if (wasKnown) {
      write({ type: 'DELETED', object: event.object });
      known.delete(uid);
    }
  };

  const rv = watch.resourceVersion;
  const current = store.list(type, namespace, matches);
  current.forEach((object) => known.add(object.metadata.uid ?? ''));
  try {
    if (rv === undefined || rv === '' || rv === '0') {
      for (const object of current) write({ type: 'ADDED', object });
      unsubscribe = store.watch(type, namespace, deliver);
    } else {
      unsubscribe = store.watch(type, namespace, deliver, rv);
    }
  } catch (error) {
    if (!(error instanceof StoreError && error.reason === 'Expired')) throw error;
    write({ type: 'ERROR', object: statusBody(410, 'Expired', error.message) });
    end();
    return end;
  }
  timers.push(setTimeout(end, watch.timeoutSeconds * 1000));
  if (watch.bookmarks) {
    const bookmark = (): void => {
      write({ type: 'BOOKMARK', object: { kind: type.kind, apiVersion: apiVersionOf(type), metadata: { resourceVersion: store.resourceVersion } } });
    };
    timers.push(setInterval(bookmark, bookmarkIntervalMs));
  }
  req.on('close', end);
  res.on('close', end);
  return end;
}
