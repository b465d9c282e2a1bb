import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FaultSettings } from './faults.js';
import { writeKubeconfig } from './kubeconfig.js';
import { startRegion, type Region } from './region.js';

export interface SandboxOptions {
  /** Region names, one cluster each (default eu-west and us-east). */
  regions?: string[];
  /** Namespace created in every region at start (default production); also the kubeconfig's default. */
  namespace?: string;
  /** More namespaces to create in every region. */
  extraNamespaces?: string[];
  /** How long a started pod takes to turn Ready (default 1500 ms); a pod annotation overrides it. */
  readyDelayMs?: number;
  /** How long an EndpointSlice change takes to reach the ingress proxy (default 200 ms). */
  proxySyncDelayMs?: number;
  /** Multiplies pod termination grace periods (default 1). */
  graceScale?: number;
  /** Initial fault settings per region name. */
  faults?: Record<string, Partial<FaultSettings>>;
  /** Where to write the kubeconfig (default a file in a fresh temp directory). */
  kubeconfigPath?: string;
  /** Bearer token of every region's API (default random). */
  token?: string;
  /** Fixed ports per region, in region order (default: free ports). */
  apiPorts?: number[];
  ingressPorts?: number[];
}

export interface Sandbox {
  regions: Region[];
  kubeconfigPath: string;
  stop(): Promise<void>;
}

/** Start a local multi-region Kubernetes stand-in: API servers, controllers, pods and ingresses. */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const names = options.regions ?? ['eu-west', 'us-east'];
  if (names.length === 0 || names.length > 254) throw new Error('sandbox: between 1 and 254 regions');
  if (new Set(names).size !== names.length) throw new Error('sandbox: region names must be distinct');
  const namespace = options.namespace ?? 'production';
  const token = options.token ?? randomBytes(24).toString('base64url');
  const regions: Region[] = [];
  try {
    for (const [index, name] of names.entries()) {
      regions.push(
        await startRegion({
          name,
          regionByte: index + 1,
          token,
          namespaces: [namespace, ...(options.extraNamespaces ?? [])],
          readyDelayMs: options.readyDelayMs ?? 1500,
          proxySyncDelayMs: options.proxySyncDelayMs ?? 200,
          graceScale: options.graceScale ?? 1,
          faults: options.faults?.[name] ?? {},
          apiPort: options.apiPorts?.[index],
          ingressPort: options.ingressPorts?.[index],
        }),
      );
    }
    const kubeconfigPath = options.kubeconfigPath ?? join(await mkdtemp(join(tmpdir(), 'cutover-sandbox-')), 'kubeconfig');
    await writeKubeconfig(kubeconfigPath, regions.map((r) => ({ name: r.name, url: r.apiUrl, token: r.token })), { namespace });
    let stopping: Promise<void> | undefined;
    return {
      regions,
      kubeconfigPath,
      stop: () => (stopping ??= Promise.all(regions.map((r) => r.stop())).then(() => undefined)),
    };
  } catch (error) {
    await Promise.all(regions.map((r) => r.stop()));
    throw error;
  }
}
