import { DeploymentController } from './controllers/deployment-controller.js';
import { EndpointSliceController } from './controllers/endpointslice-controller.js';
import { EndpointsController } from './controllers/endpoints-controller.js';
import { GarbageCollector } from './controllers/garbage-collector.js';
import { Kubelet } from './controllers/kubelet.js';
import { startIngressProxy } from './data-plane/ingress-proxy.js';
import type { Store } from './store.js';

export interface ClusterRuntimeOptions {
  store: Store;
  region: string;
  /** Pod IPs are 127.<regionByte>.x.y. */
  regionByte: number;
  readyDelayMs: number;
  proxySyncDelayMs: number;
  graceScale: number;
  /** Ingress listener port (default: a free one). */
  ingressPort?: number | undefined;
  /** Ingress metrics listener port (default: a free one). */
  ingressMetricsPort?: number | undefined;
  now?: () => Date;
}

/** Everything of a region that is not the API server: controllers, kubelet and ingress data plane. */
export interface ClusterRuntime {
  ingressUrl: string;
  ingressMetricsUrl: string;
  kubelet: Kubelet;
  stop(): Promise<void>;
}

export async function startClusterRuntime(options: ClusterRuntimeOptions): Promise<ClusterRuntime> {
  const now = options.now ?? (() => new Date());
  const { store } = options;
  const deployments = new DeploymentController({ store, now });
  const endpointSlices = new EndpointSliceController({ store, now });
  const endpoints = new EndpointsController({ store, now });
  const garbageCollector = new GarbageCollector({ store, now });
  const kubelet = new Kubelet({ store, now, region: options.region, regionByte: options.regionByte, readyDelayMs: options.readyDelayMs, graceScale: options.graceScale });
  const ingress = await startIngressProxy({ store, region: options.region, proxySyncDelayMs: options.proxySyncDelayMs, ...(options.ingressPort ? { port: options.ingressPort } : {}), ...(options.ingressMetricsPort ? { metricsPort: options.ingressMetricsPort } : {}) });
  garbageCollector.start();
  deployments.start();
  endpointSlices.start();
  endpoints.start();
  kubelet.start();
  return {
    ingressUrl: ingress.url,
    ingressMetricsUrl: ingress.metricsUrl,
    kubelet,
    stop: async () => {
      deployments.stop();
      endpointSlices.stop();
      endpoints.stop();
      garbageCollector.stop();
      await Promise.all([kubelet.stop(), ingress.close()]);
    },
  };
}
