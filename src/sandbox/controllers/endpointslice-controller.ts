import { mustType } from '../resource-types.js';
import type { KubeObject, WatchEvent } from '../store.js';
import { controllerManager, type ControllerOptions } from './deployment-controller.js';
import { isPodReady, isTerminating } from './object-helpers.js';
import { ServiceMembers, selectorOf } from './service-members.js';
import { WorkQueue, keyOf, splitKey } from './work-queue.js';

const endpointSlices = mustType('endpointslices');

export const serviceNameLabel = 'kubernetes.io/service-name';
export const managedByLabel = 'endpointslice.kubernetes.io/managed-by';
const managedBy = 'endpointslice-controller.k8s.io';

export interface ServicePort {
  name?: string;
  protocol?: string;
  port: number;
  targetPort?: number | string;
  appProtocol?: string;
}

interface Container {
  ports?: { name?: string; containerPort: number; protocol?: string }[];
}

/**
 * The EndpointSlice controller: one slice per Service with a selector, listing the matching pods
 * that have an IP, with ready / serving / terminating as the real controller derives them. It
 * works from informer caches: a pod event requeues only the Services whose selector matches the
 * pod (before or after the change), found through a selector index.
 */
export class EndpointSliceController {
  private readonly queue: WorkQueue;
  private readonly members: ServiceMembers;
  /** namespace/service -> slice name -> slice, for the slices this controller manages. */
  private readonly slices = new Map<string, Map<string, KubeObject>>();
  /** namespace/slice -> namespace/service it was filed under. */
  private readonly filedUnder = new Map<string, string>();
  private readonly unwatch: (() => void)[] = [];

  constructor(private readonly options: ControllerOptions) {
    this.queue = new WorkQueue('endpointslice-controller', (key) => this.reconcile(key));
    this.members = new ServiceMembers(options.store);
  }

  start(): void {
    const { store } = this.options;
    const track = (event: WatchEvent): string | undefined => {
      const slice = event.object;
      const sliceKey = keyOf(slice.metadata.namespace, slice.metadata.name);
      const before = this.filedUnder.get(sliceKey);
      if (before !== undefined) {
        const byName = this.slices.get(before);
        if (byName?.delete(slice.metadata.name) && byName.size === 0) this.slices.delete(before);
        this.filedUnder.delete(sliceKey);
      }
      const service = slice.metadata.labels?.[serviceNameLabel];
      if (!service || slice.metadata.labels?.[managedByLabel] !== managedBy) return before;
      const key = keyOf(slice.metadata.namespace, service);
      if (event.type !== 'DELETED') {
        let byName = this.slices.get(key);
        if (!byName) this.slices.set(key, (byName = new Map<string, KubeObject>()));
        byName.set(slice.metadata.name, slice);
        this.filedUnder.set(sliceKey, key);
      }
      return key;
    };
    this.unwatch.push(
      store.watch(endpointSlices, undefined, (event) => {
        const key = track(event);
        if (key) this.queue.add(key);
      }),
    );
    for (const slice of store.list(endpointSlices)) track({ type: 'ADDED', object: slice });
    this.members.start((key) => this.queue.add(key));
  }

  stop(): void {
    for (const unwatch of this.unwatch.splice(0)) unwatch();
    this.members.stop();
    this.queue.stop();
  }

  private reconcile(key: string): void {
    const { store } = this.options;
    const [namespace] = splitKey(key);
    const service = this.members.service(key);
    const slices = [...(this.slices.get(key)?.values() ?? [])].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    if (!service) {
      for (const slice of slices) store.delete(endpointSlices, namespace, slice.metadata.name);
      return;
    }
    // As the real controller: Services without a selector are left to whoever manages their slices.
    if (!selectorOf(service)) return;
    const desired = desiredSlice(service, this.members.members(service));
    const [first, ...extra] = slices;
    if (!first) {
      store.create(endpointSlices, desired, { manager: controllerManager });
    } else {
      store.update(endpointSlices, {
        ...first,
        metadata: { ...first.metadata, labels: desired.metadata.labels, ownerReferences: desired.metadata.ownerReferences },
        addressType: desired.addressType,
        endpoints: desired.endpoints,
        ports: desired.ports,
      }, { manager: controllerManager });
    }
    for (const slice of extra) store.delete(endpointSlices, namespace, slice.metadata.name);
  }
}

function desiredSlice(service: KubeObject, members: KubeObject[]): KubeObject {
  const { name, namespace, uid, labels } = service.metadata;
  const servicePorts = (service.spec as { ports?: ServicePort[] }).ports ?? [];
  const endpoints = members
    .map((pod) => {
      const serving = isPodReady(pod);
      const terminating = isTerminating(pod);
      return {
        addresses: [(pod.status as { podIP: string }).podIP],
        conditions: { ready: serving && !terminating, serving, terminating },
        targetRef: { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
        ...((pod.spec as { nodeName?: string } | undefined)?.nodeName ? { nodeName: (pod.spec as { nodeName: string }).nodeName } : {}),
      };
    });
  const ports = members.length === 0 ? null : servicePorts.flatMap((port) => {
    const target = resolveTargetPort(port, members[0]!);
    return target === undefined ? [] : [{ name: port.name ?? '', protocol: port.protocol ?? 'TCP', port: target, ...(port.appProtocol ? { appProtocol: port.appProtocol } : {}) }];
  });
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: '',
      generateName: `${name}-`,
      namespace,
      labels: { ...labels, [managedByLabel]: managedBy, [serviceNameLabel]: name },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name, uid: uid ?? '', controller: true, blockOwnerDeletion: true }],
    },
    addressType: 'IPv4',
    // A Service that selects no pod keeps a placeholder slice with null endpoints and ports, as the real controller does.
    endpoints: endpoints.length === 0 ? null : endpoints,
    ports,
  };
}

export function resolveTargetPort(port: ServicePort, pod: KubeObject): number | undefined {
  const target = port.targetPort ?? port.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  for (const container of (pod.spec as { containers?: Container[] } | undefined)?.containers ?? []) {
    const named = container.ports?.find((p) => p.name === target);
    if (named) return named.containerPort;
  }
  return undefined;
}
