import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FaultSettings } from './faults.js';
import { Identities, type ServiceAccountRef } from './identities.js';
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
  /** Bearer token of every region's API (default random): the admin, never restricted by RBAC. */
  token?: string;
  /**
   * ServiceAccounts whose tokens every region accepts (token default random). Requests with them
   * are checked against the Roles bound to the account (RBAC); the token is valid in a region only
   * while the ServiceAccount object exists there (create it, e.g. by applying config/rbac.yaml).
   */
  serviceAccounts?: (ServiceAccountRef & { token?: string })[];
  /** Write the kubeconfig with this ServiceAccount's token instead of the admin token. */
  kubeconfigServiceAccount?: ServiceAccountRef;
  /** Fixed ports per region, in region order (default: free ports). */
  apiPorts?: number[];
  ingressPorts?: number[];
  ingressMetricsPorts?: number[];
}

export interface Sandbox {
  regions: Region[];
  kubeconfigPath: string;
  /** The token of a ServiceAccount, valid in every region (minted on first use). */
  serviceAccountToken(account: ServiceAccountRef): string;
  /** Writes another kubeconfig for every region, as the admin (default) or as a ServiceAccount. */
  writeKubeconfig(path: string, options?: { serviceAccount?: ServiceAccountRef }): Promise<void>;
  stop(): Promise<void>;
}

/** Start a local multi-region Kubernetes stand-in: API servers, controllers, pods and ingresses. */
export async function startSandbox(options: SandboxOptions = {}): Promise<Sandbox> {
  const names = options.regions ?? ['eu-west', 'us-east'];
  if (names.length === 0 || names.length > 254) throw new Error('sandbox: between 1 and 254 regions');
  if (new Set(names).size !== names.length) throw new Error('sandbox: region names must be distinct');
  const namespace = options.namespace ?? 'production';
  const token = options.token ?? randomBytes(24).toString('base64url');
  const identities = new Identities();
  const accountTokens = new Map<string, string>();
  const serviceAccountToken = (account: ServiceAccountRef): string => {
    const key = `${account.namespace}/${account.name}`;
    let minted = accountTokens.get(key);
    if (minted === undefined) {
      minted = identities.addServiceAccount(account);
      accountTokens.set(key, minted);
    }
    return minted;
  };
  for (const account of options.serviceAccounts ?? []) {
    accountTokens.set(`${account.namespace}/${account.name}`, identities.addServiceAccount(account, account.token));
  }
  const regions: Region[] = [];
  try {
    for (const [index, name] of names.entries()) {
      regions.push(
        await startRegion({
          name,
          regionByte: index + 1,
          token,
          identities,
          namespaces: [namespace, ...(options.extraNamespaces ?? [])],
          readyDelayMs: options.readyDelayMs ?? 1500,
          proxySyncDelayMs: options.proxySyncDelayMs ?? 200,
          graceScale: options.graceScale ?? 1,
          faults: options.faults?.[name] ?? {},
          apiPort: options.apiPorts?.[index],
          ingressPort: options.ingressPorts?.[index],
          ingressMetricsPort: options.ingressMetricsPorts?.[index],
        }),
      );
    }
    const kubeconfigPath = options.kubeconfigPath ?? join(await mkdtemp(join(tmpdir(), 'cutover-sandbox-')), 'kubeconfig');
    const write = (path: string, as: { serviceAccount?: ServiceAccountRef } = {}): Promise<void> => {
      const userToken = as.serviceAccount ? serviceAccountToken(as.serviceAccount) : token;
      return writeKubeconfig(path, regions.map((r) => ({ name: r.name, url: r.apiUrl, token: userToken })), { namespace });
    };
    await write(kubeconfigPath, options.kubeconfigServiceAccount ? { serviceAccount: options.kubeconfigServiceAccount } : {});
    let stopping: Promise<void> | undefined;
    return {
      regions,
      kubeconfigPath,
      serviceAccountToken,
      writeKubeconfig: write,
      stop: () => (stopping ??= Promise.all(regions.map((r) => r.stop())).then(() => undefined)),
    };
  } catch (error) {
    await Promise.all(regions.map((r) => r.stop()));
    throw error;
  }
}
