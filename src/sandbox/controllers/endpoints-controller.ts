import { mustType } from '../resource-types.js';
import type { KubeObject } from '../store.js';
import { controllerManager, type ControllerOptions } from './deployment-controller.js';
import { resolveTargetPort, type ServicePort } from './endpointslice-controller.js';
import { isPodReady, isTerminating } from './object-helpers.js';
import { ServiceMembers, selectorOf } from './service-members.js';
import { WorkQueue, keyOf, splitKey } from './work-queue.js';

const endpointsType = mustType('endpoints');

export const lastChangeTriggerTime = 'endpoints.kubernetes.io/last-change-trigger-time';

interface EndpointAddress {
  ip: string;
  nodeName?: string;
  targetRef: { kind: 'Pod'; namespace: string; name: string; uid: string };
}

interface EndpointPort {
  name?: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

interface Subset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports: EndpointPort[];
}

/**
 * The endpoints controller: the core/v1 Endpoints object named after each Service with a selector,
 * as kube-controller-manager still mirrors it next to the EndpointSlices. Ready pods are
 * `addresses`, unready ones `notReadyAddresses`, terminating pods are left out (the Service does
 * not publish not-ready addresses); addresses with the same ports share a subset, sorted by IP. The
 * Service's labels are copied; `last-change-trigger-time` says when the change that led to the
 * write was seen. The API server's service proxy picks its endpoints from these objects.
 */
export class EndpointsController {
  private readonly queue: WorkQueue;
  private readonly members: ServiceMembers;
  private readonly triggeredAt = new Map<string, Date>();
  private unwatch: (() => void) | undefined;

  constructor(private readonly options: ControllerOptions) {
    this.queue = new WorkQueue('endpoints-controller', (key) => this.reconcile(key));
    this.members = new ServiceMembers(options.store);
  }

  start(): void {
    const changed = (key: string): void => {
      if (!this.triggeredAt.has(key)) this.triggeredAt.set(key, this.options.now());
      this.queue.add(key);
    };
    // An Endpoints object changed or deleted by someone else is put back, as the real controller does.
    this.unwatch = this.options.store.watch(endpointsType, undefined, (event) => this.queue.add(keyOf(event.object.metadata.namespace, event.object.metadata.name)));
    this.members.start(changed);
  }

  stop(): void {
    this.unwatch?.();
    this.members.stop();
    this.queue.stop();
  }

  private reconcile(key: string): void {
    const { store } = this.options;
    const [namespace, name] = splitKey(key);
    const service = this.members.service(key);
    const current = store.get(endpointsType, namespace, name);
    if (!service) {
      this.triggeredAt.delete(key);
      if (current) store.delete(endpointsType, namespace, name);
      return;
    }
    if (!selectorOf(service)) return;
    const subsets = subsetsFor(service, this.members.members(service));
    const labels = service.metadata.labels;
    const sameSubsets = JSON.stringify(current?.subsets ?? []) === JSON.stringify(subsets);
    const sameLabels = JSON.stringify(current?.metadata.labels ?? {}) === JSON.stringify(labels ?? {});
    if (current && sameSubsets && sameLabels) {
      this.triggeredAt.delete(key);
      return;
    }
    const trigger = this.triggeredAt.get(key) ?? this.options.now();
    this.triggeredAt.delete(key);
    const annotations = { ...current?.metadata.annotations, [lastChangeTriggerTime]: rfc3339Nano(trigger) };
    const metadata = { ...(current?.metadata ?? { name, namespace }), annotations } as KubeObject['metadata'];
    if (labels && Object.keys(labels).length > 0) metadata.labels = { ...labels };
    else delete metadata.labels;
    const desired: KubeObject = { apiVersion: 'v1', kind: 'Endpoints', metadata, ...(subsets.length > 0 ? { subsets } : {}) };
    if (current) store.update(endpointsType, desired, { manager: controllerManager });
    else store.create(endpointsType, desired, { manager: controllerManager });
  }
}

function subsetsFor(service: KubeObject, pods: KubeObject[]): Subset[] {
  const servicePorts = (service.spec as { ports?: ServicePort[] } | undefined)?.ports ?? [];
  const subsets = new Map<string, Subset>();
  for (const pod of pods) {
    if (isTerminating(pod)) continue;
    const ports: EndpointPort[] = [];
    for (const port of servicePorts) {
      const target = resolveTargetPort(port, pod);
      if (target === undefined) continue;
      ports.push({ ...(port.name ? { name: port.name } : {}), port: target, protocol: port.protocol ?? 'TCP', ...(port.appProtocol ? { appProtocol: port.appProtocol } : {}) });
    }
    const nodeName = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
    const address: EndpointAddress = {
      ip: (pod.status as { podIP: string }).podIP,
      ...(nodeName ? { nodeName } : {}),
      targetRef: { kind: 'Pod', namespace: pod.metadata.namespace ?? '', name: pod.metadata.name, uid: pod.metadata.uid ?? '' },
    };
    const portsKey = JSON.stringify(ports);
    let subset = subsets.get(portsKey);
    if (!subset) subsets.set(portsKey, (subset = { ports }));
    const list = isPodReady(pod) ? 'addresses' : 'notReadyAddresses';
    (subset[list] ??= []).push(address);
  }
  const byIp = (a: EndpointAddress, b: EndpointAddress): number => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : a.targetRef.uid.localeCompare(b.targetRef.uid));
  return [...subsets.values()].map((subset) => ({
    ...(subset.addresses ? { addresses: subset.addresses.sort(byIp) } : {}),
    ...(subset.notReadyAddresses ? { notReadyAddresses: subset.notReadyAddresses.sort(byIp) } : {}),
    ports: subset.ports,
  }));
}

/** Go's RFC3339Nano: fractional seconds without trailing zeros. */
function rfc3339Nano(date: Date): string {
  return date.toISOString().replace(/(\.\d*?)0+Z$/, '$1Z').replace(/\.Z$/, 'Z');
}
