import type { KubeObject, WatchEvent } from '../store.js';
import { matchesLabels } from './object-helpers.js';
import { keyOf } from './work-queue.js';

/**
 * An informer's cache of one kind with an index from `namespace, key=value` to the objects that
 * carry that pair (pods by their labels, Services by their selector), so a controller finds the
 * Services of a pod or the pods of a Service without looking at every object of the namespace,
 * as client-go indexers let the real controllers do.
 */
export class LabelIndex {
  readonly objects = new Map<string, KubeObject>();
  private readonly byPair = new Map<string, Set<string>>();

  constructor(private readonly pairsOf: (object: KubeObject) => Record<string, string> | undefined) {}

  /** Applies a watch event; answers the object as the cache held it before, if any. */
  apply(event: WatchEvent): KubeObject | undefined {
    const object = event.object;
    const key = keyOf(object.metadata.namespace, object.metadata.name);
    const previous = this.objects.get(key);
    if (previous) this.unindex(key, previous);
    if (event.type === 'DELETED') {
      this.objects.delete(key);
    } else {
      this.objects.set(key, object);
      for (const pair of pairKeys(object.metadata.namespace, this.pairsOf(object))) {
        let keys = this.byPair.get(pair);
        if (!keys) this.byPair.set(pair, (keys = new Set()));
        keys.add(key);
      }
    }
    return previous;
  }

  /** Objects whose indexed pairs are all among `labels` (the Services selecting a pod with these labels). */
  selecting(namespace: string | undefined, labels: Record<string, string> | undefined): KubeObject[] {
    const candidates = new Set<string>();
    for (const pair of pairKeys(namespace, labels)) for (const key of this.byPair.get(pair) ?? []) candidates.add(key);
    const found: KubeObject[] = [];
    for (const key of candidates) {
      const object = this.objects.get(key)!;
      if (matchesLabels(this.pairsOf(object) ?? {}, labels)) found.push(object);
    }
    return found;
  }

  /** Objects carrying every pair of a non-empty `selector` (the pods a Service selects). */
  selectedBy(namespace: string | undefined, selector: Record<string, string>): KubeObject[] {
    let smallest: Set<string> | undefined;
    for (const pair of pairKeys(namespace, selector)) {
      const keys = this.byPair.get(pair);
      if (!keys) return [];
      if (!smallest || keys.size < smallest.size) smallest = keys;
    }
    return [...(smallest ?? [])].map((key) => this.objects.get(key)!).filter((object) => matchesLabels(selector, this.pairsOf(object)));
  }

  private unindex(key: string, object: KubeObject): void {
    for (const pair of pairKeys(object.metadata.namespace, this.pairsOf(object))) {
      const keys = this.byPair.get(pair);
      keys?.delete(key);
      if (keys?.size === 0) this.byPair.delete(pair);
    }
  }
}

function pairKeys(namespace: string | undefined, pairs: Record<string, string> | undefined): string[] {
  return Object.entries(pairs ?? {}).map(([k, v]) => `${namespace ?? ''}\u0000${k}=${v}`);
}
