import { mustType } from '../resource-types.js';
import type { KubeObject, Store } from '../store.js';
import { LabelIndex } from './label-index.js';
import { keyOf } from './work-queue.js';

const services = mustType('services');
const pods = mustType('pods');

/**
 * The Service and Pod informers an endpoints controller starts from: caches indexed by selector
 * and by labels. A pod event names only the Services whose selector matched the pod before or
 * after the change (as the real controllers' `GetPodServiceMemberships`), a Service event names
 * itself; `members` answers a Service's pods from the index.
 */
export class ServiceMembers {
  private readonly services = new LabelIndex(selectorOf);
  private readonly pods = new LabelIndex((pod) => pod.metadata.labels);
  private readonly unwatch: (() => void)[] = [];

  constructor(private readonly store: Store) {}

  /** Fills the caches, then calls `affected` with the `namespace/name` key of each Service a change may concern. */
  start(affected: (serviceKey: string) => void): void {
    this.unwatch.push(
      this.store.watch(services, undefined, (event) => {
        this.services.apply(event);
        affected(keyOf(event.object.metadata.namespace, event.object.metadata.name));
      }),
    );
    this.unwatch.push(
      this.store.watch(pods, undefined, (event) => {
        const previous = this.pods.apply(event);
        const namespace = event.object.metadata.namespace;
        const keys = new Set<string>();
        for (const labels of [previous?.metadata.labels, event.object.metadata.labels]) {
          for (const service of this.services.selecting(namespace, labels)) keys.add(keyOf(namespace, service.metadata.name));
        }
        for (const key of keys) affected(key);
      }),
    );
    for (const pod of this.store.list(pods)) this.pods.apply({ type: 'ADDED', object: pod });
    for (const service of this.store.list(services)) {
      this.services.apply({ type: 'ADDED', object: service });
      affected(keyOf(service.metadata.namespace, service.metadata.name));
    }
  }

  stop(): void {
    for (const unwatch of this.unwatch.splice(0)) unwatch();
  }

  service(key: string): KubeObject | undefined {
    return this.services.objects.get(key);
  }

  /** Pods the Service's selector matches that have an IP and have not finished, sorted by name. */
  members(service: KubeObject): KubeObject[] {
    const selector = selectorOf(service) ?? {};
    return this.pods
      .selectedBy(service.metadata.namespace, selector)
      .filter((pod) => {
        const status = pod.status as { podIP?: string; phase?: string } | undefined;
        return !!status?.podIP && status.phase !== 'Succeeded' && status.phase !== 'Failed';
      })
      .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
  }
}

/** A Service's selector, or undefined when it has none (its endpoints are left to whoever manages them). */
export function selectorOf(service: KubeObject): Record<string, string> | undefined {
  const selector = (service.spec as { selector?: Record<string, string> | null } | undefined)?.selector;
  return selector && Object.keys(selector).length > 0 ? selector : undefined;
}
