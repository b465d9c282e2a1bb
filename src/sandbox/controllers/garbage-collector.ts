import { markPodTerminating } from '../pod-termination.js';
import { resourceTypes } from '../resource-types.js';
import type { Store } from '../store.js';
import type { ControllerOptions } from './deployment-controller.js';
import { isOwnedBy } from './object-helpers.js';
import { WorkQueue } from './work-queue.js';

/**
 * Background cascading deletion: when an owner goes, every object naming its uid in
 * ownerReferences is deleted too (pods gracefully), and their dependents in turn.
 */
export class GarbageCollector {
  private readonly queue: WorkQueue;
  private readonly unwatch: (() => void)[] = [];

  constructor(private readonly options: ControllerOptions) {
    this.queue = new WorkQueue('garbage-collector', (uid) => this.collect(uid));
  }

  start(): void {
    for (const type of resourceTypes) {
      this.unwatch.push(
        this.options.store.watch(type, undefined, (event) => {
          if (event.type === 'DELETED' && event.object.metadata.uid) this.queue.add(event.object.metadata.uid);
        }),
      );
    }
  }

  stop(): void {
    for (const unwatch of this.unwatch.splice(0)) unwatch();
    this.queue.stop();
  }

  private collect(ownerUid: string): void {
    const store: Store = this.options.store;
    for (const type of resourceTypes) {
      if (!type.namespaced) continue;
      for (const dependent of store.list(type, undefined, (object) => isOwnedBy(object, ownerUid))) {
        const namespace = dependent.metadata.namespace ?? '';
        if (type.resource === 'pods') markPodTerminating(store, namespace, dependent.metadata.name, undefined, this.options.now());
        else store.delete(type, namespace, dependent.metadata.name);
      }
    }
  }
}
