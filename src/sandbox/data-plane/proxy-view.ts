import { mustType } from '../resource-types.js';
import type { KubeObject, Store, WatchEvent } from '../store.js';

const services = mustType('services');
const endpointSlices = mustType('endpointslices');

export interface Upstream {
  host: string;
  port: number;
  /** `host:port`, for messages. */
  label: string;
}

/** Endpoints of one Service port, as kube-proxy programs them. */
export interface BackendPool {
  /** Ready endpoints; when there are none, serving-but-terminating ones (kube-proxy's fallback). */
  upstreams: Upstream[];
  next: number;
}

interface ServicePort {
  name?: string;
  port: number;
}

interface SliceEndpoint {
  addresses?: string[];
  conditions?: { ready?: boolean | null; serving?: boolean | null; terminating?: boolean | null };
}

interface SlicePort {
  name?: string;
  port?: number;
}

/**
 * The data plane's picture of Services and EndpointSlices. Like kube-proxy, it sees each change
 * only after a sync delay, so traffic keeps flowing to the old endpoints for a moment after the
 * control plane has moved on.
 */
export class ProxyView {
  private readonly services = new Map<string, KubeObject>();
  private readonly slices = new Map<string, KubeObject>();
  /** namespace/service -> service port (number or name) -> pool; rebuilt lazily per Service. */
  private readonly pools = new Map<string, Map<string | number, BackendPool | null>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly unwatch: (() => void)[] = [];

  constructor(
    private readonly store: Store,
    private readonly syncDelayMs: number,
  ) {}

  start(): void {
    for (const service of this.store.list(services)) this.services.set(keyOf(service), service);
    for (const slice of this.store.list(endpointSlices)) this.slices.set(keyOf(slice), slice);
    this.unwatch.push(this.store.watch(services, undefined, (event) => this.later(() => this.apply(this.services, event))));
    this.unwatch.push(this.store.watch(endpointSlices, undefined, (event) => this.later(() => this.apply(this.slices, event))));
  }

  stop(): void {
    for (const unwatch of this.unwatch.splice(0)) unwatch();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  /** The pool behind a Service port, or null when the Service or the port is unknown. */
  pool(namespace: string, service: string, port: string | number): BackendPool | null {
    const serviceKey = `${namespace}/${service}`;
    let byPort = this.pools.get(serviceKey);
    if (!byPort) {
      byPort = new Map();
      this.pools.set(serviceKey, byPort);
    }
    let pool = byPort.get(port);
    if (pool === undefined) {
      pool = this.buildPool(namespace, service, port);
      byPort.set(port, pool);
    }
    return pool;
  }

  private later(apply: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      apply();
    }, this.syncDelayMs);
    this.timers.add(timer);
  }

  private apply(into: Map<string, KubeObject>, event: WatchEvent): void {
    const object = event.object;
    if (event.type === 'DELETED') into.delete(keyOf(object));
    else into.set(keyOf(object), object);
    const service = object.kind === 'Service' ? object.metadata.name : object.metadata.labels?.['kubernetes.io/service-name'];
    if (service) this.pools.delete(`${object.metadata.namespace ?? ''}/${service}`);
  }

  private buildPool(namespace: string, serviceName: string, port: string | number): BackendPool | null {
    const service = this.services.get(`${namespace}/${serviceName}`);
    if (!service) return null;
    const ports = ((service.spec as { ports?: ServicePort[] } | undefined)?.ports ?? []);
    const servicePort = ports.find((p) => (typeof port === 'number' ? p.port === port : p.name === port));
    if (!servicePort) return null;
    const portName = servicePort.name ?? '';
    const ready: Upstream[] = [];
    const fallback: Upstream[] = [];
    for (const slice of this.slices.values()) {
      if (slice.metadata.namespace !== namespace || slice.metadata.labels?.['kubernetes.io/service-name'] !== serviceName) continue;
      const slicePort = ((slice.ports as SlicePort[] | null | undefined) ?? []).find((p) => (p.name ?? '') === portName);
      if (slicePort?.port === undefined) continue;
      for (const endpoint of (slice.endpoints as SliceEndpoint[] | null | undefined) ?? []) {
        const conditions = endpoint.conditions ?? {};
        // A nil condition counts as true, as the EndpointSlice API defines it.
        const isReady = conditions.ready !== false;
        const isServingTerminating = conditions.terminating === true && conditions.serving !== false;
        for (const host of endpoint.addresses ?? []) {
          const upstream = { host, port: slicePort.port, label: `${host}:${slicePort.port}` };
          if (isReady) ready.push(upstream);
          else if (isServingTerminating) fallback.push(upstream);
        }
      }
    }
    return { upstreams: ready.length > 0 ? ready : fallback, next: 0 };
  }
}

function keyOf(object: KubeObject): string {
  return `${object.metadata.namespace ?? ''}/${object.metadata.name}`;
}
