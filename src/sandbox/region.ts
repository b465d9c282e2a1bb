import { applyDefaults } from './api/defaults.js';
import { startApiServer } from './api-server.js';
import { startClusterRuntime } from './cluster-runtime.js';
import type { Kubelet } from './controllers/kubelet.js';
import { Faults, type FaultSettings } from './faults.js';
import type { Identities } from './identities.js';
import { mustType } from './resource-types.js';
import { Store } from './store.js';

export interface RegionOptions {
  name: string;
  /** Pod IPs are 127.<regionByte>.x.y; distinct per region of one sandbox. */
  regionByte: number;
  /** The admin token (unrestricted). */
  token: string;
  /** ServiceAccount tokens, shared by the regions of one sandbox. */
  identities?: Identities;
  /** Namespaces created at start, besides default and kube-system. */
  namespaces: string[];
  readyDelayMs: number;
  proxySyncDelayMs: number;
  graceScale: number;
  faults?: Partial<FaultSettings>;
  /** Fixed ports (default: free ones), so a config file can name them. */
  apiPort?: number | undefined;
  ingressPort?: number | undefined;
  ingressMetricsPort?: number | undefined;
  now?: () => Date;
}

export interface Region {
  name: string;
  apiUrl: string;
  ingressUrl: string;
  /** The ingress controller's Prometheus endpoint (ingress-nginx's `:10254/metrics`). */
  ingressMetricsUrl: string;
  token: string;
  store: Store;
  faults: Faults;
  kubelet: Kubelet;
  /** TCP connections the region's API server accepted so far: how warm its clients keep them. */
  apiConnectionsAccepted(): number;
  stop(): Promise<void>;
}

/** One sandbox cluster: store, API server, controllers, kubelet and ingress, all on 127.0.0.1. */
export async function startRegion(options: RegionOptions): Promise<Region> {
  const now = options.now ?? (() => new Date());
  const store = new Store(now);
  const namespaces = mustType('namespaces');
  for (const name of new Set(['default', 'kube-system', ...options.namespaces])) {
    store.create(namespaces, applyDefaults({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, { allocateClusterIP: () => '' }));
  }
  const faults = new Faults(options.faults);
  const runtime = await startClusterRuntime({
    store,
    region: options.name,
    regionByte: options.regionByte,
    readyDelayMs: options.readyDelayMs,
    proxySyncDelayMs: options.proxySyncDelayMs,
    graceScale: options.graceScale,
    ingressPort: options.ingressPort,
    ingressMetricsPort: options.ingressMetricsPort,
    now,
  });
  let api: Awaited<ReturnType<typeof startApiServer>>;
  try {
    api = await startApiServer({
      store,
      region: options.name,
      token: options.token,
      faults,
      now,
      ...(options.identities ? { identities: options.identities } : {}),
      ...(options.apiPort ? { port: options.apiPort } : {}),
    });
  } catch (error) {
    await runtime.stop();
    throw error;
  }
  return {
    name: options.name,
    apiUrl: api.url,
    ingressUrl: runtime.ingressUrl,
    ingressMetricsUrl: runtime.ingressMetricsUrl,
    token: options.token,
    store,
    faults,
    kubelet: runtime.kubelet,
    apiConnectionsAccepted: () => api.connectionsAccepted(),
    stop: async () => {
      await Promise.all([api.close(), runtime.stop()]);
    },
  };
}
