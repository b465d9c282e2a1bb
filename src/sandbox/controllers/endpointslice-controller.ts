import { mustType } from '../resource-types.js';
import type { KubeObject } from '../store.js';
import type { ControllerOptions } from './deployment-controller.js';
import { isPodReady, isTerminating, matchesLabels } from './object-helpers.js';
import { WorkQueue, keyOf, splitKey } from './work-queue.js';

const services = mustType('services');
const pods = mustType('pods');
const endpointSlices = mustType('endpointslices');

export const serviceNameLabel = 'kubernetes.io/service-name';
export const managedByLabel = 'endpointslice.kubernetes.io/managed-by';
const managedBy = 'endpointslice-controller.k8s.io';

interface ServicePort {
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
 * that have an IP, with ready / serving / terminating as the real controller derives them.
 */
export class EndpointSliceController {
  private readonly queue: WorkQueue;
  private readonly unwatch: (() => void)[] = [];

  constructor(private readonly options: ControllerOptions) {
    this.queue = new WorkQueue('endpointslice-controller', (key) => this.reconcile(key));
  }

  start(): void {
    const { store } = this.options;
    this.unwatch.push(store.watch(services, undefined, (event) => this.queue.add(keyOf(event.object.metadata.namespace, event.object.metadata.name))));
    // A pod change may concern any Service of its namespace (labels can change), so all are requeued; the queue dedups.
    this.unwatch.push(store.watch(pods, undefined, (event) => this.enqueueNamespace(event.object.metadata.namespace)));
    this.unwatch.push(
      store.watch(endpointSlices, undefined, (event) => {
        const service = event.object.metadata.labels?.[serviceNameLabel];
        if (service && event.object.metadata.labels?.[managedByLabel] === managedBy) this.queue.add(keyOf(event.object.metadata.namespace, service));
      }),
    );
    for (const service of store.list(services)) this.queue.add(keyOf(service.metadata.namespace, service.metadata.name));
  }

  stop(): void {
    for (const unwatch of this.unwatch.splice(0)) unwatch();
    this.queue.stop();
  }

  private enqueueNamespace(namespace: string | undefined): void {
    for (const service of this.options.store.list(services, namespace, hasSelector)) this.queue.add(keyOf(namespace, service.metadata.name));
  }

  private reconcile(key: string): void {
    const { store } = this.options;
    const [namespace, name] = splitKey(key);
    const service = store.get(services, namespace, name);
    const slices = store.list(
      endpointSlices,
      namespace,
      (slice) => slice.metadata.labels?.[serviceNameLabel] === name && slice.metadata.labels?.[managedByLabel] === managedBy,
    );
    if (!service) {
      for (const slice of slices) store.delete(endpointSlices, namespace, slice.metadata.name);
      return;
    }
    // As the real controller: Services without a selector are left to whoever manages their slices.
    if (!hasSelector(service)) return;
    const selector = (service.spec as { selector: Record<string, string> }).selector;
    const members = store.list(pods, namespace, (pod) => {
      const status = pod.status as { podIP?: string; phase?: string } | undefined;
      return matchesLabels(selector, pod.metadata.labels) && !!status?.podIP && status.phase !== 'Succeeded' && status.phase !== 'Failed';
    });
    const desired = desiredSlice(service, members);
    const [first, ...extra] = slices;
    if (!first) {
      store.create(endpointSlices, desired);
    } else {
      store.update(endpointSlices, {
        ...first,
        metadata: { ...first.metadata, labels: desired.metadata.labels, ownerReferences: desired.metadata.ownerReferences },
        addressType: desired.addressType,
        endpoints: desired.endpoints,
        ports: desired.ports,
      });
    }
    for (const slice of extra) store.delete(endpointSlices, namespace, slice.metadata.name);
  }
}

function hasSelector(service: KubeObject): boolean {
  const selector = (service.spec as { selector?: Record<string, string> | null } | undefined)?.selector;
  return !!selector && Object.keys(selector).length > 0;
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

function resolveTargetPort(port: ServicePort, pod: KubeObject): number | undefined {
  const target = port.targetPort ?? port.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  for (const container of (pod.spec as { containers?: Container[] } | undefined)?.containers ?? []) {
    const named = container.ports?.find((p) => p.name === target);
    if (named) return named.containerPort;
  }
  return undefined;
}
